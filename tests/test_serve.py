"""The site served for real: under gunicorn with a bounded load, and `kb demo` from a clean directory."""

from __future__ import annotations

import http.client
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.load import QUERY_PATHS, free_port, gunicorn, run_load

LOAD_SECONDS = 30


def test_gunicorn_serves_a_bounded_load_of_real_queries_without_errors(real_index: Path):
    with gunicorn(real_index, workers=2) as port:
        result = run_load("127.0.0.1", port, list(QUERY_PATHS), seconds=LOAD_SECONDS, clients=4)
    assert result.errors == []
    assert result.requests > len(QUERY_PATHS)  # every kind of request was made, several times
    assert set(result.statuses) == {200, 400}


def test_gunicorn_reports_a_missing_index_as_503_not_a_crash(tmp_path: Path):
    with gunicorn(tmp_path / "no-index", workers=1) as port:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", "/api/search?q=mri")
        response = connection.getresponse()
        assert response.status == 503
        assert b"no index" in response.read()

def _get(port: int, path: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("GET", path)
    response = connection.getresponse()
    return response.status, response.read()


def test_kb_demo_builds_once_then_reuses_and_serves_the_synthetic_site(tmp_path: Path):
    port = free_port()
    command = [sys.executable, "-m", "kb", "demo", "--letters", "40", "--jobs", "1", "--port", str(port)]

    def serve_until_ready() -> subprocess.Popen:
        process = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"kb demo exited with {process.returncode}:\n{process.stdout.read()}")
            try:
                if _get(port, "/search")[0] == 200:
                    return process
            except OSError:
                time.sleep(0.3)
        process.kill()
        pytest.fail("kb demo did not serve within 120 s")

    first = serve_until_ready()
    try:
        status, body = _get(port, "/search?q=opioid")
        assert status == 200 and b"banner-synthetic" in body
        assert _get(port, "/precedents?class=Opioids")[0] == 200
    finally:
        first.terminate()
        output = first.communicate(timeout=15)[0]
    assert "Generating 40 synthetic letters" in output
    assert (tmp_path / "index" / "demo" / "CURRENT").is_file()

    second = serve_until_ready()
    second.terminate()
    assert "Reusing the demo index" in second.communicate(timeout=15)[0]
