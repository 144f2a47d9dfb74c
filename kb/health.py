"""What is wrong with an index, and putting it right: what a killed run left (recover), damage (the cheap
and the deep checks, `kb verify`), an index of an older format, a damaged ledger rebuilt from the index,
and `kb status`, which reports all of it and changes nothing."""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from kb import index as kb_index
from kb import pool
from kb.engines import EngineError
from kb.integrity import IndexDamaged, Problem, check_generation, manifest_counts
from kb.ledger import (
    FINISHED,
    LEDGER_NAME,
    RETRY,
    Checkpoint,
    FileRow,
    Ledger,
    LedgerDamaged,
    LetterRow,
    now,
)

REBUILD_DIR = "rebuild"  # a rebuild is written beside the index, here (kb.ingest)
REBUILD_MARKER = "REBUILD.json"
# Measured through HTTP on the 2-core machine (issue 16, bench/RESULTS.md): Whoosh's phrase searches pass 1 s
# p95 at about 26,000 passages, its faceted searches 300 ms at about 45,000; tantivy stays under 0.1 s at 100k.
WHOOSH_SLOW_PASSAGES = 25_000


class IndexOutdated(RuntimeError):
    """The published index was written in another format (kb.index.INDEX_FORMAT) than this version writes."""


def recover(index_dir: Path, ledger: Ledger) -> str | None:
    """Finish what a killed run left, and say what was done (None when nothing): publish a generation the
    ledger committed but CURRENT does not name, drop unpublished leftovers, and remove a rebuild that was
    already swapped in."""
    done = None
    committed = ledger.generation()
    current = kb_index.current_generation(index_dir)
    if committed and committed != current and (index_dir / committed).is_dir():
        if not check_generation(index_dir / committed, deep=False):
            kb_index.publish(index_dir, committed)
            done = (f"the last run was interrupted before publishing {committed}; it is published now"
                    if current else f"index/CURRENT was damaged or missing; it names {committed} again")
    kb_index.prune_generations(index_dir)
    staging = index_dir / REBUILD_DIR
    marker = read_marker(staging)
    if marker and ledger.meta("rebuild") == marker.get("id"):
        shutil.rmtree(staging, ignore_errors=True)
    return done


def read_marker(staging: Path) -> dict | None:
    try:
        return json.loads((staging / REBUILD_MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def damage(index_dir: Path, *, deep: bool) -> list[Problem]:
    """What is damaged in an index: CURRENT, the published generation (sizes, or every byte when `deep`),
    the ledger. [] when nothing is."""
    problems = []
    problem = kb_index.current_problem(index_dir)
    if problem:
        problems.append(Problem("CURRENT", problem))
    current = kb_index.current_generation(index_dir)
    if current and not problem:
        problems += check_generation(index_dir / current, deep=deep)
    if (index_dir / LEDGER_NAME).exists():
        try:
            with Ledger(index_dir, create=False) as ledger:
                problems += [Problem(LEDGER_NAME, what) for what in ledger.integrity_problems()]
        except LedgerDamaged as error:
            problems.append(Problem(LEDGER_NAME, str(error).split(": ", 1)[-1]))
    return problems


def verify_index(index_dir: Path, *, generation: str | None = None, every: bool = False
                 ) -> tuple[list[Problem], list[str]]:
    """`kb verify`: every byte of the published generation (or of `generation`, or of every generation),
    CURRENT and the ledger. Returns (problems, the generations checked)."""
    index_dir = Path(index_dir)
    if generation is not None or every:
        names = [generation] if generation is not None else [g.name for g in kb_index.generation_dirs(index_dir)]
        problems = [p for name in names for p in check_generation(index_dir / name, deep=True)]
        return problems, names
    if not (index_dir / kb_index.CURRENT).exists() and not (index_dir / LEDGER_NAME).exists():
        raise FileNotFoundError(f"no index in {index_dir} yet (run: kb index PATH --index-dir {index_dir})")
    current = kb_index.current_generation(index_dir)
    return damage(index_dir, deep=True), [current] if current else []


def refuse_damaged(index_dir: Path, problems: list[Problem]) -> None:
    listed = "; ".join(str(p) for p in problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
    raise IndexDamaged(f"the index in {index_dir} is damaged: {listed}. Nothing was changed. "
                       f"Run: kb index --repair --index-dir {index_dir} (it rebuilds the index from the letter "
                       "texts it stored, without reading the files again)", problems)


def outdated_note(index_dir: Path, index_format: int) -> str:
    return (f"the index in {index_dir} was written by an older version of imr-kb (index format {index_format}; "
            f"this version writes {kb_index.INDEX_FORMAT}): run kb index --reparse --all --index-dir {index_dir} "
            "to rebuild it from the letters it stored (no letter file is read again)")


def repair_ledger(index_dir: Path) -> None:
    """A ledger SQLite cannot read, or whose integrity check fails, is moved aside and rebuilt from the
    letter documents of the newest generation that verifies (its files are then read again as changed)."""
    path = index_dir / LEDGER_NAME
    if not path.exists():
        return
    try:
        with Ledger(index_dir, create=False) as ledger:
            if not ledger.integrity_problems():
                return
    except LedgerDamaged:
        pass
    aside = path.with_name(f"{LEDGER_NAME}.damaged-{time.strftime('%Y%m%dT%H%M%S')}")
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{path}{suffix}").exists():
            os.replace(f"{path}{suffix}", f"{aside}{suffix}")
    generation = next((g for g in reversed(kb_index.generation_dirs(index_dir))
                       if not check_generation(g, deep=True)), None)
    with Ledger(index_dir) as ledger:
        if generation is None:
            return
        letters, files = [], []
        for record in kb_index.stored_letter_records(generation):
            source = record.get("source") or {}
            items = record.get("items", [])
            signature = "\n".join(f"{item['heading']}\t{item['decision']}" for item in items)
            letters.append(LetterRow(record["letter_id"], len(items), source.get("path", ""), source.get("sha256", ""),
                                     signature, source.get("kind", "text"), source.get("size", 0),
                                     source.get("pages"), ""))
            files.append(FileRow(source.get("path", ""), source.get("size", 0), 0, source.get("sha256"), "indexed",
                                 None, None, record["letter_id"]))
        ledger.record_checkpoint(Checkpoint(files=tuple(files), letters_added=tuple(letters)), run_id=0,
                                 started_at=now(), generation=generation.name, counts={}, state=FINISHED)


def rejected_files(index_dir: Path) -> list[FileRow]:
    if not (Path(index_dir) / LEDGER_NAME).exists():
        return []
    with Ledger(Path(index_dir)) as ledger:
        return ledger.rejected()


@dataclass(frozen=True)
class Status:
    generation: str | None
    engine: str | None
    letters: int
    passages: int
    last_run: dict | None
    rejected: list[FileRow]
    retry: list[FileRow] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # damage the cheap check found
    notes: list[str] = field(default_factory=list)  # an interrupted run or rebuild, an older parser...


def index_status(index_dir: Path) -> Status:
    """The published index as it is: its generation's own figures (from its manifest), the ledger's last
    run, and what is wrong or unfinished. Reads only; never changes the index."""
    index_dir = Path(index_dir)
    if not (index_dir / LEDGER_NAME).exists() and not (index_dir / kb_index.CURRENT).exists():
        return Status(None, None, 0, 0, None, [])
    problems = damage(index_dir, deep=False)
    notes = []
    current = kb_index.current_generation(index_dir)
    engine, letters, passages = None, 0, 0
    if current and (index_dir / current).is_dir():
        try:
            engine = kb_index.generation_engine(index_dir / current)
        except EngineError:
            engine = None
        counts = manifest_counts(index_dir / current)
        if counts:
            letters, passages = counts
    last_run, rejected, retry = None, [], []
    if not any(p.where == LEDGER_NAME for p in problems):
        with Ledger(index_dir, create=False) as ledger:
            last_run, rejected, retry = ledger.last_run(), ledger.rejected(), ledger.with_outcome(RETRY)
            committed = ledger.generation()
            if committed and committed != current:
                notes.append(f"the last run was interrupted before publishing {committed}; run kb index to "
                             "finish it")
            if current and not counts:
                letters, passages = ledger.totals()
            older = ledger.count_not_parsed_by(pool.parser_version())
            if older:
                notes.append(f"{older} letters were read by an older version of the parser; kb index --reparse "
                             "parses them again from their stored text")
    marker = read_marker(index_dir / REBUILD_DIR)
    if marker:
        notes.append(f"a {marker.get('kind', 'rebuild')} started {marker.get('started_at')} is unfinished in "
                     f"{index_dir / REBUILD_DIR}; run the same command to go on")
    if current and (index_dir / current).is_dir() and kb_index.generation_format(index_dir / current) != \
            kb_index.INDEX_FORMAT:
        notes.append(outdated_note(index_dir, kb_index.generation_format(index_dir / current)))
    if engine == "whoosh" and passages > WHOOSH_SLOW_PASSAGES:
        notes.append(whoosh_size_note(passages, index_dir))
    return Status(current, engine, letters, passages, last_run, rejected, retry, problems, notes)


def whoosh_size_note(passages: int, index_dir: Path) -> str:
    return (f"{passages:,} passages is past the size where Whoosh's searches slow down (phrase searches pass 1 s "
            "at about 26,000 passages, faceted ones 300 ms at about 45,000; tantivy stays under 0.1 s at 100,000): "
            f"switch engines with kb index --rebuild --engine tantivy --index-dir {index_dir} <your letter folders>")
