"""One passage at a time: similar rationales, and two passages compared side by side."""

from __future__ import annotations

import difflib
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
    letters = [search_index().letter(p.letter_id) or {} for p in passages]
    shown = [hit_view(p, "") for p in passages]
    return render_template("compare.html", passages=compared(shown, letters), differences=differences(shown, letters))


def _specialties(letter: dict) -> str:
    return "; ".join((letter.get("reviewer") or {}).get("specialties") or []) or "not stated"


def _treatment(hit: dict) -> str:
    return hit["category"] + (f" / {hit['subcategory']}" if hit["subcategory"] else "")


def _listed(items: list[dict], key: str = "label") -> str:
    return "; ".join(item[key] for item in items) or "none"


# What the compare page sets side by side: (label, the value of a passage's card and letter)
COMPARED_FIELDS = (
    ("Decision", lambda hit, letter: hit["decision"]),
    ("Decision date", lambda hit, letter: hit["decision_date"] or "not stated"),
    ("Treatment", lambda hit, letter: _treatment(hit)),
    ("Drugs", lambda hit, letter: _listed(hit["drugs"])),
    ("Claims administrator cited", lambda hit, letter: _listed(hit["guidelines_ca"])),
    ("Reviewer cited", lambda hit, letter: _listed(hit["guidelines_reviewer"])),
    ("Reviewer specialty", lambda hit, letter: _specialties(letter)),
)


def differences(hits: list[dict], letters: list[dict]) -> dict:
    """The compared fields of the two passages, each marked as the same or differing, and a sentence that
    names the differing ones."""
    rows = []
    for label, value_of in COMPARED_FIELDS:
        values = [value_of(hit, letter) for hit, letter in zip(hits, letters)]
        rows.append({"label": label, "values": values, "differs": values[0] != values[1]})
    differing = [row["label"].lower() for row in rows if row["differs"]]
    summary = ("They differ in " + ", ".join(differing) + "." if differing
               else "They agree in every field below; only their rationales differ.")
    return {"rows": rows, "summary": summary, "headings": [hit["name"] for hit in hits]}


def compared(hits: list[dict], letters: list[dict]) -> list[dict]:
    """Each passage's card with its citations marked as shared with the other or its own, and its rationale
    split into the words both rationales have and the stretches only it has."""
    left, right = word_differences(hits[0]["snippet"], hits[1]["snippet"])
    if not any(not segment["hit"] and segment["text"].strip() for segment in left + right):
        left, right = ([{"text": "".join(s["text"] for s in side), "hit": False}] for side in (left, right))
    cards = []
    for number, (hit, own_words) in enumerate(zip(hits, (left, right))):
        other = hits[1 - number]
        cards.append({
            **hit,
            "rationale_diff": own_words,
            "guidelines_ca": _marked_shared(hit["guidelines_ca"], other["guidelines_ca"]),
            "guidelines_reviewer": _marked_shared(hit["guidelines_reviewer"], other["guidelines_reviewer"]),
        })
    return cards


def _marked_shared(citations: list[dict], others: list[dict]) -> list[dict]:
    theirs = {c["id"] for c in others}
    return [{**c, "only_here": c["id"] not in theirs} for c in citations]


MIN_SHARED_RUN = 3
# difflib's matcher is quadratic in the words of the two sides: a rationale longer than this (a damaged or
# hostile letter; real ones run to a few hundred words) is shown whole, unmarked
MAX_DIFF_WORDS = 4_000
_TOKENS = re.compile(r"\S+|\s+")
_KEY = re.compile(r"[^\w]+")


def word_differences(left: list[dict], right: list[dict]) -> tuple[list[dict], list[dict]]:
    """Two rationales (snippet segments, whole) -> each as segments {text, hit}, `hit` marking the words
    the other rationale does not have at that point (difflib over words, ignoring case and punctuation)."""
    texts = ["".join(segment["text"] for segment in side) for side in (left, right)]
    tokens = [_TOKENS.findall(text) for text in texts]
    words = [[(i, _KEY.sub("", token.lower())) for i, token in enumerate(side) if not token.isspace()]
             for side in tokens]
    if max(len(side) for side in words) > MAX_DIFF_WORDS:
        return [{"text": texts[0], "hit": False}], [{"text": texts[1], "hit": False}]
    matcher = difflib.SequenceMatcher(a=[key for _, key in words[0]], b=[key for _, key in words[1]],
                                      autojunk=False)
    same = [set(), set()]
    # runs of fewer than MIN_SHARED_RUN words in common are chance ("the", "for"), not shared wording
    for block in (b for b in matcher.get_matching_blocks() if b.size >= MIN_SHARED_RUN):
        for offset in range(block.size):
            same[0].add(words[0][block.a + offset][0])
            same[1].add(words[1][block.b + offset][0])
    result = []
    for side in (0, 1):
        segments: list[dict] = []
        for i, token in enumerate(tokens[side]):
            differs = not token.isspace() and i not in same[side]
            if token.isspace() and segments:
                differs = segments[-1]["hit"] and _next_differs(tokens[side], i, same[side])
            if segments and segments[-1]["hit"] == differs:
                segments[-1]["text"] += token
            else:
                segments.append({"text": token, "hit": differs})
        result.append(segments)
    return result[0], result[1]


def _next_differs(tokens: list[str], i: int, same: set) -> bool:
    """Whether the word after the space at `i` differs too (a marked stretch runs over the spaces inside it)."""
    return i + 1 < len(tokens) and (i + 1) not in same
