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

from kb.bands import age_band, since_injury
from kb.diagnoses import letter_diagnoses
from kb.models import Letter, Span
from kb.reasons import find_reasons
from kb.regions import item_region, summary_regions


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
