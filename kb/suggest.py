"""Values to suggest as someone types in a drug, treatment or guideline field: the index's own tag values
(kb.columns vocabularies) with the decisions holding each, and for drugs the brand names of the products
the index holds ("Norco" for hydrocodone/acetaminophen). No Flask here: kb.web serves them as /api/suggest
and as the <datalist>s of the forms."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.columns import Columns
from kb.drugs import DRUGS
from kb.search import facet_label
from kb.search_request import FACET_BY_NAME

MAX_SUGGESTIONS = 50
_NOT_WORD = re.compile(r"[^\w.]+")  # keeps 3.3.9 and p. 24 whole
MAX_TYPED_CHARS = 100
# the fields that suggest (a kb.search_request facet name each), and for drugs the products' facet too
SUGGESTED = ("drug", "treatment", "guideline", "class", "category", "specialty", "region", "reason", "diagnosis")


@dataclass(frozen=True)
class Suggestion:
    value: str  # what the field takes
    label: str  # what the list shows
    count: int  # decisions holding it

    def as_dict(self) -> dict:
        return {"value": self.value, "label": self.label, "count": self.count}


def vocabulary(columns: Columns, field: str) -> list[Suggestion]:
    """Every value `field` may be given on this index, most held first."""
    spec = FACET_BY_NAME[field]
    found = [Suggestion(value, facet_label(spec, value), count) for value, count in columns.vocabulary(spec.column)]
    if field == "drug":  # the products as asked for, and every brand of them
        for generic, count in columns.vocabulary(FACET_BY_NAME["product"].column):
            entry = DRUGS.get(generic)
            if len(entry.ingredient_names if entry else ()) > 1:
                found.append(Suggestion(generic, facet_label(spec, generic), count))
            for brand in entry.brands if entry else ():
                found.append(Suggestion(brand, f"{brand} ({generic})", count))
        found.sort(key=lambda s: -s.count)
    seen: set[str] = set()
    return [s for s in found if not (s.value.casefold() in seen or seen.add(s.value.casefold()))]


def suggest(columns: Columns, field: str, typed: str, limit: int = 10) -> list[Suggestion]:
    """The values of `field` that what was typed begins (first), or begins a word of, most held first."""
    if field not in SUGGESTED:
        raise ValueError(f"no suggestions for {field!r}; fields: {', '.join(SUGGESTED)}")
    key = _words(typed[:MAX_TYPED_CHARS])
    limit = max(1, min(limit, MAX_SUGGESTIONS))
    starting, within = [], []
    for suggestion in vocabulary(columns, field):
        value, label = _words(suggestion.value), _words(suggestion.label)
        if not key or value.startswith(key) or label.startswith(key):
            starting.append(suggestion)
        elif f" {key}" in f" {label}":
            within.append(suggestion)
        if len(starting) >= limit:
            break
    return (starting + within)[:limit]


def _words(text: str) -> str:
    """Lower case, punctuation as spaces: "ODG Knee & Leg" and "knee leg" compare by their words."""
    return " ".join(_NOT_WORD.sub(" ", text.casefold()).split())
