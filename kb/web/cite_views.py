"""Cite-check: paste a brief, see which IMR decisions it cites and whether its quotations are in them."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for

from kb.citecheck import MAX_BRIEF_CHARS, MIN_QUOTE_WORDS, CiteCheckError, check_brief
from kb.search_request import SearchError
from kb.web import search_index
from kb.web.search_views import letter_url

blueprint = Blueprint("cite", __name__)
API_VERSION = 1


def _report(text: str, *, external: bool) -> dict:
    try:
        report = check_brief(text, search_index())
    except CiteCheckError as error:
        raise SearchError(str(error)) from None
    for case in report["case_numbers"]:
        if case["found"]:
            case["url"] = letter_url(case["case_number"], external=external)
            for item in case["items"]:
                item["url"] = letter_url(case["case_number"], item["ordinal"], external=external)
    for quote in report["quotations"]:
        for passage in quote["passages"]:
            letter_id, _, ordinal = passage["passage_id"].rpartition("/")
            passage["url"] = letter_url(letter_id, int(ordinal), external=external)
    return report


@blueprint.route("/cite-check", methods=["GET", "POST"])
def cite_check():
    text = request.form.get("text", "") if request.method == "POST" else ""
    report = _report(text, external=False) if request.method == "POST" else None
    return render_template("cite_check.html", text=text, report=report, max_chars=MAX_BRIEF_CHARS,
                           min_words=MIN_QUOTE_WORDS, api_url=url_for("cite.cite_check_json"))


@blueprint.post("/api/cite-check")
def cite_check_json():
    """The brief as JSON {"text": ...}, as a form field `text`, or as a text/plain body."""
    if request.is_json:
        body = request.get_json(silent=True)
        text = body.get("text") if isinstance(body, dict) else None
        if not isinstance(text, str):
            raise SearchError('send JSON of the form {"text": "the brief"}')
    elif "text" in request.form:
        text = request.form["text"]
    else:
        text = request.get_data(as_text=True)
    return {"version": API_VERSION, **_report(text, external=True)}
