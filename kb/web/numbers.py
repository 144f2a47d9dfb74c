"""Numbers as the pages say them: counts with their noun ("1 decision", "1,234 decisions"), percentages,
and the 95 % interval of a rate. Registered as Jinja filters by kb.web.create_app, so a template says
`{{ row.total|counted("decision") }}` and never builds a plural itself."""

from __future__ import annotations

import re
from datetime import date

_MONTHS = ("Jan.", "Feb.", "Mar.", "Apr.", "May", "June", "July", "Aug.", "Sept.", "Oct.", "Nov.", "Dec.")

# Nouns whose plural is not the noun and an "s".
_PLURALS = {"passage": "passages", "decision": "decisions", "letter": "letters", "rationale": "rationales",
            "quotation": "quotations", "case number": "case numbers", "item": "items", "page": "pages",
            "analysis": "analyses"}


def plural(count: int, noun: str) -> str:
    """The noun as it goes with `count`: 'decision' for 1, 'decisions' for 0 or 2."""
    if count == 1:
        return noun
    return _PLURALS.get(noun, noun + "s")


def counted(count: int | None, noun: str) -> str:
    """'1 decision', '45 decisions', '1,234 decisions' (None counts as 0)."""
    count = int(count or 0)
    return f"{count:,} {plural(count, noun)}"


def percent(value: float | None) -> str:
    """'4 %' (rounded to a whole percent), '–' when there is no rate (no decisions)."""
    if value is None:
        return "–"
    return f"{value:.0f} %"


def interval(bounds: list | tuple | None) -> str:
    """A 95 % interval in words, '1–15 %', or '' without one."""
    if not bounds:
        return ""
    low, high = bounds
    return f"{low:.0f}–{high:.0f} %"


def bluebook_date(iso: str | None) -> str | None:
    """'2016-12-09' -> 'Dec. 9, 2016' (the month abbreviations briefs use)."""
    if not iso:
        return None
    day = date.fromisoformat(iso)
    return f"{_MONTHS[day.month - 1]} {day.day}, {day.year}"


_NUMBERED = re.compile(r"\b(pp?\.|ch\.|§|§§|para\.) (?=\d)")
_RANGE = re.compile(r"(?<=\d)[-–](?=\d)")


def unbroken(label: str) -> str:
    """A citation label whose page numbers and ranges stay on one line: 'p. 24' and 'pp. 303-305' keep
    their parts together (a no-break space, a no-break hyphen), so a table never shows 'pp. 303-' above
    '305'."""
    return _RANGE.sub("\u2011", _NUMBERED.sub("\\1\u00a0", label))


FILTERS = {"unbroken": unbroken, "long_date": bluebook_date, "counted": counted, "percent": percent, "interval": interval, "plural": plural}
