"""Checksums of published generations, and the checks that find a damaged index.

Neither engine keeps checksums of its files (Whoosh none at all; tantivy reads a flipped byte of a fast
field as a different value), so every generation carries `manifest.json`: each file's size and xxh3-128
hash, and the generation's letter and passage counts, written before the generation is published.

    cheap check   the manifest is there and every file has its recorded size: a stat per file, done by
                  the site before it opens a generation and by `kb status`
    deep check    every byte hashed against the manifest: `kb verify`, `kb index` before it builds on a
                  generation, and the site when a generation fails while serving

A manifest entry is reused for a file hard-linked unchanged from the previous generation (same inode,
size and modification time), so sealing a generation hashes only its new files.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import xxhash

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
_CHUNK = 1 << 20


class IndexDamaged(RuntimeError):
    """A published index that cannot be served or built on; the message names the damage and what to do."""

    def __init__(self, message: str, problems: Iterable[Problem] = ()):
        super().__init__(message)
        self.problems = list(problems)


@dataclass(frozen=True)
class Problem:
    """One piece of damage, in words: `where` is a path relative to the index directory."""

    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where} {self.what}"


def file_hash(path: Path) -> str:
    hasher = xxhash.xxh3_128()
    with open(path, "rb") as file:
        while chunk := file.read(_CHUNK):
            hasher.update(chunk)
    return hasher.hexdigest()


def _listed(generation: Path, skip: Iterable[str]) -> list[Path]:
    skipped = {MANIFEST_NAME, *skip}
    return sorted(p for p in generation.iterdir() if p.is_file() and p.name not in skipped
                  and not p.name.endswith(".tmp"))


def write_manifest(generation: Path, *, engine: str, letters: int, passages: int, previous: dict | None = None,
                   index_format: int = 1, skip: Iterable[str] = ()) -> dict:
    """Record every file of `generation` (but `skip`: lock files) with its size and hash; durable on return.

    `previous` is the manifest of the generation this one was linked from: its hashes are reused for files
    that are still the same inode, size and modification time."""
    known = {}
    if previous:
        known = {name: entry for name, entry in previous.get("files", {}).items() if "inode" in entry}
    files = {}
    for path in _listed(generation, skip):
        info = path.stat()
        entry = known.get(path.name)
        same = entry and (entry["inode"], entry["size"], entry["mtime_ns"]) == (info.st_ino, info.st_size,
                                                                                info.st_mtime_ns)
        files[path.name] = {"size": info.st_size, "hash": entry["hash"] if same else file_hash(path),
                            "inode": info.st_ino, "mtime_ns": info.st_mtime_ns}
    manifest = {"version": MANIFEST_VERSION, "generation": generation.name, "engine": engine, "format": index_format,
                "letters": letters, "passages": passages, "files": files}
    temporary = generation / f"{MANIFEST_NAME}.tmp"
    with open(temporary, "w", encoding="utf-8") as out:
        json.dump(manifest, out, indent=1, sort_keys=True)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, generation / MANIFEST_NAME)
    return manifest


def read_manifest(generation: Path) -> dict:
    """The generation's manifest; ValueError when it is missing or unreadable."""
    try:
        manifest = json.loads((generation / MANIFEST_NAME).read_bytes())
    except FileNotFoundError:
        raise ValueError("has no manifest.json (it was not published by this version of imr-kb, or was "
                         "damaged)") from None
    except (OSError, ValueError) as error:
        raise ValueError(f"has an unreadable manifest.json ({type(error).__name__})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        raise ValueError("has a manifest.json of the wrong shape")
    return manifest


def check_generation(generation: Path, *, deep: bool) -> list[Problem]:
    """What is wrong with a generation's files against its manifest: [] when nothing is.

    A generation without a manifest was made before imr-kb kept checksums: nothing can be checked, and it
    is not taken for damaged (the next `kb index` run writes a generation with one)."""
    where = generation.name
    if not generation.is_dir():
        return [Problem(where, "is missing")]
    if not has_manifest(generation):
        return []
    try:
        manifest = read_manifest(generation)
    except ValueError as error:
        return [Problem(where, str(error))]
    problems = []
    for name, entry in sorted(manifest["files"].items()):
        path = generation / name
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            problems.append(Problem(f"{where}/{name}", "is missing"))
            continue
        if size != entry.get("size"):
            problems.append(Problem(f"{where}/{name}", f"is {size:,} bytes; the manifest says {entry.get('size'):,}"))
        elif deep and file_hash(path) != entry.get("hash"):
            problems.append(Problem(f"{where}/{name}", "does not match its checksum (its bytes have changed)"))
    return problems


def has_manifest(generation: Path) -> bool:
    return os.path.lexists(generation / MANIFEST_NAME)


def generation_bytes(generation: Path) -> int:
    """The bytes of the files a generation's manifest lists (0 without a manifest)."""
    try:
        return sum(entry.get("size", 0) for entry in read_manifest(generation)["files"].values())
    except ValueError:
        return 0


def manifest_counts(generation: Path) -> tuple[int, int] | None:
    """(letters, passages) as recorded when the generation was published; None without a manifest."""
    try:
        manifest = read_manifest(generation)
    except ValueError:
        return None
    return manifest.get("letters", 0), manifest.get("passages", 0)
