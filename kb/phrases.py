"""Phrase tables and sentences: what the taggers of body regions, diagnoses and decision reasons share.

Reference tables (kb/data/regions.json, diagnoses.json, reasons.json) write their phrases as regular
expressions in which a space stands for any run of whitespace, line breaks included, so a phrase matches
the letter text as extracted (wrapped lines, double spaces) and every match keeps its span in that text.
`compile_phrases` turns such a list into one case-insensitive pattern matched at word edges, longest
phrases tried first. `sentence_spans` cuts prose into sentences without losing offsets.

Everything here is pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from kb.models import Span


def phrase_regex(phrase: str) -> str:
    """One phrase as regex source: each space matches any whitespace run."""
    return r"\s+".join(phrase.split(" "))


_PLAIN_START = re.compile(r"[A-Za-z0-9](?![?*+{])")


def compile_phrases(phrases: Iterable[str], flags: int = re.IGNORECASE) -> re.Pattern[str]:
    """All phrases as one alternation at word edges, phrases of more words tried first.

    Python's alternation takes the first alternative that matches at a position, so "neck and upper back"
    must come before "neck" for the longer phrase to win; ordering by word count, then length, does it.
    Word edges are lookarounds rather than \\b so a phrase may start or end with a digit or a hyphen.

    Python's engine tries every alternative at every word start, so phrases that begin with a plain letter
    or digit are grouped under that first character ("[nN](?:eck and upper back|eck)"): a position then
    costs one test per first character instead of one per phrase. The order within a group is kept, and
    phrases that begin with a regular-expression construct are tried before the groups.
    """
    ordered = sorted(dict.fromkeys(phrases), key=lambda p: (-len(p.split(" ")), -len(p)))
    if not ordered:
        return re.compile(r"(?!)")
    groups: dict[str, list[str]] = {}
    others: list[str] = []
    for phrase in ordered:
        regex = phrase_regex(phrase)
        if _PLAIN_START.match(regex) and regex[1:2] not in ("|", ")", ""):
            groups.setdefault(regex[0].lower(), []).append(regex[1:])
        else:
            others.append(regex)
    folded = bool(flags & re.IGNORECASE)
    dispatched = [
        ("[" + first + first.upper() + "]" if folded and first.isalpha() else re.escape(first)) + "(?:" + "|".join(rests) + ")"
        for first, rests in groups.items()
    ]
    body = "|".join(others + dispatched)
    return re.compile(r"(?<![\w-])(?:" + body + r")(?![\w])", flags)


# A sentence ends at ".", "?" or "!" followed by whitespace and a capital, a digit or a quote, or at a
# blank line. Abbreviations the letters use mid-sentence ("Dr.", "e.g.", "vs.", "i.e.", "approx.") do not
# end one; decimals ("7.5mg") never match because a space must follow the stop.
_ABBREVIATIONS = frozenset(("dr", "mr", "mrs", "ms", "e.g", "i.e", "vs", "approx", "no", "inc", "etc", "st", "fig", "al"))
_SENTENCE_END = re.compile(r"(?P<stop>[.?!][\"')\]]*)\s+(?=[\"'(\[]?[A-Z0-9])|\n[ \t]*\n")


def sentence_spans(text: str, offset: int = 0) -> list[Span]:
    """The sentences of `text`, as spans shifted by `offset`, without surrounding whitespace."""
    spans: list[Span] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        stop = match.group("stop") or ""
        end = match.end("stop") if stop else match.start()
        if stop[:1] == "." and _last_word(text, start, match.start()) in _ABBREVIATIONS:
            continue
        _append(spans, text, start, end, offset)
        start = match.end()
    _append(spans, text, start, len(text), offset)
    return spans


def _last_word(text: str, start: int, end: int) -> str:
    words = text[max(start, end - 12) : end].split()
    return words[-1].lower().lstrip("(") if words else ""


def _append(spans: list[Span], text: str, start: int, end: int, offset: int) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append(Span(start + offset, end + offset))
