"""The production setup of the README, run on loopback for tests and benchmarks: gunicorn with
kb/web/gunicorn_conf.py (threaded workers) behind nginx running deploy/nginx-site.conf as it is, with its
two addresses moved to free ports; and the clients that attack it: an overload from many addresses, and a
probe that measures how long an ordinary request waits meanwhile.

Used by tests/test_production.py and bench/bench_overload.py.
"""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.load import _wait_for, free_port, gunicorn

ROOT = Path(__file__).resolve().parents[1]
NGINX_SITE = ROOT / "deploy" / "nginx-site.conf"
SITE_LISTEN = "listen 80;"
SITE_UPSTREAM = "server 127.0.0.1:8000 "
PROBE_PATH = "/search?q=tramadol"


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((path for path in ("/usr/sbin/nginx",) if os.access(path, os.X_OK)), None)


def site_config(listen_port: int, upstream_port: int) -> str:
    """deploy/nginx-site.conf, listening on `listen_port` of loopback, passing to gunicorn on `upstream_port`."""
    text = NGINX_SITE.read_text(encoding="utf-8")
    assert SITE_LISTEN in text and SITE_UPSTREAM in text, "deploy/nginx-site.conf no longer has its two addresses"
    return (text.replace(SITE_LISTEN, f"listen 127.0.0.1:{listen_port};")
                .replace(SITE_UPSTREAM, f"server 127.0.0.1:{upstream_port} "))


def _main_config(prefix: Path) -> str:
    user = "user root;" if os.geteuid() == 0 else ""  # as root, workers that can read this private folder
    kinds = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    temp = " ".join(f"{kind}_temp_path {prefix / kind};" for kind in kinds)
    return (f"worker_processes auto; pid {prefix / 'nginx.pid'}; {user}\n"
            "events { worker_connections 4096; }\n"
            f"http {{ access_log off; {temp} include {prefix / 'site.conf'}; }}\n")


@contextmanager
def nginx(upstream_port: int):
    """nginx (the Debian package) with deploy/nginx-site.conf in front of `upstream_port`; yields its port."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed (apt-get install nginx)")
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="kb-nginx-") as folder:
        prefix = Path(folder)
        (prefix / "site.conf").write_text(site_config(port, upstream_port), encoding="utf-8")
        (prefix / "nginx.conf").write_text(_main_config(prefix), encoding="utf-8")
        log = prefix / "error.log"
        command = [binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-e", str(log), "-g", "daemon off;"]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            with open(log, "a+", encoding="utf-8") as errors:
                _wait_for(port, process, errors)
            yield port
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@contextmanager
def production_site(index_dir: Path, *, workers: int = 2, env: dict[str, str] | None = None):
    """The README's production setup over `index_dir`: yields (nginx's port, gunicorn's port)."""
    with gunicorn(index_dir, workers=workers, production=True, env=env) as app_port, nginx(app_port) as port:
        yield port, app_port


# --------------------------------------------------------------------------------------------
# Clients


@dataclass
class Answer:
    path: str
    status: int | None  # None: no answer (a timeout or a refused connection)
    seconds: float
    retry_after: str | None = None
    error: str = ""


@dataclass
class Answers:
    answers: list[Answer] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, answer: Answer) -> None:
        with self.lock:
            self.answers.append(answer)

    def statuses(self) -> Counter:
        return Counter(answer.status for answer in self.answers)

    def seconds(self, *statuses: int | None) -> list[float]:
        return sorted(a.seconds for a in self.answers if not statuses or a.status in statuses)

    def percentile(self, p: float, *statuses: int | None) -> float:
        ordered = self.seconds(*statuses)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] if ordered else 0.0

    def unanswered(self) -> list[Answer]:
        return [answer for answer in self.answers if answer.status is None]


def ask(port: int, path: str, *, method: str = "GET", body: bytes | None = None, source: str = "127.0.0.1",
        timeout: float = 30.0, headers: dict[str, str] | None = None, connection=None) -> Answer:
    """One request from loopback address `source` (a fresh connection unless one is given)."""
    own = connection is None
    if own:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(source, 0))
    started = time.perf_counter()
    try:
        connection.request(method, path, body=body, headers={"Content-Type": "application/json", **(headers or {})})
        response = connection.getresponse()
        response.read()
        return Answer(path, response.status, time.perf_counter() - started, response.getheader("Retry-After"))
    except (OSError, http.client.HTTPException) as error:
        connection.close()
        return Answer(path, None, time.perf_counter() - started, error=repr(error))
    finally:
        if own:
            connection.close()


def overload(port: int, paths: list[str], *, clients: int, seconds: float, timeout: float = 10.0) -> Answers:
    """`clients` clients, each from its own loopback address (127.0.1.x) with a keep-alive connection,
    requesting `paths` in turn as fast as they are answered, for `seconds`; told to come back later (429 or
    503), a client waits as long as Retry-After says (at most 2 s), as a browser's reader or a polite
    program would."""
    answers = Answers()
    deadline = time.monotonic() + seconds

    def client(n: int) -> None:
        source = f"127.0.{1 + n // 250}.{1 + n % 250}"
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(source, 0))
        i = n
        while time.monotonic() < deadline:
            answer = ask(port, paths[i % len(paths)], source=source, timeout=timeout, connection=connection)
            answers.add(answer)
            i += 1
            if answer.retry_after and answer.retry_after.isdigit():
                time.sleep(min(2.0, float(answer.retry_after)))
            if answer.status is None:  # the connection is closed: a new one, as a browser would
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(source, 0))
        connection.close()

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 2 * timeout)
    return answers


@contextmanager
def probing(port: int, *, interval: float = 0.5, path: str = PROBE_PATH, timeout: float = 30.0):
    """An ordinary reader asking for `path` every `interval` seconds (from 127.0.0.2) while the block runs;
    yields the Answers, complete when the block ends."""
    answers = Answers()
    stop = threading.Event()

    def probe() -> None:
        while not stop.is_set():
            answers.add(ask(port, path, source="127.0.0.2", timeout=timeout))
            stop.wait(interval)

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    try:
        yield answers
    finally:
        stop.set()
        thread.join(timeout=timeout + 5)
