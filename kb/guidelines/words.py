"""Words, the unit every guideline name is matched on: keys, heads and slugs of names, `_Words` (a text's
words, all of them or a growing window), `_NameIndex` (the longest name starting at a word).
"""

from __future__ import annotations

import bisect
import functools
import re
from collections.abc import Iterable

from kb.models import Span

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


def _index(pairs: Iterable[tuple[str, object]]) -> _NameIndex:
    index = _NameIndex()
    for name, value in pairs:
        index.add(name, value)
    return index
_CLOSING = re.compile(r"\s*\)")
_ALL_WORDS = 1 << 62  # a stop index "up to the last word", for a window not yet reaching the end


def _closed(text: str, span: Span, hi: int) -> Span:
    """The span of a name written with an opening bracket ("... (MTUS"), extended over its ")"."""
    if text.count("(", span.start, span.end) > text.count(")", span.start, span.end):
        closing = _CLOSING.match(text, span.end, hi)
        if closing:
            return Span(span.start, closing.end())
    return span
