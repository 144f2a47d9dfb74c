"""`kb index`: walk, read and parse letter files in parallel, and publish them into the index.

Every entry found gets exactly one outcome per run (kb.decisions: indexed, unchanged, duplicate, rejected,
retry; files that are not letters are counted as ignored). Files are decided in the order they were found,
whatever order the workers finish in, so the same input always gives the same index.

One run holds the index lock. Reading and parsing happen in worker processes (kb.pool); deciding in this
thread; writing in a writer thread (kb.writer), which publishes a new generation at every checkpoint: every
`checkpoint` changed letters or `checkpoint_seconds` of work, whichever comes first, so a crash or a kill
loses at most the work since the last one and a rerun of the same command goes on from there. Ctrl-C or
SIGTERM stops reading, keeps what was parsed (a last checkpoint) and says how to go on.

A rebuild (`rebuild=True`) is written beside the index, in `index/rebuild/`, as an index of its own with
its own ledger and checkpoints, so an interrupted rebuild also goes on where it stopped; only when it is
complete does its generation replace the published one, and its ledger the index's, in one step.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from kb import index as kb_index
from kb import pool
from kb.decisions import Decisions, Slot, Tally
from kb.engines import EngineError, engine_named
from kb.extract import walk_letter_files
from kb.health import (
    REBUILD_DIR,
    REBUILD_MARKER,
    IndexOutdated,
    damage,
    outdated_note,
    read_marker,
    recover,
    refuse_damaged,
    repair_ledger,
)
from kb.integrity import IndexDamaged, Problem, check_generation
from kb.ledger import (
    FINISHED,
    INTERRUPTED,
    LEDGER_NAME,
    Checkpoint,
    Ledger,
    LedgerDamaged,
    now,
)
from kb.pool import (
    DEFAULT_MEMORY_MB,
    DEFAULT_TIMEOUT,
    Parsed,
    StoredLetter,
    WorkerPool,
    parse_stored,
)
from kb.writer import Batch, GenerationWriter

LOCK_NAME = "lock"
CHECKPOINT_LETTERS = 20_000  # changed letters between checkpoints...
CHECKPOINT_SECONDS = 60.0  # ...or seconds of work, whichever comes first: the most a crash can lose


class IndexLocked(RuntimeError):
    """Another `kb index` holds this index's lock."""


class IndexLock:
    """An exclusive flock on `index/lock`. The kernel drops it when its process dies: never stale."""

    def __init__(self, index_dir: Path):
        self.path = index_dir / LOCK_NAME
        self._file = None

    def __enter__(self) -> IndexLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise IndexLocked(f"{self.path} is held by {holder}: one indexer at a time; "
                              "wait for it to finish") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"kb index (pid {os.getpid()} on {socket.gethostname()}, started {now()})\n")
        handle.flush()
        self._file = handle
        return self

    def __exit__(self, *exc) -> None:
        if self._file:
            fcntl.flock(self._file, fcntl.LOCK_UN)
            self._file.close()


@dataclass
class RunReport:
    """What a run did; `kb index` prints it."""

    run_id: int
    generation: str | None = None  # the generation published last, None when nothing changed
    tally: Tally = field(default_factory=Tally)
    letters: int = 0
    passages: int = 0
    seconds: float = 0.0
    interrupted: str | None = None  # "SIGINT" or "SIGTERM" when the run was stopped
    resumed: bool = False  # a rebuild that went on from an interrupted one
    engine: str | None = None
    recovered: str | None = None  # what was finished of an earlier, interrupted run
    kept_old: bool = False  # a rebuild that found no letters left the index as it was

    @property
    def counts(self) -> dict[str, int]:
        return self.tally.counts

    @property
    def passages_added(self) -> int:
        return self.tally.passages_added

    @property
    def passages_removed(self) -> int:
        return self.tally.passages_removed

    @property
    def rejected(self) -> list:
        return self.tally.rejected

    @property
    def notes(self) -> list:
        return self.tally.notes

    @property
    def changed(self) -> bool:
        return self.tally.passages_added > 0 or self.tally.passages_removed > 0 or self.generation is not None

    @property
    def files(self) -> int:
        return sum(self.counts.values())


# --------------------------------------------------------------------------------------------
# Recovery and integrity


# --------------------------------------------------------------------------------------------
# Runs


def index_paths(
    paths: Iterable[str | os.PathLike[str]],
    index_dir: Path,
    *,
    jobs: int | None = None,
    rebuild: bool = False,
    replace: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    wall_timeout: float | None = None,
    memory_mb: int = DEFAULT_MEMORY_MB,
    checkpoint: int = CHECKPOINT_LETTERS,
    checkpoint_seconds: float = CHECKPOINT_SECONDS,
    progress: Callable[[int, int], None] | None = None,
    engine: str | None = None,
    task: Callable | None = None,
) -> RunReport:
    """Index the letter files in `paths` (files, or folders searched recursively) into `index_dir`.

    `engine` (kb.engines) is for a new index or a rebuild; without it an index keeps the engine it has, and
    a new one gets $KB_ENGINE, else whoosh. Asking an update for another engine is an error. `task` is the
    function the workers run on each file (kb.pool.parse_file).
    """
    paths = [os.path.abspath(os.fspath(p)) for p in paths]
    options = dict(jobs=jobs, timeout=timeout, wall_timeout=wall_timeout, memory_mb=memory_mb, checkpoint=checkpoint,
                   checkpoint_seconds=checkpoint_seconds, progress=progress, task=task)
    index_dir = Path(index_dir)
    with IndexLock(index_dir), _opened_ledger(index_dir) as ledger:
        recovered = _ready(index_dir, ledger)
        current = kb_index.current_generation(index_dir)
        in_use = kb_index.generation_engine(index_dir / current) if current else None
        engine = engine_named(engine or in_use).NAME
        if in_use and in_use != engine and not rebuild:
            shown = " ".join(paths)
            raise EngineError(f"the index in {index_dir} uses {in_use}, not {engine}: rebuild it to change engines "
                              f"(kb index --rebuild --engine {engine} --index-dir {index_dir} {shown})")

        def feed(decisions: Decisions) -> Iterator[Slot]:
            return (decisions.slot(entry) for entry in walk_letter_files(paths))

        total = (lambda: sum(1 for entry in walk_letter_files(paths) if not entry.ignored)) if progress else None
        if rebuild:
            report = _rebuild(index_dir, ledger, {"kind": "rebuild", "paths": paths, "engine": engine}, feed,
                              engine, replace, total, options)
        else:
            report = _run(index_dir, ledger, feed, engine=engine, replace=replace, total=total, **options)
        report.recovered = recovered
        return report


def reparse_index(index_dir: Path, *, jobs: int | None = None, timeout: float = DEFAULT_TIMEOUT,
                  memory_mb: int = DEFAULT_MEMORY_MB, checkpoint: int = CHECKPOINT_LETTERS,
                  checkpoint_seconds: float = CHECKPOINT_SECONDS, every: bool = False,
                  progress: Callable[[int, int], None] | None = None) -> RunReport:
    """Parse again, from the texts the index stored, every letter read by another version of the parser,
    and publish what changed: incremental and resumable like any run. With `every`, or when the index was
    written in another format (kb.index.INDEX_FORMAT), every letter, into a new index built beside it."""
    index_dir = Path(index_dir)
    options = dict(jobs=jobs, timeout=timeout, wall_timeout=None, memory_mb=memory_mb, checkpoint=checkpoint,
                   checkpoint_seconds=checkpoint_seconds, progress=progress, task=parse_stored)
    with IndexLock(index_dir), _opened_ledger(index_dir) as ledger:
        recovered = _ready(index_dir, ledger, outdated_ok=True)
        current = kb_index.current_generation(index_dir)
        if current is None:
            raise FileNotFoundError(f"no index in {index_dir} yet (run: kb index PATH --index-dir {index_dir})")
        engine = kb_index.generation_engine(index_dir / current)
        if every or kb_index.generation_format(index_dir / current) != kb_index.INDEX_FORMAT:
            report = _rebuild_from_stored(index_dir, ledger, "reparse", engine, options)
        else:
            version = pool.parser_version()
            count = ledger.count_not_parsed_by(version)
            report = _run(index_dir, ledger, _stored_feed(ledger.letters_not_parsed_by(version)), engine=engine,
                          total=lambda: count, **options)
        report.recovered = recovered
        return report


def repair_index(index_dir: Path, *, jobs: int | None = None, timeout: float = DEFAULT_TIMEOUT,
                 memory_mb: int = DEFAULT_MEMORY_MB, checkpoint: int = CHECKPOINT_LETTERS,
                 checkpoint_seconds: float = CHECKPOINT_SECONDS, engine: str | None = None,
                 progress: Callable[[int, int], None] | None = None) -> RunReport:
    """Rebuild a damaged index from the letter texts it stored (no letter file is read again), as a
    rebuild: beside the index, resumable, swapped in whole. A damaged ledger is first rebuilt from the
    letters of the newest generation that verifies."""
    index_dir = Path(index_dir)
    options = dict(jobs=jobs, timeout=timeout, wall_timeout=None, memory_mb=memory_mb, checkpoint=checkpoint,
                   checkpoint_seconds=checkpoint_seconds, progress=progress, task=parse_stored)
    with IndexLock(index_dir):
        repair_ledger(index_dir)
        with Ledger(index_dir) as ledger:
            if (index_dir / kb_index.CURRENT).exists() and kb_index.current_problem(index_dir):
                (index_dir / kb_index.CURRENT).unlink()  # damaged: the ledger names the generation to publish
            recover(index_dir, ledger)
            current = kb_index.current_generation(index_dir)
            in_use = kb_index.generation_engine(index_dir / current) if current and (index_dir / current).is_dir() \
                and not check_generation(index_dir / current, deep=False) else None
            engine = engine_named(engine or in_use or _manifest_engine(index_dir, current)).NAME
            return _rebuild_from_stored(index_dir, ledger, "repair", engine, options)


def _rebuild_from_stored(index_dir: Path, ledger: Ledger, kind: str, engine: str, options: dict) -> RunReport:
    """A new index of every letter the ledger holds, parsed from its stored text, built beside the index
    and swapped in (a letter that cannot be parsed again has its file read by the next kb index)."""
    total = ledger.totals()[0]

    def feed(decisions: Decisions) -> Iterator[Slot]:
        return _stored_feed(ledger.all_letters(), skip_done=True)(decisions)

    return _rebuild(index_dir, ledger, {"kind": kind, "engine": engine}, feed, engine, False, lambda: total, options,
                    repairing=True)


def _manifest_engine(index_dir: Path, current: str | None) -> str | None:
    for generation in reversed(kb_index.generation_dirs(index_dir)):
        try:
            return json.loads((generation / "manifest.json").read_text(encoding="utf-8"))["engine"]
        except (OSError, ValueError, KeyError):
            continue
    return None


def _stored_feed(rows: Iterable, *, skip_done: bool = False) -> Callable[[Decisions], Iterator[Slot]]:
    """Slots for letters to parse again from their stored text; `skip_done`: not those the run's own
    ledger already holds (a repair going on after an interruption)."""
    def feed(decisions: Decisions) -> Iterator[Slot]:
        for row in rows:
            if skip_done and decisions.letter(row.letter_id) is not None:
                continue
            yield decisions.stored_slot(StoredLetter(row.path, row.sha256, row.kind, row.size, row.pages),
                                        row.letter_id)
    return feed


@contextmanager
def _opened_ledger(index_dir: Path) -> Iterator[Ledger]:
    try:
        ledger = Ledger(index_dir)
    except LedgerDamaged as error:
        raise IndexDamaged(f"{error}. Nothing was changed. Run: kb index --repair --index-dir {index_dir} (it "
                           "rebuilds the ledger from the published index)", [Problem(LEDGER_NAME, "cannot be read")]
                           ) from None
    with ledger:
        yield ledger


def _ready(index_dir: Path, ledger: Ledger, *, outdated_ok: bool = False) -> str | None:
    """Before a run builds on the published index: finish an interrupted run, then check every byte of the
    generation it links from, so damage is never carried into the next one, and that it was written in
    this version's format."""
    if kb_index.current_problem(index_dir) and ledger.generation():
        (index_dir / kb_index.CURRENT).unlink()  # damaged: the ledger names the generation to publish
    recovered = recover(index_dir, ledger)
    problems = damage(index_dir, deep=True)
    if problems:
        refuse_damaged(index_dir, problems)
    current = kb_index.current_generation(index_dir)
    if current and not outdated_ok and kb_index.generation_format(index_dir / current) != kb_index.INDEX_FORMAT:
        raise IndexOutdated(outdated_note(index_dir, kb_index.generation_format(index_dir / current))
                            + ". Nothing was changed")
    return recovered


def _run(target: Path, ledger: Ledger, feed: Callable[[Decisions], Iterator[Slot]], *, engine: str,
         replace: bool = False, total: Callable[[], int] | None = None, jobs: int | None = None,
         timeout: float = DEFAULT_TIMEOUT, wall_timeout: float | None = None, memory_mb: int = DEFAULT_MEMORY_MB,
         checkpoint: int = CHECKPOINT_LETTERS, checkpoint_seconds: float = CHECKPOINT_SECONDS,
         progress: Callable[[int, int], None] | None = None, task: Callable | None = None,
         optimize: bool = False, repairing: bool = False, store: Path | None = None) -> RunReport:
    """One run into the index at `target`: the slots of `feed`, decided in order, written by a writer
    thread, a checkpoint published at every `checkpoint` changed letters or `checkpoint_seconds`. The
    letters' PDFs and texts are kept in (and read from) `store`, the index directory (kb.store), which a
    rebuild's target is inside of."""
    started = time.monotonic()
    run_id = ledger.next_run_id()
    version = pool.parser_version()
    decisions = Decisions(ledger, replace=replace, parser=version, repairing=repairing)
    report = RunReport(run_id, tally=decisions.tally, engine=engine)
    expected = total() if total else 0
    done = 0
    if progress:
        progress(0, expected)
    writer = GenerationWriter(target, engine, run_id, now(), parser=version)
    last_checkpoint = time.monotonic()

    def checkpoint_now(state: str | None = None) -> None:
        nonlocal last_checkpoint
        number, rows = decisions.take_checkpoint(writer.committed)
        writer.checkpoint(Batch(number, rows, dict(decisions.tally.counts), state, optimize and state == FINISHED))
        last_checkpoint = time.monotonic()

    def decided(slot: Slot) -> None:
        nonlocal done
        for change in decisions.decide(slot):
            writer.add(change)
        if not slot.ignored:
            done += 1
            if progress:
                progress(done, max(expected, done))
        due = decisions.changes >= checkpoint or time.monotonic() - last_checkpoint >= checkpoint_seconds
        if due and decisions.pending:
            checkpoint_now()

    ordered = _Ordered(decided)
    with _stop_on_signals() as stop:
        # Ctrl-C or SIGTERM asks the run to stop between two decisions, never in the middle of one: what is
        # decided is then kept whole in a last checkpoint. Asking again abandons it (KeyboardInterrupt).
        with WorkerPool(jobs, timeout=timeout, wall_timeout=wall_timeout, memory_mb=memory_mb, store=store or target,
                        task=task) as workers:
            for number, parsed in workers.run(ordered.arguments(feed(decisions), stop), stop=stop):
                ordered.arrived(number, parsed)
        report.interrupted = stop.signal
        checkpoint_now(INTERRUPTED if report.interrupted else FINISHED)
        writer.finish()
    report.generation = writer.published
    report.letters, report.passages = ledger.totals()
    report.seconds = time.monotonic() - started
    return report


class _Ordered:
    """Decides slots in the order the feed gave them, whatever order the workers finish in: slots that
    need no reading are decided as soon as every slot before them is."""

    def __init__(self, decide: Callable[[Slot], None]):
        self.decide = decide
        self.slots: deque[Slot] = deque()
        self.reading: dict[int, Slot] = {}

    def arguments(self, slots: Iterable[Slot], stop: Callable[[], bool] = lambda: False) -> Iterator:
        """The arguments for the workers: the slots that must be read, in order, until `stop()`."""
        number = 0
        for slot in slots:
            if stop():
                return
            self.slots.append(slot)
            if slot.waiting:
                self.reading[number] = slot
                number += 1
                yield slot.entry.path if not isinstance(slot.entry, StoredLetter) else slot.entry
            else:
                self._drain()

    def arrived(self, number: int, parsed: Parsed) -> None:
        self.reading.pop(number).parsed = parsed
        self._drain()

    def _drain(self) -> None:
        while self.slots and not self.slots[0].waiting:
            self.decide(self.slots.popleft())


class _StopRequest:
    """Set by the first SIGINT or SIGTERM (which it names); a second one raises KeyboardInterrupt."""

    def __init__(self) -> None:
        self.signal: str | None = None

    def __call__(self, signum=None, frame=None) -> bool:
        if signum is None:
            return self.signal is not None
        if self.signal is not None:
            raise KeyboardInterrupt
        self.signal = signal.Signals(signum).name
        return True


@contextmanager
def _stop_on_signals() -> Iterator[_StopRequest]:
    """A stop request that SIGINT and SIGTERM set while the run goes on (only the main thread has signals)."""
    stop = _StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return
    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# --------------------------------------------------------------------------------------------
# Rebuilds, written beside the index


def _rebuild(index_dir: Path, ledger: Ledger, wanted: dict, feed, engine: str, replace: bool,
             total: Callable[[], int] | None, options: dict, *, repairing: bool = False) -> RunReport:
    """A whole new index built in index/rebuild/ (going on with an interrupted one of the same kind, paths
    and engine), then swapped in: its generation published, its ledger adopted, in one step."""
    staging = index_dir / REBUILD_DIR
    marker = read_marker(staging)
    resumed = marker is not None and {k: marker.get(k) for k in wanted} == wanted
    if not resumed:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        marker = {**wanted, "id": f"{os.getpid()}-{time.time_ns()}", "started_at": now()}
        if repairing:  # a repair keeps every file's outcome; the letters are added again as they are parsed
            _seed_files(ledger, staging)
        _write_marker(staging, marker)
    started_at = marker["started_at"]
    with Ledger(staging) as staged:
        if kb_index.current_problem(staging) and staged.generation():
            (staging / kb_index.CURRENT).unlink()
        recover(staging, staged)
        report = _run(staging, staged, feed, engine=engine, replace=replace, total=total, optimize=True,
                      repairing=repairing, store=index_dir, **options)
    report.resumed = resumed
    if report.interrupted:
        return report
    if report.letters == 0 and ledger.totals()[0] > 0:
        # a rebuild that found no letter at all (a mistyped folder, say) does not empty the index
        shutil.rmtree(staging, ignore_errors=True)
        report.generation = None
        report.kept_old = True
    else:
        report.generation = _swap_in(index_dir, ledger, staging, marker, started_at)
    report.letters, report.passages = ledger.totals()
    return report


def _write_marker(staging: Path, marker: dict) -> None:
    temporary = staging / f"{REBUILD_MARKER}.tmp"
    with open(temporary, "w", encoding="utf-8") as out:
        json.dump(marker, out)
        out.flush()
        os.fsync(out.fileno())
    os.replace(temporary, staging / REBUILD_MARKER)


def _seed_files(ledger: Ledger, staging: Path) -> None:
    """A repair's staging ledger starts with the index's file rows; its letters are added as they are
    parsed again (a letter that cannot be turns its file's row into retry: the next run reads the file)."""
    with Ledger(staging) as staged:
        staged.record_checkpoint(Checkpoint(files=tuple(ledger.files().values())), run_id=0, started_at=now(),
                                 generation=None, counts={}, state=FINISHED)


def _swap_in(index_dir: Path, ledger: Ledger, staging: Path, marker: dict, started_at: str) -> str | None:
    """Publish the staged generation as the index's next one and adopt the staged ledger."""
    staged = kb_index.current_generation(staging)
    if staged is None:  # nothing at all was indexed, into an index that held nothing either
        staged = kb_index.start_generation(staging, None, marker["engine"]).name
        kb_index.seal_generation(staging / staged, kb_index.build_columns(staging / staged), letters=0, passages=0)
    name = kb_index.next_generation_name(index_dir)
    target = index_dir / name
    target.mkdir()
    source = staging / staged
    owner = kb_index.engine_of(source)
    for path in source.iterdir():
        if path.is_file() and not owner.is_lock_file(path.name):
            os.link(path, target / path.name)
    kb_index.fsync_tree(target)
    ledger.adopt(staging, run_id=ledger.next_run_id(), started_at=started_at, generation=name,
                 meta={"rebuild": marker["id"]})
    kb_index.publish(index_dir, name)
    kb_index.prune_generations(index_dir)
    shutil.rmtree(staging, ignore_errors=True)
    return name


# --------------------------------------------------------------------------------------------
# Status


