"""Hostile files and names in a folder of good letters: none stops indexing, every entry gets exactly one
outcome, and an outcome whose cause can pass is read again by the next run."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from click.testing import CliRunner

from kb.cli import main
from kb.extract import MAX_TEXT_FILE_BYTES
from kb.ingest import index_paths
from kb.ledger import Ledger
from kb.synth import write_letters
from tests.test_ingest import check_consistent


def _task(name: str):
    from tests import workload

    return getattr(workload, name)


def _hostile_folder(root: Path) -> tuple[Path, list[Path]]:
    """Good letters beside every kind of trouble the walk and the readers meet."""
    folder = root / "letters"
    good = write_letters(folder, 6, seed=21)
    spare = write_letters(root / "spare", 3, seed=22)
    # a file name that is not valid UTF-8
    odd = os.path.join(os.fsencode(folder), b"odd-\xff-name.txt")
    with open(odd, "wb") as out:
        out.write(spare[0].read_bytes())
    # one file by two paths: a link to a letter in the folder, and a link to one outside it
    (folder / "link-to-good.txt").symlink_to(good[0])
    outside = root / "outside.txt"
    shutil.copy(spare[1], outside)
    (folder / "link-to-outside.txt").symlink_to(outside)
    # links that lead nowhere or in a circle, a pipe, a folder named like a letter (with a letter inside)
    (folder / "dangling.pdf").symlink_to(root / "nothing-here.pdf")
    (folder / "loop-a.pdf").symlink_to(folder / "loop-b.pdf")
    (folder / "loop-b.pdf").symlink_to(folder / "loop-a.pdf")
    os.mkfifo(folder / "fifo.pdf")
    (folder / "folder.pdf").mkdir()
    shutil.copy(spare[2], folder / "folder.pdf" / "inside.txt")
    # too large for a letter, and a file that cannot be read for now
    (folder / "huge.txt").write_bytes(b"Case Number: CM16-0000001\n" + b"x" * (MAX_TEXT_FILE_BYTES + 1))
    shutil.copy(write_letters(root / "later", 1, seed=23)[0], folder / "locked-letter.txt")
    (folder / "notes.csv").write_text("not a letter\n")
    (folder / ".hidden.txt").write_text("skipped\n")
    return folder, good


def test_no_file_or_name_stops_indexing_and_every_entry_has_one_outcome(tmp_path, monkeypatch):
    folder, good = _hostile_folder(tmp_path)
    (tmp_path / "markers").mkdir()
    (tmp_path / "markers" / "LOCKED").touch()
    unreadable = folder / "unreadable"
    unreadable.mkdir()
    shutil.copy(good[1], unreadable / "copy.txt")
    real_scandir = os.scandir

    def scandir(path="."):  # a folder we may not list (a chmod 000 that root would ignore)
        if os.fspath(path) == str(unreadable):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr("kb.extract.os.scandir", scandir)
    index_dir = tmp_path / "index"
    # the folder given twice, once by another path: each file once
    report = index_paths([folder, str(folder) + "/", tmp_path / "letters" / ".." / "letters"], index_dir, jobs=2,
                         task=_task("flaky"))
    with Ledger(index_dir) as ledger:
        outcomes = {os.fsencode(o.path): (o.outcome, o.code) for o in ledger.run_outcomes(report.run_id)}
    name = os.fsencode
    expected = {
        **{name(str(p)): ("indexed", None) for p in good},
        os.path.join(name(str(folder)), b"odd-\xff-name.txt"): ("indexed", None),
        name(str(tmp_path / "outside.txt")): ("indexed", None),
        name(str(folder / "folder.pdf" / "inside.txt")): ("indexed", None),
        name(str(folder / "dangling.pdf")): ("rejected", "broken-link"),
        name(str(folder / "loop-a.pdf")): ("rejected", "broken-link"),
        name(str(folder / "loop-b.pdf")): ("rejected", "broken-link"),
        name(str(folder / "fifo.pdf")): ("rejected", "not-a-file"),
        name(str(folder / "folder.pdf")): ("rejected", "not-a-file"),
        name(str(folder / "huge.txt")): ("rejected", "too-large"),
        name(str(folder / "locked-letter.txt")): ("retry", "unreadable-file"),
        name(str(unreadable)): ("retry", "unreadable-folder"),
    }
    assert outcomes == expected
    assert report.tally.ignored == 1  # notes.csv; the hidden file is not an entry at all
    assert check_consistent(index_dir) == (9, report.passages)
    # the name that is not UTF-8 is shown escaped wherever a person reads it
    status = CliRunner().invoke(main, ["status", "--index-dir", str(index_dir)])
    assert status.exit_code == 0 and "to retry:    2 files" in status.output
    listed = CliRunner().invoke(main, ["index", "--rejected", "--index-dir", str(index_dir)])
    assert listed.exit_code == 0 and len(listed.output.splitlines()) == 6

    # the passing causes pass: the next run reads them, and indexes what they held
    (tmp_path / "markers" / "LOCKED").unlink()
    monkeypatch.setattr("kb.extract.os.scandir", real_scandir)
    again = index_paths([folder], index_dir, jobs=2, task=_task("flaky"))
    assert again.tally.retried == 1 and again.counts["retry"] == 0
    with Ledger(index_dir) as ledger:
        outcomes = {o.path: o for o in ledger.run_outcomes(again.run_id)}
    assert outcomes[str(folder / "locked-letter.txt")].outcome == "indexed"
    assert outcomes[str(unreadable / "copy.txt")].outcome == "duplicate"  # the same bytes as good[1]
    assert check_consistent(index_dir)[0] == 10


def test_a_passing_cause_that_does_not_pass_is_rejected_after_three_runs(tmp_path):
    folder = tmp_path / "letters"
    folder.mkdir()
    shutil.copy(write_letters(tmp_path / "later", 1, seed=24)[0], folder / "locked-letter.txt")
    (tmp_path / "markers").mkdir()
    (tmp_path / "markers" / "LOCKED").touch()
    outcomes = []
    for _ in range(3):
        report = index_paths([folder], tmp_path / "index", jobs=1, task=_task("flaky"))
        outcomes.append((report.counts["retry"], report.counts["rejected"]))
    assert outcomes == [(1, 0), (1, 0), (0, 1)]
    assert "the same in 3 runs in a row" in report.rejected[0].reason
    fourth = index_paths([folder], tmp_path / "index", jobs=1, task=_task("flaky"))
    assert fourth.counts["unchanged"] == 1  # rejected for good, until the file changes


def test_a_folder_without_letters_or_with_only_bad_files_is_an_error(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.csv").write_text("a,b\n")
    result = CliRunner().invoke(main, ["index", str(empty), "--index-dir", str(tmp_path / "index")])
    assert result.exit_code == 1 and "no letter files (.pdf or .txt) were found" in result.output
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "a.txt").write_text("Dear adjuster, please find the records attached. " * 20)
    (bad / "b.pdf").write_bytes(b"<!DOCTYPE html><html></html>")
    result = CliRunner().invoke(main, ["index", str(bad), "--index-dir", str(tmp_path / "index")])
    assert result.exit_code == 1 and "none of the 2 files read could be indexed" in result.output
    assert "cannot be read as an IMR letter: fits no known letter layout" in result.output


def test_a_rebuild_that_finds_no_letters_leaves_the_index_as_it_was(tmp_path, seeds_dir):
    index_dir = tmp_path / "index"
    index_paths([seeds_dir], index_dir, jobs=1)
    empty = tmp_path / "typo"
    empty.mkdir()
    (empty / "notes.txt").write_text("Dear adjuster, please find the records attached. " * 20)
    result = CliRunner().invoke(main, ["index", str(empty), "--rebuild", "--index-dir", str(index_dir)])
    assert result.exit_code == 1 and "left as it was" in result.output
    assert check_consistent(index_dir) == (2, 4)
    assert not (index_dir / "rebuild").exists()
