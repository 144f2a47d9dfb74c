"""JSON-ready dicts of parsed letters: the shape `kb parse --format jsonl` prints.

The documented keys (README, "kb parse") come first; the rest (layout, spans, partial
authorization, rationale mentions...) are additions the contract allows.
"""

from __future__ import annotations

from typing import Any

from kb.models import Citation, DrugMention, Item, Letter, Span


def span_record(span: Span | None) -> list[int] | None:
    return [span.start, span.end] if span else None


def citation_record(citation: Citation) -> dict[str, Any]:
    return {
        "id": citation.id,
        "source": citation.source,
        "label": citation.label,
        "part": citation.part,
        "chapter": citation.chapter,
        "year": citation.year,
        "sections": list(citation.sections),
        "pages": list(citation.pages),
        "span": span_record(citation.span),
    }


def drug_record(mention: DrugMention, quantity: float | None = None) -> dict[str, Any]:
    return {
        "generic": mention.generic,
        "class": mention.drug_class,
        "brand": mention.brand,
        "strength": mention.strength,
        "quantity": quantity,
        "ingredients": [{"name": i.name, "class": i.drug_class} for i in mention.ingredients],
        "resolution": mention.resolution,
        "text": mention.text,
        "span": span_record(mention.span),
    }


def item_record(item: Item) -> dict[str, Any]:
    request = item.drug_request
    quantity = request.quantity if request else None
    return {
        "ordinal": item.ordinal,
        "heading": item.heading,
        "decision": item.decision,
        "drugs": [drug_record(m, quantity) for m in item.drugs],
        "ingredients": [{"name": i.name, "class": i.drug_class} for i in item.ingredients],
        "category": item.treatment.category,
        "subcategory": item.treatment.subcategory,
        "guidelines": {
            "claims_administrator": [citation_record(c) for c in item.claims_administrator_citations],
            "reviewer": [citation_record(c) for c in item.reviewer_citations],
        },
        "rationale": item.rationale,
        "full_heading": item.full_heading,
        "claims_administrator_guideline": item.claims_administrator_guideline,
        "reviewer_guideline": item.reviewer_guideline,
        "partial": (
            {
                "original_request": item.partial.original_request,
                "authorized": item.partial.authorized,
                "disputed": item.partial.disputed,
            }
            if item.partial
            else None
        ),
        "form": request.form if request else None,
        "quantity_unit": request.quantity_unit if request else None,
        "compound": request.compound if request else False,
        "rationale_citations": [citation_record(c) for c in item.rationale_citations],
        "rationale_drugs": [drug_record(m) for m in item.rationale_drugs],
        "spans": {
            "item": span_record(item.span),
            "heading": span_record(item.heading_span),
            "full_heading": span_record(item.full_heading_span),
            "decision": span_record(item.decision_span),
            "claims_administrator_guideline": span_record(item.claims_administrator_guideline_span),
            "reviewer_guideline": span_record(item.reviewer_guideline_span),
            "rationale": span_record(item.rationale_span),
        },
    }


def letter_record(letter: Letter, source: str | None = None) -> dict[str, Any]:
    return {
        "source": source,
        "ok": True,
        "error": None,
        "case_number": letter.case_number,
        "decision_date": letter.decision_date,
        "date_of_injury": letter.date_of_injury,
        "date_assigned": letter.date_assigned,
        "ur_denial_date": letter.ur_denial_date,
        "application_received": letter.application_received,
        "priority": letter.priority,
        "reviewer": {"specialties": list(letter.reviewer.specialties), "states": list(letter.reviewer.states)},
        "items": [item_record(item) for item in letter.items],
        "layout": letter.layout,
        "synthetic": letter.synthetic,
        "age": letter.age,
        "sex": letter.sex,
        "summary": letter.summary,
        "summary_span": span_record(letter.summary_span),
    }


def failure_record(source: str, error: str) -> dict[str, Any]:
    """The record of a file that could not be read or parsed: same keys, nothing invented."""
    return {
        "source": source,
        "ok": False,
        "error": error,
        "case_number": None,
        "decision_date": None,
        "date_of_injury": None,
        "date_assigned": None,
        "ur_denial_date": None,
        "application_received": None,
        "priority": None,
        "reviewer": {"specialties": [], "states": []},
        "items": [],
    }
