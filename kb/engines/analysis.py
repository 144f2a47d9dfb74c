"""The one text analysis both engines index and every query, snippet and statistic uses.

Words are runs of letters and digits (keeping inner dots, "1.5mg"), lower-cased and Porter-stemmed, with
no stop words: "not medically necessary" must not match "is medically necessary", and the "5" of "L4-5"
is a word. This is exactly Whoosh's StemmingAnalyzer(stoplist=None, minsize=1), which the Whoosh engine
indexes with (a test holds the two equal); the tantivy engine indexes the stems this module gives, so a
query means the same thing on either engine.
"""

from __future__ import annotations

import re
from functools import lru_cache

from whoosh.lang.porter import stem as _porter

# Whoosh's default tokenizer pattern ("*" is kept in a word so "taper*" stays one token for queries)
WORD = re.compile(r"[\w*]+(?:\.?[\w*]+)*")


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return _porter(word)


def stems(text: str) -> list[str]:
    """The index terms of `text`, in order (term i is at position i)."""
    return [_stem(match.group().lower()) for match in WORD.finditer(text)]


def stem_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, stem) of every word of `text`: where each index term came from, for highlighting."""
    return [(match.start(), match.end(), _stem(match.group().lower())) for match in WORD.finditer(text)]
