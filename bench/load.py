"""A bounded HTTP load of real site requests against a running server, and gunicorn started for it.

Used by tests/test_serve.py (zero errors under load) and bench/bench_serve.py (requests per second and
latency, recorded in bench/RESULTS.md).
"""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

# A realistic mix: text searches, facets, precedents, letter pages, JSON, CSV, a feed.
QUERY_PATHS = (
    "/search?q=" + quote("carisoprodol"),
    "/search?q=" + quote('"medically necessary"'),
    "/search?q=" + quote("mri OR ct") + "&decision=Upheld",
    "/search?drug=oxycodone&drug=hydrocodone",
    "/search?class=Opioids&year=2016",
    "/search?category=Diagnostic+Testing&sort=newest&page=2",
    "/search?q=taper*&source=MTUS",
    "/api/search?q=physical+therapy&per_page=50",
    "/precedents?drug=carisoprodol",
    "/precedents?category=Injection",
    "/api/precedents?class=Opioids",
    "/guidelines",
    "/search.csv?q=acupuncture",
    "/feeds/search.atom?drug=tramadol",
    "/search?q=*bad",  # a refused query: 400 is the right answer, not an error
)


@dataclass
class LoadResult:
    seconds: float
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # 5xx, connection failures, wrong status
    by_path: dict[str, list[float]] = field(default_factory=dict)  # latencies of each request path

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0


def expected_status(path: str) -> int:
    return 400 if "q=%2Abad" in path or "q=*bad" in path else 200


def run_load(host: str, port: int, paths: list[str], seconds: float, clients: int = 4) -> LoadResult:
    """`clients` threads, each with a keep-alive connection, requesting `paths` in turn for `seconds`."""
    result = LoadResult(seconds=seconds)
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def client(offset: int) -> None:
        connection = http.client.HTTPConnection(host, port, timeout=30)
        n = offset
        while time.monotonic() < deadline:
            path = paths[n % len(paths)]
            n += 1
            started = time.perf_counter()
            try:
                connection.request("GET", path)
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as error:
                connection.close()
                connection = http.client.HTTPConnection(host, port, timeout=30)
                with lock:
                    result.errors.append(f"{path}: {error!r}")
                continue
            elapsed = time.perf_counter() - started
            with lock:
                result.latencies.append(elapsed)
                result.by_path.setdefault(path, []).append(elapsed)
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if status != expected_status(path):
                    result.errors.append(f"{path}: HTTP {status}")
        connection.close()

    threads = [threading.Thread(target=client, args=(i * 3,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.seconds = time.monotonic() - started
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(index_dir: Path, *, workers: int = 2, timeout: int = 30, production: bool = False,
             env: dict[str, str] | None = None):
    """gunicorn serving the site over `index_dir` on a free loopback port; yields the port. `production`:
    with the production settings (kb/web/gunicorn_conf.py: threaded workers), else sync workers."""
    port = free_port()
    env = {**os.environ, "KB_INDEX_DIR": str(Path(index_dir).resolve()), **(env or {})}
    settings = ["--config", "python:kb.web.gunicorn_conf"] if production else ["--timeout", str(timeout)]
    command = [sys.executable, "-m", "gunicorn", *settings, "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
               "--log-level", "warning", "kb.web:create_app()"]
    with tempfile.TemporaryFile("w+") as log:  # a file, not a pipe: a full pipe would stall the server
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
        try:
            _wait_for(port, process, log)
            yield port
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def gunicorn_memory_mb(port: int) -> tuple[float, float] | None:
    """The largest (peak resident memory, anonymous resident memory now) among the gunicorn processes bound
    to `port`, from /proc (Linux). The peak counts the index files' pages the process mapped and read,
    which the kernel can drop at any time; the anonymous part is the process's own memory."""
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if f"127.0.0.1:{port}".encode() not in (proc / "cmdline").read_bytes():
                continue
            status = dict(line.split(":", 1) for line in (proc / "status").read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if "VmHWM" in status and "RssAnon" in status:
            found.append((int(status["VmHWM"].split()[0]) / 1024, int(status["RssAnon"].split()[0]) / 1024))
    return (max(peak for peak, _ in found), max(anon for _, anon in found)) if found else None


def _wait_for(port: int, process: subprocess.Popen, log, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"gunicorn exited with {process.returncode}: {log.read()}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/search")
            connection.getresponse().read()  # any answer will do: it is listening and the app loaded
            return
        except OSError:
            time.sleep(0.2)
        finally:
            connection.close()
    raise RuntimeError(f"gunicorn did not answer on port {port} within {seconds:.0f} s")
