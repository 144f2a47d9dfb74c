"""What the index keeps of each letter file, by the SHA-256 of the file's bytes:

    index/originals/ab/<sha256>.pdf      the PDF, for the letter page's link to the original
    index/texts/ab/<sha256>.txt.gz       the text extracted from it, so the letters can be parsed again
                                         (kb index --reparse, --repair) without reading any file again
    index/texts/ab/<sha256>.dwc.json     the DWC's search row that sat beside the file, if one did

Both are written aside and renamed, by the worker that read the file, so a reader never sees half a file.
A gzip member carries a CRC, so a damaged text is noticed when it is read.
"""

from __future__ import annotations

import gzip
import json
import os
import zlib
from pathlib import Path

ORIGINALS = "originals"
TEXTS = "texts"


def original_path(index_dir: Path, sha256: str) -> Path:
    return Path(index_dir) / ORIGINALS / sha256[:2] / f"{sha256}.pdf"


def text_path(index_dir: Path, sha256: str) -> Path:
    return Path(index_dir) / TEXTS / sha256[:2] / f"{sha256}.txt.gz"


def _write_aside(target: Path, data: bytes) -> None:
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, target)


def store_original(index_dir: Path, sha256: str, data: bytes) -> None:
    _write_aside(original_path(index_dir, sha256), data)


def store_text(index_dir: Path, sha256: str, text: str) -> None:
    # mtime=0: the same text always gives the same bytes
    _write_aside(text_path(index_dir, sha256), gzip.compress(text.encode("utf-8", "surrogatepass"), mtime=0))


def dwc_path(index_dir: Path, sha256: str) -> Path:
    return Path(index_dir) / TEXTS / sha256[:2] / f"{sha256}.dwc.json"


def store_dwc(index_dir: Path, sha256: str, record: dict) -> None:
    target = dwc_path(index_dir, sha256)
    target.unlink(missing_ok=True)  # the row beside the file may have been corrected since
    _write_aside(target, json.dumps(record, ensure_ascii=False, sort_keys=True).encode("utf-8"))


def read_stored_dwc(index_dir: Path, sha256: str) -> dict | None:
    try:
        return json.loads(dwc_path(index_dir, sha256).read_bytes())
    except (OSError, ValueError):
        return None


def read_stored_text(index_dir: Path, sha256: str) -> str | None:
    """The stored text of the file with this sha256; None when none is stored or it is damaged."""
    try:
        return gzip.decompress(text_path(index_dir, sha256).read_bytes()).decode("utf-8", "surrogatepass")
    except (OSError, EOFError, zlib.error, UnicodeDecodeError):
        return None
