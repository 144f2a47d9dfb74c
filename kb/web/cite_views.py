"""Cite-check: paste a brief, see which IMR decisions it cites, whether each quotation is in the decision it
is cited to, and every place in the brief each result comes from."""

from __future__ import annotations

import json
import re

from flask import Blueprint, render_template, request, url_for

from kb.citecheck import MAX_BRIEF_CHARS, MIN_QUOTE_WORDS, CiteCheckError, check_brief
from kb.search_request import SearchError
from kb.web import search_index
from kb.web.search_views import letter_url

blueprint = Blueprint("cite", __name__)
API_VERSION = 1
MAX_JSON_DEPTH = 32  # {"text": ...} is 1 deep; the size is bounded by MAX_CONTENT_LENGTH
_JSON_SYNTAX = re.compile(r'[\[\]{}"\\]')
# A quotation's result as the page labels it (kb.citecheck.STATUSES), and why it went to a case (BASES).
STATUS_LABELS = {"confirmed": "Confirmed", "other_item": "Other item", "other_decision": "In another decision",
                 "case_not_indexed": "Case not in the index", "not_found": "Not found", "unattributed": "No case cited"}
BASIS_LABELS = {"sentence": "cited in the same sentence", "citation": "cited in the citation that follows it",
                "paragraph": "the case last cited before it in the paragraph"}


def _report(text: str, *, external: bool) -> dict:
    try:
        report = check_brief(text, search_index())
    except CiteCheckError as error:
        raise SearchError(str(error)) from None
    for case in report["case_numbers"] + report["cases"]:
        if case["found"]:
            case["url"] = letter_url(case["case_number"], external=external)
            for item in case["items"]:
                item["url"] = letter_url(case["case_number"], item["ordinal"], external=external)
    for quote in report["quotations"]:
        for passage in quote["passages"]:  # (the attribution's in_cited_case and elsewhere are these)
            passage["url"] = letter_url(passage["letter_id"], passage["item"], external=external)
        for part in quote["attribution"]["message_parts"]:
            if "passage_id" in part:
                letter_id, _, ordinal = part["passage_id"].rpartition("/")
                part["url"] = letter_url(letter_id, int(ordinal), external=external)
            elif "letter_id" in part:
                part["url"] = letter_url(part["letter_id"], external=external)
    return report


def brief_pieces(text: str, report: dict) -> list[dict]:
    """The brief as the page shows it: pieces of text, and the opening and closing of a mark around each case
    number ({"open": "case", "number": 3}) and quotation ({"open": "quote", ...}, which may hold case numbers)."""
    marks = [(c["start"], c["end"], {"open": "case", "number": c["number"], "case_number": c["case_number"],
                                         "found": c["found"]})
             for c in report["case_numbers"]]
    marks += [(q["start"], q["end"], {"open": "quote", "number": q["number"], "status": q["attribution"]["status"]})
              for q in report["quotations"]]
    pieces: list[dict] = []
    ends: list[int] = []
    at = 0
    for start, end, opening in sorted(marks, key=lambda mark: (mark[0], -mark[1])):
        while ends and ends[-1] <= start:
            at = _close(pieces, text, at, ends.pop())
        pieces += [{"text": text[at:start]}, opening]
        ends.append(end)
        at = start
    while ends:
        at = _close(pieces, text, at, ends.pop())
    pieces.append({"text": text[at:]})
    return [piece for piece in pieces if piece.get("text", True)]


def _close(pieces: list[dict], text: str, at: int, end: int) -> int:
    pieces += [{"text": text[at:end]}, {"close": True}]
    return end


@blueprint.route("/cite-check", methods=["GET", "POST"])
def cite_check():
    text = request.form.get("text", "") if request.method == "POST" else ""
    report = _report(text, external=False) if request.method == "POST" else None
    return render_template("cite_check.html", text=text, report=report, max_chars=MAX_BRIEF_CHARS,
                           min_words=MIN_QUOTE_WORDS, api_url=url_for("cite.cite_check_json"),
                           pieces=brief_pieces(text, report) if report else [], status_labels=STATUS_LABELS,
                           basis_labels=BASIS_LABELS, help_url=url_for("search.help_page") + "#cite-check")


@blueprint.post("/api/cite-check")
def cite_check_json():
    """The brief as JSON {"text": ...}, as a form field `text`, or as a text/plain body."""
    if request.is_json:
        body = _json_body(request.get_data(as_text=True))
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str):
            raise SearchError('send JSON of the form {"text": "the brief"}')
    elif "text" in request.form:
        text = request.form["text"]
    else:
        text = request.get_data(as_text=True)
    return {"version": API_VERSION, **_report(text, external=True)}


def _json_body(text: str):
    """The JSON document of a request body, or None when it is not JSON; SearchError (400) when it is nested
    deeper than MAX_JSON_DEPTH (Python's parser would recurse into a RecursionError)."""
    if _nesting_exceeds(text, MAX_JSON_DEPTH):
        raise SearchError(f"the JSON body is nested more than {MAX_JSON_DEPTH} deep; send {{\"text\": \"the brief\"}}")
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def _nesting_exceeds(text: str, limit: int) -> bool:
    """Whether arrays and objects in JSON `text` nest more than `limit` deep (brackets inside strings do not
    count). One pass over the brackets, quotes and backslashes only, stopping at the first level too deep."""
    depth = 0
    in_string = skip_next = False
    for match in _JSON_SYNTAX.finditer(text):
        char = match.group()
        if skip_next:  # the quote or backslash after a backslash
            skip_next = False
        elif in_string:
            if char == "\\":
                skip_next = text[match.end():match.end() + 1] in ('"', "\\")
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False
