"""Stand-in worker tasks for the pool tests: importable by name, as spawned workers need."""

from __future__ import annotations

import os
import time
from pathlib import Path

from kb.pool import Parsed, parse_file


def misbehaving(path: str, originals: Path | None) -> Parsed:
    """Hang, swell or crash on files named so; parse the rest as usual."""
    name = Path(path).name
    if name.startswith("hang"):
        time.sleep(3600)
    if name.startswith("bloat"):
        hoard = [bytearray(64 * 1024 * 1024) for _ in range(1000)]  # 64 GB: beyond any memory limit
        return Parsed(path, reason=str(len(hoard)))
    if name.startswith("crash"):
        os.abort()
    return parse_file(path, originals)
