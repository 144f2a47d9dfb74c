"""What a search will cost, known before it runs: the index entries (postings) the engine reads for it.

kb.search's query compiler lists what each part of a query reads (`Read`); the number of postings comes
from the index's document frequencies (a term in every passage is one posting per passage; a phrase
reads the positions of each of its words too), and an engine reads a known number of them per second
(measured with bench/bench_budget.py, bench/RESULTS.md). A search estimated past the request's budget is
refused with the words that make it costly, before it ties up a worker. No Flask here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kb.budget import TooCostly

# Postings a whole search (matching, ranking, counting) gets through per second, measured on the 2-core
# machine at 10,000-100,000 passages (bench/RESULTS.md, "Every request within a budget"), rounded down.
POSTINGS_PER_SECOND = {"whoosh": 200_000, "tantivy": 8_000_000}
SKIP_READ = 2  # the words of a phrase are read where the rarest one occurs: a block of postings per match
PREFIX_COST = 2  # Whoosh reads the postings of a prefix's terms (a union of many) at half the speed
YEAR_COST = 3  # a year range is a numeric range: Whoosh reads each of its postings at a third of the speed
MOST_COSTLY_SHOWN = 3


@dataclass(frozen=True)
class Read:
    """One thing the engine reads for a query."""

    kind: str  # "term", "phrase" (each word's postings and positions), "prefix" (every term so starting),
    # "years" or "days" (a numeric range)
    field: str
    terms: tuple  # the term(s) as indexed (stems); for "years", (first, last)
    shown: str = ""  # what the query said, for a message


def postings(read: Read, reader, columns) -> int:
    """How many postings the engine reads for `read`.

    A phrase reads its words' postings where its rarest word occurs (a phrase of common words reads all of
    them), and the positions of every word there: a phrase of one common word 124 times reads 124 times
    the postings of that word, with their positions.
    """
    if read.kind == "years":
        first, last = read.terms
        return YEAR_COST * int(np.count_nonzero((columns.year >= first) & (columns.year <= last)))
    if read.kind == "days":  # a numeric range as a year range is; the columns keep no days: at most every passage
        return YEAR_COST * int(np.count_nonzero(columns.passage))
    if read.kind == "prefix":
        return PREFIX_COST * reader.prefix_frequency(read.field, read.terms[0])
    frequencies = [reader.doc_frequency(read.field, term) for term in read.terms]
    if read.kind != "phrase":
        return sum(frequencies)
    rarest = min(frequencies)
    return sum(min(frequency, SKIP_READ * rarest) for frequency in frequencies) + len(frequencies) * rarest


def estimate(reads: list[Read], reader, columns, engine: str) -> tuple[int, float]:
    """(postings read, seconds) of a search that reads `reads`, on `engine`."""
    total = sum(postings(read, reader, columns) for read in reads)
    return total, total / POSTINGS_PER_SECOND[engine]


def refuse_if_costly(reads: list[Read], reader, columns, engine: str, seconds: float) -> None:
    """TooCostly, naming the costliest words, when `reads` would take the engine more than `seconds`."""
    total, estimated = estimate(reads, reader, columns, engine)
    if estimated <= seconds:
        return
    by_cost = sorted(reads, key=lambda read: -postings(read, reader, columns))
    costliest = list(dict.fromkeys(read.shown or " ".join(map(str, read.terms)) for read in by_cost))
    shown = ", ".join(f"“{_shortened(words)}”" for words in costliest[:MOST_COSTLY_SHOWN])
    raise TooCostly(f"this search would take about {estimated:.0f} s on this index, past the {seconds:g} s a search "
                    f"may take: it reads {total:,} index entries, most of them for {shown}. Leave out very common "
                    "words, or search fewer words in a row")


def _shortened(words: str, limit: int = 60) -> str:
    return words if len(words) <= limit else words[:limit].rsplit(" ", 1)[0] + " …"
