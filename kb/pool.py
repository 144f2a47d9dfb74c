"""Extract and parse letter files in child processes, each file within a time and a memory limit.

A PDF that makes PDFium hang or swell cannot be stopped from inside the process that runs it, so every
file is handled by a worker process: the parent kills a worker that overruns its time limit, notices one
that died (a crash, or the memory limit), records the file as rejected and starts a new worker. One bad
file never stops the batch.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path

from kb.extract import ExtractError, extract_bytes, read_dwc_record, read_letter_file
from kb.letters import ParseError, parse_letter
from kb.models import Letter

DEFAULT_TIMEOUT = 60.0  # seconds per file; real letters take milliseconds
DEFAULT_MEMORY_MB = 1536  # address space per worker; PDFium plus Python need a few hundred MB
STARTUP_TIMEOUT = 120.0  # seconds a new worker may take to import the parser
READY = "ready"


@dataclass(frozen=True)
class Parsed:
    """A worker's answer for one file: a parsed letter, or a rejection with a code and a reason."""

    path: str
    sha256: str | None = None
    kind: str | None = None  # "pdf" | "text"
    size: int | None = None
    pages: int | None = None
    letter: Letter | None = None
    code: str | None = None  # rejection code, when letter is None
    reason: str | None = None
    dwc: dict | None = None  # the DWC's search row kept beside the file (kb.extract.read_dwc_record)


def store_original(originals: Path, sha256: str, data: bytes) -> None:
    """Keep a PDF under its sha256, written aside and renamed so a reader never sees half a file."""
    target = originals / sha256[:2] / f"{sha256}.pdf"
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, target)


def original_path(originals: Path, sha256: str) -> Path:
    return originals / sha256[:2] / f"{sha256}.pdf"


def parse_file(path: str, originals: Path | None = None) -> Parsed:
    """Read, extract and parse one file; every failure becomes a rejection with a readable reason."""
    try:
        data = read_letter_file(path)
        extracted = extract_bytes(data, path)
        letter = parse_letter(extracted.text)
        if originals is not None and extracted.kind == "pdf":
            store_original(originals, extracted.sha256, data)
        return Parsed(path, extracted.sha256, extracted.kind, extracted.size, extracted.pages, letter,
                      dwc=read_dwc_record(path))
    except ExtractError as error:
        return Parsed(path, code=error.code, reason=error.reason)
    except ParseError as error:
        return Parsed(path, code="parse-error", reason=f"{path} fits no known letter layout: {error}.")
    except MemoryError:
        return Parsed(path, code="out-of-memory", reason=f"{path} needed more memory than a worker may use.")
    except Exception as error:  # a bug in the parser must not stop the batch; the reason names it
        return Parsed(path, code="internal-error", reason=f"{path} could not be processed: "
                                                          f"{type(error).__name__}: {error}")


def _worker(connection: Connection, memory_mb: int, originals: Path | None, task: Callable) -> None:
    if memory_mb:
        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    connection.send(READY)  # imports are done: a file's time limit starts with the file, not the start-up
    while True:
        try:
            job = connection.recv()
        except EOFError:  # the parent is gone (killed): nothing left to do
            return
        if job is None:
            return
        number, path = job
        connection.send((number, task(path, originals)))


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    connection: Connection
    ready: bool = False
    task: tuple[int, str] | None = None
    started: float = 0.0


class WorkerPool:
    """`jobs` worker processes; `run(paths)` yields (position, Parsed) as files finish."""

    def __init__(self, jobs: int | None = None, *, timeout: float = DEFAULT_TIMEOUT,
                 memory_mb: int = DEFAULT_MEMORY_MB, originals: Path | None = None,
                 task: Callable[[str, Path | None], Parsed] | None = None):
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self.timeout = timeout
        self.memory_mb = memory_mb
        self.originals = originals
        self.task = task or parse_file  # a module-level function: spawned workers import it by name
        # spawn, not fork: a forked child would inherit the parent's open index files and PDFium state.
        self._context = multiprocessing.get_context("spawn")
        self._workers: list[_Worker] = []

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start_worker(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(
            target=_worker, args=(child, self.memory_mb, self.originals, self.task), daemon=True,
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

    def run(self, paths: Sequence[str]) -> Iterator[tuple[int, Parsed]]:
        pending = list(reversed(list(enumerate(paths))))
        while len(self._workers) < min(self.jobs, len(paths)):
            self._workers.append(self._start_worker())
        while pending or any(w.task for w in self._workers):
            for worker in self._workers:
                if worker.ready and worker.task is None and pending:
                    worker.task, worker.started = pending.pop(), time.monotonic()
                    worker.connection.send(worker.task)
            waiting = [w for w in self._workers if w.task or not w.ready]
            deadline = min(w.started + (self.timeout if w.ready else STARTUP_TIMEOUT) for w in waiting)
            ready = wait([w.connection for w in waiting], timeout=max(0.0, deadline - time.monotonic()))
            for worker in waiting:
                if worker.connection in ready and not worker.ready:
                    self._await_ready(worker)
                elif worker.connection in ready:
                    yield self._receive(worker)
                elif worker.ready and time.monotonic() - worker.started > self.timeout:
                    yield self._replace(worker, kill=True, reason=f"took longer than {self.timeout:g} s to read")
                elif not worker.ready and time.monotonic() - worker.started > STARTUP_TIMEOUT:
                    raise RuntimeError(f"a reader process did not start within {STARTUP_TIMEOUT:g} s")

    def _await_ready(self, worker: _Worker) -> None:
        try:
            message = worker.connection.recv()
        except (EOFError, OSError):
            raise RuntimeError("a reader process failed to start (see the messages above)") from None
        worker.ready = message == READY

    def _receive(self, worker: _Worker) -> tuple[int, Parsed]:
        try:
            number, parsed = worker.connection.recv()
        except (EOFError, OSError):
            limit = f" (memory limit {self.memory_mb} MB)" if self.memory_mb else ""
            return self._replace(worker, kill=False, reason=f"crashed the reader{limit}")
        worker.task = None
        return number, parsed

    def _replace(self, worker: _Worker, *, kill: bool, reason: str) -> tuple[int, Parsed]:
        number, path = worker.task
        self._retire(worker, kill=kill)
        self._workers.append(self._start_worker())
        code = "timeout" if kill else "crashed"
        return number, Parsed(path, code=code, reason=f"{path} {reason}; it was skipped.")

    def close(self) -> None:
        for worker in list(self._workers):
            try:
                worker.connection.send(None)
            except OSError:
                pass
            worker.process.join(timeout=2)
            self._retire(worker, kill=True)
