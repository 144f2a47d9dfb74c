"""`kb index`: idempotent, incremental, crash-safe indexing into a real Whoosh index on disk."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from kb import index as kb_index
from kb.cli import main
from kb.engines import engine_named, engine_of
from kb.ingest import IndexLock, index_paths
from kb.ledger import Ledger
from kb.pool import WorkerPool
from kb.synth import write_letters
from tests.badfiles import EXPECTED_ERRORS, write_bad_files
from tests.conftest import FIXTURES, ROOT


def published_documents(index_dir: Path) -> list[dict]:
    """Every document of the published generation, letters and passages, through the engine's reader."""
    name, reader = kb_index.open_published(index_dir)
    q = engine_of(index_dir / name)
    every = q.any_of([q.term("kind", kb_index.LETTER), q.term("kind", kb_index.PASSAGE)])
    return reader.stored(np.flatnonzero(reader.mask(every, ROWS)).tolist())


ROWS = 1_000_000  # more rows than any test index has


def check_consistent(index_dir: Path) -> tuple[int, int]:
    """The published index opens; every letter has exactly its passages, each passage once."""
    docs = published_documents(index_dir)
    letters = [d for d in docs if d["kind"] == "letter"]
    passages = [d for d in docs if d["kind"] == "passage"]
    ids = Counter(d["passage_id"] for d in passages)
    assert not [i for i, n in ids.items() if n > 1], "a passage indexed twice"
    per_letter = Counter(d["letter_id"] for d in passages)
    for letter in letters:
        items = json.loads(letter["data"])["items"]
        assert per_letter.pop(letter["letter_id"], 0) == len(items), letter["letter_id"]
    assert not per_letter, f"passages without their letter: {list(per_letter)[:3]}"
    return len(letters), len(passages)


def test_real_letters_index_once_and_again_changes_nothing(real_index, letters_dir, seeds_dir, tmp_path):
    assert check_consistent(real_index) == (132, 307)
    with Ledger(real_index) as ledger:
        last = ledger.last_run()
        assert last["counts"] == {"indexed": 132, "unchanged": 0, "duplicate": 130, "rejected": 0, "retry": 0}
        outcomes = ledger.run_outcomes(last["run_id"])
    # every input file has exactly one outcome; each .txt is the duplicate of its PDF by case number
    inputs = sorted(str(p.resolve()) for p in [*letters_dir.glob("*.pdf"), *letters_dir.glob("*.txt"),
                                                *seeds_dir.glob("*.txt")])
    assert sorted(o.path for o in outcomes) == inputs
    for outcome in outcomes:
        if outcome.path.endswith(".txt") and "/letters/" in outcome.path:
            assert outcome.outcome == "duplicate" and "already indexed from" in outcome.reason
            assert outcome.reason.endswith(".pdf") or "differs" not in outcome.reason

    index_dir = tmp_path / "index"
    shutil.copytree(real_index, index_dir)
    generation = kb_index.current_generation(index_dir)
    report = index_paths([letters_dir, seeds_dir], index_dir, jobs=2)
    assert not report.changed and report.counts["unchanged"] == 262
    assert kb_index.current_generation(index_dir) == generation


def test_a_renamed_copy_adds_nothing(real_index, letters_dir, tmp_path):
    index_dir = tmp_path / "index"
    shutil.copytree(real_index, index_dir)
    copies = tmp_path / "copies"
    copies.mkdir()
    for pdf in sorted(letters_dir.glob("*.pdf"))[:20]:
        shutil.copy(pdf, copies / f"renamed-{pdf.stem}.pdf")
    report = index_paths([copies], index_dir, jobs=2)
    assert report.counts["duplicate"] == 20 and not report.changed
    assert check_consistent(index_dir) == (132, 307)


def _letter_text(name: str) -> str:
    return (FIXTURES / "letters" / f"{name}.txt").read_text(encoding="utf-8")


def test_a_changed_file_replaces_its_letters_passages(tmp_path):
    letters = tmp_path / "letters"
    letters.mkdir()
    path = letters / "letter.txt"
    text = _letter_text("posted-basic")
    path.write_text(text, encoding="utf-8")
    index_dir = tmp_path / "index"
    assert index_paths([letters], index_dir, jobs=1).passages_added == 2

    fewer = text[: text.index("MRI of the lumbar spine without contrast: Overturned")]
    path.write_text(fewer, encoding="utf-8")
    report = index_paths([letters], index_dir, jobs=1)
    assert (report.passages_added, report.passages_removed) == (1, 2)
    assert check_consistent(index_dir) == (1, 1)


def test_a_file_that_becomes_another_letter_removes_the_old_one(tmp_path):
    letters = tmp_path / "letters"
    letters.mkdir()
    path = letters / "letter.txt"
    path.write_text(_letter_text("posted-basic"), encoding="utf-8")
    index_dir = tmp_path / "index"
    index_paths([letters], index_dir, jobs=1)
    path.write_text(_letter_text("posted-partial"), encoding="utf-8")
    index_paths([letters], index_dir, jobs=1)
    assert {d["letter_id"] for d in published_documents(index_dir)} == {"CM16-0244410"}


def test_the_same_letter_twice_in_one_batch_is_indexed_once(tmp_path):
    letters = tmp_path / "letters"
    letters.mkdir()
    text = _letter_text("posted-crlf")
    (letters / "a.txt").write_text(text, encoding="utf-8")
    (letters / "b.txt").write_text(text, encoding="utf-8")  # same bytes
    (letters / "c.txt").write_text(text.replace("Lyrica 75mg #60", "Lyrica 150mg #60"), encoding="utf-8")
    report = index_paths([letters], tmp_path / "index", jobs=2)
    assert report.counts == {"indexed": 1, "unchanged": 0, "duplicate": 2, "rejected": 0, "retry": 0}
    with Ledger(tmp_path / "index") as ledger:
        files = ledger.files()
    assert files[str(letters / "a.txt")].outcome == "indexed"
    assert files[str(letters / "b.txt")].reason == f"the same file as {letters / 'a.txt'}"
    assert "differs in its items" in files[str(letters / "c.txt")].reason
    assert check_consistent(tmp_path / "index") == (1, 2)


def test_replace_lets_another_file_of_a_case_number_win(tmp_path):
    letters = tmp_path / "letters"
    letters.mkdir()
    text = _letter_text("posted-basic")
    (letters / "a.txt").write_text(text, encoding="utf-8")
    index_dir = tmp_path / "index"
    index_paths([letters], index_dir, jobs=1)
    shorter = letters / "b.txt"
    shorter.write_text(text[: text.index("MRI of the lumbar spine without contrast: Overturned")], encoding="utf-8")
    duplicate = index_paths([shorter], index_dir, jobs=1)
    assert duplicate.counts["duplicate"] == 1
    assert "(1 items against 2)" in duplicate.notes[0].reason
    replaced = index_paths([shorter], index_dir, jobs=1, replace=True)
    # unchanged since the last run: --replace applies to files being read, so touch it
    assert replaced.counts["unchanged"] == 1
    os.utime(shorter, ns=(time.time_ns(), time.time_ns()))
    shorter.write_text(shorter.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    replaced = index_paths([shorter], index_dir, jobs=1, replace=True)
    assert replaced.counts["indexed"] == 1 and (replaced.passages_added, replaced.passages_removed) == (1, 2)
    assert check_consistent(index_dir) == (1, 1)


def test_a_batch_with_broken_files_indexes_the_good_ones(tmp_path, letters_dir):
    batch = tmp_path / "batch"
    bad = write_bad_files(batch, letters_dir / "CM16-0213037.pdf")
    (batch / "items-removed.txt").write_text(_letter_text("error-items-removed"), encoding="utf-8")
    for pdf in sorted(letters_dir.glob("*.pdf"))[:5]:
        shutil.copy(pdf, batch / pdf.name)
    report = index_paths([batch], tmp_path / "index", jobs=2)
    assert report.counts["indexed"] == 5
    assert report.counts["rejected"] == len(bad) + 1
    codes = {Path(o.path).name: o.code for o in report.rejected}
    assert codes["items-removed.txt"] == "parse-error"
    assert {name: codes[name] for name in bad} == {
        name: {"DamagedPdf": "damaged-pdf", "NoTextLayer": "too-little-text", "NotAPdf": "not-a-pdf",
               "PasswordProtected": "password-protected", "EmptyFile": "empty-file",
               "UnreadableText": "unreadable-text"}[error]
        for name, error in EXPECTED_ERRORS.items()
    }
    listed = CliRunner().invoke(main, ["index", "--rejected", "--index-dir", str(tmp_path / "index")])
    assert listed.exit_code == 0 and len(listed.output.splitlines()) == len(bad) + 1
    assert "protected by a password" in listed.output


def test_a_spinning_sleeping_swelling_or_crashing_file_cannot_stop_the_batch(tmp_path):
    """Each stopped by its own limit, whatever the machine's load: processor time, the wall-clock guard,
    memory, a crash (tried twice)."""
    files = []
    for name in ("spin.txt", "sleep.txt", "bloat.txt", "crash.txt", "good.txt"):
        path = tmp_path / name
        path.write_text(_letter_text("posted-basic"), encoding="utf-8")
        files.append(str(path))
    # the wall-clock guard is twenty times the processor-time limit: a loaded machine may run the spinning
    # worker at a fraction of a core, and it must still be stopped by its processor time, not the guard
    with WorkerPool(2, timeout=1, wall_timeout=20, memory_mb=1024, task=_task("misbehaving")) as pool:
        results = {Path(parsed.path).name: parsed for _, parsed in pool.run(files)}
    assert results["spin.txt"].code == "timeout" and "more than 1 s of processor time" in results["spin.txt"].reason
    # waiting is not working: not the file's fault, so the next run reads it again
    assert results["sleep.txt"].code == "retry" and "the next run reads it again" in results["sleep.txt"].reason
    assert results["bloat.txt"].code in ("out-of-memory", "crashed")
    assert results["crash.txt"].code == "crashed" and "crashed the reader twice" in results["crash.txt"].reason
    assert "SIGABRT" in results["crash.txt"].reason
    assert results["good.txt"].ok and results["good.txt"].docs


def test_a_file_sent_behind_one_that_kills_or_stalls_its_worker_is_read_by_the_next(tmp_path):
    """A worker holds its next file while it reads one (kb.pool.PER_WORKER): when it dies or stalls, that next
    file is read by a fresh worker and never blamed for what happened before it started."""
    files = []
    for name in ("crash.txt", "good-1.txt", "sleep.txt", "good-2.txt"):
        path = tmp_path / name
        path.write_text(_letter_text("posted-basic"), encoding="utf-8")
        files.append(str(path))
    with WorkerPool(1, timeout=2, wall_timeout=6, memory_mb=1024, task=_task("misbehaving")) as pool:
        results = {Path(parsed.path).name: parsed for _, parsed in pool.run(files)}
    assert set(results) == {"crash.txt", "good-1.txt", "sleep.txt", "good-2.txt"}
    assert results["crash.txt"].code == "crashed" and results["crash.txt"].reason.count("SIGABRT") == 2
    assert results["sleep.txt"].code == "retry"
    assert results["good-1.txt"].ok and results["good-2.txt"].ok


def _task(name: str):
    from tests import workload

    return getattr(workload, name)


def test_a_second_indexer_stops_at_once_naming_the_lock(tmp_path):
    index_dir = tmp_path / "index"
    with subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; from kb.ingest import IndexLock\n"
         "with IndexLock(Path(sys.argv[1])):\n    print('held', flush=True); time.sleep(600)", str(index_dir)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT,
    ) as holder:
        try:
            assert holder.stdout.readline().strip() == "held"
            started = time.monotonic()
            result = CliRunner().invoke(main, ["index", str(FIXTURES / "letters"), "--index-dir", str(index_dir)])
            assert time.monotonic() - started < 300, "it waited for the lock instead of stopping"
            assert result.exit_code == 1
            assert str(index_dir / "lock") in result.output and f"pid {holder.pid}" in result.output
        finally:
            holder.kill()
    # a killed holder leaves no stale lock
    with IndexLock(index_dir):
        pass


def test_two_indexers_at_once_one_runs(tmp_path):
    letters = tmp_path / "letters"
    write_letters(letters, 3000, seed=3)  # a run of many seconds: the second starts while the first runs
    index_dir = tmp_path / "index"
    command = [sys.executable, "-m", "kb", "index", str(letters), "--index-dir", str(index_dir), "--jobs", "1"]
    first = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lock = index_dir / "lock"
        _wait_for(lambda: lock.exists() and f"pid {first.pid}" in lock.read_text())
        second = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert first.poll() is None, "the first run ended before the second started"
        assert second.returncode == 1
        assert "one indexer at a time" in second.stderr and f"pid {first.pid}" in second.stderr
    finally:
        first.send_signal(signal.SIGINT)  # no need to wait for the whole run: it keeps what it has
        out, err = first.communicate(timeout=300)
    assert first.returncode in (0, 130), err
    assert "Published" in out or "run the same command to go on" in out


def test_killed_indexer_leaves_a_readable_index_and_a_rerun_completes(tmp_path):
    """kill -9 of the whole run at random moments, 20 times, during a build of over 3,000 passages."""
    letters = tmp_path / "letters"
    made = write_letters(letters, 1700, seed=11)
    index_dir = tmp_path / "index"
    command = [sys.executable, "-m", "kb", "index", str(letters), "--index-dir", str(index_dir), "--jobs", "2",
               "--checkpoint", "150", "--checkpoint-seconds", "1"]
    rng = random.Random(20261122)
    for kill in range(20):
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
        if kill >= 2:  # after the first kills, each lands after a first publish, however slow the machine
            _wait_for(lambda: kb_index.current_generation(index_dir) is not None or process.poll() is not None)
        time.sleep(rng.uniform(0.0, 3.0))
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        if kb_index.current_generation(index_dir):
            check_consistent(index_dir)
    final = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1200)
    assert final.returncode == 0, final.stderr
    expected_passages = sum(len(letter.items) for letter in _synthetic(made))
    assert expected_passages >= 3000
    assert check_consistent(index_dir) == (len(made), expected_passages)


def _wait_for(condition, limit: float = 300.0) -> None:
    """A hang guard, not a speed limit: conditions here come true in seconds."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "waited five minutes"
        time.sleep(0.05)


def _synthetic(paths: list[Path]):
    from kb.letters import parse_letter

    return [parse_letter(p.read_text(encoding="utf-8")) for p in paths]


def test_a_reader_keeps_answering_while_rebuilds_are_published(real_index, tmp_path, letters_dir, seeds_dir):
    index_dir = tmp_path / "index"
    shutil.copytree(real_index, index_dir)
    name, in_flight = kb_index.open_published(index_dir)  # opened before the rebuilds, like a request
    q = engine_of(index_dir / name)
    errors, answers = [], []
    stop = threading.Event()

    def count(reader) -> int:
        return int(reader.mask(q.term("drug", "carisoprodol"), ROWS).sum())

    def keep_reopening():  # like the site: open whatever is published, for each request
        while not stop.is_set():
            try:
                _, current = kb_index.open_published(index_dir)
                answers.append(count(current))
            except Exception as error:  # noqa: BLE001 - the test reports any failure
                errors.append(error)

    reader = threading.Thread(target=keep_reopening)
    reader.start()
    try:
        for _ in range(2):
            report = index_paths([letters_dir, seeds_dir], index_dir, jobs=2, rebuild=True)
            assert report.generation != name
            answers.append(count(in_flight))
    finally:
        stop.set()
        reader.join()
    assert count(in_flight) == 2  # its generation was pruned, and it still answers
    assert not errors and len(answers) > 2 and set(answers) == {2}  # Soma, and Carisoprodol: one each seed
    assert check_consistent(index_dir) == (132, 307)
    assert len(kb_index.generation_dirs(index_dir)) == kb_index.KEEP_GENERATIONS


def test_status_reports_the_index(real_index):
    result = CliRunner().invoke(main, ["status", "--index-dir", str(real_index)])
    assert result.exit_code == 0
    assert "letters:     132" in result.output and "passages:    307" in result.output
    assert "132 indexed, 0 unchanged, 130 duplicate, 0 rejected" in result.output


def test_status_of_a_missing_index_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(main, ["status", "--index-dir", str(tmp_path / "nothing")])
    assert result.exit_code == 1 and "no index in" in result.output


def test_reparse_reads_the_stored_texts_only_and_changes_nothing_with_the_same_parser(tmp_path, letters_dir,
                                                                                      monkeypatch):
    letters = tmp_path / "letters"
    letters.mkdir()
    for pdf in sorted(letters_dir.glob("*.pdf"))[:12]:
        shutil.copy(pdf, letters / pdf.name)
    index_dir = tmp_path / "index"
    index_paths([letters], index_dir, jobs=2)
    before = {doc["passage_id"]: doc for doc in published_documents(index_dir)}
    shutil.rmtree(letters)  # nothing to read but what the index stored
    shutil.rmtree(index_dir / "originals")
    nothing = CliRunner().invoke(main, ["index", "--reparse", "--index-dir", str(index_dir)])
    assert nothing.exit_code == 0 and "indexed     0" in nothing.output  # the same parser read them all
    monkeypatch.setattr("kb.pool.parser_version", lambda: "a-new-parser")
    status = CliRunner().invoke(main, ["status", "--index-dir", str(index_dir)])
    assert "12 letters were read by an older version of the parser" in status.output
    result = CliRunner().invoke(main, ["index", "--reparse", "--index-dir", str(index_dir)])
    assert result.exit_code == 0, result.output
    assert "indexed     12 (12 parsed again)" in result.output
    after = {doc["passage_id"]: doc for doc in published_documents(index_dir)}
    assert after.keys() == before.keys()
    assert all(after[key]["data"] == before[key]["data"] for key in before)
    again = CliRunner().invoke(main, ["index", "--reparse", "--index-dir", str(index_dir)])
    assert "indexed     0" in again.output  # incremental: what was parsed again is not parsed again


def test_a_file_no_parser_could_read_is_read_again_by_a_new_parser(tmp_path, monkeypatch):
    letters = tmp_path / "letters"
    letters.mkdir()
    (letters / "odd.txt").write_text("Dear adjuster, please find the records attached. " * 20, encoding="utf-8")
    index_dir = tmp_path / "index"
    assert index_paths([letters], index_dir, jobs=1).counts["rejected"] == 1
    assert index_paths([letters], index_dir, jobs=1).counts["unchanged"] == 1  # the same parser: not again
    monkeypatch.setattr("kb.pool.parser_version", lambda: "a-new-parser")
    again = index_paths([letters], index_dir, jobs=1)
    assert again.counts["rejected"] == 1 and again.counts["unchanged"] == 0  # read again (and still not a letter)
    assert index_paths([letters], index_dir, jobs=1).counts["unchanged"] == 1


def test_an_index_of_an_older_format_is_refused_until_it_is_parsed_again(tmp_path, letters_dir):
    letters = tmp_path / "letters"
    letters.mkdir()
    for pdf in sorted(letters_dir.glob("*.pdf"))[:6]:
        shutil.copy(pdf, letters / pdf.name)
    index_dir = tmp_path / "index"
    index_paths([letters], index_dir, jobs=2)
    manifest = index_dir / kb_index.current_generation(index_dir) / "manifest.json"
    older = json.loads(manifest.read_text())
    older["format"] = kb_index.INDEX_FORMAT - 1  # as an older imr-kb wrote it
    manifest.write_text(json.dumps(older))
    status = CliRunner().invoke(main, ["status", "--index-dir", str(index_dir)])
    assert "written by an older version of imr-kb" in status.output
    refused = CliRunner().invoke(main, ["index", str(letters), "--index-dir", str(index_dir)])
    assert refused.exit_code == 1 and "kb index --reparse --all" in refused.output and "Nothing was changed" in refused.output
    shutil.rmtree(letters)  # the letters it stored are enough
    rebuilt = CliRunner().invoke(main, ["index", "--reparse", "--all", "--index-dir", str(index_dir)])
    assert rebuilt.exit_code == 0, rebuilt.output
    assert kb_index.generation_format(index_dir / kb_index.current_generation(index_dir)) == kb_index.INDEX_FORMAT
    assert check_consistent(index_dir)[0] == 6


def test_a_whoosh_index_past_the_size_it_serves_well_says_how_to_switch(tmp_path, monkeypatch):
    if engine_named().NAME != "whoosh":
        pytest.skip("the warning is Whoosh's")
    letters = tmp_path / "letters"
    write_letters(letters, 30, seed=41)
    monkeypatch.setattr("kb.health.WHOOSH_SLOW_PASSAGES", 10)
    monkeypatch.setattr("kb.cli.WHOOSH_SLOW_PASSAGES", 10)
    index_dir = tmp_path / "index"
    indexed = CliRunner().invoke(main, ["index", str(letters), "--index-dir", str(index_dir)])
    status = CliRunner().invoke(main, ["status", "--index-dir", str(index_dir)])
    for output in (indexed.output, status.output):
        assert "past the size where Whoosh's searches slow down" in output
        assert f"kb index --rebuild --engine tantivy --index-dir {index_dir}" in output
