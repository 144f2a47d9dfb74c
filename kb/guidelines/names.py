"""Every way a guideline is written, indexed by its words: MTUS parts (with their editions: one name may stand
for several parts, told apart by the edition year), sections, ODG and ACOEM chapters, other sources.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

from kb.guidelines.patterns import _GAP
from kb.guidelines.reference import (
    ACOEM_CHAPTERS, GUIDELINE_DATA, GUIDELINE_PARTS, GuidelinePart, ODG_CHAPTERS, OTHER_SOURCES,
)
from kb.guidelines.words import _Words, _head, _index, _key



class PartChoice(NamedTuple):
    """The MTUS parts one name may stand for ("Prevention": the 2004 chapter and the 2011/2018 guideline),
    oldest first; the edition year written with the name chooses between them."""

    codes: tuple[str, ...]
    default: str  # the part meant when no year is written

    def part(self, year: int | None) -> GuidelinePart:
        """The part whose edition the year is; else the latest part begun by then; else the default."""
        if len(self.codes) > 1 and year is not None:
            parts = [GUIDELINE_PARTS[code] for code in self.codes]
            exact = [p for p in parts if p.edition_of(year)]
            if exact:
                return exact[0]
            begun = [p for p in parts if p.years and p.years[0] <= year]
            if begun:
                return max(begun, key=lambda p: p.years[0])
        return GUIDELINE_PARTS[self.default]


def _says_guidelines(name: str) -> bool:
    return "guideline" in _key(name)


def _part_names(standalone: bool = False) -> Iterator[tuple[str, str]]:
    for entry in GUIDELINE_DATA["mtus_parts"]:
        names = entry.get("standalone_aliases", ()) if standalone else (
            [*entry["aliases"], *entry.get("prose_aliases", ()), *entry.get("standalone_aliases", ())])
        yield from ((name, entry["code"]) for name in names)


def _choices(pairs: Iterable[tuple[str, str]], line: bool) -> list[tuple[str, PartChoice]]:
    """(name, the parts it stands for) for every distinct name; a line reads a name shared by parts as the one
    that lists it in its line_default_names, prose as the first."""
    grouped: dict[str, tuple[str, list[str]]] = {}
    for name, code in pairs:
        written, codes = grouped.setdefault(_key(name), (name, []))
        if code not in codes:
            codes.append(code)
    choices = []
    for written, codes in grouped.values():
        default = codes[0]
        if line:
            default = next((c for c in codes if written.casefold() in
                            {n.casefold() for n in GUIDELINE_PARTS[c].line_default_names}), default)
        choices.append((written, PartChoice(tuple(codes), default)))
    return choices


# In a line, a part name counts when it opens the line, carries a year, follows "ACOEM Chapter N", or
# says "Guidelines": otherwise it is a section name ("Section(s): Initial Approaches to Treatment").
_LINE_PARTS = _index((name, (choice, _says_guidelines(name))) for name, choice in _choices(_part_names(), line=True))
_PROSE_PARTS = _index(_choices(_part_names(), line=False))
_STANDALONE_PARTS = _index(_choices(_part_names(standalone=True), line=False))
_PART_BY_CHAPTER = {p.chapter: p for p in GUIDELINE_PARTS.values() if p.chapter}
_PART_BY_REGULATION = {p.regulation: p for p in GUIDELINE_PARTS.values() if p.regulation}
_SECTIONS = {
    code: _index((name, s) for s in part.sections for name in (s.name, _head(s.name), *s.aliases))
    for code, part in GUIDELINE_PARTS.items()
}
_SECTION_BY_SLUG = {(code, s.slug): s for code, part in GUIDELINE_PARTS.items() for s in part.sections}

_MTUS_NAMES = _index((name, "MTUS") for name in GUIDELINE_DATA["sources"]["MTUS"]["aliases"])
_ODG_NAMES = _index((name, "ODG") for name in GUIDELINE_DATA["sources"]["ODG"]["aliases"])
_ACOEM_NAMES = _index((name, "ACOEM") for name in GUIDELINE_DATA["sources"]["ACOEM"]["aliases"])
_ODG_CHAPTER_NAMES = _index((name, c) for c in ODG_CHAPTERS.values() for name in c.aliases)
_ODG_CHAPTER_NAMES_FIRST = _index((name, c) for c in ODG_CHAPTERS.values() for name in (*c.aliases, *c.weak_aliases))
_ACOEM_CHAPTER_NAMES = _index((name, c) for c in ACOEM_CHAPTERS.values() for name in (c.name, *c.aliases))
_ACOEM_BY_CHAPTER = {c.chapter: c for c in ACOEM_CHAPTERS.values() if c.chapter}
_OTHER_NAMES = _index((name, s) for s in OTHER_SOURCES.values() for name in (s.name, *s.aliases))
_OTHER_PROSE_NAMES = _index((name, s) for s in OTHER_SOURCES.values() for name in s.prose_aliases)
_OTHER_BY_DOMAIN = {d: s for s in OTHER_SOURCES.values() for d in s.domains}

NAME_INDEXES = {  # for the data tests: every alias must resolve to one thing only
    "line parts": _LINE_PARTS, "prose parts": _PROSE_PARTS, "ODG chapters": _ODG_CHAPTER_NAMES_FIRST,
    "ACOEM chapters": _ACOEM_CHAPTER_NAMES, "other sources": _OTHER_NAMES,
    **{f"sections of {code}": index for code, index in _SECTIONS.items()},
}


def _unknown_chapter_part(number: int) -> GuidelinePart:
    return GuidelinePart(code=f"ch{number}", name=f"ACOEM chapter {number}", chapter=number)


def _after_part_name(words: _Words, pos: int, hi: int) -> int:
    """The end of a part name written right at `pos` (after a chapter number), else `pos`."""
    k = words.first_at(pos)
    if words.past_end(k) or (start := words.start(k)) >= hi:
        return pos
    if start != pos and _GAP.match(words.text, pos, start).end() != start:
        return pos
    hit = _PROSE_PARTS.longest(words, k, words.before(k, hi))
    return words.end(hit[0] - 1) if hit else pos
