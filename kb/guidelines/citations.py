"""Building `Citation`s: a citation's label comes from its id alone, so the facets and the letter page agree.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from kb.models import Citation, Span
from kb.guidelines.ids import citation_ancestry, citation_label
from kb.guidelines.names import _SECTION_BY_SLUG
from kb.guidelines.patterns import _PAGE_NUMBERS
from kb.guidelines.reference import GUIDELINE_PARTS, GuidelineChapter, GuidelinePart, GuidelineSection, NONE_ID
from kb.guidelines.words import _head, _slug, _squash

# --------------------------------------------------------------------------------------------
# Building citations


def _page(text: str) -> str:
    """"63-5" -> "63-65": a short range end takes the start's leading digits."""
    numbers = _PAGE_NUMBERS.findall(text)
    if len(numbers) == 1 or numbers[0] == numbers[-1]:
        return numbers[0]
    start, end = numbers[0], numbers[1]
    if len(end) < len(start):
        end = start[: len(start) - len(end)] + end
    return f"{start}-{end}"


def _make(text: str, citation_id: str, source: str, span: Span, **fields) -> Citation:
    """A citation read from `span`; its label comes from its id alone, so the site's facets and the
    letter page always show the same words."""
    return Citation(id=citation_id, source=source, label=citation_label(citation_id), text=text[span.start:span.end],
                    span=span, **fields)


def _part_fields(part: GuidelinePart, year: int | None) -> dict:
    return {"part": part.name, "chapter": part.chapter, "year": year}


def _part_citation(text: str, part: GuidelinePart, span: Span, year: int | None) -> Citation:
    return _make(text, part.id, "MTUS", span, **_part_fields(part, year))


def _page_citation(text: str, head_id: str, source: str, span: Span, page: str, **fields) -> Citation:
    return _make(text, f"{head_id}/p{page}", source, span, pages=(page,), **fields)


def _section_citation(text: str, part: GuidelinePart, span: Span, year: int | None,
                      section: GuidelineSection | None) -> Citation:
    """A section of `part`; a known section that stands for a part (General Approaches) cites that part."""
    if section is not None and section.part:
        return _part_citation(text, GUIDELINE_PARTS[section.part], span, year)
    written = _squash(span.of(text))
    if section is None:
        slug = _numbered_slug(written) if part.numbered_sections else (_slug(_head(written)) or _slug(written))
        section = _SECTION_BY_SLUG.get((part.code, slug)) or GuidelineSection(slug, written)
    return _make(text, f"{part.id}/s:{section.slug}", "MTUS", span, sections=(section.name,),
                 **_part_fields(part, year))


def _numbered_slug(written: str) -> str:
    found = re.match(r"\d+(?:\.\d+)*", written)
    return found.group() if found else _slug(written)


def _generic_mtus(text: str, span: Span, year: int | None = None) -> Citation:
    return _make(text, "MTUS", "MTUS", span, year=year)


def _none_citation(text: str, span: Span) -> Citation:
    return _make(text, NONE_ID, "None", span)


def _chapter_citations(text: str, chapter: GuidelineChapter, span: Span, year: int | None,
                       pages: list[tuple[str, Span]], tables: list[tuple[str, Span]]) -> list[Citation]:
    fields = {"part": chapter.name, "chapter": chapter.chapter, "year": year}
    found = [_page_citation(text, chapter.id, chapter.source, s, p, **fields) for p, s in pages]
    found += [_make(text, f"{chapter.id}/s:table-{_slug(t)}", chapter.source, s, sections=(f"Table {t}",), **fields)
              for t, s in tables]
    return found or [_make(text, chapter.id, chapter.source, span, **fields)]


def _dedupe(citations: list[Citation]) -> list[Citation]:
    """Letter order, each id once (the first mention wins)."""
    if len(citations) < 2:
        return list(citations)
    seen: dict[str, Citation] = {}
    for citation in sorted(citations, key=lambda c: (c.span.start, c.span.end)):
        seen.setdefault(citation.id, citation)
    return list(seen.values())


def _most_specific(citations: list[Citation]) -> list[Citation]:
    """Without a citation that another one on the line refines: "Chronic Pain Medical Treatment
    Guidelines, pages 78-80, which are part of the MTUS" cites MTUS/CPMTG/p78-80, not also MTUS."""
    refined = {ancestor for c in citations for ancestor in citation_ancestry(c.id)[:-1]}
    return [c for c in citations if c.id not in refined]


def _unique(items: Iterable, key) -> list:
    """Items in order, each key once: long repetitive lists become one citation each, cheaply."""
    seen, kept = set(), []
    for item in items:
        marker = key(item)
        if marker not in seen:
            seen.add(marker)
            kept.append(item)
    return kept
