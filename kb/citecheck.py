"""Cite-check: the IMR case numbers and quotations in a brief, checked against the index. No Flask here.

Case numbers are found however they are written (CM16-0213037, CM16 0213037, CM160213037, cm16-0213037,
with a typographic dash), with the items cited after them ("CM16-0213037, item 2"); each is resolved to its
letter or flagged as not in the index, and the places a case is cited are grouped under it. A quotation (a
passage in straight or curly double quotes of at least MIN_QUOTE_WORDS words) is attributed to the case
number cited nearest it (the rule, with examples, is kb/data/citecheck.json's "about") and looked for in
that decision and in every indexed rationale, compared without regard to case, spacing, quote style or
[bracketed] alterations, and with "..." standing for omitted words: confirmed in the decision cited, found
only in another decision, or not found, each said with the decisions and items that hold the words.

Every scan of the brief is linear in its length (a brief of 200,000 spaces or quotation marks included):
str.find, and regular expressions whose repeats are possessive or cannot overlap.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field
from pathlib import Path

from kb import budget
from kb.documents import CASE_NUMBER, canonical_case_number, letter_name

MAX_BRIEF_CHARS = 200_000
MAX_CASE_NUMBERS = 500
MAX_QUOTES = 200
MIN_QUOTE_WORDS = 6

QUOTE_CHARS = (10, 4000)  # the shortest and longest text between quotation marks that is a quotation
_CLOSING_MARK = {"“": "”", '"': '"'}
_ELLIPSIS = re.compile(r"\.\s?\.\s?\.|…")  # the spaces around it go when the fragments are normalized
_IN_PARTS = "check the brief in parts, or try again in a moment"

DATA_PATH = Path(__file__).resolve().parent / "data" / "citecheck.json"
DATA = json.loads(DATA_PATH.read_text(encoding="utf-8"))
ABBREVIATIONS = frozenset(DATA["abbreviations"])  # a full stop after these does not end a sentence
CITATION_WORDS = frozenset(DATA["citation_words"])  # what may precede the case number of a citation sentence
CITATION_TAIL_WORDS = frozenset(DATA["citation_tail_words"])  # what may follow it, outside parentheses
# How far from a quotation a case number may be cited and still be its source (characters): a sentence or
# a paragraph without punctuation or blank lines (a pasted table, a PDF's text) must not reach across pages.
SENTENCE_REACH = 400
CITATION_REACH = 200
PARAGRAPH_REACH = 1_500
BASES = ("sentence", "citation", "paragraph")  # why a quotation is attributed to a case, in order of preference
STATUSES = ("confirmed", "other_item", "other_decision", "case_not_indexed", "not_found", "unattributed")
NAMED_LETTERS = 5  # the decisions named in a message; more are counted
MAX_ITEMS_CITED = 100  # item numbers read after one case number ("items 1-50, 1-50, ..." goes no further)
EXCERPT_CHARS = 40  # of the brief on either side of a case number, to recognise the place

# A sentence ends at a stop (and closing quotes or brackets), spaces, then a capital, a digit or an opening
# quote; a paragraph at a blank line. Both possessive: a stop before 200,000 spaces is tried once.
_SENTENCE_END = re.compile(r"([.?!])[\"'\u201d\u2019)\]]*+\s++(?=[\"'\u201c\u2018(\[]?[A-Z0-9])")
_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*+\n\s*+")
_ITEMS_CITED = re.compile(r"[^\S\n]*+[,;:(\[]?[^\S\n]*+(?:at[^\S\n]++)?items?[^\S\n]*+(?:no\.?[^\S\n]*+|#[^\S\n]*+)?"
                          r"(\d{1,3}(?:[^\S\n]*+(?:,|and|&|-|\u2013|to|through)[^\S\n]*+\d{1,3}(?!\d))*+)(?!\d)", re.I)
_ITEM_TOKEN = re.compile(r"\d+|-|\u2013|to|through", re.I)
_WORD = re.compile(r"[^\W\d_]+")
_WORDS = re.compile(r"\w+")
_SPACES = re.compile(r"\s+")
_ASIDES = re.compile(r"\([^()]*\)|https?://\S*")  # parentheticals and addresses, left out of a citation's tail
_DASHES = str.maketrans({"‐": "-", "‑": "-", "–": "-", "—": "-", "’": "'", "‘": "'", "“": '"', "”": '"'})


class CiteCheckError(ValueError):
    """A brief that cannot be checked (too long, empty), with the reason."""


@dataclass
class CaseMention:
    written: str  # as it appears in the brief
    case_number: str  # canonical: CM16-0213037
    start: int
    end: int
    items: tuple[int, ...] = ()  # the items cited right after it: "CM16-0213037, items 1 and 2"


@dataclass
class Quote:
    text: str
    start: int
    end: int
    fragments: list[str] = field(default_factory=list)  # normalized, split at ellipses


def case_mentions(text: str) -> list[CaseMention]:
    return [CaseMention(m.group(0), f"CM{m.group(1)}-{m.group(2)}", m.start(), m.end(), _items_cited(text, m.end()))
            for m in CASE_NUMBER.finditer(text)]


def _items_cited(text: str, at: int) -> tuple[int, ...]:
    """The item numbers cited right after a case number: ", item 2", " (items 1 and 3)", " at items 2-4"."""
    match = _ITEMS_CITED.match(text, at)
    if not match:
        return ()
    items: list[int] = []
    in_range = False
    for token in _ITEM_TOKEN.findall(match.group(1)):
        if len(items) >= MAX_ITEMS_CITED:
            break
        if not token.isdigit():
            in_range = True
            continue
        number = int(token)
        if in_range and items and 0 < number - items[-1] <= 50:
            items.extend(range(items[-1] + 1, number + 1))
        else:
            items.append(number)
        in_range = False
    return tuple(dict.fromkeys(items))


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


# --------------------------------------------------------------------------------------------
# Attribution: which case number a quotation is cited to


@dataclass(frozen=True)
class Attribution:
    mention: int | None  # index of the case mention (in case_mentions order) the quotation is cited to
    basis: str | None  # one of BASES: why that one


def attribute(text: str, mentions: list[CaseMention], quotes: list[Quote]) -> list[Attribution]:
    """Each quotation's case number, by the rule of kb/data/citecheck.json: the nearest in the same sentence,
    else the citation sentence after it, else the last one before it in the paragraph, else none."""
    sentences = sentence_starts(text)
    paragraphs = paragraph_starts(text)
    free = _outside_quotations(mentions, quotes)
    starts = [mentions[i].start for i in free]
    return [_attribution(text, quote, mentions, free, starts, sentences, paragraphs) for quote in quotes]


def sentence_starts(text: str) -> list[int]:
    """Where each sentence of the brief starts (0 first), paragraph starts included."""
    starts = [0]
    for match in _SENTENCE_END.finditer(text):
        if match.group(1) == "." and _is_abbreviation(text, match.start()):
            continue
        starts.append(match.end())
    return sorted(set(starts + paragraph_starts(text)))


def paragraph_starts(text: str) -> list[int]:
    """Where each paragraph starts (0 first): after a blank line."""
    return [0] + [match.end() for match in _PARAGRAPH_BREAK.finditer(text)]


def _is_abbreviation(text: str, stop: int) -> bool:
    """Whether the full stop at `stop` ends an abbreviation ("No.", "Dec.", "e.g.") or an initial ("J.")."""
    words = text[max(0, stop - 12):stop].split()
    word = words[-1].lstrip("([\"'\u201c\u2018").lower() if words else ""
    return word in ABBREVIATIONS or (len(word) == 1 and word.isalpha())


def _is_citation(lead: str, tail: str) -> bool:
    """Whether a sentence with these words before and after its first case number is a citation sentence
    ("See IMR Case No. CM16-0213037, item 2 (Dec. 9, 2016).") rather than prose ("In CM16-0219557, the reviewer
    disagreed.", "CM16-0219557 says ...")."""
    return (all(word.lower() in CITATION_WORDS for word in _WORD.findall(lead))
            and all(word.lower() in CITATION_TAIL_WORDS for word in _WORD.findall(_ASIDES.sub(" ", tail))))


def _outside_quotations(mentions: list[CaseMention], quotes: list[Quote]) -> list[int]:
    """The indexes of the mentions that are not inside a quotation (those are quoted words, not citations)."""
    free, q = [], 0
    for i, mention in enumerate(mentions):
        while q < len(quotes) and quotes[q].end <= mention.start:
            q += 1
        if q == len(quotes) or mention.end <= quotes[q].start:
            free.append(i)
    return free


def _attribution(text: str, quote: Quote, mentions: list[CaseMention], free: list[int], starts: list[int],
                 sentences: list[int], paragraphs: list[int]) -> Attribution:
    """One quotation's attribution. `free`: the indexes of the mentions outside quotations, `starts` where
    they start; `sentences` and `paragraphs`: where those start. The sentence of a quotation runs from the
    sentence its opening mark is in to the end of the one its closing mark is in."""
    following_sentence = bisect_right(sentences, quote.end - 1)
    sentence_start = sentences[bisect_right(sentences, quote.start) - 1]
    sentence_end = sentences[following_sentence] if following_sentence < len(sentences) else len(text)
    next_end = sentences[following_sentence + 1] if following_sentence + 1 < len(sentences) else len(text)
    paragraph_start = paragraphs[bisect_right(paragraphs, quote.start) - 1]
    later = bisect_right(paragraphs, quote.end - 1)
    paragraph_end = paragraphs[later] if later < len(paragraphs) else len(text)

    before = bisect_left(starts, quote.start) - 1  # the last free mention before the quotation
    after = bisect_left(starts, quote.end)  # the first after it
    prior = mentions[free[before]] if before >= 0 else None
    following = mentions[free[after]] if after < len(free) else None

    near_before = prior if prior and prior.start >= max(sentence_start, quote.start - SENTENCE_REACH) else None
    near_after = (following if following and following.start < sentence_end
                  and following.start <= quote.end + SENTENCE_REACH else None)
    if near_before and near_after:
        words_before = len(_WORDS.findall(text, near_before.end, quote.start))
        words_after = len(_WORDS.findall(text, quote.end, near_after.start))
        return Attribution(free[after] if words_after <= words_before else free[before], "sentence")
    if near_after:
        return Attribution(free[after], "sentence")
    if near_before:
        return Attribution(free[before], "sentence")
    if (following and sentence_end < paragraph_end and sentence_end <= following.start < next_end
            and following.start - sentence_end <= CITATION_REACH and next_end - following.end <= CITATION_REACH
            and _is_citation(text[sentence_end:following.start], text[following.end:next_end])):
        return Attribution(free[after], "citation")
    if prior and prior.start >= max(paragraph_start, quote.start - PARAGRAPH_REACH):
        return Attribution(free[before], "paragraph")
    return Attribution(None, None)


# --------------------------------------------------------------------------------------------
# Checking a brief against the index


def check_brief(text: str, index) -> dict:
    """Every case number and quotation in `text`, each resolved or flagged, each quotation checked against the
    case it is cited to. `index` is a kb.search.SearchIndex."""
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
    lines = [0] + [match.end() for match in re.finditer("\n", text)]
    cases = [_mention_view(text, lines, number, mention, letters[mention.case_number])
             for number, mention in enumerate(mentions, 1)]
    checked = []
    for number, (quote, attribution) in enumerate(zip(quotes, attribute(text, mentions, quotes)), 1):
        budget.check(f"checking quotation {number} of {len(quotes)}", advice=_IN_PARTS)
        mention = mentions[attribution.mention] if attribution.mention is not None else None
        checked.append(_check_quotation(index, quote, number, bisect_right(lines, quote.start), mention,
                                        attribution, letters))
    statuses = [q["attribution"]["status"] for q in checked]
    return {
        "case_numbers": cases,
        "cases": _grouped(cases, checked),
        "quotations": checked,
        "summary": {
            "case_numbers": len(cases), "case_numbers_found": sum(c["found"] for c in cases),
            "letters": len(letters), "letters_not_found": sum(1 for r in letters.values() if r is None),
            "quotations": len(checked), "quotations_found": sum(q["found"] for q in checked),
            "attribution": {status: statuses.count(status) for status in STATUSES},
        },
    }


def _mention_view(text: str, lines: list[int], number: int, mention: CaseMention, record: dict | None) -> dict:
    return {
        "number": number, "written": mention.written, "case_number": mention.case_number,
        "start": mention.start, "end": mention.end, "line": bisect_right(lines, mention.start),
        "cited_items": list(mention.items), **_excerpt(text, mention.start, mention.end),
        "found": record is not None,
        "decision_date": record.get("decision_date") if record else None,
        "items": [{"ordinal": item["ordinal"], "heading": item["heading"], "decision": item["decision"]}
                  for item in record["items"]] if record else [],
    }


def _excerpt(text: str, start: int, end: int) -> dict:
    """The brief's words just before and after a span (up to EXCERPT_CHARS each, within its paragraph), cut at
    whole words, with an ellipsis where the paragraph goes on; runs of whitespace become one space."""
    low, high = max(0, start - EXCERPT_CHARS), min(len(text), end + EXCERPT_CHARS)
    for match in _PARAGRAPH_BREAK.finditer(text, low, start):  # (within the paragraph only)
        low = match.end()
    match = _PARAGRAPH_BREAK.search(text, end, high)
    high = match.start() if match else high
    before, after = text[low:start], text[end:high]
    if low == start - EXCERPT_CHARS and low > 0:
        words = before.split(None, 1)
        before = "\u2026" + (words[1] if len(words) == 2 else before)
    if high == end + EXCERPT_CHARS and high < len(text):
        words = after.rsplit(None, 1)
        after = (words[0] if len(words) == 2 else after) + "\u2026"
    return {"before": _SPACES.sub(" ", before), "after": _SPACES.sub(" ", after)}


def _check_quotation(index, quote: Quote, number: int, line: int, mention: CaseMention | None,
                     attribution: Attribution, letters: dict[str, dict | None]) -> dict:
    cited = mention.case_number if mention else None
    record = letters.get(cited) if cited else None
    in_case = [_passage(f"{cited}/{item['ordinal']}", item)
               for item in (record["items"] if record else []) if contains(item["rationale"], quote)]
    candidates = index.quote_candidates(quote.fragments)
    elsewhere = [_passage(hit["passage_id"], hit) for hit in candidates
                 if hit["passage_id"].rpartition("/")[0] != cited and contains(hit["rationale"], quote)]
    cited_items = list(mention.items) if mention else []
    if cited is None:
        status = "unattributed"
    elif record is None:
        status = "case_not_indexed"
    elif in_case:
        in_cited_item = not cited_items or any(p["item"] in cited_items for p in in_case)
        status = "confirmed" if in_cited_item else "other_item"
    else:
        status = "other_decision" if elsewhere else "not_found"
    parts = _message(status, cited, cited_items, in_case, elsewhere)
    return {
        "number": number, "text": quote.text, "start": quote.start, "end": quote.end, "line": line,
        "found": bool(in_case or elsewhere), "passages": in_case + elsewhere,
        "attribution": {
            "status": status, "case_number": cited, "mention": attribution.mention + 1 if mention else None,
            "basis": attribution.basis, "cited_items": cited_items,
            "in_cited_case": in_case, "elsewhere": elsewhere,
            "message": "".join(part["text"] for part in parts), "message_parts": parts,
        },
    }


def _passage(passage_id: str, fields: dict) -> dict:
    letter_id, _, ordinal = passage_id.rpartition("/")
    return {"passage_id": passage_id, "letter_id": letter_id, "item": int(ordinal),
            "heading": fields["heading"], "decision": fields["decision"]}


def _message(status: str, cited: str | None, cited_items: list[int], in_case: list[dict],
             elsewhere: list[dict]) -> list[dict]:
    """What was found, as parts of a sentence; a part naming a decision carries its `passage_id` or
    `letter_id` (the site links it). The sentence joined is the report's `message`."""
    def text(words: str) -> dict:
        return {"text": words}

    also = text(f"; the same words are also in {_decisions(elsewhere)}" if elsewhere else "")
    if status == "confirmed":
        return [text("In "), *_places(in_case), text(", as cited" if cited_items else ""), also]
    if status == "other_item":
        return [text("In "), {"text": cited, "letter_id": cited}, text(", but in "), *_places(in_case, named=False),
                text(f", not {_items_phrase(cited_items)} as cited"), also]
    if status == "other_decision":
        return [text("Not in "), {"text": cited, "letter_id": cited}, text("; these words are in "), *_places(elsewhere)]
    lead = {"case_not_indexed": [{"text": cited}, text(" is not in the index")],
            "not_found": [text("Not in "), {"text": cited, "letter_id": cited}],
            "unattributed": [text("No case number is cited near it")]}[status]
    if elsewhere:
        return [*lead, text("; these words are in "), *_places(elsewhere)]
    if status == "not_found":
        return [*lead, text(", nor in any other indexed decision")]
    return [*lead, text(", and these words are in no indexed decision")]


def _places(passages: list[dict], named: bool = True) -> list[dict]:
    """"CM16-0219557, item 1; CM16-0224814, items 2 and 3": each item a part to link, up to NAMED_LETTERS
    decisions; `named=False` leaves out the decision's name (the sentence has said it)."""
    by_letter: dict[str, list[dict]] = {}
    for passage in passages:
        by_letter.setdefault(passage["letter_id"], []).append(passage)
    parts: list[dict] = []
    for n, (letter_id, held) in enumerate(by_letter.items()):
        if n == NAMED_LETTERS:
            more = len(by_letter) - NAMED_LETTERS
            parts.append({"text": f"; and {more} more decision{'s' if more > 1 else ''}"})
            break
        if n:
            parts.append({"text": "; "})
        name = f"{letter_name(canonical_case_number(letter_id), letter_id)}, " if named else ""
        for k, passage in enumerate(held):
            if k:
                parts.append({"text": " and " if k == len(held) - 1 else ", "})
            label = f"{name}{'items' if len(held) > 1 else 'item'} {passage['item']}" if k == 0 else str(passage["item"])
            parts.append({"text": label, "passage_id": passage["passage_id"]})
    return [part for part in parts if part["text"]]


def _decisions(passages: list[dict]) -> str:
    count = len({passage["letter_id"] for passage in passages})
    return f"{count} other decision{'s' if count > 1 else ''}"


def _items_phrase(items: list[int]) -> str:
    numbers = [str(n) for n in items]
    if len(numbers) == 1:
        return f"item {numbers[0]}"
    return f"items {', '.join(numbers[:-1])} and {numbers[-1]}"


def _grouped(cases: list[dict], checked: list[dict]) -> list[dict]:
    """One row per distinct case number, in the order first cited: every place it is cited, and the
    quotations attributed to it."""
    groups: dict[str, dict] = {}
    for case in cases:
        group = groups.setdefault(case["case_number"], {
            "case_number": case["case_number"], "found": case["found"], "decision_date": case["decision_date"],
            "items": case["items"], "places": [], "quotations": [],
        })
        group["places"].append({key: case[key] for key in ("number", "written", "start", "end", "line",
                                                          "cited_items", "before", "after")})
    for quote in checked:
        cited = quote["attribution"]["case_number"]
        if cited:
            groups[cited]["quotations"].append({"number": quote["number"], "status": quote["attribution"]["status"]})
    return list(groups.values())
