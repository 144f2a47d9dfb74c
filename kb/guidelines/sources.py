"""Citations outside the MTUS in a guideline line: ODG chapters, ACOEM chapters and pages, named sources and
web addresses.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from kb.models import Citation, Span
from kb.guidelines.citations import _chapter_citations, _make, _page, _page_citation, _unique
from kb.guidelines.names import (
    _ACOEM_BY_CHAPTER, _ACOEM_CHAPTER_NAMES, _ACOEM_NAMES, _ODG_CHAPTER_NAMES, _ODG_CHAPTER_NAMES_FIRST, _ODG_NAMES,
    _OTHER_BY_DOMAIN, _OTHER_NAMES,
)
from kb.guidelines.patterns import (
    _CHAPTER_FILLER, _CHAPTER_IN, _FREE_YEAR, _NO_SOURCE, _PAGE_NUMBERS, _PROSE_PAGE_ANYWHERE, _SENTENCE_BREAK,
    _TABLE_ANYWHERE,
)
from kb.guidelines.reference import GuidelineChapter, PATTERNS
from kb.guidelines.words import _NameIndex, _Words, _closed, _slug

# ---- ODG, ACOEM and other sources


class _Marker(NamedTuple):
    source: str  # "ODG" | "ACOEM" | "OTHER" | "URL"
    span: Span
    value: object = None


def _parse_sources(words: _Words, lo: int, hi: int) -> list[Citation]:
    """A non-MTUS citation: ODG chapters, ACOEM chapters and pages, named sources and web addresses."""
    markers = _source_markers(words, lo, hi)
    first = markers[0].span.start if markers else hi
    # Words before the first named source are an ODG chapter written without "ODG", or a source of their
    # own; but next to a named source or a web address they are the title of what it cites ("Sildenafil:
    # Drug information. UpToDate"; "Cyclobenzaprine - MedlinePlus, https://medlineplus.gov/..."), one citation.
    found = _unmarked(words, lo, first, titled=any(m.source in ("OTHER", "URL") for m in markers))
    for n, marker in enumerate(markers):
        end = markers[n + 1].span.start if n + 1 < len(markers) else hi
        if marker.source == "ODG":
            found += _odg_region(words, marker.span, marker.span.end, end)
        elif marker.source == "ACOEM":
            found += _acoem_region(words, marker.span, marker.span.end, end)
        elif marker.source == "OTHER":
            found.append(_make(words.text, marker.value.id, "Other", marker.span))
        else:
            found.append(_url_citation(words.text, marker.span))
    # "ODG, ..., ODG Low Back": the bare source adds nothing once a chapter of it is cited
    specific = {c.source for c in found if "/" in c.id}
    return [c for c in found if "/" in c.id or c.source not in specific or c.source == "Other"]


def _source_markers(words: _Words, lo: int, hi: int) -> list[_Marker]:
    text = words.text
    urls = [Span(*_trimmed_url(m)) for m in PATTERNS["url"].finditer(text, lo, hi)]
    markers = [_Marker("URL", s) for s in urls]
    i, j = words.within(lo, hi)
    k, u = i, 0  # k: the first word not read yet; u: the first web address not behind it
    for k_start in words.starting(i, j, _SOURCE_NAMES_BY_FIRST_WORD):
        if k_start < k:
            continue
        start = words.start(k_start)
        while u < len(urls) and urls[u].end <= start:
            u += 1
        if u < len(urls) and urls[u].start <= start:
            k = words.first_at(urls[u].end)
            continue
        for source, index in _SOURCE_NAMES_BY_FIRST_WORD[words.keys[k_start]]:
            hit = index.longest(words, k_start, j)
            if hit:
                markers.append(_Marker(source, _closed(text, words.span(k_start, hit[0]), hi), hit[1]))
                k = hit[0]
                break
    return sorted(markers, key=lambda m: m.span.start)


# The source names a line's non-MTUS citation may hold, tried in this order, by the words they can start with.
_SOURCE_NAMES = (("ODG", _ODG_NAMES), ("ACOEM", _ACOEM_NAMES), ("OTHER", _OTHER_NAMES))
_SOURCE_NAMES_BY_FIRST_WORD = {
    word: tuple((source, index) for source, index in _SOURCE_NAMES if word in index.first_words)
    for word in frozenset().union(*(index.first_words for _, index in _SOURCE_NAMES))
}


def _unmarked(words: _Words, lo: int, hi: int, titled: bool = False) -> list[Citation]:
    """Words before any named source: opening with an ODG chapter's name, the ODG unnamed ("Low Back
    (Hyperstimulation analgesia)"); otherwise an unknown source, unless they title a named one (`titled`)."""
    i, j = words.within(lo, hi)
    chapters = _odg_chapters_in(words, lo, hi, first_may_be_weak=False) if (
        i < j and _ODG_CHAPTER_NAMES.longest(words, i, j)) else []
    if chapters:
        year = _free_year(words.text, lo, hi)
        return [_chapter_citations(words.text, c, s, year, [], [])[0] for c, s in chapters]
    other = None if titled else _other_from_words(words, lo, hi)
    return [other] if other else []


def _odg_region(words: _Words, marker: Span, lo: int, hi: int) -> list[Citation]:
    chapters = _odg_chapters_in(words, lo, hi, first_may_be_weak=True)
    year = _free_year(words.text, lo, hi)
    if not chapters:
        return [_make(words.text, "ODG", "ODG", marker, year=year)]
    return [_chapter_citations(words.text, c, s, year, [], [])[0] for c, s in chapters]


def _odg_chapters_in(words: _Words, lo: int, hi: int, first_may_be_weak: bool
                     ) -> list[tuple[GuidelineChapter, Span]]:
    i, j = words.within(lo, hi)
    first = i
    while first < j and (words.keys[first] in _CHAPTER_FILLER or _FREE_YEAR.fullmatch(words.keys[first])):
        first += 1
    found, k = [], i  # k: the first word not read yet
    for k_start in words.starting(i, j, _ODG_CHAPTER_FIRST_WORDS):
        if k_start < k:
            continue
        index = _ODG_CHAPTER_NAMES_FIRST if (k_start == first and first_may_be_weak) else _ODG_CHAPTER_NAMES
        hit = index.longest(words, k_start, j)
        if hit:
            found.append((hit[1], _closed(words.text, words.span(k_start, hit[0]), hi)))
            k = hit[0]
    return found


_ODG_CHAPTER_FIRST_WORDS = _ODG_CHAPTER_NAMES_FIRST.first_words | _ODG_CHAPTER_NAMES.first_words


def _acoem_region(words: _Words, marker: Span, lo: int, hi: int) -> list[Citation]:
    """ACOEM outside the MTUS: chapters by name or number, pages and tables, edition year."""
    text = words.text
    # Only the first chapter name counts: later ones ("Chronic Pain Guideline, Opioids") are topics.
    chapters = _first_name_in(words, _ACOEM_CHAPTER_NAMES, lo, hi)
    for found in _CHAPTER_IN.finditer(text, lo, hi):
        chapter = _ACOEM_BY_CHAPTER.get(int(found.group(1)))
        if chapter and all(c.slug != chapter.slug for c, _ in chapters):
            chapters.append((chapter, Span(*found.span())))
    chapters.sort(key=lambda c: c[1].start)
    pages = [(_page(m.group(1)), Span(m.start(1), m.end(1))) for m in _PROSE_PAGE_ANYWHERE.finditer(text, lo, hi)]
    tables = [(_table(m.group(1)), Span(*m.span())) for m in _TABLE_ANYWHERE.finditer(text, lo, hi)]
    pages, tables = _unique(pages, lambda p: p[0]), _unique(tables, lambda t: t[0])
    year = _free_year(text, lo, hi)
    if not chapters:
        base = [_page_citation(text, "ACOEM", "ACOEM", s, p, year=year) for p, s in pages]
        return base or [_make(text, "ACOEM", "ACOEM", marker, year=year)]
    found: list[Citation] = []
    for n, (chapter, span) in enumerate(chapters):
        until = chapters[n + 1][1].start if n + 1 < len(chapters) else hi
        mine = [(p, s) for p, s in pages if (n == 0 or s.start >= span.start) and s.start < until]
        my_tables = [(t, s) for t, s in tables if (n == 0 or s.start >= span.start) and s.start < until]
        found += _chapter_citations(text, chapter, span, year, mine, my_tables)
    return found


def _first_name_in(words: _Words, index: _NameIndex, lo: int, hi: int) -> list[tuple[GuidelineChapter, Span]]:
    i, j = words.within(lo, hi)
    for k in words.starting(i, j, index.first_words):
        hit = index.longest(words, k, j)
        if hit:
            return [(hit[1], _closed(words.text, words.span(k, hit[0]), hi))]
    return []


def _table(written: str) -> str:
    return "-".join(_PAGE_NUMBERS.findall(written))


def _free_year(text: str, lo: int, hi: int) -> int | None:
    found = _FREE_YEAR.search(text, lo, hi)
    return int(found.group(1)) if found else None


def _trimmed_url(found: re.Match) -> tuple[int, int]:
    start, end = found.span()
    while end > start and found.string[end - 1] in ".,;:":
        end -= 1
    return start, end


def _url_citation(text: str, span: Span) -> Citation:
    address = re.sub(r"\s+", "", span.of(text))
    domain = re.sub(r"^(?:https?://)?(?:www\.)?", "", address, flags=re.IGNORECASE).split("/")[0].lower()
    known = _OTHER_BY_DOMAIN.get(domain) or next(
        (s for d, s in _OTHER_BY_DOMAIN.items() if domain.endswith("." + d)), None)
    if known:
        return _make(text, known.id, "Other", span)
    return _make(text, f"OTHER/{_slug(domain)}", "Other", span)


def _other_from_words(words: _Words, lo: int, hi: int, anything: bool = False) -> Citation | None:
    """An unknown source, named by its first words (up to the first sentence break, at most 8 words)."""
    i, j = words.within(lo, hi)
    if i == j or (not anything and _NO_SOURCE.issuperset(words.keys[i:j])):
        return None
    end = i + 1
    while end < min(j, i + 8) and not _SENTENCE_BREAK.search(words.text, words.end(end - 1), words.start(end)):
        end += 1
    span = words.span(i, end)
    return _make(words.text, f"OTHER/{_slug(span.of(words.text))}", "Other", span)
