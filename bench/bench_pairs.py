"""Would common-word pairs indexed as single terms (Lucene's common-grams) pay on Whoosh?

A phrase of very common words is Whoosh's slowest search: it decodes the positions of every word in
nearly every passage. Indexing each pair of neighbouring words as one term ("medic|necessari") turns a
two-word phrase into one term and a longer phrase into a phrase of rarer pair terms. tantivy cannot put
two terms at one position from Python, so the pairs go in a field of their own, every pair of the text
(Lucene's common-grams keep only pairs with a common word, beside the words, which a separate field cannot
match exactly), either with positions (any phrase) or without (two-word phrases only; a longer phrase
would still need the words' positions).

For an existing Whoosh index (bench.bench_scale's), this rewrites its passages into three Whoosh indexes
side by side, with imr-kb's schema as it is, plus a pair field with positions, plus one without, timing
each writer and measuring each size; then runs phrases of 2 to 9 common words and the quotations of a
200-quotation brief (their first 24 words) as word phrases and as pair queries, checking both find the
same passages.

    python -m bench.bench_pairs --indexes /tmp/kb-bench-build/index-whoosh-10000 [...] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh.analysis import SpaceSeparatedTokenizer
from whoosh.fields import TEXT

from bench.attacks import brief_of_quotations
from bench.common import load_average, machine, versions
from kb.citecheck import quotations
from kb.engines import whoosh_engine
from kb.engines.analysis import stems
from kb.search import SearchIndex

PHRASES = ("medically necessary", "not medically necessary", "is not medically necessary",
           "the request for physical therapy is not medically necessary")
EPOCH = date(1970, 1, 1)
VARIANTS = ("words (as now)", "words + pairs with positions", "words + pairs without positions")


def pairs(text: str) -> str:
    words = stems(text)
    return " ".join(f"{a}|{b}" for a, b in zip(words, words[1:]))


def passage_documents(index_dir: Path) -> list[dict]:
    """The passage documents of the index as Whoosh stores them (day and year from the decision date)."""
    index = SearchIndex(index_dir)
    generation = index.generation()
    rows = np.flatnonzero(generation.columns.passage).tolist()
    documents = []
    for start in range(0, len(rows), 1000):
        for fields in generation.reader.stored(rows[start:start + 1000]):
            when = fields.get("decision_date")
            documents.append({**fields, "year": when.year if when else 0,
                              "day": (when.date() - EPOCH).days if when else -1})
    index.close()
    return documents


def build(folder: Path, documents: list[dict], variant: str) -> tuple[float, int]:
    schema = whoosh_engine.SCHEMA.copy()
    if variant != VARIANTS[0]:
        schema.add("rationale_pairs", TEXT(analyzer=SpaceSeparatedTokenizer(), phrase=variant == VARIANTS[1]))
    folder.mkdir(parents=True)
    index = whoosh_index.create_in(str(folder), schema)
    started = time.perf_counter()
    writer = index.writer(limitmb=256)
    for document in documents:
        extra = {"rationale_pairs": pairs(document.get("rationale", ""))} if variant != VARIANTS[0] else {}
        writer.add_document(**document, **extra)
    writer.commit()
    seconds = time.perf_counter() - started
    index.close()
    return seconds, sum(path.stat().st_size for path in folder.iterdir())


def word_query(words: list[str]):
    return wq.Phrase("rationale", words)


def pair_query(words: list[str]):
    terms = [f"{a}|{b}" for a, b in zip(words, words[1:])]
    return wq.Term("rationale_pairs", terms[0]) if len(terms) == 1 else wq.Phrase("rationale_pairs", terms)


def timed_count(searcher, query, rounds: int) -> tuple[float, int]:
    times, count = [], 0
    for _ in range(rounds):
        started = time.perf_counter()
        count = sum(1 for _ in searcher.docs_for_query(query))
        times.append(time.perf_counter() - started)
    return statistics.median(times), count


def measure(index_dir: Path, rounds: int) -> dict:
    documents = passage_documents(index_dir)
    result = {"passages": len(documents), "builds": {}, "queries": []}
    quotes = [stems(quote.fragments[0])[:24] for quote in quotations(brief_of_quotations(index_dir))]
    with tempfile.TemporaryDirectory(prefix="kb-pairs-") as folder:
        for n, variant in enumerate(VARIANTS):
            result["builds"][variant] = build(Path(folder) / str(n), documents, variant)
            print(f"[{index_dir.name}] {variant}: {result['builds'][variant][0]:.1f} s, "
                  f"{result['builds'][variant][1] / 1e6:.0f} MB", flush=True)
        words_index = whoosh_index.open_dir(str(Path(folder) / "0"))
        pairs_index = whoosh_index.open_dir(str(Path(folder) / "1"))
        unpositioned = whoosh_index.open_dir(str(Path(folder) / "2"))
        with words_index.searcher() as a, pairs_index.searcher() as b, unpositioned.searcher() as c:
            for text in PHRASES:
                words = stems(text)
                row = {"query": f"“{text}”", "words": timed_count(a, word_query(words), rounds),
                       "pairs": timed_count(b, pair_query(words), rounds),
                       "unpositioned": timed_count(c, pair_query(words), rounds) if len(words) == 2 else None}
                assert row["words"][1] == row["pairs"][1], row
                result["queries"].append(row)
            totals = {"words": [0.0, 0], "pairs": [0.0, 0]}
            for words in quotes:
                for key, searcher, make in (("words", a, word_query), ("pairs", b, pair_query)):
                    seconds, count = timed_count(searcher, make(words), 1)
                    totals[key][0] += seconds
                    totals[key][1] += count
            assert totals["words"][1] == totals["pairs"][1], totals
            result["queries"].append({"query": f"{len(quotes)} quotations of 24 words (in all)",
                                      "words": tuple(totals["words"]), "pairs": tuple(totals["pairs"]),
                                      "unpositioned": None})
        for index in (words_index, pairs_index, unpositioned):
            index.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--indexes", type=Path, nargs="+", required=True)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    results = [measure(index_dir, args.rounds) for index_dir in args.indexes]
    print()
    print(f"machine: {machine()}; load {load_average()}")
    print(f"versions: {versions('whoosh-reloaded')}; median of {args.rounds} rounds")
    print()
    print("| passages | schema | writing (Whoosh writer) | index size |")
    print("|---|---|---|---|")
    for result in results:
        base_seconds, base_size = result["builds"][VARIANTS[0]]
        for variant, (seconds, size) in result["builds"].items():
            print(f"| {result['passages']:,} | {variant} | {seconds:.1f} s ({seconds / base_seconds:.2f}x) | "
                  f"{size / 1e6:.0f} MB ({size / base_size:.2f}x) |")
    print()
    print("| passages | query | matches | word phrase | pair phrase (with positions) | pair term (without positions) |")
    print("|---|---|---|---|---|---|")
    for result in results:
        for row in result["queries"]:
            unpositioned = f"{1000 * row['unpositioned'][0]:,.1f} ms" if row["unpositioned"] else "—"
            print(f"| {result['passages']:,} | {row['query']} | {row['words'][1]:,} | {1000 * row['words'][0]:,.1f} ms | "
                  f"{1000 * row['pairs'][0]:,.1f} ms | {unpositioned} |")
    print(f"\nload now {load_average()}")


if __name__ == "__main__":
    main()
