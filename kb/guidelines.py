"""Canonical guideline citations: what each side of an IMR decision relied on.

Two pure entry points, text in and `Citation`s out, each citation keeping its span in the text given:

* `parse_guideline_line(text)` reads one "Claims Administrator guideline:" or "MAXIMUS guideline:" line
  ("Decision based on MTUS Low Back Complaints 2004, Section(s): Special Studies. Decision based on
  Non-MTUS Citation Official Disability Guidelines (ODG), Low Back.") and always returns at least one
  citation: "NONE" when nothing was cited, an "Other" citation built from the words when they name
  nothing known.
* `citation_label(id)`, `citation_source(id)`, `citation_part_id(id)`, `citation_ancestry(id)` and
  `citation_sort_key(id)` let the site show and order a facet value from the id alone;
  `GUIDELINE_PARTS` (code -> `GuidelinePart`) feeds its guideline index.
* `find_citations(text)` finds the clear guideline mentions in rationale prose ("According to the
  California MTUS 2016 Chronic Pain Guidelines, page 24, ..."), skipping mentions that only say a
  guideline is silent or does not apply.

One citation per countable thing, with a stable id usable as a facet value:

    NONE                          no medical evidence cited
    MTUS                          the MTUS, no part named
    MTUS/<CODE>                   an MTUS part: MTUS/CPMTG, MTUS/LBC (ACOEM 2004 ch. 12), MTUS/OTG
    MTUS/<CODE>/p<page>           a page or page range: MTUS/CPMTG/p24, MTUS/CPMTG/p63-65
    MTUS/<CODE>/s:<section>       a section or topic: MTUS/NUBC/s:special-studies, MTUS/OTG/s:3.3.9,
                                  an ACOEM table: MTUS/LBC/s:table-12-8
    ODG, ODG/<chapter>            the Official Disability Guidelines, or one chapter: ODG/low-back
    ACOEM, ACOEM/<chapter>[/p..]  ACOEM cited outside the MTUS: ACOEM/low-back-disorders/p607
    OTHER/<source>                anything else: OTHER/uptodate, OTHER/cms, OTHER/<web domain>

Names are matched by their words (case, spacing, hyphens and punctuation ignored; "&" reads "and"), so
the text's line breaks and odd spaces never change a result. Every scan moves forward through the
text's words once, with bounded look-arounds, so the work stays linear in the text's length.

Speed: most words of a rationale start no name, so prose is first searched (one regex, in C) for the
words that can start one, and split into words only in windows around them; a guideline line's
result is kept for the next letter citing it in the same words.

All reference data (MTUS parts and their sections, ODG and ACOEM chapters, other sources and the
phrase patterns) comes from data/guidelines.json, loaded once into the UPPER_CASE constants below.
"""

from __future__ import annotations

import bisect
import functools
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

from kb.models import Citation, Span

DATA_PATH = Path(__file__).resolve().parent / "data" / "guidelines.json"

NONE_ID = "NONE"
NONE_LABEL = "No medical evidence cited"
SOURCES = ("MTUS", "ACOEM", "ODG", "Other", "None")


# --------------------------------------------------------------------------------------------
# Reference data


@dataclass(frozen=True)
class GuidelineSection:
    """A section or topic of an MTUS part; `part` is set when the section stands for another part."""

    slug: str  # the id component after "s:": "special-studies", "3.3.9"
    name: str  # readable: "Special Studies", "3.3.9 Maintenance of Chronic Opioid Treatment"
    aliases: tuple[str, ...] = ()
    part: str | None = None  # "IAT" for the "Initial Approaches to Treatment" section of General Approaches


@dataclass(frozen=True)
class GuidelinePart:
    """One part of the MTUS: an adopted ACOEM chapter or a DWC guideline."""

    code: str
    name: str
    chapter: int | None = None  # the ACOEM (2nd edition, 2004) chapter the part is
    years: tuple[int, ...] = ()
    regulation: str | None = None  # 8 C.C.R. section adopting it: "9792.24.2"
    era: str = ""
    aliases: tuple[str, ...] = ()
    sections: tuple[GuidelineSection, ...] = ()
    numbered_sections: bool = False
    includes: tuple[str, ...] = ()  # parts (chapters) this part groups

    @functools.cached_property  # read for every citation made
    def id(self) -> str:
        return f"MTUS/{self.code}"

    @property
    def label(self) -> str:
        return f"MTUS {self.name}" + (f" (ACOEM ch. {self.chapter})" if self.chapter else "")


@dataclass(frozen=True)
class GuidelineChapter:
    """A chapter of the ODG, or of ACOEM cited outside the MTUS."""

    source: str  # "ODG" | "ACOEM"
    slug: str
    name: str
    title: str = ""
    chapter: int | None = None
    aliases: tuple[str, ...] = ()
    weak_aliases: tuple[str, ...] = ()  # count only right after the source's name

    @functools.cached_property  # read for every citation made
    def id(self) -> str:
        return f"{self.source}/{self.slug}"

    @property
    def label(self) -> str:
        return f"{self.source} {self.name}"


@dataclass(frozen=True)
class OtherSource:
    """A named source outside the MTUS, ODG and ACOEM."""

    slug: str
    name: str
    aliases: tuple[str, ...] = ()
    prose_aliases: tuple[str, ...] = ()  # the names that count as a citation in rationale prose
    domains: tuple[str, ...] = ()

    @functools.cached_property  # read for every citation made
    def id(self) -> str:
        return f"OTHER/{self.slug}"


def _load() -> dict:
    with DATA_PATH.open(encoding="utf-8") as handle:
        return json.load(handle)


GUIDELINE_DATA: dict = _load()

PATTERNS: dict[str, re.Pattern[str]] = {
    name: re.compile(entry["regex"], re.IGNORECASE) for name, entry in GUIDELINE_DATA["patterns"].items()
}


# --------------------------------------------------------------------------------------------
# Words: the unit every name is matched on


_WORD = re.compile(r"[^\W_]+|&")
_ASCII_WORD = re.compile(r"[a-z0-9]+|&")  # the same words in lowered ASCII text, found faster
_BRACKET = re.compile(r"[()\[\]]")


def _word_key(word: str) -> str:
    word = word.lower()
    return "and" if word == "&" else word


def _key(text: str) -> str:
    """A name's identity: its words joined, lower case; "Electro- diagnostic" == "Electrodiagnostic"."""
    return "".join(_word_key(w) for w in _WORD.findall(text))


def _head(text: str) -> str:
    """The name without its bracketed glosses: "Lidoderm (lidocaine patch)" -> "Lidoderm "."""
    kept, depth, start = [], 0, 0
    for bracket in _BRACKET.finditer(text):
        if depth == 0:
            kept.append(text[start:bracket.start()])
        depth = depth + 1 if bracket.group() in "([" else max(0, depth - 1)
        start = bracket.end()
    if depth == 0:
        kept.append(text[start:])
    return " ".join(kept)


def _slug(text: str) -> str:
    return "-".join(_word_key(w) for w in _WORD.findall(text))


def _squash(text: str) -> str:
    return " ".join(text.split())


class _Words:
    """A text's words, in order, for word-based name matching: all of them, or a growing window of them.

    Word k has the key `keys[k]` (lower case, "&" read "and") and the span of `matches[k]` in the text,
    which starts at `starts[k]`. The lists are built by C code (one regex pass, `map`): a per-word
    Python step would cost more than all the matching that follows, since most words start no name.

    A window (`_Words.window`) holds the words from one position on, up to a cut: prose is read only
    around the few words that can start a mention, so only those parts of it are split into words.
    Index 0 is then the window's first word. A question about words past the cut (is there a word k,
    which is the first word at or after a position) makes the window longer first, so every answer
    is the one all the words would give; a stop index "up to the end" is `_ALL_WORDS`. A window cannot
    answer for words before its start: it then sets `overrun`, and the caller reads all the words.
    """

    origin = 0  # the position the words start at: 0, or a window's start
    complete = True  # whether the words run to the end of the text
    overrun = False

    def __init__(self, text: str):
        self.text = text
        lowered = text.lower()
        if len(lowered) != len(text):  # a few characters lengthen when lowered: keep positions exact
            self.matches = list(_WORD.finditer(text))
            self.keys = [_word_key(m.group()) for m in self.matches]
            self.starts = list(map(re.Match.start, self.matches))
            return
        self.matches = list((_ASCII_WORD if text.isascii() else _WORD).finditer(lowered))
        self.keys = list(map(re.Match.group, self.matches))
        self.starts = list(map(re.Match.start, self.matches))
        if "&" in text:
            self.keys = ["and" if key == "&" else key for key in self.keys]

    @classmethod
    def window(cls, text: str, lowered: str, start: int, size: int) -> _Words:
        """The words from `start` (a word's start) to about start + size, in a text whose letters and
        digits are all ASCII (so its words are the runs of [a-z0-9] and the "&"s of its lowered form)."""
        words = cls.__new__(cls)
        words.text, words.lowered, words.origin, words.chunk = text, lowered, start, size
        words.matches = words._split(start)
        words.keys = words._keys(words.matches)
        words.starts = list(map(re.Match.start, words.matches))
        return words

    def _keys(self, found: list[re.Match]) -> list[str]:
        keys = list(map(re.Match.group, found))
        return ["and" if key == "&" else key for key in keys] if "&" in keys else keys

    def _split(self, lo: int) -> list[re.Match]:
        """The words of the next `chunk` characters from `lo`; sets the new cut."""
        cut = min(len(self.text), lo + self.chunk)
        found = list(_ASCII_WORD.finditer(self.lowered, lo, cut))
        if cut < len(self.text) and found and found[-1].end() == cut:
            cut = found.pop().start()  # the cut may split this word: take it next time
        self.cut, self.complete = cut, cut == len(self.text)
        return found

    def grow(self) -> bool:
        """Split the next characters into words, twice as many as last time (so a long word or gap
        takes few steps); False when the window already reaches the end of the text."""
        if self.complete:
            return False
        self.chunk *= 2
        found = self._split(self.cut)
        self.matches += found
        self.keys += self._keys(found)
        self.starts += map(re.Match.start, found)
        return True

    def word_at(self, pos: int) -> int | None:
        """The index of the word starting at `pos`, if the words hold it (without growing)."""
        k = bisect.bisect_left(self.starts, pos)
        return k if k < len(self.starts) and self.starts[k] == pos else None

    def past_end(self, k: int) -> bool:
        """Whether there is no word k."""
        while k >= len(self.keys):
            if not self.grow():
                return True
        return False

    def start(self, k: int) -> int:
        return self.starts[k]

    def end(self, k: int) -> int:
        return self.matches[k].end()

    def first_at(self, pos: int) -> int:
        """Index of the first word starting at or after `pos`."""
        if pos < self.origin:
            self.overrun = True
        k = bisect.bisect_left(self.starts, pos)
        while k == len(self.starts) and self.grow():  # the word may lie past the cut
            k = bisect.bisect_left(self.starts, pos, k)
        return k

    def within(self, lo: int, hi: int) -> tuple[int, int]:
        """Indexes [i, j) of the words lying inside [lo, hi)."""
        i = self.first_at(lo)
        return i, self.before(i, hi)

    def before(self, i: int, hi: int) -> int:
        """The index after the last word from word i on that ends by `hi`."""
        if hi >= len(self.text):  # prose reads to the end of the text: every word ends by then
            return len(self.matches) if self.complete else _ALL_WORDS
        while not self.complete and self.cut < hi:  # the window must hold every word starting before hi
            self.grow()
        j = bisect.bisect_left(self.starts, hi, i)
        while j > i and self.matches[j - 1].end() > hi:
            j -= 1
        return j

    def span(self, i: int, j: int) -> Span:
        """The span from word i's start to word j-1's end."""
        return Span(self.starts[i], self.matches[j - 1].end())

    def starting(self, i: int, j: int, first_words: frozenset[str] | dict) -> list[int]:
        """Indexes in [i, j) of the words that can start a name: the only places a scan needs to stop."""
        return [k for k, key in enumerate(self.keys[i:j], i) if key in first_words]


class _NameIndex:
    """Names looked up by their words: the longest name starting at a given word.

    A name's key is its words joined, so a name may be written in more or fewer words than the data
    has ("Electro- diagnostic"): a run of words matches while their joined keys are a beginning of some
    name's key (`prefixes`), and is a name when the joined keys are one (`exact`).
    """

    def __init__(self) -> None:
        self.exact: dict[str, object] = {}
        self.prefixes: set[str] = set()  # every beginning of a key, to stop joining words early
        self.conflicts: list[tuple[str, object, object]] = []

    @functools.cached_property
    def first_words(self) -> frozenset[str]:
        """The keys a name's first word can have (any beginning of a name's key): a word whose key is
        not one starts no name, so scans look up only these words. Read once the index is complete."""
        return frozenset(self.prefixes)

    def add(self, name: str, value: object) -> None:
        key = _key(name)
        if not key:
            return
        if key in self.exact and self.exact[key] != value:
            self.conflicts.append((name, self.exact[key], value))
            return  # the first entry in the data wins
        self.exact.setdefault(key, value)
        self.prefixes.update(key[:n] for n in range(1, len(key) + 1))

    def longest(self, words: _Words, i: int, stop: int) -> tuple[int, object] | None:
        """(index after the last word, value) of the longest name starting at word i, ending before stop."""
        keys, prefixes, exact = words.keys, self.prefixes, self.exact
        best, joined, j, held = None, "", i, len(keys)
        while j < stop:
            if j == held:  # past the words held: only a window may hold more once grown
                if words.past_end(j):
                    break
                held = len(keys)
            joined += keys[j]
            if joined not in prefixes:
                return best
            j += 1
            if joined in exact:
                best = (j, exact[joined])
        return best

    def lookup(self, text: str) -> object | None:
        """The value of the name that is exactly `text` (or its head, without bracketed glosses)."""
        found = self.exact.get(_key(text))
        return found if found is not None else self.exact.get(_key(_head(text)))


def _section(entry: dict, part: str | None = None) -> GuidelineSection:
    if "number" in entry:
        return GuidelineSection(entry["number"], f"{entry['number']} {entry['name']}", (entry.get("title", ""),))
    slug = entry.get("slug") or _slug(_head(entry["name"])) or _slug(entry["name"])
    return GuidelineSection(slug, entry["name"], tuple(entry.get("aliases", ())), part)


def _parts(data: dict) -> dict[str, GuidelinePart]:
    shared = {name: [_section(s) for s in block["sections"]]
              for name, block in data.items() if name.endswith("_sections")}
    parts: dict[str, GuidelinePart] = {}
    for entry in data["mtus_parts"]:
        sections = [_section(s) for s in entry.get("sections", ())]
        for name in entry.get("section_sets", ()):
            sections += shared[name]
        parts[entry["code"]] = GuidelinePart(
            code=entry["code"],
            name=entry["name"],
            chapter=entry.get("chapter"),
            years=tuple(entry.get("years", ())),
            regulation=entry.get("regulation"),
            era=entry.get("era", ""),
            aliases=tuple(entry["aliases"]),
            sections=tuple(sections),
            numbered_sections=bool(entry.get("numbered_sections")),
            includes=tuple(entry.get("includes", ())),
        )
    # A grouping part (General Approaches) cites its chapters as sections; they stand for those parts.
    for code, part in list(parts.items()):
        if part.includes:
            chapters = tuple(
                GuidelineSection(_slug(parts[c].name), parts[c].name, parts[c].aliases, c) for c in part.includes
            )
            parts[code] = replace(part, sections=part.sections + chapters)
    return parts


def _chapters(data: dict, parts: dict[str, GuidelinePart]) -> tuple[dict, dict]:
    odg = {
        e["slug"]: GuidelineChapter("ODG", e["slug"], e["name"], e.get("title", ""), None,
                                    tuple(e["aliases"]), tuple(e.get("weak_aliases", ())))
        for e in data["odg_chapters"]
    }
    acoem = {
        e["slug"]: GuidelineChapter("ACOEM", e["slug"], e["name"], e.get("title", ""), e.get("chapter"),
                                    tuple(e["aliases"]))
        for e in data["acoem_chapters"]
    }
    # The 2004 chapters the MTUS adopted can also be cited as plain ACOEM, by their 2004 names.
    for part in parts.values():
        if part.chapter and _slug(part.name) not in acoem:
            acoem[_slug(part.name)] = GuidelineChapter("ACOEM", _slug(part.name), part.name, "", part.chapter,
                                                       part.aliases)
    return odg, acoem


def _others(data: dict) -> dict[str, OtherSource]:
    return {
        e["slug"]: OtherSource(
            e["slug"], e["name"], tuple(e["aliases"]),
            tuple(e.get("prose_aliases") or e["aliases"]) if e.get("prose") else (),
            tuple(e.get("domains", ())),
        )
        for e in data["other_sources"]
    }


GUIDELINE_PARTS: dict[str, GuidelinePart] = _parts(GUIDELINE_DATA)
ODG_CHAPTERS, ACOEM_CHAPTERS = _chapters(GUIDELINE_DATA, GUIDELINE_PARTS)
OTHER_SOURCES: dict[str, OtherSource] = _others(GUIDELINE_DATA)


def _examples(data: dict) -> list[tuple[str, str, tuple[str, ...], str]]:
    """(where, text, expected ids, "line" | "prose") for every example in the data."""
    found = []
    for name, entry in data["patterns"].items():
        found += [(f"patterns.{name}", e["text"], tuple(e["ids"]), e.get("via", "line")) for e in entry["examples"]]
    for name, entry in data["sources"].items():
        found += [(f"sources.{name}", e["text"], tuple(e["ids"]), e.get("via", "line")) for e in entry["examples"]]
    for table, key in (("mtus_parts", "code"), ("odg_chapters", "slug"), ("acoem_chapters", "slug"),
                       ("other_sources", "slug")):
        for entry in data[table]:
            found += [(f"{table}.{entry[key]}", e["text"], tuple(e["ids"]), e.get("via", "line"))
                      for e in entry["examples"]]
    return found


EXAMPLES = _examples(GUIDELINE_DATA)


def _index(pairs: Iterable[tuple[str, object]]) -> _NameIndex:
    index = _NameIndex()
    for name, value in pairs:
        index.add(name, value)
    return index


def _says_guidelines(name: str) -> bool:
    return "guideline" in _key(name)


def _part_names(standalone: bool = False) -> Iterator[tuple[str, str]]:
    for entry in GUIDELINE_DATA["mtus_parts"]:
        names = entry.get("standalone_aliases", ()) if standalone else (
            [*entry["aliases"], *entry.get("prose_aliases", ()), *entry.get("standalone_aliases", ())])
        yield from ((name, entry["code"]) for name in names)


# In a line, a part name counts when it opens the line, carries a year, follows "ACOEM Chapter N", or
# says "Guidelines": otherwise it is a section name ("Section(s): Initial Approaches to Treatment").
_LINE_PARTS = _index((name, (code, _says_guidelines(name))) for name, code in _part_names())
_PROSE_PARTS = _index(_part_names())
_STANDALONE_PARTS = _index(_part_names(standalone=True))
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


# --------------------------------------------------------------------------------------------
# Patterns derived from the data's regexes


def _pattern(name: str) -> str:
    return GUIDELINE_DATA["patterns"][name]["regex"]


_ANCHOR_NAMES = ("mtus_decision", "non_mtus_citation", "other_guidelines", "no_evidence", "outside_mtus",
                 "decision_based_on")
# Every fixed phrase starts with one of these words; trying the phrases only there keeps the scan fast
# (and one search, all in C, finds the next phrase).
_ANCHOR_START = r"\b(?=(?:decision|non|and|other|the|did|based)\b)"
_ANCHOR = re.compile(_ANCHOR_START + "(?:" + "|".join(f"(?P<{name}>{_pattern(name)})" for name in _ANCHOR_NAMES) + ")",
                     re.IGNORECASE)
_BODY_MARKER = re.compile(f"(?P<sections>{_pattern('sections_marker')})|(?P<pages>{_pattern('pages_marker')})",
                          re.IGNORECASE)
_PAGE_LIST = re.compile(r"\s*(?:" + _pattern("page_list") + ")")
_PAGE_NUMBERS = re.compile(r"\d+")
_YEAR_AFTER = PATTERNS["year"]
_FREE_YEAR = re.compile(r"(?<![/\d.])((?:19|20)\d\d)(?![/\d])")
_YEAR_BEFORE = re.compile(r"((?:19|20)\d\d)\s+(?:the\s+)?$")
_DATED = PATTERNS["dated_edition"]
_REGULATION_AFTER = re.compile(r"\s*(?:MTUS\b\s*)?(?:[-\u2013]\s*)?" + _pattern("regulation"), re.IGNORECASE)
_MTUS_AFTER = re.compile(r"\s*(?:[-\u2013]\s*)?MTUS\b")
_CHAPTER_AFTER = re.compile(r"[\s,/]*(?:ACOEM[\s,]*)?Chapter\s*(\d{1,2})\b", re.IGNORECASE)
_CHAPTER_IN = re.compile(r"\bChapter\s*(\d{1,2})\b", re.IGNORECASE)
_ACOEM_AFTER = re.compile(r"\s*(?:/\s*)?ACOEM\b", re.IGNORECASE)
_GUIDELINES_AFTER = re.compile(r"\s*(?:treatment\s+)?guidelines?\b(?:\s+in\s+ACOEM\b)?", re.IGNORECASE)
_CHAPTER_WORD_AFTER = re.compile(r"[\s)]*(?:chapter|section|guidelines?|complaints)\b", re.IGNORECASE)
_CHAPTER_WORD_AT_END = re.compile(r"(?:chapter|section|guidelines?)\W*$", re.IGNORECASE)
_MTUS_SLASH_AFTER = re.compile(r"\s*/\s*(?:CA\s+|California\s+)?MTUS\b", re.IGNORECASE)
_ITEM_SEPARATOR = re.compile(r"\s*,\s*")
_TABLE = re.compile(r"\s*" + _pattern("table"), re.IGNORECASE)
_PROSE_PAGE = re.compile(r"\s*" + _pattern("prose_page"), re.IGNORECASE)
_PROSE_PAGE_ANYWHERE = re.compile(r"(?<![\w.])" + _pattern("prose_page"), re.IGNORECASE)
_TABLE_ANYWHERE = PATTERNS["table"]
# What may follow "MTUS" in prose, and a guideline's name before its list: one match each, groups optional.
_MTUS_TRAILER = re.compile(
    f"(?P<acoem>{_ACOEM_AFTER.pattern})?(?P<year>{_YEAR_AFTER.pattern})?"
    f"(?P<guidelines>{_GUIDELINES_AFTER.pattern})?(?P<chapter>{_CHAPTER_AFTER.pattern})?",
    re.IGNORECASE,
)
_TAIL_HEAD = re.compile(
    f"(?P<dated>{_DATED.pattern})?(?P<regulation>{_REGULATION_AFTER.pattern})?(?P<dated2>{_DATED.pattern})?"
    f"(?P<mtus>{_MTUS_AFTER.pattern})?",
    re.IGNORECASE,
)
_YEAR_IN = re.compile(r"(?:19|20)\d\d")
_REGULATION_IN = re.compile(r"9792\.\d{2}(?:\.\d{1,2})?")
_NOT_CITED_BEFORE = PATTERNS["not_cited_before"]
_NOT_CITED_AFTER = PATTERNS["not_cited_after"]
_PAGE_BEFORE = PATTERNS["page_before"]
_ODG_BEFORE = re.compile(r"(?:\bODG|Official\s+Disability\s+Guidelines?(?:\s*\(ODG\))?)[\s,]*$", re.IGNORECASE)
_NUMBERED_SECTION = re.compile(r"(?:^|(?<=[,;]))\s*(\d{1,2}(?:\.\d{1,2}){0,4})\.?\s+(?=[A-Za-z])")
_SEPARATOR_OR_BRACKET = re.compile(r"[,;()\[\]]")
_GAP = re.compile(r"[\s,:;/()\[\]\-\u2013\u2014\"'.]*")
_SENTENCE_BREAK = re.compile(r"[.;:]\s|[;:]")
_GLOSS = re.compile(r"\s*\([^()]{0,80}\)")
_CLOSING = re.compile(r"\s*\)")

_LOOK_BEHIND = 60  # characters examined before a mention
_LOOK_AHEAD = 160  # characters examined after a mention for "does not address"

# Words that may stand between a part's line opening and its name without making it a section.
_OPENING_FILLER = {"acoem", "the", "ca", "california", "guidelines", "guideline", "mtus"}
# Words that may stand between a source's name and its chapter.
_CHAPTER_FILLER = {"guidelines", "guideline", "the", "odg", "chapter", "on", "s", "practice", "in"}
# Words that on their own name no source.
_NO_SOURCE = {"and", "the", "of", "guidelines", "guideline", "citation", "decision", "based", "on", "per", "see",
              "other", "medical", "treatment", "mtus", "non", "also", "with", "in", "a"}


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
    return _find_in(words, lo, hi) or _parse_sources(words, lo, hi)


# ---- MTUS parts, sections and pages


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
            end_word, (code, says_guidelines) = hit
            span = words.span(k_start, end_word)
            year = _YEAR_AFTER.match(text, span.end, hi)
            if says_guidelines or year or k_start == opening:
                end = year.end() if year else span.end
                mentions.append(_Mention(GUIDELINE_PARTS[code], Span(span.start, end),
                                         int(year.group(1)) if year else None))
                k = words.first_at(end)
    return sorted(mentions, key=lambda m: m.span.start)


def _chapter_mention(words: _Words, found: re.Match, hi: int) -> _Mention:
    """"ACOEM Chapter 15 Stress Related Conditions [2004]": the part the number names."""
    number = int(found.group(1))
    part = _PART_BY_CHAPTER.get(number) or _unknown_chapter_part(number)
    end = _after_part_name(words, found.end(), hi)
    year = _YEAR_AFTER.match(words.text, end, hi)
    end = year.end() if year else end
    return _Mention(part, Span(found.start(), end), int(year.group(1)) if year else None)


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


def _unique(items: Iterable, key) -> list:
    """Items in order, each key once: long repetitive lists become one citation each, cheaply."""
    seen, kept = set(), []
    for item in items:
        marker = key(item)
        if marker not in seen:
            seen.add(marker)
            kept.append(item)
    return kept


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


# ---- ODG, ACOEM and other sources


class _Marker(NamedTuple):
    source: str  # "ODG" | "ACOEM" | "OTHER" | "URL"
    span: Span
    value: object = None


def _parse_sources(words: _Words, lo: int, hi: int) -> list[Citation]:
    """A non-MTUS citation: ODG chapters, ACOEM chapters and pages, named sources and web addresses."""
    markers = _source_markers(words, lo, hi)
    first = markers[0].span.start if markers else hi
    found = _unmarked(words, lo, first)
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


def _unmarked(words: _Words, lo: int, hi: int) -> list[Citation]:
    """Words before any named source: opening with an ODG chapter's name, the ODG unnamed ("Low Back
    (Hyperstimulation analgesia)"); otherwise an unknown source."""
    i, j = words.within(lo, hi)
    chapters = _odg_chapters_in(words, lo, hi, first_may_be_weak=False) if (
        i < j and _ODG_CHAPTER_NAMES.longest(words, i, j)) else []
    if chapters:
        year = _free_year(words.text, lo, hi)
        return [_chapter_citations(words.text, c, s, year, [], [])[0] for c, s in chapters]
    other = _other_from_words(words, lo, hi)
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


# --------------------------------------------------------------------------------------------
# Rationale prose


def find_citations(text: str) -> list[Citation]:
    """Guideline citations clearly mentioned in prose, in text order, each id once."""
    lowered = text.lower()
    if _plain_words(text, lowered):
        return _dedupe(_find_in_windows(text, lowered))
    return _dedupe(_find_in(_Words(text), 0, len(text)))


def _plain_words(text: str, lowered: str) -> bool:
    """Whether the words of `text` are the runs of [a-z0-9] and the "&"s in `lowered`, at the same
    positions (its letters and digits are all ASCII), as `_find_in_windows` needs; nearly always."""
    if "&" in text and "and" in _READERS_BY_FIRST_WORD:  # an "&" could start a mention: not in the scan
        return False
    return text.isascii() or (len(lowered) == len(text) and not _NON_ASCII_WORD.search(lowered))


_NON_ASCII_WORD = re.compile(r"(?![\x00-\x7f])[^\W_]")  # a letter or digit outside ASCII: "é", "²"


class _Found(list):
    """Citations in scan order, with their ids: a repeated mention is not built again (the first one wins)."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def append(self, citation: Citation) -> None:
        self.ids.add(citation.id)
        list.append(self, citation)

    def __iadd__(self, citations: Iterable[Citation]) -> _Found:
        for citation in citations:
            self.append(citation)
        return self


def _find_in(words: _Words, lo: int, hi: int) -> list[Citation]:
    """One forward pass over the words; each reader takes the mention starting at word k, if any."""
    found = _Found()
    i, j = words.within(lo, hi)
    k = i  # the first word not read yet
    for k_start in words.starting(i, j, _READERS_BY_FIRST_WORD):
        if k_start >= k:
            step = _read_mention(words, k_start, j, hi, found)
            if step is not None:
                k = step
    return found


def _read_mention(words: _Words, k: int, j: int, hi: int, found: _Found) -> int | None:
    """The first word after the mention starting at word k (a first word of a name), if one does."""
    key = words.keys[k]
    if key not in _PROSE_WHOLE_WORDS and ((k + 1 == len(words.keys) and words.past_end(k + 1)) or k + 1 == j
                                          or key + words.keys[k + 1] not in _PROSE_PREFIXES):
        return None  # "of", "a": only the beginning of a name's first word, and the next word does not go on
    for reader in _READERS_BY_FIRST_WORD[key]:
        step = reader(words, k, j, hi, found)
        if step is not None:
            return max(step, k + 1)
    return None


_FIRST_WINDOW = 64  # characters split into words at first: a window grows when a reading needs more
_ALL_WORDS = 1 << 62  # a stop index "up to the last word", for a window not yet reaching the end


def _find_in_windows(text: str, lowered: str) -> list[Citation]:
    """`_find_in` over a text of plain words, with the same result, reading words only in windows
    around the places `_MENTION_AFTER_GAP` finds (most of a rationale names nothing). A window starts
    at a possible mention, serves the next ones while they fall inside it, and grows whenever reading
    a mention needs a word past its end."""
    found, size = _Found(), len(text)
    words: _Words | None = None
    padded = " " + lowered  # (so that every word follows a character of no word; positions are one more)
    start = _MENTION_AFTER_GAP.search(padded)
    while start:
        first, end = start.start("word") - 1, start.end("word") - 1
        k = words.word_at(first) if words and first < words.cut else None
        if k is None:
            if (word := start.group("word")) not in _PROSE_WHOLE_WORDS and not _goes_on(lowered, word, end):
                start = _MENTION_AFTER_GAP.search(padded, end)  # "a", "of": `_read_mention` would skip it
                continue
            words, k = _Words.window(text, lowered, first, _FIRST_WINDOW), 0
            if not words.keys:
                words.past_end(0)  # (a window holds its first word, however long)
        step = _read_mention(words, k, len(words.keys) if words.complete else _ALL_WORDS, size, found)
        if words.overrun:  # cannot happen (readers look only forward), but never guess
            return _find_in(_Words(text), 0, size)
        # Go on after the last word read, from its last character (no gap, unless the word is "&").
        start = _MENTION_AFTER_GAP.search(padded, words.end(step - 1) if step is not None else end)
    return found


def _goes_on(lowered: str, word: str, end: int) -> bool:
    """Whether the word after `word` (a beginning of a name's first word, ending at `end`) goes on with it."""
    after = _ASCII_WORD.search(lowered, end)
    return after is not None and word + _word_key(after.group()) in _PROSE_PREFIXES


class _TailItem(NamedTuple):
    kind: str  # "section" | "table" | "page"
    value: str  # the table ("12-8") or page ("335-336"); "" for a section
    span: Span
    section: GuidelineSection | None = None


class _Tail(NamedTuple):  # a tuple: one is made for every mention, and a tuple is quick to make
    """What follows a guideline's name in prose: edition, regulation, sections, tables, pages."""

    end: int
    year: int | None = None
    regulation_part: GuidelinePart | None = None
    items: tuple[_TailItem, ...] = ()

    def values(self, kind: str) -> list[tuple[str, Span]]:
        return [(item.value, item.span) for item in self.items if item.kind == kind]


def _read_tail(words: _Words, part: GuidelinePart | None, pos: int, hi: int) -> _Tail:
    text, year, regulation_part, items = words.text, None, None, []
    # "(July 28, 2016)", "MTUS - 8 C.C.R. 9792.24.2": edition and regulation; a trailing "MTUS" repeats the name
    head = _TAIL_HEAD.match(text, pos, hi)
    if head.end() > pos:  # (mostly nothing: every group needs some text)
        dated = head.group("dated") or head.group("dated2")
        year = int(_YEAR_IN.search(dated).group()) if dated else None
        if head.group("regulation"):
            regulation_part = _PART_BY_REGULATION.get(_REGULATION_IN.search(head.group("regulation")).group())
        pos = head.end()
    named = part or regulation_part
    sections = _SECTIONS.get(named.code) if named else None
    while (separator := _ITEM_SEPARATOR.match(text, pos, hi)) is not None:
        at = separator.end()
        if table := _TABLE.match(text, at, hi):
            items.append(_TailItem("table", _table(table.group(1)), _stripped_span(table)))
            pos = table.end()
        elif page := _PROSE_PAGE.match(text, at, hi):
            items.append(_TailItem("page", _page(page.group(1)), _stripped_span(page)))
            pos = page.end()
            break  # a page is as specific as prose gets; what follows is the sentence
        elif sections and (hit := _name_at(words, sections, at, hi)):
            end_word, section = hit
            span = _closed(text, Span(words.start(words.first_at(at)), words.end(end_word - 1)), hi)
            gloss = _GLOSS.match(text, span.end, hi)  # "(ESIs)" after the name
            span = Span(span.start, gloss.end()) if gloss else span
            # Only a topic that a page or table pins down is a cited section; otherwise the words after
            # the guideline's name are the sentence's subject ("..., manual therapy is recommended").
            ahead = _ITEM_SEPARATOR.match(text, span.end, hi)
            if not ahead or not (_TABLE.match(text, ahead.end(), hi) or _PROSE_PAGE.match(text, ahead.end(), hi)):
                break
            items.append(_TailItem("section", "", span, section))
            pos = span.end
        else:
            break
    return _Tail(pos, year, regulation_part, tuple(items))


def _stripped_span(found: re.Match) -> Span:
    """The span of a match without the spaces it starts with."""
    return Span(found.end() - len(found.group().lstrip()), found.end())


def _closed(text: str, span: Span, hi: int) -> Span:
    """The span of a name written with an opening bracket ("... (MTUS"), extended over its ")"."""
    if text.count("(", span.start, span.end) > text.count(")", span.start, span.end):
        closing = _CLOSING.match(text, span.end, hi)
        if closing:
            return Span(span.start, closing.end())
    return span


def _name_at(words: _Words, index: _NameIndex, pos: int, hi: int) -> tuple[int, object] | None:
    """The longest name of `index` starting with the first word at or after `pos` (only a gap between)."""
    k = words.first_at(pos)
    if words.past_end(k) or (start := words.start(k)) >= hi:
        return None
    if start != pos and _GAP.match(words.text, pos, start).end() != start:
        return None
    return index.longest(words, k, words.before(k, hi))


def _not_cited(text: str, start: int, end: int) -> bool:
    """Named only to be set aside: "Non-MTUS", "outside of the MTUS", "... do not address", "is silent"."""
    before = text[max(0, start - _LOOK_BEHIND):start]
    lowered = before.lower()
    if ("non" in lowered or "outside" in lowered) and _NOT_CITED_BEFORE.search(before):
        return True
    return bool(_NOT_CITED_AFTER.match(text[end:end + _LOOK_AHEAD]))


def _year_before(text: str, start: int) -> int | None:
    """"The 2016 California MTUS": an edition year written just before the name."""
    window = text[max(0, start - 12):start]
    ending = window.rstrip()
    if not (ending[-4:].isdigit() or ending[-3:].lower() == "the"):  # cheap test before the regex
        return None
    found = _YEAR_BEFORE.search(window)
    return int(found.group(1)) if found else None


def _page_before(text: str, start: int) -> list[tuple[str, Span]]:
    window_start = max(0, start - _LOOK_BEHIND)
    ending = text[max(window_start, start - 12):start].rstrip().lower()
    if not ending.endswith(("of", "in", "the")):  # cheap test before the regex
        return []
    found = _PAGE_BEFORE.search(text[window_start:start])
    if not found:
        return []
    return [(_page(found.group(1)), Span(window_start + found.start(), window_start + found.end(1)))]


def _emit_part(text: str, found: _Found, part: GuidelinePart | None, name: Span, tail: _Tail,
               year: int | None, pages_before: list[tuple[str, Span]]) -> None:
    """Citations for a part named in prose: its sections, tables and pages, or the part itself."""
    year = year or tail.year
    if part is None:
        pages = tail.values("page") + pages_before
        found += [_page_citation(text, "MTUS", "MTUS", s, p) for p, s in pages]
        if not pages and "MTUS" not in found.ids:
            found.append(_generic_mtus(text, name, year))
        return
    fields = _part_fields(part, year)
    added = []
    for item in tail.items:
        if item.kind == "section":
            added.append(_section_citation(text, part, item.span, year, item.section))
        elif item.kind == "table":
            added.append(_make(text, f"{part.id}/s:table-{_slug(item.value)}", "MTUS", item.span,
                               sections=(f"Table {item.value}",), **fields))
        else:
            added.append(_page_citation(text, part.id, "MTUS", item.span, item.value, **fields))
    added += [_page_citation(text, part.id, "MTUS", s, p, **fields) for p, s in pages_before]
    if added:
        found += added
    elif part.id not in found.ids:
        found.append(_part_citation(text, part, name, year))


def _read_mtus(words: _Words, k: int, j: int, hi: int, found: _Found) -> int | None:
    """"(2016) California MTUS[/ACOEM] [2016] [Guidelines in ACOEM Chapter N | <part>] [, page 24]"."""
    hit = _MTUS_NAMES.longest(words, k, j)
    if not hit:
        return None
    text = words.text
    name = _closed(text, words.span(k, hit[0]), hi)
    year = _year_before(text, name.start)
    trailer = _MTUS_TRAILER.match(text, name.end, hi)
    if trailer.group("year"):
        year = int(_YEAR_IN.search(trailer.group("year")).group())
    pos, part = trailer.end(), None
    if trailer.group("chapter"):
        number = int(_PAGE_NUMBERS.findall(trailer.group("chapter"))[-1])
        part = _PART_BY_CHAPTER.get(number) or _unknown_chapter_part(number)
        pos = _after_part_name(words, pos, hi)
    elif named := _name_at(words, _PROSE_PARTS, pos, hi):
        part = GUIDELINE_PARTS[named[1]]
        pos = words.end(named[0] - 1)
        if step := _YEAR_AFTER.match(text, pos, hi):
            year, pos = year or int(step.group(1)), step.end()
        if step := _CHAPTER_WORD_AFTER.match(text, pos, hi):
            pos = step.end()
    tail = _read_tail(words, part, pos, hi)
    part = part or tail.regulation_part
    if not _not_cited(text, name.start, tail.end):
        _emit_part(text, found, part, Span(name.start, pos if part else name.end), tail, year,
                   _page_before(text, name.start))
    return words.first_at(tail.end)


def _read_standalone_part(words: _Words, k: int, j: int, hi: int, found: _Found) -> int | None:
    """A part named without "MTUS": "Chronic Pain Medical Treatment Guidelines (July 28, 2016), page 81"."""
    hit = _STANDALONE_PARTS.longest(words, k, j)
    if not hit:
        return None
    text = words.text
    name = words.span(k, hit[0])
    if _ODG_BEFORE.search(text[max(0, name.start - _LOOK_BEHIND):name.start]):
        return hit[0]
    part = GUIDELINE_PARTS[hit[1]]
    year_after = _YEAR_AFTER.match(text, name.end, hi)
    year = int(year_after.group(1)) if year_after else None
    tail = _read_tail(words, part, year_after.end() if year_after else name.end, hi)
    if not _not_cited(text, name.start, tail.end):
        _emit_part(text, found, part, name, tail, year, _page_before(text, name.start))
    return words.first_at(tail.end)


def _read_acoem_chapter(words: _Words, k: int, j: int, hi: int, found: _Found) -> int | None:
    """"ACOEM, Chapter 12, Low Back Complaints": a numbered chapter is the MTUS-adopted 2004 chapter."""
    if words.keys[k] != "acoem":
        return None
    chapter = PATTERNS["acoem_chapter"].match(words.text, words.start(k), hi)
    if not chapter:
        return None
    number = int(chapter.group(1))
    part = _PART_BY_CHAPTER.get(number) or _unknown_chapter_part(number)
    end = _after_part_name(words, chapter.end(), hi)
    tail = _read_tail(words, part, end, hi)
    if not _not_cited(words.text, chapter.start(), tail.end):
        _emit_part(words.text, found, part, Span(chapter.start(), end), tail, None, [])
    return words.first_at(tail.end)


def _read_acoem(words: _Words, k: int, j: int, hi: int, found: _Found) -> int | None:
    """"ACOEM Guidelines", "the ACOEM Neck Pain guidelines", "ACOEM/MTUS"; a 2004 chapter is the MTUS's."""
    hit = _ACOEM_NAMES.longest(words, k, j)
    if not hit:
        return None
    text = words.text
    name = _closed(text, words.span(k, hit[0]), hi)
    pos = name.end
    if slash := _MTUS_SLASH_AFTER.match(text, pos, hi):  # "ACOEM/MTUS": attributed to the MTUS
        if not _not_cited(text, name.start, slash.end()):
            found.append(_generic_mtus(text, Span(name.start, slash.end())))
        return words.first_at(slash.end())
    year = None
    if step := _YEAR_AFTER.match(text, pos, hi):
        year, pos = int(step.group(1)), step.end()
    chapter, chapter_span = _chapter_after(words, _ACOEM_CHAPTER_NAMES, pos, hi)
    if chapter:
        pos = chapter_span.end
        if step := _CHAPTER_WORD_AFTER.match(text, pos, hi):
            pos = step.end()
    tail = _read_tail(words, None, pos, hi)
    if _not_cited(text, name.start, tail.end):
        return words.first_at(tail.end)
    pages, tables = tail.values("page"), tail.values("table")
    mtus_part = _PART_BY_CHAPTER.get(chapter.chapter) if chapter and chapter.chapter else None
    if mtus_part:
        _emit_part(text, found, mtus_part, chapter_span, tail, year, [])
    elif chapter:
        found += _chapter_citations(text, chapter, Span(name.start, chapter_span.end), year, pages, tables)
    else:
        found += [_page_citation(text, "ACOEM", "ACOEM", s, p, year=year) for p, s in pages]
        if not pages and "ACOEM" not in found.ids:
            found.append(_make(text, "ACOEM", "ACOEM", name, year=year))
    return words.first_at(tail.end)


def _chapter_after(words: _Words, index: _NameIndex, pos: int, hi: int
                   ) -> tuple[GuidelineChapter | None, Span | None]:
    """A chapter named right after a source's name, past filler words ("guidelines", "chapter on").

    After a comma the words start the sentence ("According to ACOEM guidelines, hip MRI is ..."), so
    there a chapter counts only when the text calls it one ("..., Neck and Upper Back section").
    """
    text, k, skipped, comma = words.text, words.first_at(pos), 0, False
    while (not words.past_end(k) and (start := words.start(k)) < hi and skipped < 3
           and _GAP.match(text, pos, start).end() == start):
        comma = comma or "," in text[pos:start]
        hit = index.longest(words, k, words.before(k, hi))
        if hit:
            span = _closed(text, words.span(k, hit[0]), hi)
            called_chapter = _CHAPTER_WORD_AFTER.match(text, span.end, hi) or _CHAPTER_WORD_AT_END.search(span.of(text))
            if comma and not called_chapter:
                return None, None
            return hit[1], span
        if words.keys[k] not in _CHAPTER_FILLER:
            break
        pos, k, skipped = words.end(k), k + 1, skipped + 1
    return None, None


def _read_odg(words: _Words, k: int, j: int, hi: int, found: _Found) -> int | None:
    """"ODG", "Official Disability Guidelines (ODG), Neck and Upper Back section", "ODG Pain guidelines"."""
    hit = _ODG_NAMES.longest(words, k, j)
    if not hit:
        return None
    text = words.text
    name = _closed(text, words.span(k, hit[0]), hi)
    chapter, chapter_span = _chapter_after(words, _ODG_CHAPTER_NAMES_FIRST, name.end, hi)
    pos = chapter_span.end if chapter else name.end
    if step := _CHAPTER_WORD_AFTER.match(text, pos, hi):
        pos = step.end()
    if not _not_cited(text, name.start, pos):
        if chapter and chapter.id not in found.ids:
            found.append(_make(text, chapter.id, "ODG", chapter_span, part=chapter.name))
        elif not chapter and "ODG" not in found.ids:
            found.append(_make(text, "ODG", "ODG", name))
    return words.first_at(pos)


def _read_other(words: _Words, k: int, j: int, hi: int, found: _Found) -> int | None:
    """Sources that are citations even in prose ("According to UpToDate"), and web addresses."""
    if words.keys[k] in _URL_FIRST_WORDS:
        address = PATTERNS["url"].match(words.text, words.start(k), hi)
        if address:
            span = Span(*_trimmed_url(address))
            found.append(_url_citation(words.text, span))
            return words.first_at(span.end)
    hit = _OTHER_PROSE_NAMES.longest(words, k, j)
    if not hit:
        return None
    if hit[1].id not in found.ids:
        found.append(_make(words.text, hit[1].id, "Other", words.span(k, hit[0])))
    return hit[0]


_URL_FIRST_WORDS = frozenset({"http", "https", "www"})
# (reader, the words a mention it reads can start with), tried in this order. A reader given any other
# first word finds nothing, so the scan skips every word in no set (most words of a text) unread.
_PROSE_READERS = (
    (_read_other, _OTHER_PROSE_NAMES.first_words | _URL_FIRST_WORDS),
    (_read_mtus, _MTUS_NAMES.first_words),
    (_read_standalone_part, _STANDALONE_PARTS.first_words),
    (_read_acoem_chapter, frozenset({"acoem"})),
    (_read_acoem, _ACOEM_NAMES.first_words),
    (_read_odg, _ODG_NAMES.first_words),
)
_READERS_BY_FIRST_WORD = {
    word: tuple(reader for reader, first_words in _PROSE_READERS if word in first_words)
    for word in frozenset().union(*(first_words for _, first_words in _PROSE_READERS))
}
# A reader finds a mention at a word only if the word's key is a whole name (or a word the reader
# checks itself), or it and the next word's key join into the beginning of a name.
_PROSE_NAMES = (_OTHER_PROSE_NAMES, _MTUS_NAMES, _STANDALONE_PARTS, _ACOEM_NAMES, _ODG_NAMES)
_PROSE_WHOLE_WORDS = frozenset().union(*(index.exact for index in _PROSE_NAMES), _URL_FIRST_WORDS, {"acoem"})
_PROSE_PREFIXES = frozenset().union(*(index.prefixes for index in _PROSE_NAMES))


def _mention_start_pattern() -> str:
    """Where a prose mention may start in a lowered text of plain words (`_plain_words`), given a word
    starts there: a word whose key is a whole name's (`_PROSE_WHOLE_WORDS`), or a first word of a name
    that the next word's first letter goes on with ("&" reads "and"). That is every word
    `_read_mention` reads (and a few it then skips), found by C code. The words are put in a trie, so
    each place is tried one letter at a time."""
    goes_on: dict[str, set[str]] = {}  # a name's beginning -> the letters that can come next
    for prefix in _PROSE_PREFIXES:
        goes_on.setdefault(prefix[:-1], set()).add(prefix[-1])
    trie: dict = {}
    for word in _READERS_BY_FIRST_WORD:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        ends = ["(?![a-z0-9])"] if word in _PROSE_WHOLE_WORDS else []
        if word in goes_on:
            letters = "".join(sorted(goes_on[word])) + ("&" if "a" in goes_on[word] else "")
            ends.append(f"(?=[^a-z0-9&]+[{letters}])")
        node[""] = "|".join(ends) or "(?!)"

    def alternatives(node: dict) -> str:
        found = [re.escape(char) + alternatives(child) for char, child in sorted(node.items()) if char]
        if "" in node:
            found.append(f"(?:{node['']})")
        return found[0] if len(found) == 1 else f"(?:{'|'.join(found)})"

    return alternatives(trie)


# A word follows a character of no word (in a text padded with a space): searching for that character
# first lets the regex engine skip to it quickly, faster than testing for a word's start everywhere.
_MENTION_WORD = _mention_start_pattern()
_MENTION_AFTER_GAP = re.compile(f"[^a-z0-9](?P<word>{_MENTION_WORD})")


# --------------------------------------------------------------------------------------------
# Ids: labels and structure for the site


def _page_label(page: str) -> str:
    return f"pp. {page}" if "-" in page else f"p. {page}"


def _unslug(slug: str) -> str:
    words = slug.replace("-", " ").strip()
    return words[:1].upper() + words[1:]


def _is_leaf(component: str) -> bool:
    return component.startswith("s:") or bool(re.fullmatch(r"p\d+(?:-\d+)?", component))


def citation_part_id(citation_id: str) -> str:
    """The id without its page or section: "MTUS/CPMTG/p24" -> "MTUS/CPMTG"; "ODG/pain" stays."""
    head, _, last = citation_id.rpartition("/")
    return head if head and _is_leaf(last) else citation_id


@functools.lru_cache(maxsize=65536)
def citation_ancestry(citation_id: str) -> tuple[str, ...]:
    """The id and the ids it refines, broadest first: ("MTUS", "MTUS/CPMTG", "MTUS/CPMTG/p24")."""
    parts = citation_id.split("/")
    return tuple("/".join(parts[: n + 1]) for n in range(len(parts)))


def citation_source(citation_id: str) -> str:
    """"MTUS" | "ACOEM" | "ODG" | "Other" | "None", read from the id alone."""
    head = citation_id.split("/", 1)[0]
    return {"MTUS": "MTUS", "ACOEM": "ACOEM", "ODG": "ODG", "OTHER": "Other", NONE_ID: "None"}.get(head, "Other")


def _base_label(head: str) -> str:
    source, _, rest = head.partition("/")
    if not rest:
        return {NONE_ID: NONE_LABEL, "OTHER": "Other source"}.get(source, source)
    if source == "MTUS":
        part = GUIDELINE_PARTS.get(rest)
        chapter = re.fullmatch(r"ch(\d+)", rest)
        return part.label if part else (f"MTUS ACOEM ch. {chapter.group(1)}" if chapter else f"MTUS {rest}")
    if source in ("ODG", "ACOEM"):
        chapter = (ODG_CHAPTERS if source == "ODG" else ACOEM_CHAPTERS).get(rest)
        return chapter.label if chapter else f"{source} {_unslug(rest)}"
    other = OTHER_SOURCES.get(rest)
    return other.name if other else _unslug(rest)


def _section_label(head: str, slug: str) -> str:
    code = head.partition("/")[2]
    section = _SECTION_BY_SLUG.get((code, slug)) if head.startswith("MTUS/") else None
    if section:
        return section.name
    if table := re.fullmatch(r"table-(\d+(?:-\d+)?)", slug):
        return f"Table {table.group(1)}"
    if re.fullmatch(r"\d+(?:\.\d+)*", slug):
        return f"section {slug}"
    return _unslug(slug)


@functools.lru_cache(maxsize=65536)
def citation_label(citation_id: str) -> str:
    """A readable label for a facet value, from the id alone (no parsing of letter text)."""
    head, _, last = citation_id.rpartition("/")
    if not head or not _is_leaf(last):
        return _base_label(citation_id)
    if last.startswith("s:"):
        return f"{_base_label(head)}, {_section_label(head, last[2:])}"
    return f"{_base_label(head)}, {_page_label(last[1:])}"


def citation_sort_key(citation_id: str) -> tuple:
    """Orders ids as a guideline index would: by source, then MTUS parts in data order, then pages numerically."""
    order = {code: n for n, code in enumerate(GUIDELINE_PARTS)}
    parts = citation_id.split("/")
    key: list = [SOURCES.index(citation_source(citation_id))]
    for component in parts[1:]:
        if re.fullmatch(r"p\d+(?:-\d+)?", component):
            key.append((2, int(_PAGE_NUMBERS.findall(component)[0]), component))
        elif component.startswith("s:"):
            numbers = re.fullmatch(r"s:(\d+(?:\.\d+)*)", component)
            key.append((1, tuple(int(n) for n in numbers.group(1).split(".")) if numbers else (), component))
        else:
            key.append((0, order.get(component, len(order)), component))
    return tuple(key)
