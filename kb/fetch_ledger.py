"""The fetch ledger: what `kb fetch` listed and downloaded into one letters folder (`fetch.sqlite3` there).

    walks         one search walk: a decision-date range (at most a month) with its filters, its total and
                  when its listing was complete and when its letters were all tried
    pages         the results pages a walk has read, with their rows: a rerun goes on from the next page
    letters       one row per case number: the DWC's record (the sidecar), the PDF's address, and the
                  download's state (pending, done, failed) with its attempts, error, path, sha256 and size
    walk_letters  the letters a walk listed, in its order
    runs          each run: when, what was asked, its counts and why it stopped, if it did

Every change is its own transaction in WAL mode, so a run killed at any moment leaves the ledger as it was
after its last whole step; the fetcher writes a file before recording it, so the ledger never claims a
letter the folder lacks.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

from kb.dwc import DwcCase, ResultRow, ResultsPage

LEDGER_NAME = "fetch.sqlite3"
LOCK_NAME = ".fetch.lock"
PENDING, DONE, FAILED = "pending", "done", "failed"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS walks (
    walk_id INTEGER PRIMARY KEY,
    key TEXT UNIQUE NOT NULL,
    decided_from TEXT NOT NULL,
    decided_to TEXT NOT NULL,
    filters TEXT NOT NULL,
    total INTEGER,
    listed_at TEXT,
    finished_at TEXT
);
CREATE TABLE IF NOT EXISTS pages (
    walk_id INTEGER NOT NULL,
    page INTEGER NOT NULL,
    total INTEGER NOT NULL,
    has_next INTEGER NOT NULL,
    rows TEXT NOT NULL,
    PRIMARY KEY (walk_id, page)
);
CREATE TABLE IF NOT EXISTS letters (
    case_number TEXT PRIMARY KEY,
    decision_date TEXT NOT NULL,
    pdf_url TEXT NOT NULL,
    record TEXT NOT NULL,
    complete INTEGER NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    path TEXT,
    sha256 TEXT,
    size INTEGER,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS letters_status ON letters (status);
CREATE TABLE IF NOT EXISTS walk_letters (
    walk_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    case_number TEXT NOT NULL,
    PRIMARY KEY (walk_id, position)
);
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    command TEXT NOT NULL,
    counts TEXT,
    stopped TEXT
);
"""


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class FetchLocked(RuntimeError):
    """Another `kb fetch` is writing into this folder."""


class FetchLock:
    """An exclusive flock on `<folder>/.fetch.lock`; the kernel drops it when its process dies."""

    def __init__(self, folder: Path):
        self.path = folder / LOCK_NAME
        self._file = None

    def __enter__(self) -> FetchLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise FetchLocked(f"{self.path.parent} is being fetched into by {holder}: one fetch at a time "
                              "per folder") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"kb fetch (pid {os.getpid()} on {socket.gethostname()}, started {now()})\n")
        handle.flush()
        self._file = handle
        return self

    def __exit__(self, *exc) -> None:
        if self._file:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()


@dataclass(frozen=True)
class Walk:
    walk_id: int
    key: str
    decided_from: str
    decided_to: str
    filters: dict
    total: int | None
    listed_at: str | None
    finished_at: str | None


@dataclass(frozen=True)
class LetterState:
    case_number: str
    decision_date: str
    pdf_url: str
    record: dict
    complete: bool  # the record holds every treatment (not only those a filtered search showed)
    status: str
    attempts: int
    error: str | None
    path: str | None
    sha256: str | None
    size: int | None


def _letter(row) -> LetterState:
    return LetterState(row[0], row[1], row[2], json.loads(row[3]), bool(row[4]), *row[5:11])


_LETTER_COLUMNS = "case_number, decision_date, pdf_url, record, complete, status, attempts, error, path, sha256, size"


class FetchLedger:
    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / LEDGER_NAME
        self._db = sqlite3.connect(self.path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> FetchLedger:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _write(self, statements: Iterable[tuple[str, tuple]]) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            for sql, args in statements:
                self._db.execute(sql, args)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # walks and their pages

    def walk(self, key: str) -> Walk | None:
        row = self._db.execute("SELECT * FROM walks WHERE key = ?", (key,)).fetchone()
        return Walk(*row[:4], json.loads(row[4]), *row[5:]) if row else None

    def start_walk(self, key: str, decided_from: date, decided_to: date, filters: dict) -> Walk:
        self._write([("INSERT OR IGNORE INTO walks (key, decided_from, decided_to, filters) VALUES (?, ?, ?, ?)",
                      (key, decided_from.isoformat(), decided_to.isoformat(), json.dumps(filters, sort_keys=True)))])
        return self.walk(key)

    def restart_walk(self, walk_id: int) -> None:
        """Forget a walk's pages (its results changed while it was listed, or a relisting was asked for)."""
        self._write([("DELETE FROM pages WHERE walk_id = ?", (walk_id,)),
                     ("UPDATE walks SET total = NULL, listed_at = NULL, finished_at = NULL WHERE walk_id = ?",
                      (walk_id,))])

    def save_page(self, walk_id: int, number: int, page: ResultsPage) -> None:
        rows = json.dumps([row.to_json() for row in page.rows])
        self._write([
            ("INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?, ?)", (walk_id, number, page.total, page.has_next, rows)),
            ("UPDATE walks SET total = ? WHERE walk_id = ?", (page.total, walk_id)),
        ])

    def pages(self, walk_id: int) -> list[ResultsPage]:
        rows = self._db.execute("SELECT total, has_next, rows FROM pages WHERE walk_id = ? ORDER BY page", (walk_id,))
        return [ResultsPage(total, tuple(ResultRow.from_json(r) for r in json.loads(data)), bool(has_next))
                for total, has_next, data in rows]

    def finish_listing(self, walk_id: int, letters: list[tuple[DwcCase, dict, bool]]) -> None:
        """Record a walk's letters (case, sidecar record, complete) and mark its listing done, at once."""
        statements = [("DELETE FROM walk_letters WHERE walk_id = ?", (walk_id,))]
        for position, (case, record, complete) in enumerate(letters):
            statements += self._upsert(case, record, complete)
            statements.append(("INSERT INTO walk_letters VALUES (?, ?, ?)", (walk_id, position, case.case_number)))
        statements.append(("UPDATE walks SET listed_at = ? WHERE walk_id = ?", (now(), walk_id)))
        statements.append(("DELETE FROM pages WHERE walk_id = ?", (walk_id,)))  # the letters hold it all now
        self._write(statements)

    def finish_walk(self, walk_id: int) -> None:
        """Every letter of the walk was tried; later runs find its letters by decision date."""
        self._write([("UPDATE walks SET finished_at = ? WHERE walk_id = ?", (now(), walk_id)),
                     ("DELETE FROM walk_letters WHERE walk_id = ?", (walk_id,))])

    def last_decided_to(self) -> date | None:
        """The end of the latest decision-date range whose listing was complete, over unfiltered walks."""
        row = self._db.execute(
            "SELECT MAX(decided_to) FROM walks WHERE listed_at IS NOT NULL AND filters = '{}'").fetchone()
        return date.fromisoformat(row[0]) if row and row[0] else None

    # letters

    def _upsert(self, case: DwcCase, record: dict, complete: bool) -> list[tuple[str, tuple]]:
        old = self.letter(case.case_number)
        if old is None:
            return [(f"INSERT INTO letters ({_LETTER_COLUMNS}, updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, NULL, NULL, "
                     "NULL, NULL, ?)", (case.case_number, case.decision_date, case.pdf_url, json.dumps(record),
                                        complete, PENDING, now()))]
        if old.complete and not complete:
            return []  # a filtered listing shows fewer treatments than the record already holds
        return [("UPDATE letters SET record = ?, complete = ?, pdf_url = ?, updated_at = ? WHERE case_number = ?",
                 (json.dumps(record), complete, case.pdf_url if old.status != DONE else old.pdf_url, now(),
                  case.case_number))]

    def add_letter(self, case: DwcCase, record: dict, complete: bool) -> None:
        self._write(self._upsert(case, record, complete))

    def letter(self, case_number: str) -> LetterState | None:
        row = self._db.execute(f"SELECT {_LETTER_COLUMNS} FROM letters WHERE case_number = ?",
                               (case_number,)).fetchone()
        return _letter(row) if row else None

    def walk_letters(self, walk_id: int) -> list[LetterState]:
        rows = self._db.execute(
            f"SELECT {', '.join('l.' + c.strip() for c in _LETTER_COLUMNS.split(','))} FROM walk_letters w "
            "JOIN letters l ON l.case_number = w.case_number WHERE w.walk_id = ? ORDER BY w.position", (walk_id,))
        return [_letter(row) for row in rows]

    def letters_decided(self, start: str, end: str) -> list[LetterState]:
        """Every letter decided in [start, end] (ISO dates), in date order."""
        rows = self._db.execute(f"SELECT {_LETTER_COLUMNS} FROM letters WHERE decision_date BETWEEN ? AND ? "
                                "ORDER BY decision_date, case_number", (start, end))
        return [_letter(row) for row in rows]

    def failed_letters(self) -> list[LetterState]:
        rows = self._db.execute(f"SELECT {_LETTER_COLUMNS} FROM letters WHERE status = ? ORDER BY decision_date, "
                                "case_number", (FAILED,))
        return [_letter(row) for row in rows]

    def mark_done(self, case_number: str, path: str, sha256: str, size: int) -> None:
        self._write([("UPDATE letters SET status = ?, error = NULL, path = ?, sha256 = ?, size = ?, "
                      "attempts = attempts + 1, updated_at = ? WHERE case_number = ?",
                      (DONE, path, sha256, size, now(), case_number))])

    def mark_failed(self, case_number: str, error: str) -> None:
        self._write([("UPDATE letters SET status = ?, error = ?, attempts = attempts + 1, updated_at = ? "
                      "WHERE case_number = ?", (FAILED, error, now(), case_number))])

    def counts(self) -> dict[str, int]:
        found = dict(self._db.execute("SELECT status, COUNT(*) FROM letters GROUP BY status").fetchall())
        return {status: found.get(status, 0) for status in (DONE, PENDING, FAILED)}

    # runs

    def start_run(self, command: str) -> int:
        cursor = self._db.execute("INSERT INTO runs (started_at, command) VALUES (?, ?)", (now(), command))
        return cursor.lastrowid

    def finish_run(self, run_id: int, counts: dict, stopped: str | None) -> None:
        self._write([("UPDATE runs SET finished_at = ?, counts = ?, stopped = ? WHERE run_id = ?",
                      (now(), json.dumps(counts), stopped, run_id))])
