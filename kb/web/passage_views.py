"""One passage at a time: similar rationales, and two passages compared side by side."""

from __future__ import annotations

import re

from flask import Blueprint, abort, render_template, request, url_for

from kb.search_request import SearchError
from kb.web import search_index
from kb.web.letter_views import canonical_letter_id
from kb.web.search_views import hit_view

blueprint = Blueprint("passages", __name__)
API_VERSION = 1
SIMILAR_SHOWN = 10
_PASSAGE_ID = re.compile(r"(?P<letter>[^/]{1,40})/(?P<ordinal>\d{1,3})")


def canonical_passage_id(raw: str) -> str | None:
    """'cm16 0213037/2' -> 'CM16-0213037/2'; None when it is not a passage id."""
    match = _PASSAGE_ID.fullmatch(raw.strip())
    letter_id = canonical_letter_id(match.group("letter")) if match else None
    return f"{letter_id}/{int(match.group('ordinal'))}" if letter_id else None


def _similar(letter_id: str, ordinal: int):
    passage_id = canonical_passage_id(f"{letter_id}/{ordinal}")
    source = search_index().passage(passage_id) if passage_id else None
    if source is None:
        abort(404)
    return source, search_index().similar(passage_id, SIMILAR_SHOWN) or []


@blueprint.get("/letters/<letter_id>/items/<int:ordinal>/similar")
def similar(letter_id: str, ordinal: int):
    source, hits = _similar(letter_id, ordinal)
    return render_template("similar.html", source=hit_view(source, ""), hits=[hit_view(hit, "") for hit in hits],
                           compare_url=url_for("passages.compare"),
                           json_url=url_for("passages.similar_json", letter_id=source.letter_id, ordinal=source.ordinal))


@blueprint.get("/api/letters/<letter_id>/items/<int:ordinal>/similar")
def similar_json(letter_id: str, ordinal: int):
    source, hits = _similar(letter_id, ordinal)
    return {"version": API_VERSION, "passage_id": source.passage_id,
            "similar": [{"passage_id": hit.passage_id, "heading": hit.heading, "decision": hit.decision,
                         "score": round(hit.score or 0.0, 3), "url": hit_view(hit, "")["permalink"]} for hit in hits]}


@blueprint.get("/compare")
def compare():
    raw = request.args.getlist("p")
    if len(raw) != 2:
        raise SearchError("choose exactly two passages to compare (tick two results, then Compare)")
    ids = [canonical_passage_id(value) for value in raw]
    if None in ids:
        raise SearchError("a passage is named by its case number and item, such as CM16-0213037/2")
    passages = [search_index().passage(passage_id) for passage_id in ids]
    if None in passages:
        abort(404)
    return render_template("compare.html", passages=[hit_view(p, "") for p in passages])
