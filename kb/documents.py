"""The index documents of a letter: one letter document (the whole record the letter page shows) and one
passage document per item, with every field the engines index and the facet columns count. Built in the
worker that parsed the letter (kb.pool), so the indexing process only writes them. No engine here.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from kb.dwc import ItemCheck, filed_under, match_items, treatments_of
from kb.guidelines import citation_ancestry
from kb.models import Letter
from kb.records import item_record, letter_record
from kb.why import why_tags

LETTER, PASSAGE = "letter", "passage"


@dataclass(frozen=True)
class Source:
    """Where a letter came from: recorded in the index so the letter page can offer the original."""

    path: str
    sha256: str
    kind: str  # "pdf" | "text"
    size: int
    pages: int | None = None


# --------------------------------------------------------------------------------------------
# Documents


def letter_id_of(letter: Letter) -> str:
    """The case number, or for a letter without one a stable id from its items' content.

    The content id ignores whitespace, so the PDF and the text of the same letter get the same id.
    """
    if letter.case_number:
        return letter.case_number
    content = "\n".join(
        f"{item.heading}\t{item.decision}\t{' '.join(item.rationale.split())}" for item in letter.items
    )
    return "L-" + hashlib.sha256(content.encode("utf-8")).hexdigest()[:12]


def letter_name(case_number: str | None, letter_id: str) -> str:
    """How a letter is named on the pages and in cite-check: its case number, or for a letter whose text has
    none (the 2014-15 decision bodies) its content id, said to be one."""
    return case_number or f"{letter_id} (no case number)"


# An IMR case number as people write it: any case, spaces, no dash or a typographic one ("cm16 0213037").
# The spaces are matched possessively (*+): "CM12" and 200,000 spaces must not be tried at every split.
CASE_NUMBER = re.compile(r"(?<![A-Za-z0-9])CM\s*+(\d{2})\s*+[-‐‑–—]?\s*+(\d{7})(?!\d)", re.I)


def canonical_case_number(text: str) -> str | None:
    """'cm16 0213037' -> 'CM16-0213037'; None when the text is not a case number."""
    match = CASE_NUMBER.fullmatch(text.strip())
    return f"CM{match.group(1)}-{match.group(2)}" if match else None


def items_signature(letter: Letter) -> str:
    """Each item's "heading\tdecision": what tells two parses of a letter apart (kb.decisions)."""
    return "\n".join(f"{item.heading}\t{item.decision}" for item in letter.items)


def passage_id_of(letter_id: str, ordinal: int) -> str:
    return f"{letter_id}/{ordinal}"


def _keyword(values: Iterable[str | None]) -> str:
    """A comma-separated KEYWORD value: each value once, in order, commas inside values removed."""
    return ",".join(dict.fromkeys(v.replace(",", " ").strip() for v in values if v and v.strip()))


_EPOCH = datetime(1970, 1, 1)


def _decision_datetime(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso) if iso else None


def dwc_checks(letter: Letter, dwc: dict | None) -> list[ItemCheck | None]:
    """Each item against the DWC's row for its letter (kb.dwc.match_items); None for every item when there is
    no row, or it is another case's."""
    if not dwc or dwc.get("case_number") != letter.case_number:
        return [None] * len(letter.items)
    checks = match_items([(item.treatment.category, item.decision) for item in letter.items], treatments_of(dwc))
    return checks or [None] * len(letter.items)


def _dwc_fields(check: ItemCheck | None) -> dict:
    if check is None:  # empty, not absent: Whoosh keeps no column for a field no document of a segment has
        return dict.fromkeys(("dwc_category", "dwc_subcategory", "dwc_decision", "dwc_check"), "")
    return {  # the category, and beneath it "Category / Subcategory", as the guideline field holds parts
        "dwc_category": _keyword(v for t in check.treatments for v in (t.category, filed_under(t))),
        "dwc_subcategory": _keyword(t.subcategory for t in check.treatments),
        "dwc_decision": _keyword(t.decision or t.dwc_decision for t in check.treatments),
        "dwc_check": _keyword(check.checks),
    }


def _dwc_item_record(check: ItemCheck | None) -> dict | None:
    if check is None:
        return None
    return {"matched": check.matched, "checks": list(check.checks),
            "treatments": [{"category": t.category, "subcategory": t.subcategory, "decision": t.decision,
                            "dwc_decision": t.dwc_decision, "filed_under": filed_under(t)} for t in check.treatments]}


def documents(letter: Letter, source: Source, dwc: dict | None = None, why: list[dict] | None = None) -> list[dict]:
    """The index documents of one letter: its letter document, then one passage document per item.

    `dwc` is the DWC's search row for the letter (the sidecar kb fetch writes): kept whole with the letter,
    and per item as the matched row's category, subcategory and decision, with how the parser's compare.
    `why` is kb.why.why_tags(letter), when the worker that parsed it has it already: each item's body region
    and side, time since injury, diagnoses and decision reasons (with the sentences that state them). The
    worker's age and sex are not indexed: the site offers no demographic facets (reliability.md).
    Multi-valued facets are comma-separated strings (values never contain commas, see _keyword).
    """
    letter_id = letter_id_of(letter)
    checks = dwc_checks(letter, dwc)
    why = why if why is not None else why_tags(letter)
    when = _decision_datetime(letter.decision_date)
    shared = {
        "letter_id": letter_id,
        "case_number": letter.case_number or "",
        "specialty": _keyword(letter.reviewer.specialties),
        "state": _keyword(letter.reviewer.states),
        "synthetic": letter.synthetic,
        "day": (when - _EPOCH).days if when else -1,
        "year": when.year if when else 0,
        **({"decision_date": when} if when else {}),
    }
    record = letter_record(letter, source=source.path)
    record["letter_id"] = letter_id
    record["source"] = {"path": source.path, "sha256": source.sha256, "kind": source.kind,
                        "size": source.size, "pages": source.pages}
    if any(checks):
        record["dwc"] = dwc
        for item_data, check in zip(record["items"], checks):
            item_data["dwc"] = _dwc_item_record(check)
    for item_data, tags in zip(record["items"], why):
        item_data["why"] = _why_record(tags)
    docs = [{"kind": LETTER, "passage_id": letter_id, "data": json.dumps(record, ensure_ascii=False), **shared}]
    for item, check, tags in zip(letter.items, checks, why):
        ca = [c.id for c in item.claims_administrator_citations]
        reviewer = [c.id for c in item.reviewer_citations]
        cited = [*ca, *reviewer]
        docs.append({
            "kind": PASSAGE,
            "passage_id": passage_id_of(letter_id, item.ordinal),
            "ordinal": item.ordinal,
            "heading": item.heading,
            "rationale": item.rationale,
            "decision": item.decision,
            # drugs by active ingredient ("hydrocodone" finds Norco); the products as asked for beside them
            "drug": _keyword(i.name for i in item.ingredients),
            "product": _keyword(m.generic for m in item.drugs),
            "drug_class": _keyword([*(m.drug_class for m in item.drugs), *(i.drug_class for i in item.ingredients)]),
            "brand": _keyword(m.brand for m in item.drugs),
            "unresolved": _keyword(" ".join((m.brand or m.text).split()) for m in item.drugs if not m.known),
            "category": item.treatment.category,
            "subcategory": item.treatment.subcategory or "",
            "guideline_ca": _keyword(ca),
            "guideline_reviewer": _keyword(reviewer),
            "guideline": _keyword(a for c in cited for a in citation_ancestry(c)),
            "guideline_source": _keyword(
                c.source for c in (*item.claims_administrator_citations, *item.reviewer_citations)
            ),
            "divergent": "differ" if set(ca) != set(reviewer) else "same",
            **_dwc_fields(check),
            **_why_fields(tags),
            "data": json.dumps({**item_record(item), "dwc": _dwc_item_record(check), "why": _why_record(tags)},
                               ensure_ascii=False),
            **shared,
        })
    return docs


def _why_fields(tags: dict) -> dict:
    """An item's kb.why tags as passage fields (facets, and the days for since_injury:<90d)."""
    return {
        "region": tags["region"],
        "regions": _keyword(tags["regions"] or [tags["region"]]),
        "side": tags["side"],
        "since_injury": tags["since_injury"],
        "injury_phase": tags["injury_phase"],
        "days_since_injury": tags["days_since_injury"] if tags["days_since_injury"] is not None else -1,
        "diagnosis": _keyword(d["id"] for d in tags["diagnoses"]),
        "diagnosis_category": _keyword(tags["diagnosis_categories"]),
        "reason": _keyword(tags["reason_ids"]),
    }


def _why_record(tags: dict) -> dict:
    """What the letter page shows of an item's kb.why tags: all but the worker's age and sex."""
    return {key: value for key, value in tags.items() if key not in ("age_band", "sex", "ordinal")}
