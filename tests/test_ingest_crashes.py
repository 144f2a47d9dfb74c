"""`kb index` interrupted, killed and crashed at chosen moments: nothing is lost but the work since the last
checkpoint, no good letter is rejected for it, status tells the truth, and the rerun of the same command
ends with the index a clean build gives."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import main
from kb.ingest import index_paths
from kb.ledger import Ledger
from kb.synth import write_letters
from tests.conftest import ROOT
from tests.test_ingest import _wait_for, check_consistent, published_documents


def _task(name: str):
    from tests import workload

    return getattr(workload, name)


def _documents(index_dir: Path) -> dict[str, tuple]:
    """The published index as comparable data: each document's id and content, without file paths."""
    found = {}
    for doc in published_documents(index_dir):
        found[doc["passage_id"]] = (doc["kind"], doc.get("heading"), doc.get("rationale"), doc.get("decision"),
                                    doc.get("drug"), doc.get("guideline"))
    return found


def _clean_build(letters: Path, tmp_path: Path) -> dict[str, tuple]:
    clean = tmp_path / "clean"
    index_paths([letters], clean, jobs=2)
    return _documents(clean)


def _kb(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kb", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, **kwargs)


def test_a_worker_killed_in_the_middle_of_a_file_does_not_lose_it(tmp_path):
    """SIGKILL to the worker reading a file (as the out-of-memory killer or an operator would): the file
    is read again by a fresh worker, and indexed."""
    letters = tmp_path / "letters"
    write_letters(letters, 30, seed=5)
    first = tmp_path / "index"
    index_paths([letters], first, jobs=2)
    more = write_letters(tmp_path / "more", 10, seed=6)
    more[0].rename(letters / "victim.txt")
    for path in more[1:]:
        path.rename(letters / f"more-{path.name}")
    pid_file = tmp_path / "markers" / "victim.txt.pid"
    killed = []

    def kill_the_reader():
        _wait_for(pid_file.exists)
        pid = int(pid_file.read_text())
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    killer = threading.Thread(target=kill_the_reader)
    killer.start()
    report = index_paths([letters], first, jobs=2, task=_task("killable"))
    killer.join()
    assert killed
    assert report.counts["rejected"] == 0 and report.counts["retry"] == 0
    assert (tmp_path / "markers" / "victim.txt.attempts").read_text() == "2"
    assert _documents(first) == _clean_build(letters, tmp_path)


def test_a_long_commit_while_files_are_in_flight_rejects_nothing(tmp_path, monkeypatch):
    """The writer held in slow commits, the deciding thread blocked behind it, files read meanwhile: no
    file is taken for a hang because its answer waited."""
    import kb.writer

    letters = tmp_path / "letters"
    write_letters(letters, 40, seed=7)
    slow_apply = kb.index.apply_changes

    def held(*args, **kwargs):
        time.sleep(4)
        return slow_apply(*args, **kwargs)

    monkeypatch.setattr(kb.index, "apply_changes", held)
    monkeypatch.setattr(kb.writer, "QUEUE_LETTERS", 1)
    report = index_paths([letters], tmp_path / "index", jobs=2, wall_timeout=1, checkpoint=8)
    assert report.counts["indexed"] == 40, (report.rejected, report.tally.retry)
    assert check_consistent(tmp_path / "index")[0] == 40


def test_checkpoints_come_by_time_as_well_as_by_count(tmp_path, monkeypatch):
    letters = tmp_path / "letters"
    write_letters(letters, 60, seed=8)
    clock = iter(range(10**6))  # every look at the clock is a second later
    monkeypatch.setattr("kb.ingest.time.monotonic", lambda: float(next(clock)))
    report = index_paths([letters], tmp_path / "index", jobs=1, checkpoint=10**6, checkpoint_seconds=10)
    generation = int(report.generation.split("-")[1])
    assert generation > 3, "one checkpoint only, although every letter took seconds"
    assert check_consistent(tmp_path / "index")[0] == 60


# A crash at each step between parsing and publishing: os._exit in the middle of the writer's work.
CRASH_AT = {
    "after the engine commit": "kb.index.build_columns",
    "after sealing, before the ledger": "kb.ledger.Ledger.record_checkpoint",
    "after the ledger commit, before CURRENT": "kb.index.publish",
    "after CURRENT is switched": "kb.index.prune_generations",
}
CRASHING_RUN = """
import importlib, os, sys, threading
from pathlib import Path
target, letters, index_dir = sys.argv[1:4]
path, _, attribute = target.rpartition(".")
try:
    owner = importlib.import_module(path)
except ImportError:
    module, _, name = path.rpartition(".")
    owner = getattr(importlib.import_module(module), name)
original = getattr(owner, attribute)
def crash(*args, **kwargs):
    if threading.current_thread().name == "kb-index-writer":
        os._exit(9)
    return original(*args, **kwargs)
setattr(owner, attribute, crash)
from kb.ingest import index_paths
index_paths([letters], Path(index_dir), jobs=1)
"""


@pytest.mark.parametrize("step", CRASH_AT)
def test_a_crash_at_any_step_before_publishing_loses_nothing_and_status_tells_the_truth(tmp_path, step):
    letters = tmp_path / "letters"
    write_letters(letters, 12, seed=9)
    index_dir = tmp_path / "index"
    index_paths([letters], index_dir, jobs=1)
    before = check_consistent(index_dir)
    write_letters(tmp_path / "new", 8, seed=10)
    for path in (tmp_path / "new").iterdir():
        path.rename(letters / f"new-{path.name}")
    crashed = subprocess.run([sys.executable, "-c", CRASHING_RUN, CRASH_AT[step], str(letters), str(index_dir)],
                             cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert crashed.returncode == 9, crashed.stderr
    published = check_consistent(index_dir)
    status = CliRunner().invoke(main, ["status", "--index-dir", str(index_dir)])
    assert f"letters:     {published[0]}\n" in status.output and f"passages:    {published[1]}\n" in status.output
    if step == "after the ledger commit, before CURRENT":
        assert published == before
        assert "interrupted before publishing" in status.output
    again = _kb("index", str(letters), "--index-dir", str(index_dir))
    assert again.returncode == 0, again.stderr
    assert _documents(index_dir) == _clean_build(letters, tmp_path)
    status = CliRunner().invoke(main, ["status", "--index-dir", str(index_dir)])
    assert "interrupted" not in status.output and status.exit_code == 0


def _interrupt(command: list[str], index_dir: Path, signum: int) -> subprocess.CompletedProcess:
    """Run `kb` and send `signum` to its whole process group (as Ctrl-C in a terminal does) once it has
    published a first checkpoint."""
    process = subprocess.Popen([sys.executable, "-m", "kb", *command], cwd=ROOT, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, start_new_session=True)
    _wait_for(lambda: _published_files(index_dir) > 0 or process.poll() is not None)
    if process.poll() is None:
        os.killpg(process.pid, signum)
    out, err = process.communicate(timeout=600)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def _published_files(index_dir: Path) -> int:
    if not (index_dir / "ledger.sqlite3").exists():
        return 0
    try:
        with Ledger(index_dir) as ledger:
            return len(ledger.files())
    except Exception:  # noqa: BLE001 - being created
        return 0


@pytest.mark.parametrize("signum, status, name", [(signal.SIGINT, 130, "Ctrl-C"), (signal.SIGTERM, 143, "SIGTERM")])
def test_an_interrupted_run_keeps_what_it_parsed_and_the_same_command_goes_on(tmp_path, signum, status, name):
    letters = tmp_path / "letters"
    made = write_letters(letters, 1500, seed=12)  # many seconds of work at one job: stopped after a checkpoint
    index_dir = tmp_path / "index"
    command = ["index", str(letters), "--index-dir", str(index_dir), "--jobs", "1", "--checkpoint-seconds", "1"]
    stopped = _interrupt(command, index_dir, signum)
    assert stopped.returncode == status, stopped.stderr
    assert f"Stopped by {name}" in stopped.stdout and "run the same command to go on" in stopped.stdout
    assert "Traceback" not in stopped.stderr and "Error" not in stopped.stderr, stopped.stderr
    kept = check_consistent(index_dir)[0]
    assert kept > 0
    again = _kb(*command)
    assert again.returncode == 0, again.stderr
    assert f"unchanged   {kept:,}" in again.stdout or f"unchanged   {kept}" in again.stdout
    assert check_consistent(index_dir)[0] == len(made)


def test_an_interrupted_rebuild_goes_on_and_is_swapped_in_whole(tmp_path):
    old = tmp_path / "old"
    write_letters(old, 5, seed=13)
    index_dir = tmp_path / "index"
    index_paths([old], index_dir, jobs=1)
    letters = tmp_path / "letters"
    made = write_letters(letters, 1500, seed=14)
    command = ["index", str(letters), "--rebuild", "--index-dir", str(index_dir), "--jobs", "1",
               "--checkpoint-seconds", "1"]
    staging = index_dir / "rebuild"
    stopped = _interrupt(command, staging, signal.SIGINT)
    assert stopped.returncode == 130, stopped.stderr
    assert check_consistent(index_dir)[0] == 5  # the published index is the old one until the rebuild is done
    status = CliRunner().invoke(main, ["status", "--index-dir", str(index_dir)])
    assert "unfinished" in status.output
    again = _kb(*command)
    assert again.returncode == 0, again.stderr
    assert "Went on with the interrupted rebuild" in again.stdout
    assert "unchanged   0" not in again.stdout  # what it had read was not read again
    assert check_consistent(index_dir)[0] == len(made)
    assert not staging.exists()
    assert len(list((index_dir / "texts").rglob("*.txt.gz"))) >= len(made)  # kept beside the index, not the rebuild
    with Ledger(index_dir) as ledger:  # the index's ledger is the rebuild's: the old letters are gone from it
        assert ledger.totals()[0] == len(made) and not any(path.startswith(str(old)) for path in ledger.files())


@pytest.mark.slow
def test_kills_and_interruptions_of_a_long_run_lose_at_most_the_last_checkpoint_interval(tmp_path):
    """kill -9 and Ctrl-C, alternately, at 20 random moments of a 20,000-letter run, each followed by the
    same command: in the end every letter is indexed exactly once, and at each stop the newest published
    checkpoint was at most one interval (plus the time to write it) old."""
    import random

    letters = tmp_path / "letters"
    made = write_letters(letters, 20_000, seed=31)
    index_dir = tmp_path / "index"
    interval = 10.0  # --checkpoint-seconds: the most a stop may lose (60 by default)
    command = [sys.executable, "-m", "kb", "index", str(letters), "--index-dir", str(index_dir), "--jobs", "2",
               "--checkpoint-seconds", str(interval)]
    rng = random.Random(20261206)
    for stop in range(20):
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
        time.sleep(rng.uniform(2.0, 4 * interval))
        if process.poll() is not None:
            break  # everything is indexed
        stopped_at = time.time()
        os.killpg(process.pid, signal.SIGKILL if stop % 2 == 0 else signal.SIGINT)
        process.wait(timeout=600)
        if (index_dir / "CURRENT").exists():
            check_consistent(index_dir)
            published_at = (index_dir / "CURRENT").stat().st_mtime
            writing = 3 * interval  # a checkpoint is written while the next one's work goes on
            assert stopped_at - published_at <= interval + writing, "more than an interval of work was lost"
    final = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=3600)
    assert final.returncode == 0, final.stderr
    assert check_consistent(index_dir)[0] == len(made)
