"""One "Claims Administrator guideline:" or "MAXIMUS guideline:" line -> its citations: MTUS parts with their
sections, topics and pages; then what the ODG, ACOEM and other sources sections read.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

from kb.models import Citation, Span
from kb.guidelines.citations import (
    _dedupe, _generic_mtus, _most_specific, _none_citation, _numbered_slug, _page, _page_citation, _part_citation,
    _part_fields, _section_citation, _unique,
)
from kb.guidelines.names import (
    _ACOEM_NAMES, _LINE_PARTS, _MTUS_NAMES, _PART_BY_CHAPTER, _SECTIONS, _SECTION_BY_SLUG, _after_part_name, _unknown_chapter_part,
)
from kb.guidelines.patterns import (
    _ANCHOR, _BODY_MARKER, _GUIDELINES_AFTER, _NUMBERED_SECTION, _OPENING_FILLER, _PAGE_LIST, _SEPARATOR_OR_BRACKET, _YEAR_AFTER,
)
from kb.guidelines.prose import _URL_FIRST_WORDS, _find_in
from kb.guidelines.reference import GuidelinePart, GuidelineSection, PATTERNS
from kb.guidelines.sources import _SOURCE_NAMES_BY_FIRST_WORD, _other_from_words, _parse_sources
from kb.guidelines.words import _BRACKET, _NameIndex, _WORD, _Words, _closed, _head, _key

# --------------------------------------------------------------------------------------------
# Guideline lines


def parse_guideline_line(text: str) -> list[Citation]:
    """The citations of one guideline line (the text after "... guideline:"), in letter order, each id once.

    Never empty: "NONE" when the line cites no evidence (and nothing else), an "Other" citation built
    from its words when it cites something unknown.
    """
    if len(text) > _CACHED_LINE_LENGTH:
        return _parse_line(text)
    return list(_parse_cached_line(text))  # a new list each time: callers may change theirs


# The same few guideline lines recur across letters (about half the lines of the real letters, three
# quarters of the synthetic ones, repeat an earlier one). Citations are frozen and their spans are
# relative to the line, so a line's result can be shared; only lines of ordinary length are kept.
_CACHED_LINES = 4096
_CACHED_LINE_LENGTH = 2000


@functools.lru_cache(maxsize=_CACHED_LINES)
def _parse_cached_line(text: str) -> tuple[Citation, ...]:
    return tuple(_parse_line(text))


def _parse_line(text: str) -> list[Citation]:
    words = _Words(text)
    anchors = _anchors(text)
    found = _parse_free(words, 0, anchors[0].start() if anchors else len(text))
    no_evidence: list[Span] = []
    for n, anchor in enumerate(anchors):
        end = anchors[n + 1].start() if n + 1 < len(anchors) else len(text)
        kind = anchor.lastgroup
        if kind == "no_evidence":
            no_evidence.append(Span(*anchor.span()))
        elif kind == "mtus_decision":
            mtus = Span(anchor.end() - 4, anchor.end())
            found += _parse_mtus(words, anchor.end(), end, mtus)
        elif kind in ("non_mtus_citation", "other_guidelines"):
            found += _parse_sources(words, anchor.end(), end)
        else:  # "outside of the MTUS" preamble or another "Decision based on": whatever follows
            found += _parse_free(words, anchor.end(), end)
    if found:
        return _most_specific(_dedupe(found))
    if no_evidence or not words.keys:
        return [_none_citation(text, no_evidence[0] if no_evidence else Span(0, 0))]
    return [_other_from_words(words, 0, len(text), anything=True)]


def _anchors(text: str) -> list[re.Match]:
    """The fixed phrases of a guideline line, left to right, not overlapping."""
    found, pos = [], 0
    while anchor := _ANCHOR.search(text, pos):
        found.append(anchor)
        pos = anchor.end()
    return found


def _parse_free(words: _Words, lo: int, hi: int) -> list[Citation]:
    """Text that no fixed phrase introduces: an MTUS opening, prose mentions, or named sources."""
    i, j = words.within(lo, hi)
    if i == j:
        return []
    opening = _MTUS_NAMES.longest(words, i, j)
    if opening:
        mtus = words.span(i, opening[0])
        return _parse_mtus(words, mtus.end, hi, mtus)
    acoem = _ACOEM_NAMES.longest(words, i, j)
    if acoem and (acoem[0] < j and _LINE_PARTS.longest(words, acoem[0], j) or _ACOEM_CHAPTER_AT.match(
            words.text, words.start(i), hi)):
        # "Decision based on ACOEM Low Back Disorders 2019": an MTUS part, as the IMR organisation's list names it
        name = words.span(i, acoem[0])
        return _parse_mtus(words, name.end, hi, name)
    if _SOURCE_NAMES_BY_FIRST_WORD.get(words.keys[i]) or words.keys[i] in _URL_FIRST_WORDS:
        # a line opening with a source's name is a citation of it, read as one ("Official Disability
        # Guidelines (ODG), Knee and Leg": the chapter after the comma counts, as in prose it would not)
        return _parse_sources(words, lo, hi)
    return _find_in(words, lo, hi) or _parse_sources(words, lo, hi)


# ---- MTUS parts, sections and pages


_ACOEM_CHAPTER_AT = PATTERNS["acoem_chapter"]
ACOEM_PART = "ACOEM"  # the part "ACOEM" of the IMR organisation's list: the MTUS's ACOEM, no chapter named


class _Mention(NamedTuple):  # (tuples: quick to make, and one is made for every name read)
    part: GuidelinePart
    span: Span  # the part's name, with its "ACOEM Chapter N" and year
    year: int | None


def _parse_mtus(words: _Words, lo: int, hi: int, mtus: Span) -> list[Citation]:
    """What follows "Decision based on MTUS": parts, each with its sections, topics and pages."""
    mentions = _part_mentions(words, lo, hi)
    if not mentions:
        pages = _body_pages(words.text, lo, hi)
        found = [_page_citation(words.text, "MTUS", "MTUS", s, p) for p, s in pages]
        return found or [_generic_mtus(words.text, mtus)]
    found = []
    for n, mention in enumerate(mentions):
        end = mentions[n + 1].span.start if n + 1 < len(mentions) else hi
        found += _part_body(words, mention, mention.span.end, end)
    return found


def _part_mentions(words: _Words, lo: int, hi: int) -> list[_Mention]:
    """The parts named in [lo, hi): by ACOEM chapter number, or by a name that is not a section's."""
    text = words.text
    mentions = [_chapter_mention(words, m, hi) for m in PATTERNS["acoem_chapter"].finditer(text, lo, hi)]
    taken = [m.span for m in mentions]  # in text order
    i, j = words.within(lo, hi)
    opening = i  # the first word that is not filler: a part name there opens the line
    while opening < j and words.keys[opening] in _OPENING_FILLER:
        opening += 1
    k, t = i, 0  # k: the first word not read yet; t: the first chapter mention not behind it
    for k_start in words.starting(i, j, _LINE_PARTS.first_words):
        if k_start < k:
            continue
        start = words.start(k_start)
        while t < len(taken) and taken[t].end <= start:
            t += 1
        if t < len(taken) and taken[t].start <= start:
            k = words.first_at(taken[t].end)
            continue
        hit = _LINE_PARTS.longest(words, k_start, j)
        if hit:
            end_word, (choice, says_guidelines) = hit
            span = _closed(text, words.span(k_start, end_word), hi)  # "Coronavirus (COVID-19"
            year = _YEAR_AFTER.match(text, span.end, hi)
            if says_guidelines or year or k_start <= opening:
                end = year.end() if year else span.end
                # "Chronic Pain Medical Treatment 2016 Guidelines, Section(s): ...": the word is the name's
                if guidelines := _GUIDELINES_AFTER.match(text, end, hi):
                    end = guidelines.end()
                edition = int(year.group(1)) if year else None
                mentions.append(_Mention(choice.part(edition), Span(span.start, end), edition))
                k = words.first_at(end)
    # "MTUS ACOEM" names the ACOEM part only when it names no other part ("MTUS ACOEM Low Back Disorders 2019")
    if len(mentions) > 1:
        mentions = [m for m in mentions if m.part.code != ACOEM_PART]
    return sorted(mentions, key=lambda m: m.span.start)


def _chapter_mention(words: _Words, found: re.Match, hi: int) -> _Mention:
    """"ACOEM Chapter 15 Stress Related Conditions [2004]": the part the number names."""
    number = int(found.group(1))
    part = _PART_BY_CHAPTER.get(number) or _unknown_chapter_part(number)
    end = _after_part_name(words, found.end(), hi)
    year = _YEAR_AFTER.match(words.text, end, hi)
    end = year.end() if year else end
    return _Mention(part, Span(found.start(), end), int(year.group(1)) if year else None)


def _part_body(words: _Words, mention: _Mention, lo: int, hi: int) -> list[Citation]:
    """One part's topics (2014), "Section(s): ..." (2016) and "Page(s): ..." until the next part."""
    text, part = words.text, mention.part
    markers = list(_BODY_MARKER.finditer(text, lo, hi))
    lists = [(lo, markers[0].start() if markers else hi)]  # topics written before any marker
    pages: list[tuple[str, Span]] = []
    for n, marker in enumerate(markers):
        end = markers[n + 1].start() if n + 1 < len(markers) else hi
        if marker.lastgroup == "sections":
            lists.append((marker.end(), end))
            continue
        listed = _PAGE_LIST.match(text, marker.end(), end)
        if listed:
            pages += _pages_in(text, listed.start(), listed.end())
            lists.append((listed.end(), end))
        else:
            lists.append((marker.end(), end))
    sections = [item for a, b in lists for item in _split_sections(words, part, a, b)]
    sections = _unique(sections, lambda item: item[0] or _key(_head(item[1].of(text))))
    found = [_section_citation(text, part, span, mention.year, section) for section, span in sections]
    found += [_page_citation(text, part.id, "MTUS", s, p, **_part_fields(part, mention.year))
              for p, s in _unique(pages, lambda page: page[0])]
    return found or [_part_citation(text, part, mention.span, mention.year)]


def _body_pages(text: str, lo: int, hi: int) -> list[tuple[str, Span]]:
    pages = []
    for marker in _BODY_MARKER.finditer(text, lo, hi):
        listed = _PAGE_LIST.match(text, marker.end(), hi) if marker.lastgroup == "pages" else None
        if listed:
            pages += _pages_in(text, listed.start(), listed.end())
    return _unique(pages, lambda page: page[0])


def _pages_in(text: str, lo: int, hi: int) -> list[tuple[str, Span]]:
    """Each page or range of a page list, with its span: "24, 63-5" -> [("24", ..), ("63-65", ..)]."""
    found = []
    for item in re.finditer(r"\d+(?:\s*[-\u2013]\s*\d+)?", text[lo:hi]):
        found.append((_page(item.group()), Span(lo + item.start(), lo + item.end())))
    return found


def _split_sections(words: _Words, part: GuidelinePart, lo: int, hi: int
                    ) -> list[tuple[GuidelineSection | None, Span]]:
    """Sections listed in [lo, hi): known names first (they may hold commas), else comma-separated."""
    text = words.text
    lo, hi = _trim(text, lo, hi)
    if lo >= hi or not _WORD.search(text, lo, hi):
        return []
    if part.numbered_sections:
        return _split_numbered(text, part, lo, hi)
    chunks = _chunks(text, lo, hi)
    index = _SECTIONS.get(part.code) or _NameIndex()
    # Pieces are cut outside brackets, so a run's key (and head key) is its pieces' keys joined.
    keys = _chunk_keys(words, chunks)
    found: list[tuple[GuidelineSection | None, Span]] = []
    c = 0
    while c < len(chunks):
        size, section = _longest_known_run(index, keys, c) if (
            keys[c][0] in index.prefixes or keys[c][1] in index.prefixes) else (0, None)
        if section is not None:
            found.append((section, Span(chunks[c].start, chunks[c + size - 1].end)))
            c += size
            continue
        d = c + 1  # an unknown name goes on while the next piece starts in lower case ("Ultrasound, therapeutic")
        while d < min(len(chunks), c + 3) and text[chunks[d].start].islower() and _longest_known_run(
                index, keys, d, most=1)[1] is None:
            d += 1
        found.append((None, Span(chunks[c].start, chunks[d - 1].end)))
        c = d
    return found


def _longest_known_run(index: _NameIndex, keys: list[tuple[str, str]], first: int, most: int = 4
                       ) -> tuple[int, GuidelineSection | None]:
    """(pieces, section) of the longest run of pieces from `first` that together are one known name."""
    best: tuple[int, GuidelineSection | None] = (0, None)
    key = head = ""
    for size in range(1, min(most, len(keys) - first) + 1):
        key, head = key + keys[first + size - 1][0], head + keys[first + size - 1][1]
        if key not in index.prefixes and head not in index.prefixes:
            break
        section = index.exact.get(key) or index.exact.get(head)
        if section is not None:
            best = (size, section)
    return best


def _chunk_keys(words: _Words, chunks: list[Span]) -> list[tuple[str, str]]:
    """Each piece's key and head key (without bracketed glosses), from the words already found."""
    keys, matches = [], words.matches
    t = words.first_at(chunks[0].start) if chunks else 0
    for span in chunks:  # pieces are in order: one walk over the words serves them all
        while t < len(matches) and matches[t].start() < span.start:
            t += 1
        first = t
        while t < len(matches) and matches[t].end() <= span.end:
            t += 1
        key = "".join(words.keys[first:t])
        written = span.of(words.text)
        keys.append((key, _key(_head(written)) if "(" in written or "[" in written else key))
    return keys


def _split_numbered(text: str, part: GuidelinePart, lo: int, hi: int) -> list[tuple[GuidelineSection | None, Span]]:
    """Numbered sections ("3.3.9 Opioids ...: ..., 4.1 Tapering ..."): titles may hold commas."""
    starts = [lo + m.start(1) for m in _NUMBERED_SECTION.finditer(text[lo:hi])]
    if not starts or starts[0] != lo:
        starts.insert(0, lo)
    found = []
    for n, start in enumerate(starts):
        a, b = _trim(text, start, starts[n + 1] if n + 1 < len(starts) else hi)
        if a < b:
            number = _numbered_slug(text[a:b])
            found.append((_SECTION_BY_SLUG.get((part.code, number)), Span(a, b)))
    return found


_PIECE = re.compile(r"[^,;]+")


def _chunks(text: str, lo: int, hi: int) -> list[Span]:
    """[lo, hi) cut at commas and semicolons outside brackets, each piece trimmed."""
    if not _BRACKET.search(text, lo, hi):  # the common case: every separator cuts
        pieces = [_trim(text, *m.span()) for m in _PIECE.finditer(text, lo, hi)]
        return [Span(a, b) for a, b in pieces if a < b and _WORD.search(text, a, b)]
    pieces, depth, start = [], 0, lo
    for mark in _SEPARATOR_OR_BRACKET.finditer(text, lo, hi):
        char = mark.group()
        if char in "([":
            depth += 1
        elif char in ")]":
            depth = max(0, depth - 1)
        elif depth == 0:
            pieces.append((start, mark.start()))
            start = mark.end()
    pieces.append((start, hi))
    spans = [Span(*_trim(text, a, b)) for a, b in pieces]
    return [s for s in spans if s.start < s.end and _WORD.search(text, s.start, s.end)]


_EDGE_JUNK = ",.;:-\u2013\u2014" + "".join(chr(c) for c in range(0x3001) if chr(c).isspace())


def _trim(text: str, lo: int, hi: int) -> tuple[int, int]:
    """[lo, hi) without surrounding spaces, punctuation and joining "and"/"or" words."""
    while True:
        piece = text[lo:hi]
        stripped = piece.lstrip(_EDGE_JUNK)
        lo += len(piece) - len(stripped)
        hi = lo + len(stripped.rstrip(_EDGE_JUNK))
        if lo == hi or (text[lo] not in "aAoO" and text[hi - 1] not in "dDrR"):
            return lo, hi  # no "and"/"or" at either end (only these characters lower to its letters)
        start, end = lo, hi
        for joiner in ("and", "or"):
            size = len(joiner)
            if hi - lo >= size and text[lo:lo + size].lower() == joiner and (
                    lo + size == hi or not text[lo + size].isalnum()):
                lo += size
            elif hi - lo >= size and text[hi - size:hi].lower() == joiner and (
                    hi - size == lo or not text[hi - size - 1].isalnum()):
                hi -= size
        if (start, end) == (lo, hi):
            return lo, hi
