"""The ingest ledger: every input file's outcome, every indexed letter, every run. SQLite, beside the index.

Tables:
    files    one row per input path: its size, mtime and sha256 when last seen, and its outcome
             ("indexed", "duplicate", "rejected" or "retry") with the reason or note, the letter it gave,
             and how many runs in a row it failed for a reason that can pass
    letters  one row per letter in the published index: its id, passages, the file it came from (path,
             sha256, kind, size, pages) and the version of the parser that read it
    runs     one row per `kb index` run: when, the generation it published, its outcome counts, and
             whether it finished or was interrupted
    outcomes one row per (run, input file): what the run decided for it, "unchanged" included
    meta     the published generation, as the ledger last committed it

A run's rows are written at each checkpoint in one transaction, committed after the checkpoint's
generation is durable and before it is published, so the ledger is never behind the published index;
kb.ingest rolls a committed but unpublished generation forward when it starts, and `kb status` says so.

Paths are keys. A path that is not valid UTF-8 (a file name in another encoding) is stored as
"b64:" and its bytes in base64; real paths are absolute, so the two never collide.
"""

from __future__ import annotations

import base64
import json
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

LEDGER_NAME = "ledger.sqlite3"

INDEXED, DUPLICATE, REJECTED, UNCHANGED, RETRY = "indexed", "duplicate", "rejected", "unchanged", "retry"
OUTCOMES = (INDEXED, UNCHANGED, DUPLICATE, REJECTED, RETRY)
FINISHED, INTERRUPTED = "finished", "interrupted"

SCHEMA_VERSION = 2

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

# Each step takes a ledger of the version before it to the next (PRAGMA user_version).
_MIGRATIONS = {
    2: """
        ALTER TABLE files ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE letters ADD COLUMN kind TEXT NOT NULL DEFAULT 'text';
        ALTER TABLE letters ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE letters ADD COLUMN pages INTEGER;
        ALTER TABLE letters ADD COLUMN parser TEXT NOT NULL DEFAULT '';
        ALTER TABLE runs ADD COLUMN state TEXT;
        UPDATE runs SET state = 'finished' WHERE finished_at IS NOT NULL;
        CREATE INDEX IF NOT EXISTS letters_parser ON letters (parser);
    """,
}

_FILE_COLUMNS = "path, size, mtime_ns, sha256, outcome, code, reason, letter_id, attempts"
_LETTER_COLUMNS = "letter_id, passages, path, sha256, items_signature, kind, size, pages, parser"


def path_key(path: str) -> str:
    """A path as stored: itself, or "b64:..." when it is not valid UTF-8."""
    try:
        path.encode("utf-8")
        return path
    except UnicodeEncodeError:
        return "b64:" + base64.urlsafe_b64encode(os.fsencode(path)).decode("ascii")


def path_of_key(key: str) -> str:
    if key.startswith("b64:"):
        return os.fsdecode(base64.urlsafe_b64decode(key[4:]))
    return key


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
    attempts: int = 0  # runs in a row that ended in "retry"


@dataclass(frozen=True)
class LetterRow:
    letter_id: str
    passages: int
    path: str
    sha256: str
    items_signature: str  # "heading\tdecision" of each item: to tell a re-parse that differs
    kind: str = "text"  # "pdf" | "text": what the file was
    size: int = 0
    pages: int | None = None
    parser: str = ""  # kb.parser_version of the parser that read it ("" before versions were kept)


@dataclass(frozen=True)
class Outcome:
    """What one run decided for one input file."""

    path: str
    outcome: str
    code: str | None = None
    reason: str | None = None
    letter_id: str | None = None


@dataclass(frozen=True)
class Checkpoint:
    """What a run decided since its previous checkpoint: written in one transaction."""

    outcomes: tuple[Outcome, ...] = ()
    files: tuple[FileRow, ...] = ()
    letters_added: tuple[LetterRow, ...] = ()
    letters_removed: tuple[str, ...] = ()


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _file_row(row) -> FileRow:
    return FileRow(path_of_key(row[0]), *row[1:])


def _letter_row(row) -> LetterRow:
    return LetterRow(row[0], row[1], path_of_key(row[2]), *row[3:])


class LedgerDamaged(RuntimeError):
    """The ledger file is not a sound SQLite database."""


class Ledger:
    """A connection to one index's ledger. Reads see the last committed checkpoint.

    One connection per thread: kb.ingest decides in one thread and records in another.
    """

    def __init__(self, index_dir: Path, *, create: bool = True):
        index_dir = Path(index_dir)
        if create:
            index_dir.mkdir(parents=True, exist_ok=True)
        self.path = index_dir / LEDGER_NAME
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA busy_timeout = 10000")
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")  # a committed run survives a power loss
            self._migrate()
        except sqlite3.DatabaseError as error:
            raise LedgerDamaged(f"the ledger {self.path} is damaged: SQLite cannot read it ({error})") from None

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version >= SCHEMA_VERSION:
            return
        with self._transaction() as db:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            if version == 0 and not db.execute("SELECT 1 FROM pragma_table_info('files') WHERE name = 'attempts'"
                                                ).fetchone():
                version = 1  # created by this statement list, or a ledger from before versions were kept
            for target in range(version + 1, SCHEMA_VERSION + 1):
                for statement in _MIGRATIONS[target].split(";"):
                    if statement.strip():
                        db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # reads

    def file(self, path: str) -> FileRow | None:
        row = self._db.execute(f"SELECT {_FILE_COLUMNS} FROM files WHERE path = ?", (path_key(path),)).fetchone()
        return _file_row(row) if row else None

    def files(self) -> dict[str, FileRow]:
        return {row.path: row for row in map(_file_row, self._db.execute(f"SELECT {_FILE_COLUMNS} FROM files"))}

    def path_with_sha256(self, sha256: str) -> str | None:
        """A file already indexed or seen (not rejected) with these bytes."""
        row = self._db.execute("SELECT path FROM files WHERE sha256 = ? AND outcome NOT IN (?, ?) LIMIT 1",
                               (sha256, REJECTED, RETRY)).fetchone()
        return path_of_key(row[0]) if row else None

    def letter(self, letter_id: str) -> LetterRow | None:
        row = self._db.execute(f"SELECT {_LETTER_COLUMNS} FROM letters WHERE letter_id = ?", (letter_id,)).fetchone()
        return _letter_row(row) if row else None

    def letters(self) -> dict[str, LetterRow]:
        rows = self._db.execute(f"SELECT {_LETTER_COLUMNS} FROM letters")
        return {row.letter_id: row for row in map(_letter_row, rows)}

    def letters_not_parsed_by(self, parser: str) -> Iterator[LetterRow]:
        """Letters read by another version of the parser, in letter id order (for kb index --reparse)."""
        rows = self._db.execute(f"SELECT {_LETTER_COLUMNS} FROM letters WHERE parser != ? ORDER BY letter_id",
                                (parser,))
        return map(_letter_row, rows.fetchall())

    def count_not_parsed_by(self, parser: str) -> int:
        return self._db.execute("SELECT COUNT(*) FROM letters WHERE parser != ?", (parser,)).fetchone()[0]

    def all_letters(self) -> Iterator[LetterRow]:
        return map(_letter_row, self._db.execute(f"SELECT {_LETTER_COLUMNS} FROM letters ORDER BY letter_id"
                                                 ).fetchall())

    def totals(self) -> tuple[int, int]:
        """(letters, passages) the published index holds according to the ledger."""
        letters, passages = self._db.execute("SELECT COUNT(*), COALESCE(SUM(passages), 0) FROM letters").fetchone()
        return letters, passages

    def rejected(self) -> list[FileRow]:
        return self.with_outcome(REJECTED)

    def with_outcome(self, outcome: str) -> list[FileRow]:
        rows = self._db.execute(f"SELECT {_FILE_COLUMNS} FROM files WHERE outcome = ? ORDER BY path", (outcome,))
        return [_file_row(row) for row in rows]

    def generation(self) -> str | None:
        return self.meta("generation")

    def meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def last_run(self) -> dict | None:
        row = self._db.execute(
            "SELECT run_id, started_at, finished_at, generation, counts, state FROM runs "
            "WHERE finished_at IS NOT NULL ORDER BY run_id DESC LIMIT 1"
        ).fetchone()
        if not row:
            return None
        return {"run_id": row[0], "started_at": row[1], "finished_at": row[2], "generation": row[3],
                "counts": json.loads(row[4] or "{}"), "state": row[5] or FINISHED}

    def run_outcomes(self, run_id: int) -> list[Outcome]:
        rows = self._db.execute(
            "SELECT path, outcome, code, reason, letter_id FROM outcomes WHERE run_id = ? ORDER BY path", (run_id,)
        )
        return [Outcome(path_of_key(row[0]), *row[1:]) for row in rows]

    def next_run_id(self) -> int:
        return (self._db.execute("SELECT COALESCE(MAX(run_id), 0) FROM runs").fetchone()[0] or 0) + 1

    def integrity_problems(self) -> list[str]:
        """SQLite's own check of the file: [] when it is sound."""
        try:
            rows = self._db.execute("PRAGMA integrity_check").fetchall()
        except sqlite3.DatabaseError as error:
            return [str(error)]
        return [] if rows == [("ok",)] else [row[0] for row in rows]

    # writes

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def record_checkpoint(
        self,
        checkpoint: Checkpoint,
        *,
        run_id: int,
        started_at: str,
        generation: str | None,
        counts: dict,
        state: str | None = None,
        expect: tuple[int, int] | None = None,
    ) -> None:
        """What a run decided since its last checkpoint, in one transaction.

        A long run records itself at every checkpoint; `state` (finished or interrupted) marks its last.
        `expect` is (letters, passages) of the generation being published: the transaction is rolled
        back, and ValueError raised, if the ledger would then disagree with it.
        """
        with self._transaction() as db:
            db.executemany("DELETE FROM letters WHERE letter_id = ?", ((i,) for i in checkpoint.letters_removed))
            db.executemany(
                f"INSERT OR REPLACE INTO letters ({_LETTER_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((r.letter_id, r.passages, path_key(r.path), r.sha256, r.items_signature, r.kind, r.size, r.pages,
                  r.parser) for r in checkpoint.letters_added),
            )
            db.executemany(
                f"INSERT OR REPLACE INTO files ({_FILE_COLUMNS}, run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                ((path_key(f.path), f.size, f.mtime_ns, f.sha256, f.outcome, f.code, f.reason, f.letter_id,
                  f.attempts, run_id) for f in checkpoint.files),
            )
            db.executemany(
                "INSERT OR REPLACE INTO outcomes VALUES (?, ?, ?, ?, ?, ?)",
                ((run_id, path_key(o.path), o.outcome, o.code, o.reason, o.letter_id) for o in checkpoint.outcomes),
            )
            previous = db.execute("SELECT generation FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            db.execute(
                "INSERT OR REPLACE INTO runs (run_id, started_at, finished_at, generation, counts, state) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (run_id, started_at, now() if state else None, generation or (previous[0] if previous else None),
                 json.dumps(counts), state),
            )
            if generation:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (generation,))
            if expect is not None:
                found = db.execute("SELECT COUNT(*), COALESCE(SUM(passages), 0) FROM letters").fetchone()
                if tuple(found) != tuple(expect):
                    raise ValueError(f"the new index {generation} holds {expect[0]} letters and {expect[1]} passages "
                                     f"but the ledger expects {found[0]} and {found[1]}; it was not published")

    def set_meta(self, key: str, value: str | None) -> None:
        with self._transaction() as db:
            if value is None:
                db.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def adopt(self, other: Path, *, run_id: int, started_at: str, generation: str,
              meta: dict[str, str] | None = None) -> dict[str, int]:
        """Replace this ledger's files and letters with those of the ledger in `other` (a finished rebuild),
        record the rebuild as run `run_id` with each file's outcome, and name `generation` published, in
        one transaction. Returns the run's outcome counts."""
        self._db.execute("ATTACH DATABASE ? AS other", (str(Path(other) / LEDGER_NAME),))
        try:
            with self._transaction() as db:
                db.execute("DELETE FROM files")
                db.execute("DELETE FROM letters")
                db.execute(f"INSERT INTO letters ({_LETTER_COLUMNS}) SELECT {_LETTER_COLUMNS} FROM other.letters")
                db.execute(f"INSERT INTO files ({_FILE_COLUMNS}, run_id) SELECT {_FILE_COLUMNS}, ? FROM other.files",
                           (run_id,))
                db.execute("INSERT OR REPLACE INTO outcomes SELECT ?, path, outcome, code, reason, letter_id "
                           "FROM other.files", (run_id,))
                counts = dict.fromkeys(OUTCOMES, 0)
                counts.update(db.execute("SELECT outcome, COUNT(*) FROM other.files GROUP BY outcome").fetchall())
                db.execute("INSERT OR REPLACE INTO runs (run_id, started_at, finished_at, generation, counts, state) "
                           "VALUES (?, ?, ?, ?, ?, ?)",
                           (run_id, started_at, now(), generation, json.dumps(counts), FINISHED))
                db.execute("INSERT OR REPLACE INTO meta VALUES ('generation', ?)", (generation,))
                for key, value in (meta or {}).items():
                    db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))
        finally:
            self._db.execute("DETACH DATABASE other")
        return counts
