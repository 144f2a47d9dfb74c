"""Query latency at scale: imr-kb against SQLite FTS5 on the same passages, same queries, one run.

For each size (passages of generated letters) and engine it reuses, or builds the way bench.bench_build
does,
  - the imr-kb index of the letters (<workdir>/index-<engine>-<N>, letters in <workdir>/letters-<N>), with
    the build's time recorded beside it (<workdir>/build-<engine>-<N>.json), and
  - the SQLite FTS5 database of the same passages (<workdir>/fts5-<N>.sqlite3, bench_build's schema;
    when missing it is filled from the passage documents stored in that imr-kb index, so both hold
    exactly the same rows),
then runs a fixed mix of queries on both: each query once to warm up, then --rounds rounds, the two
engines alternating query by query. Latency is wall time in this process (no HTTP, no templates).

  imr-kb: SearchIndex.search (ranked page of 20 with snippets, every sidebar facet counted),
          SearchIndex.match + precedents(), SearchIndex.similar.
  FTS5:   the same text via MATCH (bm25 order, LIMIT/OFFSET, snippet() on the rationale), COUNT(*)
          and three GROUP BY facet counts (decision, drug, category) over the matching rowids;
          precedent statistics as GROUP BY decision, year for the drug.
Also reported: each index's size on disk, the process's peak RSS (getrusage; it depends on when the
garbage collector frees what each search allocated, so the RSS after a gc.collect() is shown beside it).

    python -m bench.bench_scale [--sizes 10000 100000] [--engines whoosh tantivy] [--rounds 5]
                                [--workdir /tmp/kb-bench-build]
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import os
import resource
import shutil
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.bench_build import directory_size, fts5_build, letters_for
from bench.common import load_average, machine, versions
from kb import index as kb_index
from kb.drugs import DRUGS, resolve_drug
from kb.engines import ENGINES
from kb.ingest import index_paths
from kb.precedents import Statistics, precedents
from kb.search import SearchIndex
from kb.search_request import PER_PAGE, SearchRequest
from kb.snippets import SNIPPET_TOKENS

# The query mix: words that occur in the generated letters.
TERM = "tramadol"  # a drug name: imr-kb also finds its brand names, so the FTS5 query ORs them too
AND_WORDS = ("physical", "therapy")
PHRASE = "medically necessary"
FILTER_DRUG, FILTER_TERM = "oxycodone", "taper"
PRECEDENT_DRUG = "hydrocodone/acetaminophen"  # the most frequent drug of the letters (Norco)
SIMILAR_DRUG = "tramadol"  # more like this: the first passage about it
DEEP_TERM, DEEP_PAGE = "pain", 200

WORKLOADS = (
    "single term",
    "AND of two terms",
    "phrase",
    "facet filter + term",
    "precedent statistics for a drug",
    "precedents: decision × year only",
    "more like this",
    "deep page (page 200 of 20)",
)


# --------------------------------------------------------------------------------------------
# Building what is missing (in a child process, so its memory does not count in the peak RSS)


def expected_letters(passages: int) -> int:
    return max(1, round(passages / 1.89))  # as bench_build.letters_for


def index_dir_of(workdir: Path, engine: str, passages: int) -> Path:
    return workdir / f"index-{engine}-{passages}"


def build_record(workdir: Path, engine: str, passages: int) -> dict | None:
    path = workdir / f"build-{engine}-{passages}.json"
    return json.loads(path.read_text()) if path.exists() else None


def ensure_built(passages: int, engine: str, workdir: Path, jobs: int, seed: int) -> None:
    letters_dir = workdir / f"letters-{passages}"
    index_dir = index_dir_of(workdir, engine, passages)
    database = workdir / f"fts5-{passages}.sqlite3"
    if kb_index.current_generation(index_dir) is None:
        have = sum(1 for _ in letters_dir.glob("*")) if letters_dir.is_dir() else 0
        if have != expected_letters(passages):
            print(f"[{passages:,}] writing {expected_letters(passages):,} letters to {letters_dir}", flush=True)
            shutil.rmtree(letters_dir, ignore_errors=True)
            letters_for(passages, letters_dir, seed)
        print(f"[{passages:,}] building the imr-kb {engine} index {index_dir} (jobs {jobs})", flush=True)
        shutil.rmtree(index_dir, ignore_errors=True)  # no published generation: nothing worth keeping
        report = index_paths([letters_dir], index_dir, jobs=jobs, rebuild=True, engine=engine)
        print(f"[{passages:,}] indexed {report.letters:,} letters, {report.passages:,} passages "
              f"in {report.seconds:.0f} s", flush=True)
        record = {"letters": report.letters, "passages": report.passages, "seconds": report.seconds,
                  "jobs": jobs, "load": load_average()}
        (workdir / f"build-{engine}-{passages}.json").write_text(json.dumps(record))
    if not database.exists():
        print(f"[{passages:,}] building the FTS5 database {database} from the index's passages", flush=True)
        started = time.perf_counter()
        partial = database.with_name(database.name + ".partial")
        partial.unlink(missing_ok=True)
        fts5_build(partial, stored_passages(index_dir))
        os.replace(partial, database)
        print(f"[{passages:,}] passages into FTS5 in {time.perf_counter() - started:.0f} s", flush=True)


def stored_passages(index_dir: Path) -> Iterator[dict]:
    """The passage documents of the published generation, as stored (the fields fts5_build reads)."""
    search_index = SearchIndex(index_dir)
    generation = search_index.generation()
    rows = np.flatnonzero(generation.columns.passage).tolist()
    for start in range(0, len(rows), 1000):
        yield from generation.reader.stored(rows[start:start + 1000])


def build_in_child(passages: int, engine: str, workdir: Path, jobs: int, seed: int) -> None:
    context = multiprocessing.get_context("fork")
    child = context.Process(target=ensure_built, args=(passages, engine, workdir, jobs, seed))
    child.start()
    child.join()
    if child.exitcode != 0:
        raise SystemExit(f"building the {passages:,} passage indexes failed (exit code {child.exitcode})")


# --------------------------------------------------------------------------------------------
# The two engines' query functions: each returns how many passages matched (a sanity check)


def drug_names(generic: str) -> list[str]:
    entry = DRUGS[generic]
    return list(dict.fromkeys([entry.generic, *entry.brands, *entry.synonyms]))


def fts_phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


class ImrKb:
    def __init__(self, index_dir: Path):
        # no cache of text queries: every round searches the text again, as a new query would
        self.index = SearchIndex(index_dir, cached_queries=0)

    def search(self, params: dict) -> int:
        results = self.index.search(SearchRequest.from_params(params))
        assert len(results.hits) == min(PER_PAGE, max(0, results.total - (results.request.page - 1) * PER_PAGE))
        return results.total

    def precedents(self, drug: str) -> int:
        match = self.index.match(SearchRequest.from_params({"drug": drug}))
        precedents(match)
        return match.total

    def decision_by_year(self, drug: str) -> int:
        match = self.index.match(SearchRequest.from_params({"drug": drug}))
        stats = Statistics(match)
        stats.summary()
        stats.by_year()
        return match.total

    def similar(self, passage_id: str) -> int:
        return len(self.index.similar(passage_id))

    def passages(self) -> int:
        return int(self.index.generation().columns.passage.sum())


# the drug column holds comma-separated generics: a value is matched, and counted, one by one
_HAS_DRUG = "(',' || p.drug || ',') LIKE ?"
_DRUG_VALUES = "json_each('[\"' || replace(p.drug, ',', '\",\"') || '\"]')"


class Fts5:
    def __init__(self, database: Path):
        self.db = sqlite3.connect(f"file:{database}?mode=ro", uri=True, check_same_thread=False)

    def search(self, match: str, *, drug: str | None = None, page: int = 1) -> int:
        """A results page: total, three facet counts, and one page in bm25 order with snippets."""
        where = "t.passages_text MATCH ?" + (f" AND {_HAS_DRUG}" if drug else "")
        args = (match, f"%,{drug},%") if drug else (match,)
        matching = f"SELECT t.rowid FROM passages_text t JOIN passages p ON p.rowid = t.rowid WHERE {where}"
        if not drug:
            matching = "SELECT rowid FROM passages_text t WHERE t.passages_text MATCH ?"
        total = self.db.execute(f"SELECT count(*) FROM ({matching})", args).fetchone()[0]
        for column in ("decision", "category"):
            self.db.execute(f"SELECT p.{column}, count(*) FROM passages p WHERE p.rowid IN ({matching}) "
                            f"GROUP BY p.{column}", args).fetchall()
        self.db.execute(f"SELECT j.value, count(*) FROM passages p, {_DRUG_VALUES} j "
                        f"WHERE p.drug != '' AND p.rowid IN ({matching}) GROUP BY j.value", args).fetchall()
        rows = self.db.execute(
            "SELECT p.passage_id, p.letter_id, p.heading, p.decision, p.decision_date, p.drug, p.category, "
            f"snippet(passages_text, 1, '[', ']', '…', {SNIPPET_TOKENS}) "
            f"FROM passages_text t JOIN passages p ON p.rowid = t.rowid WHERE {where} "
            "ORDER BY t.rank LIMIT ? OFFSET ?", (*args, PER_PAGE, (page - 1) * PER_PAGE)).fetchall()
        assert len(rows) == min(PER_PAGE, max(0, total - (page - 1) * PER_PAGE))
        return total

    def decision_by_year(self, drug: str) -> int:
        rows = self.db.execute(f"SELECT p.decision, p.year, count(*) FROM passages p WHERE {_HAS_DRUG} "
                               "GROUP BY p.decision, p.year", (f"%,{drug},%",)).fetchall()
        return sum(count for _, _, count in rows)

    def passages(self) -> int:
        return self.db.execute("SELECT count(*) FROM passages").fetchone()[0]

    def first_passage(self, drug: str) -> str:
        return self.db.execute(f"SELECT p.passage_id FROM passages p WHERE {_HAS_DRUG} ORDER BY p.rowid LIMIT 1",
                               (f"%,{drug},%",)).fetchone()[0]

    def close(self) -> None:
        self.db.close()


def workloads(kb: ImrKb, fts: Fts5, similar_to: str) -> dict[str, tuple[Callable[[], int], Callable[[], int] | None]]:
    term = " OR ".join(fts_phrase(name) for name in drug_names(resolve_drug(TERM).generic))
    return {
        "single term": (lambda: kb.search({"q": TERM}), lambda: fts.search(term)),
        "AND of two terms": (lambda: kb.search({"q": " ".join(AND_WORDS)}),
                             lambda: fts.search(" AND ".join(AND_WORDS))),
        "phrase": (lambda: kb.search({"q": f'"{PHRASE}"'}), lambda: fts.search(fts_phrase(PHRASE))),
        "facet filter + term": (lambda: kb.search({"q": FILTER_TERM, "drug": FILTER_DRUG}),
                                lambda: fts.search(FILTER_TERM, drug=FILTER_DRUG)),
        "precedent statistics for a drug": (lambda: kb.precedents(PRECEDENT_DRUG),
                                            lambda: fts.decision_by_year(PRECEDENT_DRUG)),
        "precedents: decision × year only": (lambda: kb.decision_by_year(PRECEDENT_DRUG),
                                             lambda: fts.decision_by_year(PRECEDENT_DRUG)),
        "more like this": (lambda: kb.similar(similar_to), None),
        "deep page (page 200 of 20)": (lambda: kb.search({"q": DEEP_TERM, "page": str(DEEP_PAGE)}),
                                       lambda: fts.search(DEEP_TERM, page=DEEP_PAGE)),
    }


# --------------------------------------------------------------------------------------------
# Measuring


@dataclass
class Timings:
    kb: list[float] = field(default_factory=list)
    fts: list[float] = field(default_factory=list)
    kb_matches: int | None = None
    fts_matches: int | None = None


def timed(function: Callable[[], int]) -> tuple[float, int]:
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def rss_after_gc_mb() -> float | None:
    """Resident memory now, after a full garbage collection (Linux only)."""
    gc.collect()
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return None


def measure(passages: int, engine: str, workdir: Path, rounds: int) -> dict:
    index_dir = index_dir_of(workdir, engine, passages)
    database = workdir / f"fts5-{passages}.sqlite3"
    kb = ImrKb(index_dir)
    fts = Fts5(database)
    started = time.perf_counter()
    kb_passages = kb.passages()  # opens the generation and loads its columns
    kb_open = time.perf_counter() - started
    fts_passages = fts.passages()
    jobs = workloads(kb, fts, fts.first_passage(SIMILAR_DRUG))
    timings = {name: Timings() for name in jobs}
    for name, (kb_query, fts_query) in jobs.items():  # warm-up, and the match counts
        timings[name].kb_matches = kb_query()
        timings[name].fts_matches = fts_query() if fts_query else None
    run_started = time.perf_counter()
    for _ in range(rounds):
        for name, (kb_query, fts_query) in jobs.items():
            timings[name].kb.append(timed(kb_query)[0])
            if fts_query:
                timings[name].fts.append(timed(fts_query)[0])
    seconds = time.perf_counter() - run_started
    generation = kb_index.current_generation(index_dir)
    result = {
        "passages": passages, "engine": engine, "build": build_record(workdir, engine, passages),
        "kb_passages": kb_passages, "fts_passages": fts_passages, "rounds": rounds,
        "timings": timings, "kb_open": kb_open, "seconds": seconds,
        "kb_mb": directory_size(index_dir / generation) / 1e6, "fts_mb": database.stat().st_size / 1e6,
        "peak_rss_mb": peak_rss_mb(), "rss_after_gc_mb": rss_after_gc_mb(),
    }
    kb.index.close()
    fts.close()
    return result


def milliseconds(samples: list[float], q: float) -> str:
    if not samples:
        return "—"
    ms = float(np.percentile(np.asarray(samples) * 1000, q))
    return f"{ms:.2f} ms" if ms < 10 else f"{ms:.1f} ms" if ms < 100 else f"{ms:,.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=list(ENGINES))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--large-rounds", type=int, help="rounds for sizes from 100,000 passages (default --rounds)")
    parser.add_argument("--jobs", type=int, default=2, help="parse workers when an index has to be built")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/kb-bench-build"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    runs = [(size, engine) for size in args.sizes for engine in args.engines]
    for size, engine in runs:
        build_in_child(size, engine, args.workdir, args.jobs, args.seed)
    built = time.perf_counter() - began
    rows = []
    for size, engine in runs:
        rounds = args.large_rounds if args.large_rounds and size >= 100_000 else args.rounds
        rows.append(measure(size, engine, args.workdir, rounds))
        print(f"[{size:,} {engine}] measured {rounds} rounds in {rows[-1]['seconds']:.0f} s", flush=True)

    print()
    print(f"machine: {machine()}; load {load_average()}")
    print(f"versions: {versions('whoosh-reloaded', 'tantivy', 'numpy')}, SQLite {sqlite3.sqlite_version}")
    print(f"queries: term {TERM!r} (FTS5: OR of its {len(drug_names(resolve_drug(TERM).generic))} names, as imr-kb "
          f"expands it); AND {' '.join(AND_WORDS)!r}; phrase {PHRASE!r}; drug={FILTER_DRUG} + {FILTER_TERM!r}; "
          f"precedents drug={PRECEDENT_DRUG}; more like this: first {SIMILAR_DRUG} passage; "
          f"deep page {DEEP_TERM!r} page {DEEP_PAGE}")
    per_size = ", ".join(f"{r['passages']:,} {r['engine']}: {r['rounds']}" for r in rows)
    print(f"rounds: {per_size} (after one warm-up each); p50/p95 interpolated over the rounds")
    print()
    print("| workload | N | imr-kb engine | imr-kb p50 | imr-kb p95 | FTS5 p50 | FTS5 p95 | matches imr-kb / FTS5 |")
    print("|---|---|---|---|---|---|---|---|")
    for name in WORKLOADS:
        for r in rows:
            t = r["timings"][name]
            fts_matches = "—" if t.fts_matches is None else f"{t.fts_matches:,}"
            print(f"| {name} | {r['passages']:,} | {r['engine']} | {milliseconds(t.kb, 50)} | "
                  f"{milliseconds(t.kb, 95)} | {milliseconds(t.fts, 50)} | {milliseconds(t.fts, 95)} | "
                  f"{t.kb_matches:,} / {fts_matches} |")
    print()
    print("| N | engine | passages imr-kb / FTS5 | build (kb index, end to end) | imr-kb index | FTS5 database | "
          "imr-kb open (columns) | peak RSS of this process so far | RSS after the size's queries and a gc.collect() |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        build = r["build"]
        rate = (f"{build['passages'] / build['seconds']:,.0f} passages/s ({build['seconds']:,.0f} s, jobs "
                f"{build['jobs']}, load {build['load']})" if build else "?")
        print(f"| {r['passages']:,} | {r['engine']} | {r['kb_passages']:,} / {r['fts_passages']:,} | {rate} | "
              f"{r['kb_mb']:,.0f} MB | {r['fts_mb']:,.0f} MB | {r['kb_open'] * 1000:,.0f} ms | "
              f"{r['peak_rss_mb']:,.0f} MB | "
              + (f"{r['rss_after_gc_mb']:,.0f} MB |" if r["rss_after_gc_mb"] is not None else "? |"))
    print()
    print(f"total {time.perf_counter() - began:.0f} s (building {built:.0f} s); load now {load_average()}")


if __name__ == "__main__":
    main()
