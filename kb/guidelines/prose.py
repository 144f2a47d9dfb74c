"""Guideline citations clearly mentioned in rationale prose ("According to the California MTUS 2016 Chronic
Pain Guidelines, page 24, ..."), skipping mentions that only say a guideline is silent or does not apply.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple

from kb.models import Citation, Span
from kb.guidelines.citations import (
    _chapter_citations, _dedupe, _generic_mtus, _make, _page, _page_citation, _part_citation, _part_fields,
    _section_citation,
)
from kb.guidelines.names import (
    _ACOEM_CHAPTER_NAMES, _ACOEM_NAMES, _MTUS_NAMES, _ODG_CHAPTER_NAMES_FIRST, _ODG_NAMES, _OTHER_PROSE_NAMES,
    _PART_BY_CHAPTER, _PART_BY_REGULATION, _PROSE_PARTS, _SECTIONS, _STANDALONE_PARTS, _after_part_name,
    _unknown_chapter_part,
)
from kb.guidelines.patterns import (
    _CHAPTER_FILLER, _CHAPTER_WORD_AFTER, _CHAPTER_WORD_AT_END, _GAP, _GLOSS, _ITEM_SEPARATOR, _LOOK_AHEAD,
    _LOOK_BEHIND, _MTUS_SLASH_AFTER, _MTUS_TRAILER, _NOT_CITED_AFTER, _NOT_CITED_BEFORE, _ODG_BEFORE, _PAGE_BEFORE,
    _PAGE_NUMBERS, _PROSE_PAGE, _REGULATION_IN, _TABLE, _TAIL_HEAD, _YEAR_AFTER, _YEAR_BEFORE, _YEAR_IN,
)
from kb.guidelines.reference import GuidelineChapter, GuidelinePart, GuidelineSection, PATTERNS
from kb.guidelines.sources import _table, _trimmed_url, _url_citation
from kb.guidelines.words import _ALL_WORDS, _ASCII_WORD, _NameIndex, _Words, _closed, _slug, _word_key

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
        pos = words.end(named[0] - 1)
        if step := _YEAR_AFTER.match(text, pos, hi):
            year, pos = year or int(step.group(1)), step.end()
        part = named[1].part(year)
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
    year_after = _YEAR_AFTER.match(text, name.end, hi)
    year = int(year_after.group(1)) if year_after else None
    part = hit[1].part(year)
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
