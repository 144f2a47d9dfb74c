"""Extract and parse letter files in child processes, each file within a processor-time and a memory limit.

A PDF that makes PDFium hang or swell cannot be stopped from inside the process that runs it, so every
file is handled by a worker process. The limits are the file's own work, whatever the machine is doing:

- processor time: a worker may spend `timeout` seconds of CPU on one file (RLIMIT_CPU, reset per file);
  past it the kernel stops the worker (SIGXCPU) and the file is rejected. A busy machine slows a file
  down but never makes it use more CPU, so load alone never rejects a letter.
- memory: RLIMIT_AS per worker; a file that needs more is rejected.
- wall time, as a guard only: a worker that neither finishes nor uses its processor time within
  `wall_timeout` (blocked reading a file, or starved on a saturated machine) is stopped, and the file is
  marked *retry*: the next `kb index` reads it again. It is not the file's fault.

A worker that dies in the middle of a file (a crash, or a kill from outside: the out-of-memory killer, an
operator) is replaced and the file is tried once more in the fresh worker; only a file that kills a
worker twice is rejected, with both reasons. Workers are forked from a server process that imported the
parser once (multiprocessing's forkserver), so starting or replacing one costs milliseconds, and they
inherit nothing of the parent's open index files. Workers ignore SIGINT: Ctrl-C reaches the parent, which
stops the pool and keeps what was parsed (kb.ingest).
"""

from __future__ import annotations

import ast
import multiprocessing
import os
import resource
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path

import xxhash

from kb.documents import PASSAGE, Source, documents, items_signature
from kb.extract import (
    ExtractError,
    extract_bytes,
    extract_text,
    printable_path,
    read_dwc_record,
    read_letter_file,
)
from kb.letters import ParseError, parse_letter
from kb.models import Letter
from kb.store import (
    original_path,
    read_stored_dwc,
    read_stored_text,
    store_dwc,
    store_original,
    store_text,
)
from kb.why import why_tags
from kb.wording import signature

DEFAULT_TIMEOUT = 60.0  # seconds of processor time per file; real letters take milliseconds
DEFAULT_MEMORY_MB = 1536  # address space per worker; PDFium plus Python need a few hundred MB
WALL_TIMEOUT_FACTOR = 10  # the wall-clock guard: this many times the processor-time limit...
MIN_WALL_TIMEOUT = 300.0  # ...and never less than this
STARTUP_TIMEOUT = 120.0  # seconds a new worker may take to start
POLL_SECONDS = 0.5  # the longest the pool waits before asking again whether to stop
PER_WORKER = 2  # files sent to a worker at once: the next one waits in its pipe while the parent handles an answer
READY = "ready"

# rejection codes the pool gives (kb.extract's and "parse-error" come from the task)
TIMEOUT, CRASHED, RETRY = "timeout", "crashed", "retry"


@dataclass(frozen=True)
class Parsed:
    """A worker's answer for one file: its letter, as the index documents it becomes (built here, in the
    worker, with what deciding needs to know of it), or a rejection with a code and a reason."""

    path: str
    sha256: str | None = None
    kind: str | None = None  # "pdf" | "text"
    size: int | None = None
    pages: int | None = None
    letter_id: str | None = None  # kb.documents.letter_id_of, when the file is a letter
    items: int = 0
    items_signature: str = ""  # "heading\tdecision" of each item: to tell a parse that differs
    docs: tuple[dict, ...] = ()  # kb.documents.documents: the letter document, then one per item
    signatures: tuple = ()  # (passage id, kb.wording signature of its rationale) of each item
    code: str | None = None  # rejection code, when the file is not a letter
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.letter_id is not None


@dataclass(frozen=True)
class StoredLetter:
    """A letter to parse again from what the index stored of its file (kb index --reparse, --repair)."""

    path: str
    sha256: str
    kind: str
    size: int
    pages: int | None


def parse_file(path: str, store: Path | None = None) -> Parsed:
    """Read, extract and parse one file; every failure becomes a rejection with a readable reason.

    With `store` (the index directory), the PDF, the extracted text and the DWC's row beside the file are
    kept there (kb.store)."""
    try:
        data = read_letter_file(path)
        extracted = extract_bytes(data, path)
        letter = parse_letter(extracted.text)
        dwc = read_dwc_record(path)
        if store is not None:
            store_text(store, extracted.sha256, extracted.text)
            if extracted.kind == "pdf":
                store_original(store, extracted.sha256, data)
            if dwc is not None:
                store_dwc(store, extracted.sha256, dwc)
        return _indexed(Source(printable_path(path), extracted.sha256, extracted.kind, extracted.size,
                               extracted.pages), path, letter, dwc)
    except ExtractError as error:
        return Parsed(path, code=error.code, reason=error.reason)
    except (ParseError, MemoryError, Exception) as error:  # a bug in the parser must not stop the batch
        return _failure(path, error)


def parse_stored(stored: StoredLetter, store: Path | None = None) -> Parsed:
    """Parse a letter again from its stored text, without reading its file (but where no text was stored:
    an index from before texts were kept, or a damaged text; then its stored PDF, else its file)."""
    try:
        text = read_stored_text(store, stored.sha256) if store is not None else None
        if text is None:
            pdf = original_path(store, stored.sha256) if store is not None else None
            extracted = extract_text(pdf if pdf is not None and pdf.is_file() else stored.path)
            if extracted.sha256 != stored.sha256:
                return Parsed(stored.path, code="text-not-stored",
                              reason=f"{printable_path(stored.path)} cannot be parsed again: its text was not "
                                     "stored and the file has changed since it was indexed; index it again.")
            text = extracted.text
            if store is not None:
                store_text(store, stored.sha256, text)
        letter = parse_letter(text)
        source = Source(printable_path(stored.path), stored.sha256, stored.kind, stored.size, stored.pages)
        return _indexed(source, stored.path, letter, _dwc_of(stored, store))
    except ExtractError as error:
        return Parsed(stored.path, code=error.code, reason=error.reason)
    except (ParseError, MemoryError, Exception) as error:
        return _failure(stored.path, error)


def _indexed(source: Source, path: str, letter: Letter, dwc: dict | None) -> Parsed:
    """A parsed letter as its index documents (tagged with kb.why, its rationales' wording signatures)."""
    docs = documents(letter, source, dwc, why_tags(letter))
    passages = [doc["passage_id"] for doc in docs if doc["kind"] == PASSAGE]
    return Parsed(path, source.sha256, source.kind, source.size, source.pages, letter_id=docs[0]["letter_id"],
                  items=len(letter.items), items_signature=items_signature(letter), docs=tuple(docs),
                  signatures=tuple(zip(passages, (signature(item.rationale) for item in letter.items))))


def _failure(path: str, error: Exception) -> Parsed:
    shown = printable_path(path)
    if isinstance(error, ParseError):
        return Parsed(path, code="parse-error", reason=f"{shown} cannot be read as an IMR letter: {error}.")
    if isinstance(error, MemoryError):
        return Parsed(path, code="out-of-memory", reason=f"{shown} needed more memory than a worker may use.")
    return Parsed(path, code="internal-error", reason=f"{shown} could not be processed: "
                                                      f"{type(error).__name__}: {error}")


def _dwc_of(stored: StoredLetter, store: Path | None) -> dict | None:
    """The DWC's row beside the letter's file as it is now, else as it was stored when the file was read."""
    record = read_dwc_record(stored.path)
    if record is None and store is not None:
        record = read_stored_dwc(store, stored.sha256)
    return record


def _answer(task: Callable, argument, store: Path | None) -> Parsed:
    """The task's answer; an exception it lets out (a task other than parse_file) is a rejection too."""
    try:
        return task(argument, store)
    except MemoryError:
        return Parsed(_path(argument), code="out-of-memory",
                      reason=f"{_label(argument)} needed more memory than a worker may use.")
    except Exception as error:  # noqa: BLE001 - reported with the file, the batch goes on
        return Parsed(_path(argument), code="internal-error",
                      reason=f"{_label(argument)} could not be processed: {type(error).__name__}: {error}")


def _path(argument) -> str:
    return argument if isinstance(argument, str) else argument.path


def _label(argument) -> str:
    """The file a job is about, for a reason."""
    return printable_path(_path(argument))


def _worker(connection: Connection, memory_mb: int, timeout: float, store: Path | None, task: Callable) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGXCPU, signal.SIG_DFL)  # past the file's processor time: stop at once, even in C
    if memory_mb:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    try:
        connection.send(READY)
        while True:
            job = connection.recv()
            if job is None:
                return
            number, argument = job
            if timeout:
                used = resource.getrusage(resource.RUSAGE_SELF)
                soft = int(used.ru_utime + used.ru_stime + timeout) + 1
                resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard),
                                                         hard))
            connection.send((number, _answer(task, argument, store)))
    except (EOFError, OSError):  # the parent is gone, or closed the pipe while stopping: nothing left to do
        return


@dataclass
class _Job:
    number: int
    argument: object  # a path, or a StoredLetter
    deaths: tuple[int | None, ...] = ()  # the exit codes of the workers that died reading it


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    connection: Connection
    ready: bool = False
    jobs: deque[_Job] = field(default_factory=deque)  # sent, in order; the first is the one it is reading
    started: float = 0.0  # when it began the first of `jobs` (or, not yet ready, when it was started)

    @property
    def job(self) -> _Job | None:
        """The file it is reading now."""
        return self.jobs[0] if self.jobs else None


class WorkerPool:
    """`jobs` worker processes; `run(arguments)` yields (position, Parsed) as files finish.

    `task(argument, store)` runs in the workers; by default it reads and parses the file at `argument`.
    It must be a module-level function (workers import it by name).
    """

    def __init__(self, jobs: int | None = None, *, timeout: float = DEFAULT_TIMEOUT,
                 wall_timeout: float | None = None, memory_mb: int = DEFAULT_MEMORY_MB,
                 store: Path | None = None, task: Callable[[object, Path | None], Parsed] | None = None):
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self.timeout = timeout
        self.wall_timeout = wall_timeout or max(MIN_WALL_TIMEOUT, WALL_TIMEOUT_FACTOR * timeout)
        self.memory_mb = memory_mb
        self.store = store
        self.task = task or parse_file
        # forkserver: workers fork from a clean server process that imported the parser once, not from
        # this process (which holds open index files) and not by re-importing everything per worker
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["kb.pool"])
        self._workers: list[_Worker] = []

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def busy(self) -> int:
        """Files sent to workers and not answered yet."""
        return sum(len(worker.jobs) for worker in self._workers)

    def _start_worker(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_worker, args=(child, self.memory_mb, self.timeout, self.store, self.task), daemon=True,
            name="kb-index-worker",
        )
        process.start()
        child.close()
        return _Worker(process, parent, started=time.monotonic())

    def _retire(self, worker: _Worker, *, kill: bool) -> None:
        if kill and worker.process.is_alive():
            worker.process.kill()
        worker.process.join(timeout=5)
        worker.connection.close()
        self._workers.remove(worker)

    def run(self, arguments: Iterable, *, stop: Callable[[], bool] = lambda: False) -> Iterator[tuple[int, Parsed]]:
        """Read every argument; yields (its position, its Parsed) as each finishes, in any order.

        Arguments are taken from the iterable only as workers become free, so a long walk of folders
        feeds the workers as it goes. Each worker is sent its next file before it answers the one it reads
        (PER_WORKER), so it never waits while this process handles an answer. When `stop()` turns true (it is
        asked at least twice a second), or the generator is closed, the pool stops: files in flight get no
        answer.
        """
        upcoming = enumerate(arguments)
        queue: deque[_Job] = deque()  # files whose worker died (tried once more, first), then the next file
        exhausted = False
        try:
            while not stop():
                # take as many files as the workers have room for, no more (the walk stays lazy)
                while not exhausted and len(queue) < self.jobs * PER_WORKER - self.busy:
                    following = next(upcoming, None)
                    exhausted = following is None
                    if following is not None:
                        queue.append(_Job(*following))
                if not queue and not self.busy:
                    return
                for depth in range(1, PER_WORKER + 1):  # every worker one file, then a second each
                    for worker in self._workers:
                        if worker.ready and len(worker.jobs) < depth and queue:
                            self._send(worker, queue.popleft())
                idle = sum(1 for worker in self._workers if worker.job is None)
                while len(queue) > idle and len(self._workers) < self.jobs:
                    self._workers.append(self._start_worker())
                    idle += 1
                yield from self._collect(queue)
        finally:
            self.close()

    def _send(self, worker: _Worker, job: _Job) -> None:
        if not worker.jobs:
            worker.started = time.monotonic()
        worker.jobs.append(job)
        try:
            worker.connection.send((job.number, job.argument))
        except OSError:  # it died while idle: noticed when its pipe is read
            pass

    def _collect(self, queue: deque[_Job]) -> Iterator[tuple[int, Parsed]]:
        """Wait for the next answers (or deaths, or overruns) and handle them."""
        waiting = [w for w in self._workers if w.job or not w.ready]
        if not waiting:
            return
        deadline = min(w.started + (self.wall_timeout if w.ready else STARTUP_TIMEOUT) for w in waiting)
        pause = min(POLL_SECONDS, max(0.0, deadline - time.monotonic()))
        ready = set(wait([w.connection for w in waiting], timeout=pause))
        for worker in waiting:
            # asked afresh, never from a list made before a pause: a finished answer is never an overrun
            if worker.connection in ready or worker.connection.poll():
                if not worker.ready:
                    self._await_ready(worker)
                    continue
                answer = self._receive(worker, queue)
                if answer is not None:
                    yield answer
            elif time.monotonic() - worker.started > (self.wall_timeout if worker.ready else STARTUP_TIMEOUT):
                if not worker.ready:
                    raise RuntimeError(f"a reader process did not start within {STARTUP_TIMEOUT:g} s")
                yield self._overrun(worker, queue)

    def _await_ready(self, worker: _Worker) -> None:
        try:
            message = worker.connection.recv()
        except (EOFError, OSError):
            raise RuntimeError("a reader process failed to start (see the messages above)") from None
        worker.ready = message == READY

    def _receive(self, worker: _Worker, queue: deque[_Job]) -> tuple[int, Parsed] | None:
        job = worker.job
        try:
            number, parsed = worker.connection.recv()
        except (EOFError, OSError):
            return self._died(worker, job, queue)
        worker.jobs.popleft()
        worker.started = time.monotonic()  # it goes on with the next file sent, if any
        return number, parsed

    def _requeue_unread(self, worker: _Worker, queue: deque[_Job]) -> None:
        """The files sent to a worker that is gone but that it had not begun: first in line again, in order."""
        queue.extendleft(reversed(list(worker.jobs)[1:]))
        worker.jobs.clear()

    def _died(self, worker: _Worker, job: _Job, queue: deque[_Job]) -> tuple[int, Parsed] | None:
        """The worker died in the middle of `job`: try the file once more in a fresh worker, then blame it
        (but for two kills, which may have come from outside: the next run reads it again)."""
        self._retire(worker, kill=False)
        self._requeue_unread(worker, queue)
        shown, path = _label(job.argument), _path(job.argument)
        code = worker.process.exitcode
        if code == -signal.SIGXCPU:
            return job.number, Parsed(path, code=TIMEOUT, reason=f"{shown} took more than {self.timeout:g} s of "
                                                                 "processor time to read; it was skipped.")
        deaths = (*job.deaths, code)
        if len(deaths) < 2:
            queue.appendleft(_Job(job.number, job.argument, deaths))
            return None
        said = "; then ".join(_death(death, self.memory_mb) for death in deaths)
        if all(death == -signal.SIGKILL for death in deaths):
            return job.number, Parsed(path, code=RETRY, reason=f"{shown}: its reader was killed twice ({said}); "
                                                               "the next run reads it again.")
        return job.number, Parsed(path, code=CRASHED, reason=f"{shown} crashed the reader twice ({said}); "
                                                             "it was skipped.")

    def _overrun(self, worker: _Worker, queue: deque[_Job]) -> tuple[int, Parsed]:
        """Past the wall-clock guard without using up its processor time: blocked or starved, not the
        file's fault. The next run reads it again."""
        job = worker.job
        self._retire(worker, kill=True)
        self._requeue_unread(worker, queue)
        return job.number, Parsed(
            _path(job.argument), code=RETRY,
            reason=f"{_label(job.argument)} did not finish within {self.wall_timeout:g} s while using "
                   "less than its processor time (the machine was busy or the file could not be read); "
                   "the next run reads it again.")

    def close(self) -> None:
        for worker in list(self._workers):
            try:
                worker.connection.send(None)
            except OSError:
                pass
        for worker in list(self._workers):
            if worker.job is None:
                worker.process.join(timeout=2)
            self._retire(worker, kill=True)


def _death(exitcode: int | None, memory_mb: int) -> str:
    """How a worker ended, in words: 'killed by SIGKILL', 'exit status 1'."""
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        if -exitcode == signal.SIGKILL and memory_mb:
            return f"killed by {name}: from outside, or out of memory"
        return f"killed by {name}"
    return f"exit status {exitcode}" if exitcode is not None else "ended without an answer"


def parser_version() -> str:
    """A short hash of the parser's code and reference data: kb.letters and every kb module it imports,
    and kb/data. A letter read by another version can be parsed again (kb index --reparse)."""
    package = Path(__file__).resolve().parent
    hasher = xxhash.xxh3_64()
    pending, done = ["letters"], {}
    while pending:
        name = pending.pop()
        # a module (kb/drugs.py) or a package of modules (kb/guidelines/)
        files = [package / f"{name}.py"] if (package / f"{name}.py").is_file() else sorted((package / name).glob("*.py"))
        if name in done or not files:
            continue
        done[name] = files
        for source in files:
            for node in ast.walk(ast.parse(source.read_bytes())):
                if isinstance(node, ast.ImportFrom) and node.module == "kb":
                    pending.extend(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("kb."):
                    pending.append(node.module.split(".")[1])
    for name in sorted(done):
        for source in done[name]:
            hasher.update(source.relative_to(package).as_posix().encode() + b"\0" + source.read_bytes())
    for data in sorted((package / "data").glob("*.json")):
        hasher.update(data.name.encode() + b"\0" + data.read_bytes())
    return hasher.hexdigest()[:12]
