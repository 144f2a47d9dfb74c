"""`kb index`: walk, read and parse letter files in parallel, and publish them into the index.

Every input file gets exactly one outcome per run:

    indexed     its letter was added, or replaced an older parse of the same file
    unchanged   same path, size and modification time as when last seen: not read again
    duplicate   the same bytes as another file, or a case number already indexed from another file
                (with a note when its parse differs), unless `replace` asks for it to replace that one
    rejected    it could not be read or parsed; the reason says why

Files are decided in the order they were found, whatever order the workers finish in, so the same input
always gives the same index. One run holds the index lock; it writes new generations (kb.index) and
records its decisions in the ledger (kb.ledger) before publishing each one.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kb import index as kb_index
from kb.engines import EngineError, engine_named
from kb.extract import find_letter_files
from kb.ledger import DUPLICATE, INDEXED, LEDGER_NAME, OUTCOMES, REJECTED, UNCHANGED, FileRow, Ledger, LetterRow, Outcome, now
from kb.pool import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT, Parsed, WorkerPool

LOCK_NAME = "lock"
ORIGINALS = "originals"
CHECKPOINT_LETTERS = 20_000  # an incremental run publishes every so many changed letters: a crash loses little


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
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    passages_added: int = 0
    passages_removed: int = 0
    letters: int = 0
    passages: int = 0
    seconds: float = 0.0
    rejected: list[Outcome] = field(default_factory=list)
    notes: list[Outcome] = field(default_factory=list)  # duplicates whose parse differs, replacements

    @property
    def changed(self) -> bool:
        return self.passages_added > 0 or self.passages_removed > 0 or self.generation is not None


def recover(index_dir: Path, ledger: Ledger) -> None:
    """Finish what a killed run left: publish a generation the ledger committed, drop unpublished ones."""
    committed = ledger.generation()
    if committed and committed != kb_index.current_generation(index_dir) and (index_dir / committed).is_dir():
        kb_index.publish(index_dir, committed)
    kb_index.prune_generations(index_dir)


def _items_signature(parsed_letter) -> str:
    return "\n".join(f"{item.heading}\t{item.decision}" for item in parsed_letter.items)


class _Run:
    """The decisions of one run, and the generations it writes."""

    def __init__(self, index_dir: Path, ledger: Ledger, run_id: int, *, rebuild: bool, replace: bool,
                 checkpoint: int, engine: str | None = None):
        self.index_dir = index_dir
        self.engine = engine
        self.ledger = ledger
        self.rebuild = rebuild
        self.replace = replace
        self.checkpoint = checkpoint
        self.report = RunReport(run_id)
        self.started_at = now()
        self.known_files = {} if rebuild else ledger.files()
        self.letters: dict[str, LetterRow] = {} if rebuild else ledger.letters()
        # sha256 -> path of the file already indexed or seen with those bytes
        self.by_sha: dict[str, str] = {
            row.sha256: row.path for row in self.known_files.values() if row.sha256 and row.outcome != REJECTED
        }
        self.working: Path | None = None  # the unpublished generation being written
        self._reset_pending()

    def _reset_pending(self) -> None:
        self.changes: dict[str, kb_index.Change] = {}
        self.outcomes: list[Outcome] = []
        self.files: list[FileRow] = []
        self.added: dict[str, LetterRow] = {}
        self.removed: set[str] = set()

    # decisions

    def is_unchanged(self, path: str, stat: os.stat_result) -> bool:
        row = self.known_files.get(path)
        return row is not None and row.size == stat.st_size and row.mtime_ns == stat.st_mtime_ns

    def unchanged(self, path: str) -> None:
        row = self.known_files[path]
        self._outcome(Outcome(path, UNCHANGED, row.code, row.reason, row.letter_id))

    def decide(self, parsed: Parsed, stat: os.stat_result) -> None:
        path = parsed.path
        if parsed.letter is None:
            self._file(parsed, stat, Outcome(path, REJECTED, parsed.code, parsed.reason))
            self.report.rejected.append(self.outcomes[-1])
            return
        previous = self.known_files.get(path)
        if previous and previous.sha256 == parsed.sha256:  # touched, not changed
            self._file(parsed, stat, Outcome(path, UNCHANGED, previous.code, previous.reason, previous.letter_id))
            return
        same_bytes = self.by_sha.get(parsed.sha256)
        letter_id = kb_index.letter_id_of(parsed.letter)
        if same_bytes and same_bytes != path:
            self._file(parsed, stat, Outcome(path, DUPLICATE, "same-file", f"the same file as {same_bytes}",
                                             letter_id))
            return
        holder = self.letters.get(letter_id)
        if holder and holder.path != path and not self.replace:
            self._duplicate_letter(parsed, stat, letter_id, holder)
            return
        if previous and previous.outcome == INDEXED and previous.letter_id and previous.letter_id != letter_id:
            self._remove_letter(previous.letter_id)  # this file now holds another letter
        note = f"replaces the parse from {holder.path}" if holder and holder.path != path else None
        self._index(parsed, stat, letter_id, note)

    def _duplicate_letter(self, parsed: Parsed, stat: os.stat_result, letter_id: str, holder: LetterRow) -> None:
        reason = f"{letter_id} is already indexed from {holder.path}"
        new_items = len(parsed.letter.items)
        if _items_signature(parsed.letter) != holder.items_signature:
            reason += (f"; this file's parse differs ({new_items} items against {holder.passages})"
                       if new_items != holder.passages else "; this file's parse differs in its items")
            reason += "; use --replace to index this file instead"
        outcome = Outcome(parsed.path, DUPLICATE, "same-case-number", reason, letter_id)
        self._file(parsed, stat, outcome)
        if "differs" in reason:
            self.report.notes.append(outcome)

    def _index(self, parsed: Parsed, stat: os.stat_result, letter_id: str, note: str | None) -> None:
        old = self.letters.get(letter_id)
        if old:
            self.report.passages_removed += old.passages
        source = kb_index.Source(parsed.path, parsed.sha256, parsed.kind, parsed.size, parsed.pages)
        docs = kb_index.documents(parsed.letter, source, parsed.dwc)
        row = LetterRow(letter_id, len(docs) - 1, parsed.path, parsed.sha256, _items_signature(parsed.letter))
        self.letters[letter_id] = row
        self.added[letter_id] = row
        self.removed.discard(letter_id)
        self.changes[letter_id] = kb_index.Change(letter_id, tuple(docs))
        self.report.passages_added += row.passages
        self.by_sha[parsed.sha256] = parsed.path
        outcome = Outcome(parsed.path, INDEXED, "replaced" if note else None, note, letter_id)
        self._file(parsed, stat, outcome)
        if note:
            self.report.notes.append(outcome)

    def _remove_letter(self, letter_id: str) -> None:
        old = self.letters.pop(letter_id, None)
        if old:
            self.report.passages_removed += old.passages
            self.added.pop(letter_id, None)
            self.removed.add(letter_id)
            self.changes[letter_id] = kb_index.Change(letter_id)

    def _file(self, parsed: Parsed, stat: os.stat_result, outcome: Outcome) -> None:
        self.files.append(FileRow(parsed.path, stat.st_size, stat.st_mtime_ns, parsed.sha256, outcome.outcome,
                                  outcome.code, outcome.reason, outcome.letter_id))
        self._outcome(outcome)

    def _outcome(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        self.report.counts[outcome.outcome] += 1

    # writing

    def due(self) -> bool:
        return len(self.changes) >= self.checkpoint

    def flush(self, *, final: bool) -> None:
        """Write pending changes; publish them unless this is an unfinished rebuild."""
        if self.changes or (self.rebuild and self.working is None):
            if self.working is None:
                base = None if self.rebuild else kb_index.current_generation(self.index_dir)
                self.working = kb_index.start_generation(self.index_dir, base, self.engine)
            kb_index.apply_changes(self.working, self.changes.values(), optimize=self.rebuild and final)
            self.changes = {}
        publish = self.working is not None and (final or not self.rebuild)
        if not publish and not final:
            return
        generation = self.working.name if publish else None
        if publish:
            self._verify(self.working)
            kb_index.seal_generation(self.working)
        counts = dict(self.report.counts)
        self.ledger.record_run(
            run_id=self.report.run_id, started_at=self.started_at, generation=generation, counts=counts,
            outcomes=self.outcomes, files=self.files, letters_added=self.added.values(),
            letters_removed=self.removed, reset=self.rebuild, final=final,
        )
        if publish:
            kb_index.publish(self.index_dir, generation)
            kb_index.prune_generations(self.index_dir)
            self.report.generation = generation
            self.working = None
        self.rebuild = self.rebuild and not publish
        self._reset_pending()

    def _verify(self, generation: Path) -> None:
        expected = (len(self.letters), sum(row.passages for row in self.letters.values()))
        found = kb_index.count_documents(generation)
        if found != expected:
            raise RuntimeError(f"the new index {generation.name} holds {found[0]} letters and {found[1]} passages "
                               f"but the ledger expects {expected[0]} and {expected[1]}; it was not published")


def index_paths(
    paths: Iterable[str | os.PathLike[str]],
    index_dir: Path,
    *,
    jobs: int | None = None,
    rebuild: bool = False,
    replace: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    memory_mb: int = DEFAULT_MEMORY_MB,
    checkpoint: int = CHECKPOINT_LETTERS,
    progress: Callable[[int, int], None] | None = None,
    engine: str | None = None,
) -> RunReport:
    """Index the letter files in `paths` (files, or folders searched recursively) into `index_dir`.

    `engine` (kb.engines) is for a new index or a rebuild; without it an index keeps the engine it has, and
    a new one gets $KB_ENGINE, else whoosh. Asking an update for another engine is an error.
    """
    started = time.monotonic()
    index_dir = Path(index_dir)
    with IndexLock(index_dir), Ledger(index_dir) as ledger:
        recover(index_dir, ledger)
        current = kb_index.current_generation(index_dir)
        in_use = kb_index.generation_engine(index_dir / current) if current else None
        engine = engine_named(engine or in_use).NAME
        if in_use and in_use != engine and not rebuild:
            raise EngineError(f"the index in {index_dir} uses {in_use}, not {engine}: "
                              f"rebuild it to change engines (kb index --rebuild --engine {engine})")
        run = _Run(index_dir, ledger, ledger.next_run_id(), rebuild=rebuild, replace=replace, checkpoint=checkpoint,
                   engine=engine)
        files = [str(Path(p).resolve()) for p in find_letter_files(paths)]
        stats = {path: os.stat(path) for path in files}
        todo = [path for path in files if rebuild or not run.is_unchanged(path, stats[path])]
        todo_set = set(todo)
        done = 0
        for path in files:
            if path not in todo_set:
                run.unchanged(path)
                done += 1
        if progress:
            progress(done, len(files))
        with WorkerPool(jobs, timeout=timeout, memory_mb=memory_mb, originals=index_dir / ORIGINALS) as pool:
            for parsed in _in_order(pool.run(todo)):
                run.decide(parsed, stats[parsed.path])
                done += 1
                if progress:
                    progress(done, len(files))
                if run.due():
                    run.flush(final=False)
        run.flush(final=True)
        report = run.report
        report.letters, report.passages = ledger.totals()
        report.seconds = time.monotonic() - started
        return report


def _in_order(results: Iterable[tuple[int, Parsed]]) -> Iterable[Parsed]:
    """Results in the order the files were found, whatever order the workers finish them in."""
    waiting: dict[int, Parsed] = {}
    expected = 0
    for number, parsed in results:
        waiting[number] = parsed
        while expected in waiting:
            yield waiting.pop(expected)
            expected += 1


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


def index_status(index_dir: Path) -> Status:
    index_dir = Path(index_dir)
    if not (index_dir / LEDGER_NAME).exists():  # a status call creates nothing
        return Status(None, None, 0, 0, None, [])
    with Ledger(index_dir) as ledger:
        letters, passages = ledger.totals()
        generation = kb_index.current_generation(index_dir)
        engine = kb_index.generation_engine(index_dir / generation) if generation else None
        return Status(generation, engine, letters, passages, ledger.last_run(), ledger.rejected())
