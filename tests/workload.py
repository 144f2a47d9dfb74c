"""Stand-in worker tasks for the pool and ingest tests: importable by name, as the workers need."""

from __future__ import annotations

import os
import time
from pathlib import Path

from kb.extract import printable_path
from kb.pool import Parsed, parse_file


def misbehaving(path: str, store: Path | None) -> Parsed:
    """Spin, sleep, swell or crash on files named so; parse the rest as usual."""
    name = Path(path).name
    if name.startswith("spin"):  # works forever: the processor-time limit stops it
        while True:
            pass
    if name.startswith("sleep"):  # waits without working: the wall-clock guard stops it
        time.sleep(3600)
    if name.startswith("bloat"):
        hoard = [bytearray(64 * 1024 * 1024) for _ in range(1000)]  # 64 GB: beyond any memory limit
        return Parsed(path, reason=str(len(hoard)))
    if name.startswith("crash"):
        os.abort()
    return parse_file(path, store)


def markers(path: str) -> Path:
    """Where the tasks below leave their notes: a folder `markers` beside the letters' folder."""
    folder = Path(path).parent.parent / "markers"
    folder.mkdir(exist_ok=True)
    return folder


def killable(path: str, store: Path | None) -> Parsed:
    """For a file named victim*: write the worker's pid to markers/<name>.pid and, the first time only,
    wait to be killed (as by the out-of-memory killer or an operator) before parsing."""
    name = Path(path).name
    if name.startswith("victim"):
        folder = markers(path)
        attempts = folder / f"{name}.attempts"
        tried = int(attempts.read_text()) if attempts.exists() else 0
        attempts.write_text(str(tried + 1))
        (folder / f"{name}.pid").write_text(str(os.getpid()))
        if tried == 0:
            time.sleep(120)
    return parse_file(path, store)


def flaky(path: str, store: Path | None) -> Parsed:
    """A file named locked* cannot be read while markers/LOCKED exists (a chmod 000 that root would ignore)."""
    if Path(path).name.startswith("locked") and (markers(path) / "LOCKED").exists():
        return Parsed(path, code="unreadable-file",
                      reason=f"{printable_path(path)} could not be read: Permission denied.")
    return parse_file(path, store)
