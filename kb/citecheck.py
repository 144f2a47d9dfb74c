"""Cite-check: the IMR case numbers and quotations in a brief, checked against the index. No Flask here.

Case numbers are found however they are written (CM16-0213037, CM16 0213037, CM160213037, cm16-0213037,
with a typographic dash); each is resolved to its letter or flagged as not in the index. A quotation (a
passage in straight or curly double quotes of at least MIN_QUOTE_WORDS words) is confirmed when an
indexed rationale contains it, compared without regard to case, spacing, quote style or [bracketed]
alterations, and with "..." standing for omitted words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kb import budget
from kb.documents import CASE_NUMBER

MAX_BRIEF_CHARS = 200_000
MAX_CASE_NUMBERS = 500
MAX_QUOTES = 200
MIN_QUOTE_WORDS = 6

QUOTE_CHARS = (10, 4000)  # the shortest and longest text between quotation marks that is a quotation
_CLOSING_MARK = {"“": "”", '"': '"'}
_ELLIPSIS = re.compile(r"\.\s?\.\s?\.|…")  # the spaces around it go when the fragments are normalized
_IN_PARTS = "check the brief in parts, or try again in a moment"
_DASHES = str.maketrans({"‐": "-", "‑": "-", "–": "-", "—": "-", "’": "'", "‘": "'", "“": '"', "”": '"'})


class CiteCheckError(ValueError):
    """A brief that cannot be checked (too long, empty), with the reason."""


@dataclass
class CaseMention:
    written: str  # as it appears in the brief
    case_number: str  # canonical: CM16-0213037
    start: int
    end: int


@dataclass
class Quote:
    text: str
    start: int
    end: int
    fragments: list[str] = field(default_factory=list)  # normalized, split at ellipses


def case_mentions(text: str) -> list[CaseMention]:
    return [CaseMention(m.group(0), f"CM{m.group(1)}-{m.group(2)}", m.start(), m.end())
            for m in CASE_NUMBER.finditer(text)]


def quotations(text: str) -> list[Quote]:
    found = []
    for start, end in _quoted_spans(text):
        quoted = text[start + 1:end - 1]
        if len(quoted.split()) < MIN_QUOTE_WORDS:
            continue
        fragments = [normalize(part) for part in _ELLIPSIS.split(quoted)]
        found.append(Quote(" ".join(quoted.split()), start, end, [f for f in fragments if f]))
    return found


def _quoted_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each quotation, from left to right, as a regular expression would find them: an
    opening mark (“ or "), QUOTE_CHARS characters without its closing mark, the closing mark (” or ").

    The marks are looked for with str.find, each stretch of the text scanned about once: a regular
    expression with a bounded repeat tries up to 4,000 characters after every one of 200,000 opening marks.
    """
    spans: list[tuple[int, int]] = []
    next_of = {opening: _next_quotation(text, opening, closing, 0) for opening, closing in _CLOSING_MARK.items()}
    while any(next_of.values()):
        span = min(found for found in next_of.values() if found)
        spans.append(span)
        for opening, found in next_of.items():
            if found and found[0] < span[1]:
                next_of[opening] = _next_quotation(text, opening, _CLOSING_MARK[opening], span[1])
    return spans


def _next_quotation(text: str, opening: str, closing: str, start: int) -> tuple[int, int] | None:
    """The first quotation opened by `opening` at or after `start`, or None."""
    shortest, longest = QUOTE_CHARS
    at = text.find(opening, start)
    close = -1
    while at >= 0:
        if close <= at:
            close = text.find(closing, at + 1)
            if close < 0:
                return None
        length = close - at - 1
        if shortest <= length <= longest:
            return at, close + 1
        if length < shortest:  # any opening mark before `close` is nearer still; a straight closing one may open
            at = close if opening == closing else text.find(opening, close + 1)
        else:  # the opening marks too far from `close` are passed over at once
            at = text.find(opening, max(at + 1, close - longest - 1))
    return None


def normalize(text: str) -> str:
    """Lower case, one kind of dash and quote, no brackets, single spaces, no edge punctuation."""
    text = text.translate(_DASHES).replace("[", "").replace("]", "").casefold()
    return " ".join(text.split()).strip(" .,;:'\"")


def contains(rationale: str, quote: Quote) -> bool:
    """Whether the rationale holds the quote's fragments, in order."""
    haystack = normalize(rationale)
    position = 0
    for fragment in quote.fragments:
        found = _find_words(haystack, fragment, position)
        if found < 0:
            return False
        position = found + len(fragment)
    return True


def _find_words(haystack: str, fragment: str, start: int) -> int:
    """Where `fragment` occurs from `start` as whole words ("not medical" is not in "not medically")."""
    found = haystack.find(fragment, start)
    while found >= 0:
        before = haystack[found - 1] if found else " "
        after = haystack[found + len(fragment)] if found + len(fragment) < len(haystack) else " "
        if not (before.isalnum() and fragment[0].isalnum()) and not (after.isalnum() and fragment[-1].isalnum()):
            return found
        found = haystack.find(fragment, found + 1)
    return -1


def check_brief(text: str, index) -> dict:
    """Every case number and quotation in `text`, each resolved or flagged. `index` is a kb.search.SearchIndex."""
    if not text.strip():
        raise CiteCheckError("paste the text of a brief to check")
    if len(text) > MAX_BRIEF_CHARS:
        raise CiteCheckError(f"the text is {len(text):,} characters long; the limit is {MAX_BRIEF_CHARS:,} "
                             "(check the brief in parts)")
    mentions = case_mentions(text)
    quotes = quotations(text)
    if len(mentions) > MAX_CASE_NUMBERS or len(quotes) > MAX_QUOTES:
        raise CiteCheckError(f"at most {MAX_CASE_NUMBERS} case numbers and {MAX_QUOTES} quotations are checked at "
                             "once (check the brief in parts)")
    letters: dict[str, dict | None] = {}
    for mention in mentions:
        if mention.case_number not in letters:
            budget.check(f"looking up case number {len(letters) + 1} of the brief", advice=_IN_PARTS)
            letters[mention.case_number] = index.letter(mention.case_number)
    cases = []
    for mention in mentions:
        record = letters[mention.case_number]
        cases.append({
            "written": mention.written, "case_number": mention.case_number, "start": mention.start,
            "found": record is not None,
            "decision_date": record.get("decision_date") if record else None,
            "items": [{"ordinal": item["ordinal"], "heading": item["heading"], "decision": item["decision"]}
                      for item in record["items"]] if record else [],
        })
    checked = []
    for number, quote in enumerate(quotes, 1):
        budget.check(f"checking quotation {number} of {len(quotes)}", advice=_IN_PARTS)
        passages = [hit for hit in index.quote_candidates(quote.fragments) if contains(hit["rationale"], quote)]
        checked.append({"text": quote.text, "start": quote.start, "found": bool(passages),
                        "passages": [{"passage_id": hit["passage_id"], "heading": hit["heading"],
                                      "decision": hit["decision"]} for hit in passages]})
    return {
        "case_numbers": cases,
        "quotations": checked,
        "summary": {
            "case_numbers": len(cases), "case_numbers_found": sum(c["found"] for c in cases),
            "letters": len(letters), "letters_not_found": sum(1 for r in letters.values() if r is None),
            "quotations": len(checked), "quotations_found": sum(q["found"] for q in checked),
        },
    }
