"""What the precedents page's statistics cost, section by section: the sections the page had before issue 15
(summary, years, guidelines, divergence, specialties, drugs, products, treatments, typical rationales) beside
the ones issue 15 added (body regions, time since injury, why upheld and overturned, reused wording), for a
few requests, on one index, in one run (best of `--rounds`; the match itself timed apart).

    python -m bench.bench_precedents --index /tmp/kb-bench-verify/x10 [--rounds 5]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from bench.common import load_average, machine, versions
from kb.precedents import Statistics
from kb.search import SearchIndex
from kb.search_request import SearchRequest

REQUESTS = {"every decision": {}, "drug=carisoprodol": {"drug": "carisoprodol"},
            "class=Opioids": {"class": "Opioids"}, "treatment=MRI": {"treatment": "MRI"}}
BEFORE = ("summary", "by_year", "reviewer_guideline", "ca_guideline", "divergence", "specialty", "drug",
          "product", "treatment", "typical")
ADDED = ("region", "by_time_since_injury", "why", "wording")


def _section(stats: Statistics, name: str):
    method = getattr(stats, name, None)
    if callable(method):
        return method()
    return stats.breakdown(name)


def best(index: SearchIndex, request: SearchRequest, sections: tuple[str, ...], rounds: int) -> float:
    """The best time of `sections` over `rounds`, each on a fresh match (a Match caches what it computes)."""
    times = []
    for _ in range(rounds):
        match = index.match(request)
        started = time.perf_counter()
        stats = Statistics(match)
        for name in sections:
            _section(stats, name)
        times.append(time.perf_counter() - started)
    return min(times)


def best_match(index: SearchIndex, request: SearchRequest, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        index.match(request)
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=Path, required=True)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    index = SearchIndex(args.index)
    generation = index.generation()
    print(f"{int(generation.columns.passage.sum()):,} passages, {generation.engine.NAME}; load {load_average()}")
    print(f"machine: {machine()}; versions: {versions('numpy', 'tantivy', 'whoosh-reloaded')}\n")
    print("| request | decisions | match | sections before issue 15 | sections issue 15 added | added / before |")
    print("|---|---|---|---|---|---|")
    for label, params in REQUESTS.items():
        request = SearchRequest.from_params(params)
        match = index.match(request)
        took_match = best_match(index, request, args.rounds)
        before = best(index, request, BEFORE, args.rounds)
        added = best(index, request, ADDED, args.rounds)
        print(f"| {label} | {match.total:,} | {took_match * 1000:.0f} ms | {before * 1000:.0f} ms | "
              f"{added * 1000:.0f} ms | {added / before:.2f} |")


if __name__ == "__main__":
    main()
