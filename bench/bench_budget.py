"""Every request within a budget: what the costliest searches and cite-checks cost, and what the budget
makes of them.

For each index given (built by bench.bench_scale: <workdir>/index-<engine>-<N>), it runs bench.attacks'
slowest searches and a few ordinary ones in this process (no HTTP):
  - without a budget: the index entries (postings) kb.search_cost estimates, the time the search took,
    and so the postings per second of the engine (what kb.search_cost.POSTINGS_PER_SECOND is set from);
  - within the site's budget (kb.budget.REQUEST_SECONDS): how long until the answer or the refusal, and
    which it was.
Then the cite-check of 200 quotations, both ways; and the time to scan the quadratic cite-check inputs with
the patterns before issue 19 and now. A search whose estimate is past --max-seconds is not run
without the budget (a phrase of 124 common words would take minutes on Whoosh at 100k passages).

    python -m bench.bench_budget [--indexes DIR ...] [--workdir /tmp/kb-bench-build] [--rounds 3]
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from bench.attacks import SLOWEST_SEARCHES, brief_of_quotations
from bench.common import load_average, machine, versions
from kb import budget
from kb.citecheck import MAX_BRIEF_CHARS, case_mentions, check_brief, quotations
from kb.search import SearchIndex, estimated_work
from kb.search_request import SearchError, SearchRequest

ORDINARY_SEARCHES = {
    "a drug": "tramadol",
    "two words": "physical therapy",
    "a phrase in every passage": '"medically necessary"',
    "a phrase of three common words": '"not medically necessary"',
    "a prefix": "taper*",
    "a word and a year range": "opioid year:2014-2016",
}


def searches() -> dict[str, str]:
    found = dict(ORDINARY_SEARCHES)
    for name, url in SLOWEST_SEARCHES.items():
        parts = urlsplit(url)
        if parts.path == "/api/search":
            found[name] = parse_qs(parts.query)["q"][0]
    return found


def timed(function) -> tuple[float, str]:
    started = time.perf_counter()
    try:
        outcome = f"answer ({function():,})"
    except budget.TooCostly:
        outcome = "refused: too costly (400)"
    except budget.OverBudget:
        outcome = "stopped: out of time (503)"
    return time.perf_counter() - started, outcome


def measure(index_dir: Path, rounds: int, max_seconds: float) -> list[dict]:
    index = SearchIndex(index_dir, cached_queries=0)
    engine = index.generation().engine.NAME
    rows = []
    for name, q in searches().items():
        try:
            request = SearchRequest.from_params({"q": q})
        except SearchError as error:
            rows.append({"name": name, "engine": engine, "passages": int(index.generation().columns.passage.sum()),
                         "postings": None, "estimate": None, "free": None,
                         "within": (0.0, f"refused by the query language (400): {error}")})
            continue
        postings, estimate = estimated_work(index, request)
        row = {"name": name, "engine": engine, "passages": int(index.generation().columns.passage.sum()),
               "postings": postings, "estimate": estimate, "free": None, "within": None}
        if estimate <= max_seconds:
            row["free"] = min(timed(lambda: index.search(request).total)[0] for _ in range(rounds))
        budget.start()
        try:
            row["within"] = timed(lambda: index.search(request).total)
        finally:
            budget.stop()
        rows.append(row)
        print(f"[{index_dir.name}] {name}: {row}", flush=True)
    brief = brief_of_quotations(index_dir)
    row = {"name": "cite-check of 200 quotations", "engine": engine, "passages": rows[0]["passages"],
           "postings": None, "estimate": None}
    row["free"] = timed(lambda: check_brief(brief, index)["summary"]["quotations_found"])[0]
    budget.start()
    try:
        row["within"] = timed(lambda: check_brief(brief, index)["summary"]["quotations_found"])
    finally:
        budget.stop()
    rows.append(row)
    index.close()
    return rows


# The cite-check patterns before issue 19 (kept here only to measure them against the current scan)
_CASE_BEFORE = re.compile(r"(?<![A-Za-z0-9])CM\s*(\d{2})\s*[-‐‑–—]?\s*(\d{7})(?!\d)", re.I)
_QUOTE_BEFORE = re.compile(r"“([^”]{10,4000})”|\"([^\"]{10,4000})\"")
SCANNED = {  # (input, its size for the patterns before: the whole brief would run for minutes)
    "a case number's start and spaces": (lambda n: "CM12" + " " * (n - 4), 16_000),
    "typographic opening quotes": (lambda n: "\u201c" * n, 40_000),
}


def scanning() -> list[tuple[str, int, float, int, float]]:
    """(input, size before, CPU seconds before, size now, CPU seconds now) for the quadratic inputs."""
    rows = []
    for name, (make, small) in SCANNED.items():
        started = time.process_time()
        list(_CASE_BEFORE.finditer(make(small)))
        list(_QUOTE_BEFORE.finditer(make(small)))
        before = time.process_time() - started
        started = time.process_time()
        case_mentions(make(MAX_BRIEF_CHARS))
        quotations(make(MAX_BRIEF_CHARS))
        rows.append((name, small, before, MAX_BRIEF_CHARS, time.process_time() - started))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--indexes", type=Path, nargs="+")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/kb-bench-build"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--max-seconds", type=float, default=30.0)
    args = parser.parse_args()
    indexes = args.indexes or sorted(args.workdir.glob("index-*-*"))
    rows = [row for index_dir in indexes for row in measure(index_dir, args.rounds, args.max_seconds)]
    print()
    print(f"machine: {machine()}; load {load_average()}")
    print(f"versions: {versions('whoosh-reloaded', 'tantivy')}; budget {budget.REQUEST_SECONDS:g} s per request")
    print()
    print("| request | passages | engine | postings (estimated) | estimate | without a budget | postings/s "
          "| within the budget | outcome |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        free = f"{row['free']:.2f} s" if row["free"] is not None else "not run"
        rate = f"{row['postings'] / row['free']:,.0f}" if row["free"] and row["postings"] else "—"
        postings = f"{row['postings']:,}" if row["postings"] is not None else "—"
        estimate = f"{row['estimate']:.2f} s" if row["estimate"] is not None else "—"
        within, outcome = row["within"]
        print(f"| {row['name']} | {row['passages']:,} | {row['engine']} | {postings} | {estimate} | {free} | {rate} "
              f"| {within:.2f} s | {outcome} |")
    print()
    print("| cite-check input | characters | CPU time, the patterns before | characters | CPU time now |")
    print("|---|---|---|---|---|")
    for name, small, before, large, now in scanning():
        print(f"| {name} | {small:,} | {before:.2f} s | {large:,} | {now * 1000:.1f} ms |")
    print(f"\nload now {load_average()}")


if __name__ == "__main__":
    main()
