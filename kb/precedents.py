"""Precedent statistics: how reviewers rule on a drug, treatment or guideline, from the columns alone.

Every figure is numpy over the generation's facet columns (kb.columns) and the mask of matching passages
(kb.search.Match): no document is read to count. Documents are read only for what a page shows: the most
typical rationales each way, and a sample of rationales for a guideline's phrases. No Flask here; every
figure comes with the search request that lists the passages behind it (`SearchRequest.narrowed`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from kb.bands import SINCE_INJURY_LABELS
from kb.guidelines import citation_editions, citation_label, citation_sort_key
from kb.reasons import REASON_LABELS
from kb.search import Match, facet_label, refinements
from kb.search_request import FACET_BY_NAME, SearchRequest

UPHELD, OVERTURNED = "Upheld", "Overturned"
BREAKDOWN_ROWS = 12
TYPICAL_EACH_WAY = 1
PHRASE_SAMPLE = 400  # rationales read to find a guideline's phrases
PHRASES_SHOWN = 15
# Fewer decisions than this and a rate says little: the pages flag it (its 95 % interval is wider than
# about 40 points either way at n = 5, 30 at n = 10).
FEW_DECISIONS = 10
WILSON_Z = 1.959964  # the normal quantile of a two-sided 95 % interval

# breakdown name -> (search facet that lists its passages, column)
BREAKDOWNS = {
    "reviewer_guideline": "guideline_reviewer",
    "ca_guideline": "guideline_ca",
    "drug": "drug",
    "product": "product",
    "class": "drug_class",
    "treatment": "subcategory",
    "specialty": "specialty",
    "region": "region",
    "since_injury": "since_injury",
    "reason": "reason",
    "wording": "wording",
}


@dataclass(frozen=True)
class Outcomes:
    total: int
    upheld: int
    overturned: int

    @property
    def upheld_pct(self) -> float | None:
        return 100.0 * self.upheld / self.total if self.total else None

    @property
    def overturned_pct(self) -> float | None:
        return 100.0 * self.overturned / self.total if self.total else None

    def as_dict(self) -> dict:
        """The counts, the shares (in percent) with their 95 % Wilson intervals, and whether there are too few
        decisions for a rate to say much (`few`)."""
        return {"total": self.total, "upheld": self.upheld, "overturned": self.overturned,
                "upheld_pct": _round(self.upheld_pct), "overturned_pct": _round(self.overturned_pct),
                "upheld_ci": wilson_interval(self.upheld, self.total),
                "overturned_ci": wilson_interval(self.overturned, self.total),
                "few": 0 < self.total < FEW_DECISIONS}


def wilson_interval(successes: int, total: int, z: float = WILSON_Z) -> list[float] | None:
    """The Wilson score interval of a proportion, in percent rounded to 0.1 ([low, high]); None for no trials.

    Unlike the normal approximation it stays within 0-100 % and is honest for small samples and for rates
    near 0 or 100 %: 2 overturned of 45 gives 1.2-14.8 %, 1 of 1 gives 20.7-100 %."""
    if total <= 0:
        return None
    share = successes / total
    spread = z * z / total
    centre = (share + spread / 2) / (1 + spread)
    half = z * math.sqrt(share * (1 - share) / total + spread / (4 * total)) / (1 + spread)
    return [_round(100.0 * max(0.0, centre - half)), _round(100.0 * min(1.0, centre + half))]


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


class Statistics:
    """The statistics of one matched set of passages; each method returns plain data with search links."""

    def __init__(self, match: Match):
        self.match = match
        self.request = match.request
        self.columns = match.columns
        self.upheld = match.rows_where("decision", [UPHELD])
        self.overturned = match.rows_where("decision", [OVERTURNED])

    def outcomes(self, mask: np.ndarray | None = None) -> Outcomes:
        mask = self.match.mask if mask is None else mask
        return Outcomes(int(np.count_nonzero(mask)), int(np.count_nonzero(mask & self.upheld)),
                        int(np.count_nonzero(mask & self.overturned)))

    def link(self, **narrowing: str) -> SearchRequest:
        """The search listing the passages behind a figure: this request narrowed by facet=value pairs."""
        request = self.request
        for name, value in narrowing.items():
            request = request.narrowed(name, value)
        return request

    def summary(self) -> dict:
        outcomes = self.outcomes()
        return {**outcomes.as_dict(),
                "links": {"total": self.link(), "upheld": self.link(decision=UPHELD),
                          "overturned": self.link(decision=OVERTURNED)}}

    def by_year(self) -> list[dict]:
        """Decisions and outcome shares per decision year, oldest first (unknown years left out)."""
        years = self.columns.year
        total = np.bincount(years[self.match.mask].astype(np.int64), minlength=1)
        upheld = np.bincount(years[self.upheld].astype(np.int64), minlength=len(total))
        overturned = np.bincount(years[self.overturned].astype(np.int64), minlength=len(total))
        series = []
        for year in np.flatnonzero(total):
            if year == 0:
                continue
            outcomes = Outcomes(int(total[year]), int(upheld[year]), int(overturned[year]))
            series.append({"year": int(year), **outcomes.as_dict(),
                           "links": {"total": self.link(year=str(year)),
                                     "overturned": self.link(year=str(year), decision=OVERTURNED)}})
        return series

    def breakdown(self, name: str, limit: int | None = BREAKDOWN_ROWS) -> list[dict]:
        """The values of one facet among the matches, most frequent first, each with its outcomes."""
        column = BREAKDOWNS[name]
        totals = self.match.counts(column, self.match.mask)
        upheld = self.match.counts(column, self.upheld)
        overturned = self.match.counts(column, self.overturned)
        values = self.columns.facets[column].values.tolist()
        outcomes_of = {values[i]: Outcomes(int(totals[i]), int(upheld[i]), int(overturned[i]))
                       for i in np.flatnonzero(totals)}
        if name in _SIDES:
            outcomes_of = self._with_refinements(BREAKDOWNS[name], outcomes_of)
        order = sorted(outcomes_of, key=lambda value: (-outcomes_of[value].total, value))
        rows = []
        for value in order[:limit]:
            outcomes = outcomes_of[value]
            rows.append({"value": value, "label": _breakdown_label(name, value), **outcomes.as_dict(),
                         "links": {"total": self.link(**{name: value}),
                                   "upheld": self.link(**{name: value, "decision": UPHELD}),
                                   "overturned": self.link(**{name: value, "decision": OVERTURNED})}})
        return rows

    def _with_refinements(self, column: str, exact: dict[str, Outcomes]) -> dict[str, Outcomes]:
        """One side's citations counted with their refinements (a page of a part counts for the part too),
        each passage once per id."""
        ids = list(exact)
        totals = _side_counts(self.match, column, ids)
        upheld = _side_counts(self.match, column, ids, within=self.upheld)
        overturned = _side_counts(self.match, column, ids, within=self.overturned)
        return {value: Outcomes(totals[value], upheld[value], overturned[value]) for value in ids}

    def by_time_since_injury(self) -> list[dict]:
        """The breakdown by time since injury, in the order of the bands (acute first), unknown last."""
        order = {band: i for i, band in enumerate(SINCE_INJURY_LABELS)}
        return sorted(self.breakdown("since_injury", limit=None), key=lambda row: order.get(row["value"], len(order)))

    def why(self) -> dict:
        """The reasons reviewers gave, for the upheld and for the overturned decisions: each reason with how
        many of those decisions state it (and its share of them), most frequent first."""
        found = {}
        for decision, mask in ((UPHELD, self.upheld), (OVERTURNED, self.overturned)):
            counts = self.match.counts("reason", mask)
            values = self.columns.facets["reason"].values.tolist()
            among = int(np.count_nonzero(mask))
            rows = [{"value": values[i], "label": REASON_LABELS.get(values[i], values[i]), "count": int(counts[i]),
                     "pct": _round(100.0 * int(counts[i]) / among) if among else None,
                     "link": self.link(reason=values[i], decision=decision)}
                    for i in np.flatnonzero(counts)]
            found[decision] = {"decisions": among, "reasons": sorted(rows, key=lambda row: (-row["count"], row["label"]))}
        return found

    def divergence(self) -> dict:
        """Items where the claims administrator and the reviewer cited different guidelines."""
        differ = self.match.rows_where("divergent", ["differ"])
        same = self.match.rows_where("divergent", ["same"])
        return {"differ": self.outcomes(differ).as_dict(), "same": self.outcomes(same).as_dict(),
                "links": {"differ": self.link(divergent="differ"), "same": self.link(divergent="same")}}

    def typical(self) -> dict:
        """The most representative upheld and overturned rationales (row numbers)."""
        return {UPHELD: self.match.typical(self.upheld, TYPICAL_EACH_WAY),
                OVERTURNED: self.match.typical(self.overturned, TYPICAL_EACH_WAY)}


_SIDES = ("reviewer_guideline", "ca_guideline")


def _breakdown_label(name: str, value: str) -> str:
    if name in _SIDES:
        return citation_label(value)
    return facet_label(FACET_BY_NAME[name], value)


def precedents(match: Match) -> dict:
    """Everything the precedents page shows, as data (rows of `typical` are read by the caller)."""
    stats = Statistics(match)
    return {
        "summary": stats.summary(),
        "by_year": stats.by_year(),
        "reviewer_guidelines": stats.breakdown("reviewer_guideline"),
        "ca_guidelines": stats.breakdown("ca_guideline"),
        "divergence": stats.divergence(),
        "specialties": stats.breakdown("specialty"),
        "drugs": stats.breakdown("drug"),
        "products": stats.breakdown("product"),
        "treatments": stats.breakdown("treatment"),
        "regions": stats.breakdown("region"),
        "since_injury": stats.by_time_since_injury(),
        "why": stats.why(),
        "wording": stats.breakdown("wording"),
        "typical": stats.typical(),
    }


# --------------------------------------------------------------------------------------------
# Guidelines


def guideline_index(match: Match) -> list[dict]:
    """Every citation id among the matches, in guideline order, with how often each side cited it."""
    columns = match.columns
    cited = columns.facets["guideline"]
    totals = match.counts("guideline", match.mask)
    stats = Statistics(match)
    upheld = match.counts("guideline", stats.upheld)
    sides = {column: _side_counts(match, column, cited.values.tolist())
             for column in ("guideline_ca", "guideline_reviewer")}
    rows = []
    for i in np.flatnonzero(totals):
        value = str(cited.values[i])
        outcomes = Outcomes(int(totals[i]), int(upheld[i]), int(totals[i]) - int(upheld[i]))
        rows.append({"id": value, "label": citation_label(value), "depth": value.count("/"),
                     "total": outcomes.total, "upheld_pct": _round(outcomes.upheld_pct),
                     "upheld_ci": wilson_interval(outcomes.upheld, outcomes.total), "few": outcomes.as_dict()["few"],
                     "claims_administrator": sides["guideline_ca"].get(value, 0),
                     "reviewer": sides["guideline_reviewer"].get(value, 0)})
    rows.sort(key=lambda row: citation_sort_key(row["id"]))
    return rows


def _side_counts(match: Match, column: str, ids: list[str], within: np.ndarray | None = None) -> dict[str, int]:
    """Matching passages (of `within`, default all) whose one side cited each id or something more
    specific under it (its refinements): every (passage, id) pair counted once, for all ids in one pass
    over the entries."""
    facet = match.columns.facets[column]
    position = {citation_id: i for i, citation_id in enumerate(ids)}
    # each value of the side -> the ids it counts for: itself and every id it refines
    counted_for = [[position[prefix] for prefix in _prefixes(value) if prefix in position]
                   for value in facet.values.tolist()]
    per_value = np.asarray([len(targets) for targets in counted_for], dtype=np.int64)
    targets = np.asarray([i for found in counted_for for i in found], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(per_value)[:-1]]) if len(per_value) else per_value
    entries = match.entries_of(column)
    if within is not None:
        entries = entries[within[facet.entry_rows[entries]]]
    values = facet.indices[entries]
    repeat = per_value[values]
    rows = np.repeat(facet.entry_rows[entries].astype(np.int64), repeat)
    offsets = np.arange(int(repeat.sum())) - np.repeat(np.cumsum(repeat) - repeat, repeat)
    # a pair repeats only within one passage's entries, which are adjacent: nearly sorted already, so a
    # stable sort (timsort) and a look at each neighbour find the distinct pairs
    pairs = np.sort(rows * len(ids) + targets[np.repeat(starts[values], repeat) + offsets], kind="stable")
    distinct = pairs[np.concatenate(([True], pairs[1:] != pairs[:-1]))] if len(pairs) else pairs
    counts = np.bincount(distinct % len(ids), minlength=len(ids)) if len(ids) else []
    return {citation_id: int(counts[i]) for citation_id, i in position.items()}


def _prefixes(citation_id: str) -> list[str]:
    """'MTUS/CPMTG/p24' -> 'MTUS', 'MTUS/CPMTG', 'MTUS/CPMTG/p24': the ids it refines, and itself."""
    parts = citation_id.split("/")
    return ["/".join(parts[:end]) for end in range(1, len(parts) + 1)]


def guideline_view(match: Match, citation_id: str) -> dict:
    """How one citation is applied: `match` is the request narrowed to guideline=citation_id."""
    stats = Statistics(match)
    columns = match.columns
    reviewer = match.rows_where("guideline_reviewer", refinements(
        columns.facets["guideline_reviewer"].values.tolist(), citation_id))
    administrator = match.rows_where("guideline_ca", refinements(
        columns.facets["guideline_ca"].values.tolist(), citation_id))
    background = columns.passage & ~match.mask
    return {
        "id": citation_id,
        "label": citation_label(citation_id),
        "summary": stats.summary(),
        "sides": {
            "reviewer": {**stats.outcomes(reviewer).as_dict(), "link": stats.link(reviewer_guideline=citation_id)},
            "claims_administrator": {**stats.outcomes(administrator).as_dict(),
                                     "link": stats.link(ca_guideline=citation_id)},
        },
        "divergence": stats.divergence(),
        "drugs": stats.breakdown("drug"),
        "products": stats.breakdown("product"),
        "treatments": stats.breakdown("treatment"),
        "editions": citation_editions(citation_id),  # its edition years, the other documents on its topic
        "by_year": stats.by_year(),
        "phrases": distinctive_phrases(match.texts(match.mask, PHRASE_SAMPLE),
                                       match.texts(background, PHRASE_SAMPLE)),
        "typical": stats.typical(),
    }


# --------------------------------------------------------------------------------------------
# Phrases

# Words as the index cuts them (kb.engines.analysis): runs of letters and digits, "1.5mg" whole. A phrase
# is counted by its words and shown as a rationale wrote it ("longer than 2-3 weeks"), so its search link
# finds the rationales it was counted in; dropping the digits made "longer than to weeks", which finds
# nothing.
_WORD = re.compile(r"[^\W_]+(?:\.[^\W_]+)*")
_SPACES = re.compile(r"\s+")
# Function words a phrase may hold inside but not start or end with ("trial of opioids", not "of the").
_GLUE = frozenset("""a an the of to in on for and or with without is are was were be been as at by this that
these those it its from than then there which who not no per has have had does do did but if so such any
all may can will would should could also into over under more most other only same very s""".split())

# A guideline's own name is shown already: phrases quoting it ("mtus chronic pain") say nothing new.
_CITATION_WORDS = frozenset({"mtus", "acoem", "odg", "guideline", "guidelines", "ca", "california", "cpmtg"})


def distinctive_phrases(texts: list[str], background: list[str], limit: int = PHRASES_SHOWN) -> list[dict]:
    """The two- to four-word phrases most particular to `texts` compared with `background` rationales.

    A phrase counts once per rationale. Its score is how many rationales use it, times the log of how
    much more often they do than the background does (add-one smoothing), so a phrase both common here
    and rare elsewhere ranks first. Phrases used by fewer than two rationales (or 2 % of them) are left
    out, and so are phrases inside a longer kept phrase with the same count. Each phrase is given as the
    first rationale holding it wrote it (lower-cased, spaces collapsed): `phrase`.
    """
    if not texts:
        return []
    written: dict[str, str] = {}
    here = _phrase_counts(texts, written)
    elsewhere = _phrase_counts(background) if background else Counter()
    floor = max(2, math.ceil(0.02 * len(texts)))
    scored = []
    for phrase, count in here.items():
        if count < floor or _CITATION_WORDS.intersection(phrase.split()):
            continue
        if not background:  # nothing to compare with: the most used phrases
            scored.append((float(count), count, phrase))
            continue
        rate_here = count / len(texts)
        rate_there = (elsewhere.get(phrase, 0) + 1) / (len(background) + 1)
        lift = rate_here / rate_there
        if lift <= 1.5:
            continue
        scored.append((count * math.log(lift), count, phrase))
    scored.sort(key=lambda t: (-t[0], -t[1], t[2]))
    chosen: list[tuple[float, int, str]] = []
    for score, count, phrase in scored:
        if any(f" {phrase} " in f" {longer} " and count == c for _, c, longer in chosen):
            continue
        chosen = [(s, c, p) for s, c, p in chosen if not (f" {p} " in f" {phrase} " and c == count)]
        chosen.append((score, count, phrase))
        if len(chosen) >= limit:
            break
    return [{"phrase": written[phrase], "rationales": count, "share_pct": _round(100.0 * count / len(texts))}
            for _, count, phrase in chosen]


def _phrase_counts(texts: list[str], written: dict[str, str] | None = None) -> Counter:
    """How many of `texts` hold each phrase (its words joined by spaces); `written` collects how each was
    first written."""
    counts: Counter = Counter()
    for text in texts:
        found = list(_WORD.finditer(text))
        words = [match.group().lower() for match in found]
        seen = set()
        for size in (2, 3, 4):
            for i in range(len(words) - size + 1):
                gram = words[i : i + size]
                if gram[0] in _GLUE or gram[-1] in _GLUE:
                    continue
                key = " ".join(gram)
                seen.add(key)
                if written is not None and key not in written:
                    written[key] = _SPACES.sub(" ", text[found[i].start():found[i + size - 1].end()].lower())
        counts.update(seen)
    return counts
