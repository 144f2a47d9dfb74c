"""The DWC's IMR decision search: its form, its results pages and their rows. Pure: no I/O.

What the site looks like comes from `kb/data/dwc.json` (after a 2017 crawler of it; nothing was checked
against the live site). `parse_results_page(html)` reads one results page of the case and treatment search
into a `ResultsPage`, or raises `PageChanged` with one sentence naming what no longer fits: no results
table, a column headed otherwise, a row of another shape, no total. `cases_from_rows` joins the rows of a
walk's pages into one `DwcCase` per letter (a case's further treatments follow as rows whose first cell
spans five columns, possibly on the next page), and `DwcCase.record()` is the sidecar kept beside each
fetched PDF (`CM24-0001234.dwc.json`).

    >>> search_form(decided_from=date(2024, 1, 1), decided_to=date(2024, 1, 31), page=2)[-3:]
    [('SubCategoryV', ''), ('newpageno', '2'), ('Submit', 'Next')]
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

DATA_PATH = Path(__file__).resolve().parent / "data" / "dwc.json"
DATA = json.loads(DATA_PATH.read_text(encoding="utf-8"))

DEFAULT_BASE_URL: str = DATA["site"]["base_url"]
SEARCH_PATH: str = DATA["site"]["search_path"]
PAGE_SIZE: int = DATA["site"]["page_size"]

RECORD_VERSION = 1
CASE_NUMBER = re.compile(r"CM\d{2}-\d{7}")  # how the DWC writes its own case numbers
_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})")
_TOTAL = re.compile(r"\d[\d,]*")


@dataclass(frozen=True)
class Column:
    name: str
    label: str
    pattern: re.Pattern[str]
    examples: tuple[str, ...]
    counterexamples: tuple[str, ...]


COLUMNS: tuple[Column, ...] = tuple(
    Column(c["name"], c["label"], re.compile(c["pattern"]), tuple(c["examples"]), tuple(c.get("counterexamples", ())))
    for c in DATA["treatment_columns"]
)
CONTINUATION_SPAN = 5  # a further treatment's first cell spans case number, three dates and specialty
DECISIONS: dict[str, str] = DATA["decisions"]["values"]
OUTCOME_FILTERS: dict[str, str] = DATA["outcome_filters"]["values"]
NO_RESULTS = re.compile(DATA["no_results"]["pattern"], re.I)
SPECIALTIES: dict[str, str] = {entry["label"]: entry["value"] for entry in DATA["specialties"]["values"]}
CATEGORIES: dict[str, str] = {entry["label"]: entry["value"] for entry in DATA["categories"]["values"]}


class PageChanged(Exception):
    """A page of the DWC search that no longer looks as described; str() is one sentence naming what changed."""


class InvalidInput(ValueError):
    """Input the search cannot take (a choice it does not offer, a bad case list, dates the wrong way round);
    str() is one sentence."""


class UnknownChoice(InvalidInput):
    """A --specialty, --category or --outcome the search form does not offer; str() says which and suggests."""


# --------------------------------------------------------------------------------------------
# The search form


def normalise_header(text: str) -> str:
    return " ".join(text.lower().split())


def _choice_key(text: str) -> str:
    return re.sub(r"\s*/\s*", "/", normalise_header(text))


def _resolve(typed: str, choices: dict[str, str], what: str) -> str:
    key = _choice_key(typed)
    for label, value in choices.items():
        if key in (_choice_key(label), _choice_key(value)) or typed == value:
            return value
    close = [label for label in choices if key and key.split("/")[-1] in _choice_key(label)][:5]
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else " (kb/data/dwc.json lists them)."
    raise UnknownChoice(f"{typed!r} is not one of the DWC search's {what}{hint}")


def resolve_specialty(typed: str) -> str:
    """A reviewer specialty as typed -> the form's SpecialtyV value."""
    return _resolve(typed, SPECIALTIES, "reviewer specialties")


def resolve_category(typed: str) -> str:
    """'pharmaceuticals/opioids' -> 'Pharmaceuticals *  * Opioids' (the form's SubCategoryV value)."""
    return _resolve(typed, CATEGORIES, "treatment categories")


def resolve_outcome(typed: str) -> str:
    """'upheld' -> 'Uphold' (the form's OutcomeV value)."""
    return _resolve(typed, OUTCOME_FILTERS, "treatment outcomes")


def us_date(day: date) -> str:
    return day.strftime("%m/%d/%Y")


def search_form(*, decided_from: date, decided_to: date, outcome: str = "", specialty: str = "",
                category: str = "", page: int = 1) -> list[tuple[str, str]]:
    """The fields of the case and treatment search (Fname=Tx) for one page, in the form's order.

    `outcome`, `specialty` and `category` are form values (resolve_outcome and friends); empty means any.
    """
    fields = [
        ("Fname", "Tx"), ("Caseno", ""), ("DoIStart", ""), ("DoIEnd", ""), ("ReqStart", ""), ("ReqEnd", ""),
        ("DecStart", us_date(decided_from)), ("DecEnd", us_date(decided_to)),
        ("SpecialtyV", specialty), ("OutcomeV", outcome), ("SubCategoryV", category),
    ]
    fields += [("newpageno", str(page)), ("Submit", "Next")] if page > 1 else [("Submit", "Submit")]
    return fields


def detail_query(case_number: str) -> dict[str, str]:
    """The query string of a case's detail page, which lists all its treatment rows."""
    return {"caseno": case_number}


def search_url(base_url: str) -> str:
    return urljoin(base_url.rstrip("/") + "/", SEARCH_PATH.lstrip("/"))


# --------------------------------------------------------------------------------------------
# Results pages


@dataclass(frozen=True)
class Treatment:
    """One treatment row: the DWC's own category, subcategory (drug class) and decision."""

    category: str
    subcategory: str
    decision: str | None  # "Upheld" | "Overturned"; None when the DWC's word is not one of those
    dwc_decision: str  # the cell as the DWC wrote it: "Uphold"


@dataclass(frozen=True)
class ResultRow:
    """One data row of a results table: a case's first treatment, or (case_number None) a further one."""

    treatment: Treatment
    case_number: str | None = None
    href: str | None = None
    decision_date: str | None = None  # ISO
    date_of_injury: str | None = None
    received_date: str | None = None
    reviewer_specialty: str | None = None

    @property
    def continues(self) -> bool:
        return self.case_number is None

    def to_json(self) -> dict:
        return {**self.__dict__, "treatment": self.treatment.__dict__}

    @classmethod
    def from_json(cls, data: dict) -> ResultRow:
        return cls(**{**data, "treatment": Treatment(**data["treatment"])})


@dataclass(frozen=True)
class ResultsPage:
    total: int
    rows: tuple[ResultRow, ...]
    has_next: bool

    @property
    def cases(self) -> int:
        return sum(1 for row in self.rows if not row.continues)


@dataclass
class _Cell:
    attrs: dict[str, str]
    text: list[str]
    hrefs: list[tuple[str, list[str]]]  # (href, its text)


class _PageReader(HTMLParser):
    """Collects the first table with class tabborder (rows of cells), the <strong> texts after it and the
    names of the forms on the page. Tolerates unclosed <tr>, <td> and <a>, as old ASP pages have them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found_table = False
        self.table_done = False
        self.depth = 0  # table nesting inside the results table
        self.rows: list[list[_Cell]] = []
        self.cell: _Cell | None = None
        self.link: tuple[str, list[str]] | None = None
        self.strongs_after: list[list[str]] = []
        self.in_strong_after = False
        self.forms: set[str] = set()
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value or "" for name, value in attrs}
        if tag == "form":
            self.forms.add(values.get("name", "").lower())
        if tag == "table":
            if self.found_table and not self.table_done:
                self.depth += 1
            elif not self.found_table and "tabborder" in values.get("class", "").lower().split():
                self.found_table = True
            return
        if self.table_done and tag == "strong":
            self.in_strong_after = True
            self.strongs_after.append([])
        if not self.found_table or self.table_done or self.depth:
            return
        if tag == "tr":
            self._close_cell()
            self.rows.append([])
        elif tag in ("td", "th"):
            self._close_cell()
            if not self.rows:
                self.rows.append([])
            self.cell = _Cell(values, [], [])
            self.rows[-1].append(self.cell)
        elif tag == "a" and self.cell is not None and values.get("href"):
            self.link = (values["href"], [])
            self.cell.hrefs.append(self.link)
        elif tag == "br" and self.cell is not None:
            self.cell.text.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.found_table and not self.table_done:
            if self.depth:
                self.depth -= 1
            else:
                self._close_cell()
                self.table_done = True
        elif tag in ("td", "th", "tr"):
            self._close_cell()
        elif tag == "a":
            self.link = None
        elif tag == "strong":
            self.in_strong_after = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.cell is not None and not self.depth:
            self.cell.text.append(data)
            if self.link is not None:
                self.link[1].append(data)
        if self.in_strong_after:
            self.strongs_after[-1].append(data)

    def _close_cell(self) -> None:
        self.cell = None
        self.link = None


def _cell_text(cell: _Cell) -> str:
    return " ".join("".join(cell.text).split())


def parse_us_date(text: str, what: str, row: int) -> str | None:
    """'01/05/2024' -> '2024-01-05'; '' -> None; anything else is a changed page."""
    text = text.strip()
    if not text:
        return None
    match = _DATE.fullmatch(text)
    try:
        if not match:
            raise ValueError
        return date(int(match.group(3)), int(match.group(1)), int(match.group(2))).isoformat()
    except ValueError:
        raise PageChanged(f"row {row} of the results table has {text!r} as its {what}, not a date "
                          "written MM/DD/YYYY") from None


def _check_header(cells: list[_Cell]) -> None:
    found = [_cell_text(c) for c in cells]
    expected = ", ".join(c.label for c in COLUMNS)
    if len(found) != len(COLUMNS):
        raise PageChanged(f"the results table has {len(found)} columns ({', '.join(found)}), not the "
                          f"{len(COLUMNS)} of the case and treatment search ({expected})")
    for number, (text, column) in enumerate(zip(found, COLUMNS), start=1):
        if not column.pattern.fullmatch(normalise_header(text)):
            raise PageChanged(f"column {number} of the results table is headed {text!r} where "
                              f"{column.label!r} was expected")


def _treatment(cells: list[_Cell]) -> Treatment:
    category, subcategory, decision = (_cell_text(c) for c in cells)
    return Treatment(category, subcategory, DECISIONS.get(decision.lower()), decision)


def _row(cells: list[_Cell], number: int) -> ResultRow:
    first = cells[0]
    if first.attrs.get("colspan", "").strip() == str(CONTINUATION_SPAN) and len(cells) == 4:
        return ResultRow(_treatment(cells[1:]))
    if len(cells) != len(COLUMNS):
        raise PageChanged(f"row {number} of the results table has {len(cells)} cells, neither a case row "
                          f"({len(COLUMNS)}) nor a further treatment (a first cell spanning "
                          f"{CONTINUATION_SPAN} columns, then 3)")
    links = [(href, " ".join("".join(text).split())) for href, text in first.hrefs]
    case = next(((href, text) for href, text in links if CASE_NUMBER.fullmatch(text)), None)
    if case is None:
        raise PageChanged(f"row {number} of the results table has no link to a case number in its first cell "
                          f"(it reads {_cell_text(first)!r})")
    decided = parse_us_date(_cell_text(cells[1]), "decision date", number)
    if decided is None:
        raise PageChanged(f"row {number} of the results table ({case[1]}) has no decision date")
    return ResultRow(
        _treatment(cells[5:8]),
        case_number=case[1],
        href=case[0],
        decision_date=decided,
        date_of_injury=parse_us_date(_cell_text(cells[2]), "date of injury", number),
        received_date=parse_us_date(_cell_text(cells[3]), "received date", number),
        reviewer_specialty=_cell_text(cells[4]),
    )


def _total(reader: _PageReader) -> int | None:
    for parts in reader.strongs_after:
        match = _TOTAL.search("".join(parts))
        if match:
            return int(match.group().replace(",", ""))
    return None


def parse_results_page(page: str) -> ResultsPage:
    """One results page (or a case's detail page) of the case and treatment search.

    Raises PageChanged when the page does not look as kb/data/dwc.json describes it.
    """
    reader = _PageReader()
    reader.feed(page)
    reader.close()
    has_next = "nextpage" in reader.forms
    if not reader.found_table:
        if NO_RESULTS.search(" ".join("".join(reader.text).split())):
            return ResultsPage(0, (), False)
        raise PageChanged("the results page has no results table (a table with class \"tabborder\") and does "
                          "not say that nothing matched")
    rows = [cells for cells in reader.rows if cells]
    if not rows:
        raise PageChanged("the results table has no header row")
    _check_header(rows[0])
    parsed = tuple(_row(cells, number) for number, cells in enumerate(rows[1:], start=1))
    total = _total(reader)
    if total is None:
        raise PageChanged("there is no total count (a number in <strong>) after the results table")
    return ResultsPage(total, parsed, has_next)


def check_page(page: ResultsPage, number: int, total: int) -> None:
    """One page of a walk (whose total is the walk's) against the page size; PageChanged when it cannot be
    right.

    Whether the total counts treatment rows or cases was not recorded, so a full page may hold
    PAGE_SIZE of either.
    """
    if page.rows and page.rows[0].continues and number == 1:
        raise PageChanged("the first results page starts with a further treatment, not a case")
    if page.cases > PAGE_SIZE:
        raise PageChanged(f"results page {number} holds {page.cases} cases, more than the {PAGE_SIZE} results a "
                          "page should")
    if page.has_next and PAGE_SIZE not in (len(page.rows), page.cases):
        raise PageChanged(f"results page {number} holds {len(page.rows)} rows ({page.cases} cases) and offers a "
                          f"next page; a full page has {PAGE_SIZE}")
    if number > expected_pages(total) + 1:
        raise PageChanged(f"the search offers page {number}, but {total} results make {expected_pages(total)} "
                          f"pages of {PAGE_SIZE}")


def expected_pages(total: int) -> int:
    return math.ceil(total / PAGE_SIZE)


def check_walk(pages: Sequence[ResultsPage], total: int) -> None:
    """All pages of a walk, read: their rows must add up to the total, counted as treatments or as cases."""
    rows = sum(len(page.rows) for page in pages)
    cases = sum(page.cases for page in pages)
    if total not in (rows, cases):
        raise PageChanged(f"the search said {total} results, but its {len(pages)} pages held {rows} treatment "
                          f"rows for {cases} cases")


# --------------------------------------------------------------------------------------------
# Cases and their sidecar records


@dataclass(frozen=True)
class DwcCase:
    """One letter as the DWC's search lists it: its row and every treatment row that follows it."""

    case_number: str
    pdf_url: str
    decision_date: str
    date_of_injury: str | None
    received_date: str | None
    reviewer_specialty: str | None
    treatments: tuple[Treatment, ...]

    @property
    def case_outcome(self) -> str | None:
        """Upheld or Overturned when every treatment was, "Partially overturned" for a mix, None when a
        decision word is unknown. Derived: the treatment search does not show the case outcome."""
        decisions = {t.decision for t in self.treatments}
        if None in decisions or not decisions:
            return None
        return decisions.pop() if len(decisions) == 1 else "Partially overturned"

    def record(self, filters: dict[str, str], complete: bool) -> dict:
        """The sidecar: what the DWC's search says about this letter (README: "The DWC's own rows").

        `filters` are the search's narrowing fields; `complete` says whether the treatments are all of the
        case's, or only those a filtered search showed."""
        return {
            "version": RECORD_VERSION,
            "case_number": self.case_number,
            "decision_date": self.decision_date,
            "date_of_injury": self.date_of_injury,
            "received_date": self.received_date,
            "reviewer_specialty": self.reviewer_specialty,
            "case_outcome": self.case_outcome,
            "treatments": [{"category": t.category, "subcategory": t.subcategory, "decision": t.decision,
                            "dwc_decision": t.dwc_decision} for t in self.treatments],
            "treatments_complete": complete,
            "pdf_url": self.pdf_url,
            "search": {"form": "case and treatment search", "filters": filters},
        }

    @classmethod
    def from_record(cls, record: dict) -> DwcCase:
        treatments = tuple(Treatment(t["category"], t["subcategory"], t["decision"], t["dwc_decision"])
                           for t in record["treatments"])
        return cls(record["case_number"], record["pdf_url"], record["decision_date"], record["date_of_injury"],
                   record["received_date"], record["reviewer_specialty"], treatments)


def cases_from_rows(rows: Iterable[ResultRow], page_url: str) -> list[DwcCase]:
    """Join a walk's rows, in order, into cases; links are resolved against the page's URL."""
    cases: list[DwcCase] = []
    for number, row in enumerate(rows, start=1):
        if row.continues:
            if not cases:
                raise PageChanged("the results start with a further treatment, not a case")
            last = cases[-1]
            cases[-1] = DwcCase(last.case_number, last.pdf_url, last.decision_date, last.date_of_injury,
                                last.received_date, last.reviewer_specialty, (*last.treatments, row.treatment))
            continue
        cases.append(DwcCase(row.case_number, urljoin(page_url, row.href), row.decision_date, row.date_of_injury,
                             row.received_date, row.reviewer_specialty, (row.treatment,)))
    return cases


def merge_same_cases(cases: Iterable[DwcCase]) -> list[DwcCase]:
    """A case listed twice in a walk (its rows split by paging, or listed once per treatment) becomes one,
    with the treatments of both listings."""
    merged: dict[str, DwcCase] = {}
    for case in cases:
        old = merged.get(case.case_number)
        if old is None:
            merged[case.case_number] = case
        else:
            merged[case.case_number] = DwcCase(old.case_number, old.pdf_url, old.decision_date, old.date_of_injury,
                                               old.received_date, old.reviewer_specialty,
                                               (*old.treatments, *case.treatments))
    return list(merged.values())


# --------------------------------------------------------------------------------------------
# Case lists (kb fetch --cases FILE)


@dataclass(frozen=True)
class CaseRequest:
    case_number: str
    pdf_url: str | None = None  # when the list gave the PDF's address


def case_number_in_url(url: str) -> str | None:
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1])
    match = CASE_NUMBER.fullmatch(name.upper().removesuffix(".PDF"))
    return match.group() if match else None


def read_case_list(text: str, source: str) -> list[CaseRequest]:
    """A list of case numbers or PDF addresses, one a line; blank lines and # comments are skipped.
    A line that is neither raises InvalidInput naming it."""
    requests: dict[str, CaseRequest] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip() if not line.lstrip().startswith(("http://", "https://")) else line.strip()
        if not line:
            continue
        if line.lower().startswith(("http://", "https://")):
            case = case_number_in_url(line)
            if case is None:
                raise InvalidInput(f"line {number} of {source} is an address whose file name is not a case number "
                                 f"(CMyy-nnnnnnn.pdf): {line}")
            requests.setdefault(case, CaseRequest(case, line))
        elif CASE_NUMBER.fullmatch(line.upper()):
            requests.setdefault(line.upper(), CaseRequest(line.upper()))
        else:
            raise InvalidInput(f"line {number} of {source} is neither a case number (CMyy-nnnnnnn) nor a PDF "
                             f"address: {line}")
    return list(requests.values())



# --------------------------------------------------------------------------------------------
# The DWC's rows against a parsed letter's items (the indexer's cross-check of the parser's tags)

AGREES = "agrees"
CATEGORY_DIFFERS = "category differs"
DECISION_DIFFERS = "decision differs"
NO_SINGLE_ROW = "no single DWC row"
CHECKS = (AGREES, CATEGORY_DIFFERS, DECISION_DIFFERS, NO_SINGLE_ROW)


@dataclass(frozen=True)
class ItemCheck:
    """What the DWC's rows say about one item: the row it was matched to, or (matched False) all the letter's
    rows; and how the parser's category and decision compare with that row's (CHECKS)."""

    matched: bool
    treatments: tuple[Treatment, ...]
    checks: tuple[str, ...]


def filed_under(treatment: Treatment) -> str:
    """'Pharmaceuticals / Opioids', or the category alone when the DWC gave no subcategory."""
    return f"{treatment.category} / {treatment.subcategory}" if treatment.subcategory else treatment.category


def treatments_of(record: dict) -> tuple[Treatment, ...]:
    """The treatment rows of a sidecar record (kb.extract.read_dwc_record checked its shape)."""
    return tuple(Treatment(t["category"], t.get("subcategory") or "", t.get("decision"), t.get("dwc_decision") or "")
                 for t in record["treatments"])


def _same(a: str, b: str) -> bool:
    return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()


def match_items(items: Sequence[tuple[str, str]], treatments: Sequence[Treatment]) -> list[ItemCheck]:
    """Each item, given as (parser's category, decision) in letter order, against the DWC's treatment rows.

    Nothing records which row answers which item, so an item is matched only where that is plain: one item
    and one row; as many items as rows, paired in order, when every pair agrees on its category or its
    decision (a pair agreeing on neither means the orders differ); otherwise an item is matched to the one
    row with both its category and its decision, if exactly one has them. An unmatched item keeps every row
    of its letter, checked as NO_SINGLE_ROW.
    """
    treatments = tuple(treatments)
    if not treatments:
        return []
    if len(items) == len(treatments) and (len(items) == 1 or all(
            _same(category, row.category) or decision == row.decision
            for (category, decision), row in zip(items, treatments))):
        rows: list[Treatment | None] = list(treatments)
    else:
        rows = []
        for category, decision in items:
            candidates = [row for row in treatments if _same(category, row.category) and decision == row.decision]
            rows.append(candidates[0] if len(candidates) == 1 else None)
    checks = []
    for (category, decision), row in zip(items, rows):
        if row is None:
            checks.append(ItemCheck(False, treatments, (NO_SINGLE_ROW,)))
            continue
        differs = tuple(name for name, same in ((CATEGORY_DIFFERS, _same(category, row.category)),
                                                (DECISION_DIFFERS, row.decision in (None, decision)))
                        if not same)  # a decision word the DWC wrote otherwise cannot be compared
        checks.append(ItemCheck(True, (row,), differs or (AGREES,)))
    return checks
