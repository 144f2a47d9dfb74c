"""Time since injury at the request, and the worker's age, as bands (kb/data/bands.json).

`since_injury(letter)` counts the days from the date of injury to the utilization review denial, else to
the decision date, and names the band ("0-3m", "3-6m", "6-12m", "1-2y", "2-5y", "5y+") and the MTUS phase
(acute, subacute, chronic). Dates come from the header; a letter without them (2013-15 bodies, older
layouts) has them read from its case summary, and the result says which. `age_band(age)` bands the age the
parser read. Pure: the only I/O is reading the JSON at import.

    >>> months_between(date(2016, 10, 31), date(2017, 1, 30))
    2
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from kb.models import Letter

DATA_PATH = Path(__file__).resolve().parent / "data" / "bands.json"
DATA = json.loads(DATA_PATH.read_text(encoding="utf-8"))

UNKNOWN = DATA["unknown"]["id"]
SINCE_INJURY_BANDS: tuple[dict, ...] = tuple(DATA["since_injury"])
PHASES: tuple[dict, ...] = tuple(DATA["phases"])
AGE_BANDS: tuple[dict, ...] = tuple(DATA["ages"])
SINCE_INJURY_LABELS = {band["id"]: band["label"] for band in SINCE_INJURY_BANDS} | {UNKNOWN: DATA["unknown"]["label"]}
PHASE_LABELS = {phase["id"]: phase["label"] for phase in PHASES} | {UNKNOWN: DATA["unknown"]["label"]}
AGE_LABELS = {band["id"]: band["label"] for band in AGE_BANDS} | {UNKNOWN: DATA["unknown"]["label"]}
LONGEST_CLAIM_DAYS = 366 * DATA["longest_claim_years"]

_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december")
_DATE = (r"(?:(?P<m>\d{1,2})\s*[-/]\s*(?P<d>\d{1,2})\s*[-/]\s*(?P<y>\d{4}|\d{2})(?!\d)"
         r"|(?P<month>" + "|".join(m.capitalize() + "|" + m[:3].capitalize() + r"\.?" for m in _MONTHS)
         + r")\s+(?P<day>\d{1,2}),?\s+(?P<year>\d{4}))")


def _date_patterns(templates: list[str]) -> list[re.Pattern[str]]:
    return [re.compile(r"(?<!\w)" + t.replace(" ", r"\s+").replace("{date}", _DATE), re.I) for t in templates]


_INJURY_DATES = _date_patterns(DATA["summary_dates"]["injury"])
_REVIEW_DATES = _date_patterns(DATA["summary_dates"]["review"])


@dataclass(frozen=True)
class SinceInjury:
    """Days from injury to request, their band and phase; None/"unknown" when a date is missing or absurd."""

    days: int | None
    band: str  # a SINCE_INJURY_BANDS id or "unknown"
    phase: str  # "acute" | "subacute" | "chronic" | "unknown"
    injury_date: str | None  # ISO
    injury_date_source: str | None  # "header" | "summary"
    request_date: str | None  # ISO
    request_date_source: str | None  # "ur-denial" | "summary-ur" | "decision"


def months_between(start: date, end: date) -> int:
    """Whole calendar months from start to end (negative when end is earlier)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - 1 if end.day < start.day and months > 0 else months


def since_injury_band(start: date, end: date) -> tuple[str, str]:
    """(band id, phase) for a request made on `end` about an injury on `start`."""
    months = months_between(start, end)
    for band in SINCE_INJURY_BANDS:
        if band["below_months"] is None or months < band["below_months"]:
            return band["id"], band["phase"]
    raise AssertionError("the last band has no upper bound")  # pragma: no cover


def age_band(age: int | None) -> str:
    if age is None:
        return UNKNOWN
    for band in AGE_BANDS:
        if band["below"] is None or age < band["below"]:
            return band["id"]
    raise AssertionError("the last band has no upper bound")  # pragma: no cover


def _iso(match: re.Match[str]) -> str | None:
    try:
        if match.group("m"):
            year = int(match.group("y"))
            return date(year + 2000 if year < 100 else year, int(match.group("m")), int(match.group("d"))).isoformat()
        month = next(n for n, name in enumerate(_MONTHS, 1) if name.startswith(match.group("month")[:3].lower()))
        return date(int(match.group("year")), month, int(match.group("day"))).isoformat()
    except ValueError:
        return None


def summary_date(summary: str, patterns: list[re.Pattern[str]]) -> str | None:
    """The first date one of `patterns` finds in a summary (ISO), or None."""
    found = [(m.start(), m) for pattern in patterns for m in pattern.finditer(summary)]
    for _, match in sorted(found, key=lambda pair: pair[0]):
        iso = _iso(match)
        if iso:
            return iso
    return None


def injury_date(letter: Letter) -> tuple[str | None, str | None]:
    if letter.date_of_injury:
        return letter.date_of_injury, "header"
    found = summary_date(letter.summary or "", _INJURY_DATES)
    return (found, "summary") if found else (None, None)


def request_date(letter: Letter) -> tuple[str | None, str | None]:
    if letter.ur_denial_date:
        return letter.ur_denial_date, "ur-denial"
    found = summary_date(letter.summary or "", _REVIEW_DATES)
    if found:
        return found, "summary-ur"
    if letter.decision_date:
        return letter.decision_date, "decision"
    return None, None


def since_injury(letter: Letter) -> SinceInjury:
    injured, injured_from = injury_date(letter)
    requested, requested_from = request_date(letter)
    if injured and requested:
        start, end = date.fromisoformat(injured), date.fromisoformat(requested)
        days = (end - start).days
        if 0 <= days <= LONGEST_CLAIM_DAYS:
            band, phase = since_injury_band(start, end)
            return SinceInjury(days, band, phase, injured, injured_from, requested, requested_from)
    return SinceInjury(None, UNKNOWN, UNKNOWN, injured, injured_from, requested, requested_from)
