"""Letter pages: the whole letter, a permalink per item, a brief-ready citation, the original PDF, JSON."""

from __future__ import annotations

import re
from pathlib import Path

from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)

from kb.documents import canonical_case_number
from kb.search import highlight_words
from kb.search_request import SearchError, SearchRequest
from kb.snippets import snippet
from kb.why import why_label
from kb.store import original_path
from kb.web import search_index
from kb.web.numbers import bluebook_date
from kb.web.search_views import filter_url, letter_name, letter_url, search_url

blueprint = Blueprint("letters", __name__)

# Content ids of letters without a case number.
_CONTENT_ID = re.compile(r"L-[0-9a-f]{12}")


def canonical_letter_id(raw: str) -> str | None:
    """'cm16 0213037' -> 'CM16-0213037'; a content id as is; None for anything else."""
    return canonical_case_number(raw) or (raw if _CONTENT_ID.fullmatch(raw) else None)


def brief_citation(record: dict, item: dict, permalink: str) -> str | None:
    """Cal. DWC IMR Final Determination, Case No. CM16-0213037, item 2 (Carisoprodol 350mg #60: Upheld)
    (Dec. 9, 2016), <permalink>; None for a letter without a case number (the 2014-15 decision bodies):
    a decision is cited by its case number, and a content id made here is no citation."""
    if not record.get("case_number"):
        return None
    requested = item["partial"]["disputed"] if item.get("partial") else item["heading"]
    when = bluebook_date(record.get("decision_date")) or "date unknown"
    return (f"Cal. DWC IMR Final Determination, Case No. {record['case_number']}, item {item['ordinal']} "
            f"({requested}: {item['decision']}) ({when}), {permalink}")


# Said on the page of a letter whose text has no case number, by its layout (kb.letters).
_UNNUMBERED = {
    "body": "This is the body of a 2014-15 decision, posted without the letter's header: its text names no case "
            "number and no decision date.",
}
_UNNUMBERED_DEFAULT = "Its text names no case number."


def _unnumbered_note(record: dict) -> str | None:
    if record.get("case_number"):
        return None
    return (f"{_UNNUMBERED.get(record.get('layout'), _UNNUMBERED_DEFAULT)} imr-kb names it {record['letter_id']}, "
            f"an id made from its text, so that it can be linked to; that id is not a case number, so no "
            f"citation is offered. Find the case number on the original letter before citing it.")


def _item_context(record: dict, item: dict) -> list[str]:
    """The compact line beside an item: case number, decision date, the item's decision, reviewer specialty."""
    reviewer = (record.get("reviewer") or {}).get("specialties") or []
    return [letter_name(record.get("case_number"), record["letter_id"]),
            f"decided {bluebook_date(record['decision_date'])}" if record.get("decision_date")
            else "decision date not stated",
            f"item {item['ordinal']} {item['decision'].lower()}",
            f"reviewer: {'; '.join(reviewer)}" if reviewer else "reviewer's specialty not stated"]


def _load(raw_id: str) -> tuple[str, dict]:
    letter_id = canonical_letter_id(raw_id)
    if letter_id is None:
        abort(404)
    record = search_index().letter(letter_id)
    if record is None:
        abort(404)
    return letter_id, record


def _original(record: dict) -> Path | None:
    source = record.get("source") or {}
    if source.get("kind") != "pdf" or not re.fullmatch(r"[0-9a-f]{64}", source.get("sha256", "")):
        return None
    path = original_path(Path(current_app.config["INDEX_DIR"]), source["sha256"])
    return path if path.is_file() else None


def _highlights() -> list[str]:
    """The words of the search the reader came from (?q=...&drug=...), to mark on the page."""
    if not request.args:
        return []
    try:
        return highlight_words(SearchRequest.from_params(request.args))
    except SearchError:
        return []


def _citation_links(citations: list[dict]) -> list[dict]:
    return [{"id": c["id"], "label": c["label"], "url": filter_url("guideline", c["id"])} for c in citations]


def dwc_note(item: dict) -> dict | None:
    """What the DWC's own row says about an item, as the letter page puts it: "The DWC filed this item under
    Pharmaceuticals / Opioids, Upheld", each filing a link to its search; None without a DWC row."""
    dwc = item.get("dwc")
    if not dwc:
        return None
    filings = [{"label": f"{t['filed_under']}, {t['decision'] or t['dwc_decision']}",
                "url": filter_url("dwc_category", t["filed_under"])} for t in dwc["treatments"]]
    differs = [check for check in dwc["checks"] if check.endswith("differs")]
    if dwc["matched"]:
        lead = "The DWC filed this item under"
    else:
        lead = "The DWC's rows for this letter, none of them this item's alone:"
    return {"lead": lead, "filings": filings,
            "differs": f"The tags here differ: {' and '.join(differs)}." if differs else None}


def why_view(item: dict) -> dict | None:
    """An item's body region, time since injury and the reviewer's reasons as the letter page says them, each a
    link to its search; None for an item indexed before these were tagged."""
    why = item.get("why")
    if not why:
        return None
    region = why["region"] if why["region"] != "unstated" else None
    days = why.get("days_since_injury")
    return {
        "region": {"label": why_label("region", region) + (f", {why['side']}" if why["side"] not in ("unstated", "")
                                                            else ""),
                   "url": filter_url("region", region)} if region else None,
        "since_injury": {"label": _after_injury(days), "url": filter_url("since_injury", why["since_injury"])}
        if days is not None else None,
        "reasons": [{"id": r["id"], "label": r["label"], "url": filter_url("reason", r["id"])} for r in why["reasons"]],
    }


def _after_injury(days: int) -> str:
    if days < 60:
        return f"{days} days after the injury"
    if days < 730:
        return f"{round(days / 30.44)} months after the injury"
    return f"{days / 365.25:.1f} years after the injury".replace(".0 years", " years")


def rationale_pieces(item: dict, words: list[str]) -> list[dict]:
    """The rationale in pieces: the sentences that state a reason the reviewer gave (kb.reasons) marked with
    it, the rest plain; each piece's words of the reader's search marked too."""
    rationale = item["rationale"]
    start = (item.get("spans") or {}).get("rationale", [0])[0]
    sentences = {}
    for reason in (item.get("why") or {}).get("reasons", []):
        a, b = reason["span"][0] - start, reason["span"][1] - start
        if 0 <= a < b <= len(rationale):
            sentences.setdefault((a, b), []).append(reason["label"])
    pieces, position = [], 0
    for (a, b), labels in sorted(sentences.items()):
        if a < position:
            continue
        if a > position:
            pieces.append({"reasons": None, "segments": _segments(rationale[position:a], words)})
        pieces.append({"reasons": "; ".join(labels), "segments": _segments(rationale[a:b], words)})
        position = b
    if position < len(rationale):
        pieces.append({"reasons": None, "segments": _segments(rationale[position:], words)})
    return pieces


def _segments(text: str, words: list[str]) -> list[dict]:
    return [s.__dict__ for s in snippet(text, words, size=None)]


def letter_view(record: dict, words: list[str]) -> dict:
    """Everything the letter page shows, ready for the template."""
    letter_id = record["letter_id"]
    wording = search_index().wording_of([f"{letter_id}/{item['ordinal']}" for item in record["items"]])
    items = []
    for item in record["items"]:
        permalink = letter_url(letter_id, item["ordinal"], external=True)
        reused = wording.get(f"{letter_id}/{item['ordinal']}")
        items.append({
            "ordinal": item["ordinal"],
            "anchor": f"item-{item['ordinal']}",
            "heading": item["heading"],
            "decision": item["decision"],
            "partial": item.get("partial"),
            "category": item["category"],
            "subcategory": item.get("subcategory"),
            "category_url": filter_url("category", item["category"]),
            "drugs": [{"label": d["generic"] + (f" ({d['brand']})" if d.get("brand") else ""),
                       "class": d["class"], "strength": d.get("strength"), "quantity": d.get("quantity"),
                       "url": filter_url("drug", d["generic"])} for d in item["drugs"]],
            "claims_administrator_guideline": item["claims_administrator_guideline"],
            "reviewer_guideline": item["reviewer_guideline"],
            "guidelines_ca": _citation_links(item["guidelines"]["claims_administrator"]),
            "guidelines_reviewer": _citation_links(item["guidelines"]["reviewer"]),
            "rationale": rationale_pieces(item, words),
            "why": why_view(item),
            "wording": {"others": reused[0], "url": filter_url("wording_group", reused[1])} if reused else None,
            "permalink": permalink,
            "similar_url": url_for("passages.similar", letter_id=letter_id, ordinal=item["ordinal"]),
            "citation": brief_citation(record, item, permalink),
            "context": _item_context(record, item),
            "dwc": dwc_note(item),
        })
    reviewer = record.get("reviewer") or {}
    return {
        "letter_id": letter_id,
        "title": f"Case No. {record['case_number']}" if record.get("case_number")
        else f"Letter without a case number ({letter_id})",
        "case_number": record.get("case_number"),
        "unnumbered": _unnumbered_note(record),
        "synthetic": record.get("synthetic", False),
        "permalink": letter_url(letter_id, external=True),
        "header": [(label, value) for label, value in (
            ("Decision date", bluebook_date(record.get("decision_date"))),
            ("Date assigned", bluebook_date(record.get("date_assigned"))),
            ("Date of injury", bluebook_date(record.get("date_of_injury"))),
            ("UR denial date", bluebook_date(record.get("ur_denial_date"))),
            ("Application received", bluebook_date(record.get("application_received"))),
            ("Priority", record.get("priority")),
        ) if value],
        "specialties": [{"label": s, "url": filter_url("specialty", s)} for s in reviewer.get("specialties", [])],
        "states": reviewer.get("states", []),
        "summary": [s.__dict__ for s in snippet(record.get("summary") or "", words, size=None)],
        "items": items,
        "highlighted": bool(words),
    }


@blueprint.get("/letters/<letter_id>")
def letter(letter_id: str):
    canonical, record = _load(letter_id)
    if canonical != letter_id:
        return redirect(url_for("letters.letter", letter_id=canonical) + _query_string(), code=301)
    view = letter_view(record, _highlights())
    original = _original(record)
    view["original_url"] = url_for("letters.original", letter_id=letter_id) if original else None
    view["json_url"] = url_for("letters.letter_json", letter_id=letter_id)
    view["plain_url"] = url_for("letters.letter", letter_id=letter_id)
    view["back"] = _back_to_results()
    return render_template("letter.html", letter=view)


def _back_to_results() -> dict | None:
    """The search the reader came from (its parameters ride on the result's link): a link back to the same
    page of results, said in words; None when the letter was not reached from a search."""
    if not request.args:
        return None
    try:
        search_request = SearchRequest.from_params(request.args)
    except SearchError:
        return None
    if not (search_request.q or search_request.filters or search_request.date_from or search_request.date_to):
        return None
    label = "Back to the results"
    if search_request.q:
        label += f" for “{search_request.q}”"
    if search_request.page > 1:
        label += f" (page {search_request.page})"
    return {"url": search_url(search_request.query_string()), "label": label}


@blueprint.get("/letters/<letter_id>/items/<int:ordinal>")
def item(letter_id: str, ordinal: int):
    canonical, record = _load(letter_id)
    if not 1 <= ordinal <= len(record["items"]):
        abort(404)
    target = url_for("letters.letter", letter_id=canonical) + _query_string()
    return redirect(f"{target}#item-{ordinal}", code=302)


def _query_string() -> str:
    """The request's query string, passed on as it came (repeated parameters included, nothing interpreted)."""
    raw = request.query_string.decode("utf-8", "replace")
    return "?" + raw if raw else ""


@blueprint.get("/letters/<letter_id>/original.pdf")
def original(letter_id: str):
    _, record = _load(letter_id)
    path = _original(record)
    if path is None:
        abort(404)
    return send_file(path, mimetype="application/pdf", download_name=f"{record['letter_id']}.pdf")


@blueprint.get("/api/letters/<letter_id>")
def letter_json(letter_id: str):
    letter_id, record = _load(letter_id)
    view = letter_view(record, [])
    public = {key: value for key, value in record.items() if key not in ("source", "summary_span")}
    public["source"] = {key: (record.get("source") or {}).get(key) for key in ("kind", "sha256", "pages")}
    public["url"] = view["permalink"]
    public["original_pdf"] = (request.host_url.rstrip("/") + url_for("letters.original", letter_id=letter_id)
                              if _original(record) else None)
    for item, shown in zip(public["items"], view["items"]):
        item["url"] = shown["permalink"]
        item["citation"] = shown["citation"]
    return {"version": 1, "letter": public}
