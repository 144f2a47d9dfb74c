"""Snippets: the stretch of a rationale with the most query matches, split into plain and matching
segments (stems compared, as the index does)."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass

from kb.engines.analysis import stem_spans, stems

SNIPPET_TOKENS = 48


@dataclass(frozen=True)
class Segment:
    text: str
    hit: bool = False



def snippet(text: str, words: list[str], *, size: int | None = SNIPPET_TOKENS) -> list[Segment]:
    """The stretch of `text` with the most query matches, split into plain and matching segments.

    Matching compares stems (the index's analyzer), so "tapering" marks "taper"; a phrase (several words)
    marks only where its words occur in a row; a word ending in "*" marks every word starting so.
    Segments carry plain text: the template escapes them. `size=None` keeps the whole text.
    """
    if not text:
        return []
    if size is None:
        size = len(text) + 1
    tokens = stem_spans(text)
    if not tokens:
        return [Segment(_squash(text if size > len(text) else text[:300]))]
    hits = sorted(_matching_tokens([stem for _, _, stem in tokens], words))
    first = 0
    if hits:
        # the window starting at some hit that holds the most hits; a little context before it
        counts = [bisect_left(hits, start + size) - i for i, start in enumerate(hits)]
        first = max(0, hits[counts.index(max(counts))] - size // 4)
    last = min(len(tokens), first + size) - 1
    begin = 0 if first == 0 else tokens[first][0]
    end = len(text) if last == len(tokens) - 1 else tokens[last][1]
    segments: list[Segment] = [Segment("… ")] if begin > 0 else []
    position = begin
    hit_set = set(hits)
    i = first
    while i <= last:
        if i not in hit_set:
            i += 1
            continue
        run_end = i
        while run_end + 1 <= last and run_end + 1 in hit_set:  # "not medically necessary" is one mark
            run_end += 1
        start, stop = tokens[i][0], tokens[run_end][1]
        if start > position:
            segments.append(Segment(_squash(text[position:start])))
        segments.append(Segment(_squash(text[start:stop]), hit=True))
        position = stop
        i = run_end + 1
    if end > position:
        segments.append(Segment(_squash(text[position:end])))
    if end < len(text):
        segments.append(Segment(" …"))
    return segments


def _matching_tokens(terms: list[str], words: list[str]) -> set[int]:
    """Positions of the tokens that match a highlight word, phrase or prefix."""
    singles: set[str] = set()
    prefixes: list[str] = []
    phrases: list[tuple[str, ...]] = []
    for word in words:
        if word.endswith("*"):
            prefixes.append(stemmed_prefix(word[:-1]))
            continue
        analysed = tuple(stems(word))
        if len(analysed) == 1:
            singles.add(analysed[0])
        elif analysed:
            phrases.append(analysed)
    found = {i for i, stem in enumerate(terms) if stem in singles or (prefixes and stem.startswith(tuple(prefixes)))}
    for phrase in phrases:
        width = len(phrase)
        for i in range(len(terms) - width + 1):
            if terms[i] == phrase[0] and tuple(terms[i : i + width]) == phrase:
                found.update(range(i, i + width))
    return found


def stemmed_prefix(text: str) -> str:
    """The form a prefix takes in the stemmed index: "therapy" is indexed as "therapi", so "therapy*" looks
    for terms starting "therapi" (the stem of a word is the start of the stems of its longer forms)."""
    tokens = stems(text)
    return tokens[0] if len(tokens) == 1 else text.lower()


def _squash(text: str) -> str:
    """Line breaks in a rationale are the PDF's wrapping: one space, keeping an edge space if there was one."""
    inner = " ".join(text.split())
    return (" " if text[:1].isspace() else "") + inner + (" " if text[-1:].isspace() and inner else "")
