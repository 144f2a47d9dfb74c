"""imr-kb: a searchable knowledge base of California IMR Final Determination Letters."""

__version__ = "0.1.0"
