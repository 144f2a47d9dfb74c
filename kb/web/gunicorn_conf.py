"""gunicorn settings for the site in production (README, "Production"), behind deploy/nginx-site.conf:

    KB_INDEX_DIR=/srv/imr-kb/index gunicorn -c python:kb.web.gunicorn_conf 'kb.web:create_app()'

Options on the command line take precedence (--bind, --workers, ...).

Threaded workers: a request that takes a while (a costly search, within its budget, kb.budget) holds one
thread, not a whole worker, so the other threads keep answering. nginx in front reads each request whole
before passing it on, so a slow client never holds a thread either. One worker per core: the search is
Python and numpy, and a worker runs one thread's Python at a time. Each thread of a worker keeps its own
Whoosh searcher (about the size of the index's files); tantivy's is shared.
"""

from __future__ import annotations

import os

bind = "127.0.0.1:8000"
worker_class = "gthread"
workers = os.cpu_count() or 2
threads = 4
timeout = 30  # a worker whose main loop stops answering is restarted; a request's work is bounded at 3 s
graceful_timeout = 30
keepalive = 5  # nginx keeps its upstream connections open (deploy/nginx-site.conf: keepalive 16)
