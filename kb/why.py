"""Why and for whom: the issue-15 tags of every item of a parsed letter, as plain data an index can store.

`why_tags(letter)` returns one dict per item, in item order:

    ordinal             the item's ordinal
    region              one of kb.regions.REGIONS ("lumbar", "shoulder", "multiple", "systemic", "unstated")
    regions             the specific regions behind it (several when region is "multiple")
    region_source       "treatment" | "surgery" | "heading" | "guideline" | "summary" | "none"
    region_spans        [[start, end], ...] of the phrases that decided the region, in letter.text
    side                "right" | "left" | "bilateral" | "unstated"
    days_since_injury   int or None (UR denial date, else decision date, minus date of injury)
    since_injury        a kb.bands band id ("0-3m", "3-6m", "6-12m", "1-2y", "2-5y", "5y+") or "unknown"
    injury_phase        "acute" | "subacute" | "chronic" | "unknown"
    age_band            a kb.bands age band id or "unknown"; sex: "male" | "female" | None
    diagnoses           [{id, label, icd10cm, category, span}, ...] from the case summary (the same for every item)
    diagnosis_categories  the ICD-10-CM categories of those, each once
    reasons             [{id, label, span}, ...]: the decision reasons of kb.reasons, span = the sentence
    reason_ids          the reason ids alone

Letter-level values (time since injury, age, sex, diagnoses) repeat on every item so that each dict is a
complete row for a passage document. Reused wording is a property of a collection, not of a letter: see
kb.wording.
"""

from __future__ import annotations

import re

from kb.bands import PHASE_LABELS, SINCE_INJURY_LABELS, age_band, since_injury
from kb.diagnoses import DIAGNOSIS_LABELS, letter_diagnoses
from kb.models import Letter, Span
from kb.reasons import REASON_LABELS, find_reasons
from kb.regions import REGION_LABELS, item_region, summary_regions


def _span(span: Span) -> list[int]:
    return [span.start, span.end]


def why_tags(letter: Letter) -> list[dict]:
    """The body region, side, time since injury, worker, diagnoses and decision reasons of each item."""
    summary = summary_regions(letter)
    since = since_injury(letter)
    diagnoses = [
        {"id": d.id, "label": d.label, "icd10cm": d.icd10cm, "category": d.category, "span": _span(d.span)}
        for d in letter_diagnoses(letter)
    ]
    categories = list(dict.fromkeys(d["category"] for d in diagnoses))
    rows = []
    for item in letter.items:
        region = item_region(letter, item, summary)
        reasons = find_reasons(item.rationale, item.decision, item.rationale_span.start)
        rows.append({
            "ordinal": item.ordinal,
            "region": region.region,
            "regions": list(region.regions),
            "region_source": region.source,
            "region_spans": [_span(s) for s in region.spans],
            "side": region.side,
            "days_since_injury": since.days,
            "since_injury": since.band,
            "injury_phase": since.phase,
            "age_band": age_band(letter.age),
            "sex": letter.sex,
            "diagnoses": diagnoses,
            "diagnosis_categories": categories,
            "reasons": [{"id": r.id, "label": r.label, "span": _span(r.span)} for r in reasons],
            "reason_ids": [r.id for r in reasons],
        })
    return rows


# --------------------------------------------------------------------------------------------
# The tags as search values: what people type for them, and what the site calls them.

WORDING_LABELS = {"templated": "Reused in other decisions", "individual": "Its own wording"}
SIDE_LABELS = {"right": "Right", "left": "Left", "bilateral": "Both sides", "unstated": "Not stated"}
_UNITS = {"d": 1, "day": 1, "days": 1, "w": 7, "wk": 7, "wks": 7, "week": 7, "weeks": 7, "m": 30, "mo": 30,
          "month": 30, "months": 30, "y": 365, "yr": 365, "yrs": 365, "year": 365, "years": 365}
_SPAN = re.compile(r"(?P<op><=|>=|<|>)?\s*(?P<a>\d{1,5})\s*(?P<ua>[a-z]*)\s*(?:-\s*(?P<b>\d{1,5})\s*(?P<ub>[a-z]*))?$")


def why_label(facet: str, value: str) -> str:
    """A facet value as the site shows it: "lumbar" -> "Lumbar spine", "0-3m" -> "Under 3 months"."""
    labels = {"region": REGION_LABELS, "regions": REGION_LABELS, "since_injury": SINCE_INJURY_LABELS,
              "injury_phase": PHASE_LABELS, "reason": REASON_LABELS, "diagnosis": DIAGNOSIS_LABELS,
              "side": SIDE_LABELS, "wording": WORDING_LABELS}.get(facet, {})
    return labels.get(value, value)


def resolve_why(field: str, typed: str) -> list[str]:
    """What a value typed in the search box (region:"lumbar spine", reason:"functional improvement",
    diagnosis:radiculopathy) stands for: the ids it names, by id, label or a word of the label; [] for none."""
    labels = {"regions": REGION_LABELS, "reason": REASON_LABELS, "diagnosis": DIAGNOSIS_LABELS,
              "side": SIDE_LABELS, "since_injury": SINCE_INJURY_LABELS,
              "injury_phase": PHASE_LABELS}.get(field, {})
    wanted = " ".join(typed.lower().replace("-", " ").split())
    exact = [key for key, label in labels.items() if wanted in (key.replace("-", " "), label.lower())]
    if exact:
        return exact
    return [key for key, label in labels.items() if wanted and (wanted in label.lower() or wanted in key)]


def days_range(typed: str) -> tuple[int | None, int | None] | None:
    """since_injury:<90d, >1y, 6-12w, 10-20d as a range of days (None: open), or None when it is not one (a
    band such as 3-6m is the band, counted in calendar months as the facet counts it)."""
    if typed.strip().lower() in SINCE_INJURY_LABELS:
        return None
    match = _SPAN.match(" ".join(typed.lower().split()))
    if not match:
        return None
    unit_a = _UNITS.get(match.group("ua") or match.group("ub") or "d")
    unit_b = _UNITS.get(match.group("ub") or match.group("ua") or "d")
    if unit_a is None or unit_b is None:
        return None
    a = int(match.group("a")) * unit_a
    if match.group("b") is not None:
        b = int(match.group("b")) * unit_b
        return (a, b) if a <= b else None
    return {"<": (0, a - 1), "<=": (0, a), ">": (a + 1, None), ">=": (a, None)}.get(match.group("op") or "", (a, a))
