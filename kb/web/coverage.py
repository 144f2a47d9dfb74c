"""What the served index covers, said at the foot of every page: how many letters and decisions, decided
when, and when the index was last updated (its generation was published)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from threading import Lock

import numpy as np

from kb.integrity import MANIFEST_NAME, manifest_counts
from kb.published import Generation

_EPOCH = date(1970, 1, 1)
_known: dict[tuple, dict] = {}
_lock = Lock()


def coverage(generation: Generation) -> dict:
    """{letters, passages, first, last (ISO decision dates or None), updated (ISO date or None), synthetic},
    computed once per generation (a published generation never changes)."""
    key = (str(generation.path), generation.name)
    with _lock:
        known = _known.get(key)
    if known is None:
        known = _measure(generation)
        with _lock:
            if len(_known) > 64:
                _known.clear()
            _known[key] = known
    return known


def _measure(generation: Generation) -> dict:
    columns = generation.columns
    passages = int(np.count_nonzero(columns.passage))
    letters = None
    updated = None
    if generation.path is not None:
        counts = manifest_counts(generation.path)
        if counts is not None:
            letters, passages = counts
        try:
            stamp = (generation.path / MANIFEST_NAME).stat().st_mtime
            updated = datetime.fromtimestamp(stamp).date().isoformat()
        except OSError:
            updated = None
    days = columns.day[columns.passage & (columns.day >= 0)]
    first = (_EPOCH + timedelta(days=int(days.min()))).isoformat() if len(days) else None
    last = (_EPOCH + timedelta(days=int(days.max()))).isoformat() if len(days) else None
    return {"letters": letters, "passages": passages, "first": first, "last": last, "updated": updated,
            "synthetic": generation.synthetic}


def coverage_sentence(facts: dict) -> str:
    """'132 letters (307 decisions) decided Jan. 3, 2014 to Dec. 9, 2016; last updated July 24, 2026.'"""
    from kb.web.numbers import bluebook_date, counted

    held = counted(facts["passages"], "decision")
    if facts["letters"] is not None:
        held = f"{counted(facts['letters'], 'letter')} ({held})"
    kind = "synthetic demonstration letters: " if facts["synthetic"] else ""
    span = ""
    if facts["first"] and facts["last"]:
        span = f" decided {bluebook_date(facts['first'])} to {bluebook_date(facts['last'])}"
    updated = f"; last updated {bluebook_date(facts['updated'])}" if facts["updated"] else ""
    return f"This index holds {kind}{held}{span}{updated}."
