"""kb fetch and kb update against a fake DWC search (tests/dwc_server.py) on 127.0.0.1.

Rates and backoffs are set near zero and the waits the fetcher asks for are recorded instead of slept, so
nothing here depends on the machine's speed; the few real timeouts are short and only make a retry happen.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import subprocess
import sys
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import main
from kb.extract import check_pdf
from kb.fetch import FetchSettings, Filters, fetch_range, letter_path, month_ranges, user_agent
from kb.fetch_ledger import FetchLedger, FetchLock, FetchLocked
from kb.http_client import Politeness, retry_after_seconds
from tests.conftest import ROOT
from tests.dwc_server import FakeDwc, Fault, own_letter, own_letters, shared_letters

FAST = Politeness(rate=1000.0, timeout=5.0, retries=2, backoff=0.01, max_wait=60.0)
JANUARY = (date(2024, 1, 1), date(2024, 1, 31))
HANG_GUARD = 120  # seconds: only to fail rather than hang if something is badly wrong


class Sleeps(list):
    """Records the waits the fetcher asks for instead of sleeping them."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def settings(site: FakeDwc, sleeps: Sleeps | None = None, **politeness) -> FetchSettings:
    return FetchSettings(base_url=site.base_url, politeness=replace(FAST, **politeness),
                         sleep=sleeps if sleeps is not None else Sleeps())


def fast_options(site: FakeDwc) -> list[str]:
    return ["--base-url", site.base_url, "--rate", "1000", "--backoff", "0.01", "--timeout", "5"]


def sidecar(folder: Path, case: str, decided: date) -> dict:
    return json.loads((folder / letter_path(case, decided.isoformat())).with_suffix("").with_suffix(
        ".dwc.json").read_text(encoding="utf-8"))


def kept(folder: Path) -> set[str]:
    return {path.stem for path in folder.rglob("CM*.pdf")}


@pytest.fixture
def january():
    """70 of our letters from 10 to 31 January 2024 (one to three treatments each: several pages of rows)."""
    return own_letters(70, date(2024, 1, 10), per_day=4)


# --------------------------------------------------------------------------------------------
# A whole range


def test_a_range_is_fetched_into_the_layout_with_the_dwcs_rows_beside_each_letter(tmp_path, january):
    with FakeDwc(january) as site:
        report = fetch_range(tmp_path, *JANUARY, settings=settings(site))
        targets = site.targets()
        agents = {seen.user_agent for seen in site.seen}
    assert report.stopped is None and report.failed == []
    assert report.fetched == report.listed == len(january)
    for letter in january:
        pdf = tmp_path / letter_path(letter.case_number, letter.decision_date.isoformat())
        assert pdf.read_bytes() == letter.pdf()
        record = sidecar(tmp_path, letter.case_number, letter.decision_date)
        assert record["case_number"] == letter.case_number
        assert record["decision_date"] == letter.decision_date.isoformat()
        assert record["reviewer_specialty"] == letter.specialty and record["treatments_complete"] is True
        assert [(t["category"], t["subcategory"], t["dwc_decision"]) for t in record["treatments"]] == \
            letter.treatments
        assert targets[f"pdf:{letter.case_number}"] == 1
    rows = sum(len(letter.treatments) for letter in january)
    assert [targets[f"search:{n}"] for n in range(1, -(-rows // 25) + 1)] == [1] * -(-rows // 25)
    assert agents == {user_agent()} and agents.pop().startswith("imr-kb/")
    assert not list((tmp_path / ".partial").iterdir())


def test_a_rerun_asks_the_site_for_nothing_it_has(tmp_path, january):
    with FakeDwc(january) as site:
        fetch_range(tmp_path, *JANUARY, settings=settings(site))
        before = len(site.seen)
        again = fetch_range(tmp_path, *JANUARY, settings=settings(site))
        assert len(site.seen) == before
    assert again.fetched == 0 and again.had == len(january) and again.requests == 0


def test_the_total_may_count_cases_rather_than_treatment_rows(tmp_path, january):
    with FakeDwc(january, total_counts="cases") as site:
        report = fetch_range(tmp_path, *JANUARY, settings=settings(site))
    assert report.stopped is None and report.fetched == len(january)


def test_a_range_over_several_months_walks_each_month(tmp_path):
    letters = own_letters(12, date(2024, 1, 29), per_day=2)  # 29 Jan to 3 Feb
    assert month_ranges(date(2024, 1, 29), date(2024, 3, 1)) == [
        (date(2024, 1, 29), date(2024, 1, 31)), (date(2024, 2, 1), date(2024, 2, 29)),
        (date(2024, 3, 1), date(2024, 3, 1))]
    with FakeDwc(letters) as site:
        report = fetch_range(tmp_path, date(2024, 1, 29), date(2024, 3, 1), settings=settings(site))
    assert report.fetched == 12
    assert {p.parent.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("CM*.pdf")} == {"2024/01", "2024/02"}


def test_an_empty_range_is_no_error(tmp_path, january):
    with FakeDwc(january) as site:
        report = fetch_range(tmp_path, date(2023, 6, 1), date(2023, 6, 30), settings=settings(site))
    assert report.stopped is None and report.listed == report.fetched == 0 and report.pages == 1


def test_the_real_letters_fetched_are_the_posted_pdfs_and_index(tmp_path, letters_dir):
    from kb.ingest import index_paths

    letters = shared_letters(letters_dir)
    with FakeDwc(letters) as site:
        report = fetch_range(tmp_path / "letters", date(2016, 12, 1), date(2017, 2, 28), settings=settings(site))
    assert report.stopped is None and report.fetched == len(letters) == 130
    for letter in letters:
        fetched = tmp_path / "letters" / letter_path(letter.case_number, letter.decision_date.isoformat())
        original = letters_dir / f"{letter.case_number}.pdf"
        assert hashlib.sha256(fetched.read_bytes()).digest() == hashlib.sha256(original.read_bytes()).digest()
    indexed = index_paths([tmp_path / "letters"], tmp_path / "index", jobs=2)
    assert indexed.counts["indexed"] == 130 and indexed.counts["rejected"] == 0


# --------------------------------------------------------------------------------------------
# A site that misbehaves


def test_a_slow_answer_times_out_and_is_asked_again(tmp_path, january):
    case = january[0].case_number
    with FakeDwc(january) as site:
        site.fault(case, Fault(delay=2.0))
        report = fetch_range(tmp_path, *JANUARY, settings=settings(site, timeout=0.5))
        assert site.pdf_requests(case) == 2
    assert report.stopped is None and report.failed == [] and report.fetched == len(january)


def test_5xx_answers_are_retried_with_a_doubling_backoff(tmp_path, january):
    case = january[3].case_number
    sleeps = Sleeps()
    with FakeDwc(january) as site:
        site.fault(case, Fault(status=500), Fault(status=503))
        site.fault("search:2", Fault(status=502))
        report = fetch_range(tmp_path, *JANUARY, settings=settings(site, sleeps, backoff=0.5, retries=3))
        assert site.pdf_requests(case) == 3 and site.count("search:2") == 2
    assert report.failed == [] and report.fetched == len(january)
    backoffs = [s for s in sleeps if s >= 0.5]
    assert backoffs == [0.5, 0.5, 1.0]  # the page once; the letter twice, doubled


def test_429_with_retry_after_is_waited_for(tmp_path, january):
    case = january[5].case_number
    sleeps = Sleeps()
    with FakeDwc(january) as site:
        site.fault(case, Fault(status=429, headers={"Retry-After": "7"}))
        site.fault("search:1", Fault(status=503, headers={"Retry-After": "3"}))
        report = fetch_range(tmp_path, *JANUARY, settings=settings(site, sleeps))
        assert site.pdf_requests(case) == 2
    assert report.fetched == len(january)
    assert 7.0 in sleeps and 3.0 in sleeps


def test_a_retry_after_longer_than_allowed_stops_the_run(tmp_path, january):
    with FakeDwc(january) as site:
        site.fault(january[2].case_number, Fault(status=429, headers={"Retry-After": "86400"}))
        report = fetch_range(tmp_path, *JANUARY, settings=settings(site, max_wait=600))
    assert report.stopped == ("the site asked to wait 86400 s before asking again (HTTP 429 with Retry-After), "
                              "longer than the 600 s allowed; run again later")
    assert report.fetched == 2


def test_retry_after_as_an_http_date():
    from datetime import datetime, timezone

    now = datetime(2024, 1, 5, 12, 0, 0, tzinfo=timezone.utc)
    assert retry_after_seconds("Fri, 05 Jan 2024 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("120") == 120.0 and retry_after_seconds("soon") is None


@pytest.mark.parametrize("body, reason", [
    ("html", "is not a PDF: it looks like an HTML page"),
    ("truncated", "is a truncated PDF: it does not end with %%EOF"),
])
def test_a_download_that_is_not_a_whole_pdf_is_failed_and_fetched_by_the_next_run(tmp_path, january, body, reason):
    letter = january[7]
    target = tmp_path / letter_path(letter.case_number, letter.decision_date.isoformat())
    with FakeDwc(january) as site:
        site.fault(letter.case_number, Fault(body=body))
        first = fetch_range(tmp_path, *JANUARY, settings=settings(site))
        assert first.stopped is None and [case for case, _ in first.failed] == [letter.case_number]
        assert reason in first.failed[0][1]
        assert not target.exists() and not target.with_name(f"{letter.case_number}.dwc.json").exists()
        with FetchLedger(tmp_path) as ledger:
            state = ledger.letter(letter.case_number)
            assert state.status == "failed" and reason in state.error
        second = fetch_range(tmp_path, *JANUARY, settings=settings(site))
        assert site.pdf_requests(letter.case_number) == 2 and second.fetched == 1 and second.failed == []
    assert target.read_bytes() == letter.pdf() and check_pdf(target.read_bytes(), "x") == 1


def test_repeated_failures_stop_the_run_with_a_sentence(tmp_path, january):
    with FakeDwc(january) as site:
        for letter in january[10:15]:
            site.fault(letter.case_number, Fault(status=500), Fault(status=500))
        report = fetch_range(tmp_path, *JANUARY, settings=settings(site, retries=1))
        assert report.stopped.startswith("5 letters in a row could not be fetched, the last because ")
        assert "failed 2 times, the last with HTTP 500" in report.stopped
        assert report.fetched == 10 and len(report.failed) == 5
        rerun = fetch_range(tmp_path, *JANUARY, settings=settings(site, retries=1))
    assert rerun.stopped is None and rerun.fetched == len(january) - 10 and kept(tmp_path) == \
        {letter.case_number for letter in january}


def test_a_page_that_is_not_a_results_page_stops_the_run(tmp_path, january):
    with FakeDwc(january) as site:
        site.fault("search:2", Fault(body="html"))
        report = fetch_range(tmp_path, *JANUARY, settings=settings(site))
    assert report.stopped == ("results page 2 of 2024-01-01..2024-01-31 no longer looks as kb/data/dwc.json "
                              'describes it: the results page has no results table (a table with class "tabborder") '
                              "and does not say that nothing matched")
    assert report.fetched == 0


def test_a_changed_results_table_stops_the_run_and_the_cli_exits_1(tmp_path, january):
    with FakeDwc(january) as site:
        site.header.append("Priority")
        result = CliRunner().invoke(main, ["fetch", "--decided-from", "2024-01-01", "--decided-to", "2024-01-31",
                                           "--to", str(tmp_path), *fast_options(site)])
    assert result.exit_code == 1
    assert "Error: stopped: results page 1 of 2024-01-01..2024-01-31 no longer looks as kb/data/dwc.json " \
           "describes it: the results table has 9 columns" in result.output
    assert kept(tmp_path) == set()


def test_a_total_that_does_not_match_the_rows_stops_the_run(tmp_path, january):
    with FakeDwc(january[:5]) as site:
        site.total_offset = 1
        report = fetch_range(tmp_path, *JANUARY, settings=settings(site))
    rows = sum(len(letter.treatments) for letter in january[:5])
    assert report.stopped == (f"the results of 2024-01-01..2024-01-31 no longer look as kb/data/dwc.json describes "
                              f"them: the search said {rows + 1} results, but its 1 pages held {rows} treatment rows "
                              "for 5 cases")


def test_results_that_change_while_listed_are_listed_again(tmp_path, january):
    with FakeDwc(january) as site:
        reached, release = site.hold("search:2")
        late = own_letter("CM24-0999999", date(2024, 1, 11))

        def add_late_letter():
            reached.wait(HANG_GUARD)
            site.add(late)
            release.set()

        import threading

        threading.Thread(target=add_late_letter, daemon=True).start()
        report = fetch_range(tmp_path, *JANUARY, settings=settings(site))
        assert site.count("search:1") == 2
    assert report.stopped is None and "CM24-0999999" in kept(tmp_path) and report.fetched == len(january) + 1


# --------------------------------------------------------------------------------------------
# Killed and run again


def _start_cli_fetch(folder: Path, site: FakeDwc, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "kb", "fetch", "--decided-from", "2024-01-01", "--decided-to", "2024-01-31",
               "--to", str(folder), *fast_options(site), *extra]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.parametrize("held", ["pdf", "search:2"])
def test_a_fetch_killed_mid_run_loses_nothing_and_fetches_nothing_twice(tmp_path, january, held):
    in_flight = january[30].case_number if held == "pdf" else None
    with FakeDwc(january) as site:
        reached, release = site.hold(in_flight or held)
        process = _start_cli_fetch(tmp_path, site)
        try:
            assert reached.wait(HANG_GUARD), "the fetch never got there"
            os.kill(process.pid, signal.SIGKILL)
            process.communicate(timeout=HANG_GUARD)
        finally:
            release.set()
        assert process.returncode == -signal.SIGKILL
        before = kept(tmp_path)
        result = CliRunner().invoke(main, ["fetch", "--decided-from", "2024-01-01", "--decided-to", "2024-01-31",
                                           "--to", str(tmp_path), *fast_options(site)])
        assert result.exit_code == 0, result.output
        targets = site.targets()
    assert kept(tmp_path) == {letter.case_number for letter in january}
    for letter in january:
        pdf = tmp_path / letter_path(letter.case_number, letter.decision_date.isoformat())
        assert pdf.read_bytes() == letter.pdf()
        assert targets[f"pdf:{letter.case_number}"] == (2 if letter.case_number == in_flight else 1)
    pages = [target for target in targets if target.startswith("search:")]
    assert all(targets[page] == (2 if page == held else 1) for page in pages)
    if in_flight:
        assert len(before) == 30 and in_flight not in before
    assert not list((tmp_path / ".partial").glob("*.tmp"))


def test_one_fetch_at_a_time_per_folder(tmp_path, january):
    with FakeDwc(january) as site, FetchLock(tmp_path):
        with pytest.raises(FetchLocked, match="is being fetched into by kb fetch \\(pid"):
            fetch_range(tmp_path, *JANUARY, settings=settings(site))


# --------------------------------------------------------------------------------------------
# Filters, case lists, kb update


def test_a_filtered_fetch_keeps_every_treatment_of_each_letter(tmp_path, january):
    with FakeDwc(january) as site:
        opioids = [letter for letter in january if ("Pharmaceuticals", "Opioids", "Uphold") in letter.treatments]
        result = CliRunner().invoke(main, ["fetch", "--decided-from", "2024-01-01", "--decided-to", "2024-01-31",
                                           "--to", str(tmp_path), "--category", "pharmaceuticals/opioids",
                                           "--outcome", "upheld", *fast_options(site)])
        assert result.exit_code == 0, result.output
        assert site.count("detail:" + opioids[0].case_number) == 1
    assert kept(tmp_path) == {letter.case_number for letter in opioids}
    several = next(letter for letter in opioids if len(letter.treatments) > 1)
    record = sidecar(tmp_path, several.case_number, several.decision_date)
    assert len(record["treatments"]) == len(several.treatments) and record["treatments_complete"] is True
    assert record["search"]["filters"] == {"category": "Pharmaceuticals *  * Opioids", "outcome": "Uphold"}


def test_a_case_list_fetches_case_numbers_and_addresses(tmp_path, january):
    first, second, third = january[0], january[1], january[2]
    with FakeDwc(january) as site:
        cases = tmp_path / "cases.txt"
        cases.write_text(f"# for a brief\n{first.case_number}\n\n"
                         f"{site.base_url}/dwc/imr/decisions/{second.case_number}.pdf\n"
                         f"{third.case_number.lower()}\nCM24-7777777\n", encoding="utf-8")
        result = CliRunner().invoke(main, ["fetch", "--cases", str(cases), "--to", str(tmp_path / "letters"),
                                           *fast_options(site)])
        assert site.count(f"detail:{first.case_number}") == 1
        again = CliRunner().invoke(main, ["fetch", "--cases", str(cases), "--to", str(tmp_path / "letters"),
                                          *fast_options(site)])
        assert site.pdf_requests(first.case_number) == 1
    assert result.exit_code == 0, result.output
    assert "CM24-7777777: the DWC search lists no case CM24-7777777" in result.output
    assert kept(tmp_path / "letters") == {first.case_number, second.case_number, third.case_number}
    assert "3 already there" in again.output


def test_update_fetches_what_was_decided_since_the_last_fetch_and_indexes_it(tmp_path):
    from kb.health import index_status

    today = date.today()
    old = own_letters(12, today - timedelta(days=40), per_day=1, first_number=1)
    folder, index_dir = tmp_path / "letters", tmp_path / "index"
    with FakeDwc(old) as site:
        first = CliRunner().invoke(main, ["fetch", "--decided-from", (today - timedelta(days=45)).isoformat(),
                                          "--decided-to", (today - timedelta(days=10)).isoformat(),
                                          "--to", str(folder), *fast_options(site)])
        assert first.exit_code == 0, first.output
        new = own_letters(6, today - timedelta(days=3), per_day=2, first_number=100)
        late = own_letter(f"CM{today.year % 100:02d}-0000200", today - timedelta(days=12))  # posted late
        for letter in (*new, late):
            site.add(letter)
        result = CliRunner().invoke(main, ["update", "--to", str(folder), "--index-dir", str(index_dir),
                                           "--jobs", "1", *fast_options(site)])
        assert result.exit_code == 0, result.output
        assert all(site.pdf_requests(letter.case_number) == 1 for letter in (*old, *new, late))
    assert "Fetched 7 new letters" in result.output
    assert kept(folder) == {letter.case_number for letter in (*old, *new, late)}
    assert index_status(index_dir).letters == len(old) + len(new) + 1


def test_update_in_an_empty_folder_says_how_to_start(tmp_path):
    result = CliRunner().invoke(main, ["update", "--to", str(tmp_path / "letters"), "--index-dir",
                                       str(tmp_path / "index")])
    assert result.exit_code == 1
    assert f"Error: no earlier fetch is recorded in {tmp_path / 'letters'}; start it with kb fetch " \
           "--decided-from YYYY-MM-DD --decided-to YYYY-MM-DD" in result.output


@pytest.mark.parametrize("args, message", [
    (["--decided-from", "2024-02-01", "--decided-to", "2024-01-01"],
     "Error: --decided-from 2024-02-01 is after --decided-to 2024-01-01"),
    (["--decided-from", "2024-01-01", "--decided-to", "2024-01-31", "--category", "opiates"],
     "Error: 'opiates' is not one of the DWC search's treatment categories"),
    (["--decided-from", "2024-01-01", "--decided-to", "2024-01-31", "--specialty", "Wizardry"],
     "Error: 'Wizardry' is not one of the DWC search's reviewer specialties"),
    (["--decided-from", "2024-01-01"], "Error: give both --decided-from and --decided-to"),
    ([], "Error: give a date range (--decided-from and --decided-to), --cases FILE or --since-last"),
])
def test_user_errors_are_one_sentence(tmp_path, args, message):
    result = CliRunner().invoke(main, ["fetch", "--to", str(tmp_path), "--base-url", "http://127.0.0.1:9", *args])
    assert result.exit_code in (1, 2) and message in result.output, result.output


def test_a_case_list_with_a_bad_line_is_refused(tmp_path):
    cases = tmp_path / "cases.txt"
    cases.write_text("CM24-0000001\nnot a case\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["fetch", "--cases", str(cases), "--to", str(tmp_path)])
    assert result.exit_code == 1
    assert f"Error: line 2 of {cases} is neither a case number (CMyy-nnnnnnn) nor a PDF address" in result.output


def test_filters_as_form_values():
    assert Filters(outcome="Uphold").as_dict() == {"outcome": "Uphold"} and Filters().as_dict() == {}


# --------------------------------------------------------------------------------------------
# The README and --help agree


@pytest.mark.parametrize("command", ["fetch", "update"])
def test_the_readme_lists_every_option_of_the_command(command):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    result = CliRunner().invoke(main, [command, "--help"], terminal_width=200)
    options = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+)", result.output)) - {"--help"}
    section = readme[readme.index("## Building the corpus"):]
    section = section[:section.index("\n## ", 3)]
    missing = sorted(option for option in options if not re.search(rf"(?<![\w-]){option}(?![\w-])", section))
    assert not missing, f"README's Building the corpus does not describe {missing}"
    assert f"kb {command}" in section
