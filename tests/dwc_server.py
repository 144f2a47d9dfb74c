"""A fake of the DWC's IMR decision search, for the fetcher's tests: a threaded http.server on 127.0.0.1.

It serves what ../shared/docs/dwc-search.md describes: the case and treatment search (POST, Fname=Tx) with
its date range, outcome, specialty and category fields; 25 rows a page, later pages asked for with
`newpageno` and offered by a form named `Nextpage`; the results in the first table with class tabborder,
header first, a case's further treatments as rows whose first cell spans five columns; the total in a
<strong> after the table; a case's detail page (GET ?caseno=); and each letter's PDF at a site-relative link.

Letters are our own (`own_letter`: a posted-layout letter written here and made into a PDF) or copies of
../shared/letters read when asked for (`shared_letters`), never stored in the repository. Faults are queued
per target (a case number, "search", "search:<page>" or "detail") and used up one per request:

    with FakeDwc(letters) as site:
        site.fault("CM24-0000003", Fault(status=429, headers={"Retry-After": "3"}))
        site.fault("CM24-0000004", Fault(body="html"))
        ...
        site.pdf_requests("CM24-0000003")   # how many times its PDF was asked for
"""

from __future__ import annotations

import csv
import html
import io
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

SEARCH_PATH = "/dwc/imr/IMRDecisionSearch.asp"
PDF_PREFIX = "/dwc/imr/decisions/"
PAGE_SIZE = 25
HEADER = ["Case Number", "Decision Date", "Date of Injury", "Received Date", "IMRO Reviewer Specialty",
          "Request Category", "SubCategory/Drug", "Request Decision"]


@dataclass
class FakeLetter:
    case_number: str
    decision_date: date
    specialty: str
    treatments: list[tuple[str, str, str]]  # (category, subcategory or drug class, "Uphold" | "Overturn")
    pdf: Callable[[], bytes]
    date_of_injury: date | None = None
    received_date: date | None = None


@dataclass
class Fault:
    """What one request gets instead of the right answer."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None  # "html": an HTML error page; "truncated": half the PDF; None: the right body
    delay: float = 0.0  # seconds before answering
    hold: tuple[threading.Event, threading.Event] | None = None  # (reached, release): wait for the test


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    target: str  # "search:<page>", "detail:<case>", "pdf:<case>"
    user_agent: str


class FakeDwc:
    def __init__(self, letters: Iterable[FakeLetter] = (), *, total_counts: str = "rows"):
        self.letters: dict[str, FakeLetter] = {letter.case_number: letter for letter in letters}
        self.total_counts = total_counts  # "rows" or "cases": what a page of 25 and the total count
        self.header = list(HEADER)
        self.total_offset = 0  # added to every total shown: a count that does not match the rows
        self.faults: dict[str, list[Fault]] = {}
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # set-up

    def add(self, letter: FakeLetter) -> None:
        with self.lock:
            self.letters[letter.case_number] = letter

    def fault(self, target: str, *faults: Fault) -> None:
        with self.lock:
            self.faults.setdefault(target, []).extend(faults)

    def hold(self, target: str) -> tuple[threading.Event, threading.Event]:
        """The next request for `target` waits until the test sets `release`; `reached` says it arrived."""
        events = (threading.Event(), threading.Event())
        self.fault(target, Fault(hold=events))
        return events

    # what was asked

    def count(self, target: str) -> int:
        with self.lock:
            return sum(1 for seen in self.seen if seen.target == target)

    def pdf_requests(self, case_number: str) -> int:
        return self.count(f"pdf:{case_number}")

    def targets(self) -> Counter:
        with self.lock:
            return Counter(seen.target for seen in self.seen)

    # serving

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeDwc:
        handler = type("Handler", (_Handler,), {"site": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        with self.lock:  # let held requests go, so shutdown does not wait for them
            for faults in self.faults.values():
                for fault in faults:
                    if fault.hold:
                        fault.hold[1].set()
        self._server.shutdown()
        self._server.server_close()

    def next_fault(self, *targets: str) -> Fault | None:
        with self.lock:
            for target in targets:
                if self.faults.get(target):
                    return self.faults[target].pop(0)
        return None

    # pages

    def rows(self, form: dict[str, str]) -> list[tuple[FakeLetter, list[tuple[str, str, str]]]]:
        start, end = _us_date(form.get("DecStart", "")), _us_date(form.get("DecEnd", ""))
        outcome, specialty = form.get("OutcomeV", ""), form.get("SpecialtyV", "")
        category = form.get("SubCategoryV", "")
        with self.lock:
            letters = sorted(self.letters.values(), key=lambda x: (x.decision_date, x.case_number))
        found = []
        for letter in letters:
            if (start and letter.decision_date < start) or (end and letter.decision_date > end):
                continue
            if specialty and letter.specialty != specialty:
                continue
            treatments = [t for t in letter.treatments
                          if (not outcome or t[2] == outcome) and _in_category(t, category)]
            if treatments:
                found.append((letter, treatments))
        return found

    def results_page(self, form: dict[str, str]) -> str:
        found = self.rows(form)
        page = int(form.get("newpageno") or 1) if form.get("Submit") == "Next" else 1
        if not found:
            return _page("<p>No records found for the selected search criteria.</p>")
        if self.total_counts == "rows":
            units = [(letter, t, j == 0) for letter, ts in found for j, t in enumerate(ts)]
            rows = [self.row(letter, t, full=first) for letter, t, first in
                    units[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]]
        else:
            units = found
            rows = [self.row(letter, t, full=j == 0) for letter, ts in units[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
                    for j, t in enumerate(ts)]
        more = page * PAGE_SIZE < len(units)
        nextpage = (f'<form name="Nextpage" method="post" action="{SEARCH_PATH}">'
                    f'<input type="hidden" name="newpageno" value="{page + 1}"><input type="submit" name="Submit" '
                    'value="Next"></form>') if more else ""
        total = len(units) + self.total_offset
        return _page(self.table(rows) + f"\n<p>Total: <strong>{total}</strong> results</p>\n{nextpage}")

    def detail_page(self, case_number: str) -> str:
        with self.lock:
            letter = self.letters.get(case_number)
        if letter is None:
            return _page("<p>No records found.</p>")
        rows = [self.row(letter, t, full=i == 0) for i, t in enumerate(letter.treatments)]
        return _page(self.table(rows) + f"\n<p>Total: <strong>{len(rows)}</strong> results</p>")

    def table(self, rows: list[str]) -> str:
        header = "".join(f"<th>{html.escape(h)}</th>" for h in self.header)
        return f'<table class="tabborder" width="100%">\n<tr>{header}</tr>\n' + "\n".join(rows) + "\n</table>"

    def row(self, letter: FakeLetter, treatment: tuple[str, str, str], *, full: bool) -> str:
        tail = "".join(f"<td>{html.escape(cell)}</td>" for cell in treatment)
        if not full:
            return f'<tr><td colspan="5">&nbsp;</td>{tail}</tr>'
        plus = " <strong>+</strong>" if len(letter.treatments) > 1 else ""
        cells = [_us(letter.decision_date), _us(letter.date_of_injury), _us(letter.received_date), letter.specialty]
        middle = "".join(f"<td>{html.escape(cell)}</td>" for cell in cells)
        if len(self.header) > len(HEADER):  # a changed table: one more column
            middle += "<td>Standard</td>"
        link = f'<a href="{PDF_PREFIX}{letter.case_number}.pdf">{letter.case_number}</a>'
        return f"<tr><td>{link}{plus}</td>{middle}{tail}</tr>"


def _page(body: str) -> str:
    return ("<!DOCTYPE html>\n<html><head><title>IMR Decision Search</title></head><body>\n"
            '<form name="Case" method="post"><input name="Caseno"></form>\n'
            f"{body}\n</body></html>\n")


def _us(day: date | None) -> str:
    return day.strftime("%m/%d/%Y") if day else ""


def _us_date(text: str) -> date | None:
    return datetime.strptime(text, "%m/%d/%Y").date() if text else None


def _in_category(treatment: tuple[str, str, str], value: str) -> bool:
    if not value:
        return True
    parts = [p.strip() for p in value.split("*")]
    category = parts[0]
    wanted_sub = next((p for p in parts[1:] if p), "")
    return treatment[0] == category and (not wanted_sub or treatment[1] == wanted_sub)


class _Handler(BaseHTTPRequestHandler):
    site: FakeDwc
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode("ascii"), keep_blank_values=True).items()}
        url = urlsplit(self.path)
        if url.path != SEARCH_PATH or form.get("Fname") != "Tx":
            return self.answer(404, b"not found", "text/plain")
        page = int(form.get("newpageno") or 1) if form.get("Submit") == "Next" else 1
        self.serve(f"search:{page}", ("search", f"search:{page}"), lambda: self.site.results_page(form).encode())

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        if url.path == SEARCH_PATH and "caseno" in query:
            case = query["caseno"]
            return self.serve(f"detail:{case}", ("detail",), lambda: self.site.detail_page(case).encode())
        if url.path.startswith(PDF_PREFIX) and url.path.endswith(".pdf"):
            case = url.path[len(PDF_PREFIX):-4]
            letter = self.site.letters.get(case)
            if letter is None:
                return self.answer(404, b"<html><body>Not found</body></html>", "text/html")
            return self.serve(f"pdf:{case}", (case,), letter.pdf, pdf=True)
        return self.answer(404, b"not found", "text/plain")

    def serve(self, target: str, fault_keys: tuple[str, ...], body: Callable[[], bytes], pdf: bool = False) -> None:
        with self.site.lock:
            self.site.seen.append(Seen(self.command, self.path, target, self.headers.get("User-Agent", "")))
        fault = self.site.next_fault(*fault_keys) or Fault()
        if fault.hold:
            fault.hold[0].set()
            fault.hold[1].wait(timeout=60)
        if fault.delay:
            time.sleep(fault.delay)
        if fault.status != 200:
            return self.answer(fault.status, b"<html><body>Server error</body></html>", "text/html", fault.headers)
        if fault.body == "html":
            return self.answer(200, b"<!DOCTYPE html><html><body><h1>The service is unavailable.</h1></body></html>",
                               "text/html")
        data = body()
        if fault.body == "truncated":
            data = data[: len(data) // 2]
        self.answer(200, data, "application/pdf" if pdf else "text/html; charset=utf-8", fault.headers)

    def answer(self, status: int, data: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout, a killed fetch)
            pass


# --------------------------------------------------------------------------------------------
# Letters


def pdf_bytes(lines: list[str], lines_per_page: int = 48) -> bytes:
    """A valid PDF of text lines (Latin-1), several pages if needed, with a real xref and %%EOF."""
    pages = [lines[i:i + lines_per_page] for i in range(0, len(lines), lines_per_page)] or [[]]
    objects: list[bytes] = [b"<< /Type /Catalog /Pages 2 0 R >>", b""]
    font = 3
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    kids = []
    for page in pages:
        escaped = [line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for line in page]
        stream = ("BT /F1 10 Tf 14 TL 54 750 Td " + " ".join(f"({line}) Tj T*" for line in escaped) + " ET")
        data = stream.encode("latin-1", errors="replace")
        objects.append(b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream")
        content = len(objects)
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 %d 0 R >> >> "
                       b"/Contents %d 0 R >>" % (font, content))
        kids.append(len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


# Our own items: (heading, decision, DWC category, DWC subcategory or drug class)
OWN_ITEMS = [
    ("Norco 10/325mg #90", "Upheld", "Pharmaceuticals", "Opioids"),
    ("MRI of the lumbar spine without contrast", "Overturned", "Diagnostic Testing", "Imaging Radiology"),
    ("Physical therapy 2 times a week for 6 weeks", "Upheld", "Rehabilitation",
     "Physical Therapy/Occupational Therapy (PT/OT)"),
    ("Acupuncture 6 sessions", "Upheld", "Rehabilitation", "Acupuncture"),
]


def own_letter_lines(case_number: str, decided: date, items: list[tuple[str, str, str, str]]) -> list[str]:
    """A letter in the DWC's posted layout (2016 on), written here."""
    lines = [
        f"Case Number: {case_number}",
        f"Date Assigned: {_us(decided)} Date of Injury: 02/11/2015",
        f"Decision Date: {_us(decided)} UR Denial Date: {_us(decided)}",
        "Priority: Standard Application",
        "Received:",
        _us(decided),
        "HOW THE IMR FINAL DETERMINATION WAS MADE",
        "MAXIMUS Federal Services sent the complete case file to an expert reviewer. He/she has no",
        "affiliation with the employer, employee, providers or the claims administrator.",
        "The Expert Reviewer has the following credentials:",
        "State(s) of Licensure: California",
        "Certification(s)/Specialty: Physical Medicine & Rehabilitation",
        "CLINICAL CASE SUMMARY",
        "The expert reviewer developed the following clinical case summary based on a review of the",
        "case file, including all medical records:",
        "The injured worker is a 44 year old female who sustained an industrial injury on 02-11-15 while",
        "lifting a box of files. Diagnoses include lumbar strain. Treatment to date has included medications.",
        "IMR ISSUES, DECISIONS AND RATIONALES",
        "The Final Determination was based on decisions for the disputed items/services set forth below:",
    ]
    for heading, decision, _category, _subcategory in items:
        lines += [
            f"{heading}: {decision}",
            "Claims Administrator guideline: Decision based on MTUS Chronic Pain Medical Treatment",
            "2016, Section(s): Opioids, criteria for use.",
            "MAXIMUS guideline: Decision based on MTUS Low Back Complaints 2004, Section(s): Special Studies.",
            "Decision rationale: The guidelines were applied to the records at hand. The records do not show",
            f"what the guidelines ask for, so the request for {heading} is decided as stated above.",
        ]
    return lines


def own_letter(case_number: str, decided: date, items: list[tuple[str, str, str, str]] | None = None,
               specialty: str = "Physical Medicine & Rehabilitation",
               treatments: list[tuple[str, str, str]] | None = None) -> FakeLetter:
    """One of our letters; its DWC rows are its items' categories and decisions unless `treatments` says
    otherwise (a DWC that disagrees with the letter)."""
    items = items if items is not None else OWN_ITEMS[:2]
    data = pdf_bytes(own_letter_lines(case_number, decided, items))
    if treatments is None:
        treatments = [(category, subcategory, "Uphold" if decision == "Upheld" else "Overturn")
                      for _heading, decision, category, subcategory in items]
    return FakeLetter(case_number, decided, specialty, treatments, lambda: data, date(2015, 2, 11), decided)


def own_letters(count: int, start: date, per_day: int = 3, first_number: int = 1) -> list[FakeLetter]:
    """`count` letters from `start`, `per_day` a day, with one to three items each."""
    letters = []
    for index in range(count):
        decided = date.fromordinal(start.toordinal() + index // per_day)
        items = [OWN_ITEMS[(index + k) % len(OWN_ITEMS)] for k in range(1 + index % 3)]
        letters.append(own_letter(f"CM{decided.year % 100:02d}-{first_number + index:07d}", decided, items))
    return letters


def _category_of(heading: str) -> tuple[str, str]:
    lowered = heading.lower()
    if any(word in lowered for word in ("mri", "x-ray", "ct ", "emg", "ncv", "scan")):
        return "Diagnostic Testing", "Imaging Radiology"
    if any(word in lowered for word in ("mg", "cream", "patch", "tablet", "#")):
        return "Pharmaceuticals", ""
    return "Rehabilitation", "Other Therapies"


def shared_letters(letters_dir: Path) -> list[FakeLetter]:
    """The real letters in ../shared/letters, their PDFs read from disk when asked for (never copied)."""
    letters = []
    with open(letters_dir / "index.csv", encoding="utf-8") as file:
        for row in csv.DictReader(file):
            path = letters_dir / f"{row['case_number']}.pdf"
            treatments = []
            for item in row["items"].split(" || "):
                heading, _, decision = item.rpartition(" => ")
                category, subcategory = _category_of(heading)
                treatments.append((category, subcategory, "Uphold" if decision == "Upheld" else "Overturn"))
            letters.append(FakeLetter(
                row["case_number"], _us_date(row["decision_date"]), row["certification_specialty"].split(",")[0],
                treatments, path.read_bytes, _us_date(row["date_of_injury"]), _us_date(row["application_received"]),
            ))
    return letters
