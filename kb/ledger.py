"""The ingest ledger: every input file's outcome, every indexed letter, every run. SQLite, beside the index.

Tables:
    files    one row per input path: its size, mtime and sha256 when last seen, and its outcome
             ("indexed", "duplicate" or "rejected") with the reason or note and the letter it gave
    letters  one row per letter in the published index: its id, passages, and the file it came from
    runs     one row per `kb index` run: when, the generation it published, its outcome counts
    outcomes one row per (run, input file): what the run decided for it, "unchanged" included
    meta     the published generation, as the ledger last committed it

A run's rows are written in one transaction, committed after the new generation is durable and before it
is published, so the ledger is never behind the published index; kb.ingest rolls a committed but
unpublished generation forward when it starts.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

LEDGER_NAME = "ledger.sqlite3"

INDEXED, DUPLICATE, REJECTED, UNCHANGED = "indexed", "duplicate", "rejected", "unchanged"
OUTCOMES = (INDEXED, UNCHANGED, DUPLICATE, REJECTED)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT,
    outcome TEXT NOT NULL,
    code TEXT,
    reason TEXT,
    letter_id TEXT,
    run_id INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS files_sha256 ON files (sha256);
CREATE INDEX IF NOT EXISTS files_letter ON files (letter_id);
CREATE TABLE IF NOT EXISTS letters (
    letter_id TEXT PRIMARY KEY,
    passages INTEGER NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    items_signature TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    generation TEXT,
    counts TEXT
);
CREATE TABLE IF NOT EXISTS outcomes (
    run_id INTEGER NOT NULL,
    path TEXT NOT NULL,
    outcome TEXT NOT NULL,
    code TEXT,
    reason TEXT,
    letter_id TEXT,
    PRIMARY KEY (run_id, path)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class FileRow:
    path: str
    size: int
    mtime_ns: int
    sha256: str | None
    outcome: str
    code: str | None
    reason: str | None
    letter_id: str | None


@dataclass(frozen=True)
class LetterRow:
    letter_id: str
    passages: int
    path: str
    sha256: str
    items_signature: str  # "heading\tdecision" of each item: to tell a re-parse that differs


@dataclass(frozen=True)
class Outcome:
    """What one run decided for one input file."""

    path: str
    outcome: str
    code: str | None = None
    reason: str | None = None
    letter_id: str | None = None


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Ledger:
    """A connection to one index's ledger. Reads see the last committed run."""

    def __init__(self, index_dir: Path):
        index_dir.mkdir(parents=True, exist_ok=True)
        self.path = index_dir / LEDGER_NAME
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a committed run survives a power loss
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # reads

    def file(self, path: str) -> FileRow | None:
        row = self._db.execute("SELECT * FROM files WHERE path = ?", (path,)).fetchone()
        return FileRow(*row[:8]) if row else None

    def files(self) -> dict[str, FileRow]:
        return {row[0]: FileRow(*row[:8]) for row in self._db.execute("SELECT * FROM files")}

    def letters(self) -> dict[str, LetterRow]:
        return {row[0]: LetterRow(*row) for row in self._db.execute("SELECT * FROM letters")}

    def totals(self) -> tuple[int, int]:
        """(letters, passages) the published index holds according to the ledger."""
        letters, passages = self._db.execute("SELECT COUNT(*), COALESCE(SUM(passages), 0) FROM letters").fetchone()
        return letters, passages

    def rejected(self) -> list[FileRow]:
        rows = self._db.execute("SELECT * FROM files WHERE outcome = ? ORDER BY path", (REJECTED,))
        return [FileRow(*row[:8]) for row in rows]

    def generation(self) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return row[0] if row else None

    def last_run(self) -> dict | None:
        row = self._db.execute(
            "SELECT run_id, started_at, finished_at, generation, counts FROM runs "
            "WHERE finished_at IS NOT NULL ORDER BY run_id DESC LIMIT 1"
        ).fetchone()
        if not row:
            return None
        return {"run_id": row[0], "started_at": row[1], "finished_at": row[2], "generation": row[3],
                "counts": json.loads(row[4] or "{}")}

    def run_outcomes(self, run_id: int) -> list[Outcome]:
        rows = self._db.execute(
            "SELECT path, outcome, code, reason, letter_id FROM outcomes WHERE run_id = ? ORDER BY path", (run_id,)
        )
        return [Outcome(*row) for row in rows]

    def next_run_id(self) -> int:
        return (self._db.execute("SELECT COALESCE(MAX(run_id), 0) FROM runs").fetchone()[0] or 0) + 1

    # the one write: a whole run, atomically

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def record_run(
        self,
        *,
        run_id: int,
        started_at: str,
        generation: str | None,
        counts: dict,
        outcomes: Iterable[Outcome],
        files: Iterable[FileRow],
        letters_added: Iterable[LetterRow],
        letters_removed: Iterable[str],
        reset: bool = False,
        final: bool = True,
    ) -> None:
        """What a run decided since its last checkpoint, in one transaction.

        A long run records itself at every checkpoint; `final` marks it finished. `reset` (a rebuild)
        forgets the letters and files of earlier runs.
        """
        with self._transaction() as db:
            if reset:
                db.execute("DELETE FROM letters")
                db.execute("DELETE FROM files")
            db.executemany("DELETE FROM letters WHERE letter_id = ?", ((i,) for i in letters_removed))
            db.executemany(
                "INSERT OR REPLACE INTO letters VALUES (?, ?, ?, ?, ?)",
                ((r.letter_id, r.passages, r.path, r.sha256, r.items_signature) for r in letters_added),
            )
            db.executemany(
                "INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((f.path, f.size, f.mtime_ns, f.sha256, f.outcome, f.code, f.reason, f.letter_id, run_id)
                 for f in files),
            )
            db.executemany(
                "INSERT INTO outcomes VALUES (?, ?, ?, ?, ?, ?)",
                ((run_id, o.path, o.outcome, o.code, o.reason, o.letter_id) for o in outcomes),
            )
            previous = db.execute("SELECT generation FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            db.execute(
                "INSERT OR REPLACE INTO runs VALUES (?, ?, ?, ?, ?)",
                (run_id, started_at, now() if final else None, generation or (previous[0] if previous else None),
                 json.dumps(counts)),
            )
            if generation:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (generation,))
