"""`kb fetch`: letters from the DWC's IMR decision search into a folder, politely and resumably.

    fetch_range(folder, decided_from, decided_to)   walk the case and treatment search month by month:
                                                    list every results page, then download each letter
    fetch_cases(folder, requests)                   case numbers or PDF addresses (kb fetch --cases)
    fetch_since_last(folder, today)                 from the last fetched decision date (less an overlap,
                                                    for letters posted late) to today, and every failed letter

Each letter goes to `<folder>/YYYY/MM/CMyy-nnnnnnn.pdf` by decision date, with the DWC's row for it beside it
in `CMyy-nnnnnnn.dwc.json` (kb.dwc.DwcCase.record). Files are written aside (`<folder>/.partial/`) and
renamed into place, the sidecar before the PDF, and recorded in the fetch ledger (kb.fetch_ledger) after:
a run killed at any moment loses at most the request in flight, and a rerun resumes where it stopped and
never downloads a letter it has. A download that is not a whole PDF is recorded as failed (retried by later
runs), never kept. A results page that no longer looks as described, a site that keeps failing, or one
that asks to wait too long stops the run with one sentence saying why (`FetchReport.stopped`).

The fetcher writes files; the indexer reads them (`kb update` runs both). It never parses a letter.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from kb import __version__
from kb.dwc import (
    DEFAULT_BASE_URL,
    CaseRequest,
    InvalidInput,
    DwcCase,
    PageChanged,
    ResultsPage,
    cases_from_rows,
    check_page,
    check_walk,
    detail_query,
    expected_pages,
    merge_same_cases,
    parse_results_page,
    search_form,
    search_url,
)
from kb.extract import ExtractError, check_pdf, dwc_sidecar_path
from kb.fetch_ledger import DONE, LEDGER_NAME, FetchLedger, FetchLock, LetterState, Walk
from kb.http_client import Politeness, PoliteClient, RequestFailed, WaitTooLong

PARTIAL = ".partial"
MAX_FAILURES = 5  # letters or pages in a row that could not be fetched before the run stops
MAX_RESTARTS = 2  # walks restarted because the results changed while being listed
UPDATE_OVERLAP_DAYS = 14  # kb update looks this far behind the last fetch, for letters posted late


def user_agent(contact: str | None = None) -> str:
    """A User-Agent that says who is asking and why; `contact` (an e-mail or URL) lets the site reach you."""
    who = f"; contact: {contact}" if contact else ""
    return f"imr-kb/{__version__} (IMR decision archive for full-text search; polite: one request at a time{who})"


class FetchStopped(Exception):
    """A run that cannot go on; str() is one sentence saying why."""


class NoEarlierFetch(InvalidInput):
    """kb update in a folder no fetch has filled yet."""


@dataclass(frozen=True)
class Filters:
    """The search form's narrowing fields, as form values (kb.dwc.resolve_*); empty means any."""

    outcome: str = ""
    specialty: str = ""
    category: str = ""

    def as_dict(self) -> dict[str, str]:
        return {name: value for name, value in self.__dict__.items() if value}


@dataclass
class FetchProgress:
    """A snapshot for a progress display."""

    phase: str  # "listing" | "downloading"
    label: str  # the walk's range, "2024-01-01..2024-01-31", or "case list"
    pages: int = 0
    pages_total: int = 0
    letters: int = 0
    letters_total: int = 0
    fetched: int = 0
    failed: int = 0
    requests: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


@dataclass
class FetchReport:
    folder: Path
    pages: int = 0  # results and detail pages read
    listed: int = 0  # letters the walks listed
    fetched: int = 0  # PDFs downloaded and kept
    had: int = 0  # letters already in the folder
    failed: list[tuple[str, str]] = field(default_factory=list)  # (case number, reason)
    sidecars_updated: int = 0  # sidecars rewritten because the DWC's row changed
    bytes: int = 0
    requests: int = 0
    seconds: float = 0.0
    stopped: str | None = None  # why the run stopped early; None when it finished

    def counts(self) -> dict[str, int]:
        return {"pages": self.pages, "listed": self.listed, "fetched": self.fetched, "had": self.had,
                "failed": len(self.failed), "sidecars_updated": self.sidecars_updated, "bytes": self.bytes,
                "requests": self.requests}


def month_ranges(start: date, end: date) -> list[tuple[date, date]]:
    """[start, end] cut at month ends: each walk lists at most a month (about 600 pages)."""
    ranges = []
    while start <= end:
        next_month = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
        stop = min(end, next_month - timedelta(days=1))
        ranges.append((start, stop))
        start = stop + timedelta(days=1)
    return ranges


def letter_path(case_number: str, decision_date: str) -> Path:
    """Where a letter goes inside the folder: 2024/01/CM24-0001234.pdf."""
    return Path(decision_date[:4]) / decision_date[5:7] / f"{case_number}.pdf"


def sidecar_text(record: dict) -> str:
    return json.dumps(record, indent=2, ensure_ascii=False) + "\n"


class _Run:
    """One fetch run into one folder: the client, the ledger, the report and the progress callback."""

    def __init__(self, folder: Path, ledger: FetchLedger, client: PoliteClient, base_url: str,
                 progress: Callable[[FetchProgress], None] | None, max_failures: int):
        self.folder = folder
        self.ledger = ledger
        self.client = client
        self.url = search_url(base_url)
        self.report = FetchReport(folder)
        self.progress_callback = progress
        self.max_failures = max_failures
        self.in_a_row = 0
        self.tried: set[str] = set()  # letters this run has tried: each at most once
        self.started = time.monotonic()
        self.state = FetchProgress("listing", "")

    # progress and failures

    def show(self, **changes) -> None:
        for name, value in changes.items():
            setattr(self.state, name, value)
        self.state.requests = self.client.requests
        self.state.seconds = time.monotonic() - self.started
        self.state.fetched, self.state.failed = self.report.fetched, len(self.report.failed)
        if self.progress_callback:
            self.progress_callback(self.state)

    def failure(self, case_number: str, reason: str) -> None:
        self.report.failed.append((case_number, reason))
        self.in_a_row += 1
        if self.in_a_row >= self.max_failures:
            raise FetchStopped(f"{self.in_a_row} letters in a row could not be fetched, the last because {reason}; "
                               "the site may be down or changed, so the run stopped (run it again later to go on)")

    # pages

    def read_page(self, what: str, request: Callable[[], object]) -> ResultsPage:
        try:
            response = request()
        except WaitTooLong as error:
            raise FetchStopped(f"{error}; run again later") from None
        except RequestFailed as error:
            raise FetchStopped(f"{what} could not be read: {error}") from None
        self.report.pages += 1
        try:
            return parse_results_page(response.text())
        except PageChanged as error:
            raise FetchStopped(f"{what} no longer looks as kb/data/dwc.json describes it: {error}") from None

    def results_page(self, walk: Walk, filters: Filters, number: int) -> ResultsPage:
        form = search_form(decided_from=date.fromisoformat(walk.decided_from),
                           decided_to=date.fromisoformat(walk.decided_to), page=number, **filters.__dict__)
        return self.read_page(f"results page {number} of {walk.decided_from}..{walk.decided_to}",
                              lambda: self.client.post(self.url, form))

    def detail(self, case_number: str) -> DwcCase | None:
        """A case's detail page: all its treatment rows. None when the search does not list the case."""
        page = self.read_page(f"the detail page of {case_number}",
                              lambda: self.client.get(self.url, detail_query(case_number)))
        cases = merge_same_cases(cases_from_rows(page.rows, self.url))
        return next((case for case in cases if case.case_number == case_number), None)

    # walks

    def walk(self, start: date, end: date, filters: Filters, relist: bool) -> None:
        key = f"{start.isoformat()}..{end.isoformat()} {json.dumps(filters.as_dict(), sort_keys=True)}"
        walk = self.ledger.start_walk(key, start, end, filters.as_dict())
        label = f"{walk.decided_from}..{walk.decided_to}"
        if relist and walk.listed_at:
            self.ledger.restart_walk(walk.walk_id)
            walk = self.ledger.walk(key)
        if not walk.listed_at:
            self.list_walk(walk, filters, label)
            walk = self.ledger.walk(key)
        # The walk's letters in its order (until all were tried), then any other letter decided in its range:
        # a finished walk's failures and files deleted since are fetched again, the rest counted as had.
        wanted = [] if walk.finished_at else self.ledger.walk_letters(walk.walk_id)
        seen = {state.case_number for state in wanted}
        wanted += [state for state in self.ledger.letters_decided(walk.decided_from, walk.decided_to)
                   if state.case_number not in seen]
        self.download(wanted, label)
        self.ledger.finish_walk(walk.walk_id)

    def list_walk(self, walk: Walk, filters: Filters, label: str) -> None:
        pages = self.ledger.pages(walk.walk_id)
        total = walk.total
        restarts = 0
        while not pages or pages[-1].has_next:
            number = len(pages) + 1
            self.show(phase="listing", label=label, pages=len(pages),
                      pages_total=expected_pages(total) if total is not None else 0, letters=0, letters_total=0)
            page = self.results_page(walk, filters, number)
            if total is not None and page.total != total:
                restarts += 1
                if restarts > MAX_RESTARTS:
                    raise FetchStopped(f"the results for {label} changed {restarts} times while being listed "
                                       f"(last {total}, now {page.total}); run again later")
                self.ledger.restart_walk(walk.walk_id)
                pages, total = [], None
                continue
            total = page.total
            try:
                check_page(page, number, total)
            except PageChanged as error:
                raise FetchStopped(f"results page {number} of {label} no longer looks as kb/data/dwc.json "
                                   f"describes it: {error}") from None
            self.ledger.save_page(walk.walk_id, number, page)
            pages.append(page)
        try:
            check_walk(pages, total or 0)
            cases = merge_same_cases(cases_from_rows((row for page in pages for row in page.rows), self.url))
        except PageChanged as error:
            raise FetchStopped(f"the results of {label} no longer look as kb/data/dwc.json describes them: "
                               f"{error}") from None
        complete = not filters.as_dict()
        self.ledger.finish_listing(walk.walk_id, [(case, case.record(filters.as_dict(), complete), complete)
                                                  for case in cases])
        self.report.listed += len(cases)
        self.show(pages=len(pages), pages_total=len(pages))

    # letters

    def download(self, letters: list[LetterState], label: str) -> None:
        letters = [state for state in letters if state.case_number not in self.tried]
        self.show(phase="downloading", label=label, letters=0, letters_total=len(letters))
        for number, state in enumerate(letters, start=1):
            self.letter(state)
            self.show(letters=number)

    def letter(self, state: LetterState) -> None:
        self.tried.add(state.case_number)
        if state.status == DONE and state.path and (self.folder / state.path).is_file():
            self.report.had += 1
            self.sync_sidecar(self.folder / state.path, state.record)
            return
        relative = letter_path(state.case_number, state.decision_date)
        target = self.folder / relative
        if target.is_file() and self.keep_existing(state, target, relative):
            return
        record = state.record
        if not state.complete:
            case = self.detail(state.case_number)
            if case is not None:
                record = case.record(state.record["search"]["filters"], True)
                self.ledger.add_letter(case, record, True)
        try:
            response = self.client.get(state.pdf_url)
        except WaitTooLong as error:
            raise FetchStopped(f"{error}; run again later") from None
        except RequestFailed as error:
            self.ledger.mark_failed(state.case_number, str(error))
            self.failure(state.case_number, str(error))
            return
        try:
            check_pdf(response.body, f"the download of {state.case_number}")
        except ExtractError as error:
            reason = error.reason.rstrip(".")
            self.ledger.mark_failed(state.case_number, reason)
            self.failure(state.case_number, reason)
            return
        self.save(target, response.body, record)
        self.ledger.mark_done(state.case_number, relative.as_posix(), hashlib.sha256(response.body).hexdigest(),
                              len(response.body))
        self.report.fetched += 1
        self.report.bytes += len(response.body)
        self.in_a_row = 0

    def keep_existing(self, state: LetterState, target: Path, relative: Path) -> bool:
        """A PDF already at the letter's place (written before a kill, or put there): kept if it is whole."""
        data = target.read_bytes()
        try:
            check_pdf(data, str(target))
        except ExtractError:
            return False  # downloaded again, and replaced
        self.sync_sidecar(target, state.record)
        self.ledger.mark_done(state.case_number, relative.as_posix(), hashlib.sha256(data).hexdigest(), len(data))
        self.report.had += 1
        return True

    def sync_sidecar(self, pdf: Path, record: dict) -> None:
        path = dwc_sidecar_path(pdf)
        text = sidecar_text(record)
        try:
            if path.read_text(encoding="utf-8") == text:
                return
            self.report.sidecars_updated += 1
        except FileNotFoundError:
            pass
        write_atomically(self.folder, path, text.encode("utf-8"))

    def save(self, target: Path, pdf: bytes, record: dict) -> None:
        """The sidecar first, then the PDF: a letter file never lacks its sidecar."""
        write_atomically(self.folder, dwc_sidecar_path(target), sidecar_text(record).encode("utf-8"))
        write_atomically(self.folder, target, pdf)

    def cases(self, requests: Iterable[CaseRequest]) -> None:
        requests = list(requests)
        self.show(phase="downloading", label="case list", letters=0, letters_total=len(requests))
        for number, request in enumerate(requests, start=1):
            state = self.ledger.letter(request.case_number)
            if state is None or not state.complete:
                case = self.detail(request.case_number)
                if case is None:
                    self.failure(request.case_number, f"the DWC search lists no case {request.case_number}")
                    self.show(letters=number)
                    continue
                if request.pdf_url:
                    case = DwcCase(case.case_number, request.pdf_url, case.decision_date, case.date_of_injury,
                                   case.received_date, case.reviewer_specialty, case.treatments)
                self.ledger.add_letter(case, case.record({}, True), True)
                state = self.ledger.letter(request.case_number)
            self.letter(state)
            self.show(letters=number)


def write_atomically(folder: Path, target: Path, data: bytes) -> None:
    """Write into <folder>/.partial, fsync, rename into place: a reader never sees half a file."""
    partial = folder / PARTIAL
    partial.mkdir(parents=True, exist_ok=True)
    temporary = partial / f"{target.name}.{os.getpid()}.tmp"
    with open(temporary, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(temporary, target)


@dataclass(frozen=True)
class FetchSettings:
    """How a run talks to the site."""

    base_url: str = DEFAULT_BASE_URL
    politeness: Politeness = Politeness()
    contact: str | None = None
    max_failures: int = MAX_FAILURES
    sleep: Callable[[float], None] = time.sleep  # tests pass a recorder


def _run(folder: Path, settings: FetchSettings, command: str, work: Callable[[_Run], None],
         progress: Callable[[FetchProgress], None] | None) -> FetchReport:
    folder = Path(folder)
    client = PoliteClient(settings.politeness, user_agent(settings.contact), sleep=settings.sleep)
    with FetchLock(folder), FetchLedger(folder) as ledger:
        for leftover in (folder / PARTIAL).glob("*.tmp"):  # from a killed run; the lock says none is running
            leftover.unlink()
        run = _Run(folder, ledger, client, settings.base_url, progress, settings.max_failures)
        run_id = ledger.start_run(command)
        try:
            work(run)
        except FetchStopped as stop:
            run.report.stopped = str(stop)
        except KeyboardInterrupt:
            run.report.stopped = "interrupted; run the same command again to go on where it stopped"
        finally:
            run.report.requests = client.requests
            run.report.seconds = time.monotonic() - run.started
            ledger.finish_run(run_id, run.report.counts(), run.report.stopped)
    return run.report


def fetch_range(folder: Path, decided_from: date, decided_to: date, *, filters: Filters = Filters(),
                relist: bool = False, settings: FetchSettings = FetchSettings(),
                progress: Callable[[FetchProgress], None] | None = None) -> FetchReport:
    """Every letter decided in [decided_from, decided_to] (and matching `filters`) into `folder`."""
    if decided_from > decided_to:
        raise InvalidInput(f"--decided-from {decided_from} is after --decided-to {decided_to}")

    def work(run: _Run) -> None:
        for start, end in month_ranges(decided_from, decided_to):
            run.walk(start, end, filters, relist)

    return _run(folder, settings, f"fetch {decided_from}..{decided_to} {filters.as_dict()}", work, progress)


def fetch_cases(folder: Path, requests: list[CaseRequest], *, settings: FetchSettings = FetchSettings(),
                progress: Callable[[FetchProgress], None] | None = None) -> FetchReport:
    """The listed cases (by case number, or by PDF address) into `folder`."""
    return _run(folder, settings, f"fetch --cases ({len(requests)})", lambda run: run.cases(requests), progress)


def last_fetched(folder: Path) -> date | None:
    """The end of the latest decision-date range fetched into `folder` (unfiltered), or None."""
    if not (Path(folder) / LEDGER_NAME).is_file():
        return None
    with FetchLedger(Path(folder)) as ledger:
        return ledger.last_decided_to()


def fetch_since_last(folder: Path, today: date, *, overlap_days: int = UPDATE_OVERLAP_DAYS,
                     settings: FetchSettings = FetchSettings(),
                     progress: Callable[[FetchProgress], None] | None = None) -> FetchReport:
    """What was decided since the last fetch into `folder` (from `overlap_days` before it, for letters posted
    late) up to `today`, and every letter that failed before."""
    last = last_fetched(folder)
    if last is None:
        raise NoEarlierFetch(f"no earlier fetch is recorded in {folder}; start it with "
                             f"kb fetch --decided-from YYYY-MM-DD --decided-to YYYY-MM-DD --to {folder}")
    start = min(last - timedelta(days=overlap_days), today)

    def work(run: _Run) -> None:
        failed = run.ledger.failed_letters()
        if failed:
            run.download(failed, "earlier failures")
        for begin, end in month_ranges(start, today):
            run.walk(begin, end, Filters(), relist=False)

    return _run(folder, settings, f"update {start}..{today}", work, progress)
