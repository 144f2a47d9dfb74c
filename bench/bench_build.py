"""Index build throughput and size: imr-kb against SQLite FTS5 building the same passages, same run.

For each size (passages of generated letters) it measures, for each engine (kb.engines),
  - `kb index` end to end: read, parse (worker processes) and index the letter files, publish;
  - writing only: the same parsed documents into the engine's new generation (kb.index.apply_changes)
    and, once, into SQLite FTS5 (a passages table with the facet columns, and an FTS5 table over heading
    and rationale, porter stemming), one after the other on the same machine.

    python -m bench.bench_build [--sizes 10000 100000] [--engines whoosh tantivy] [--jobs 2]
                                [--workdir /tmp/kb-bench-build]

With --from-index DIR it measures writing only, with the passage documents stored in an existing index
(any engine) instead of parsing letters again: for sizes where parsing every letter in one process would
take longer than the measurement (a million passages).
"""

from __future__ import annotations

import argparse
import itertools
import shutil
import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from bench.common import load_average, machine, versions
from kb import index as kb_index
from kb.documents import Source, documents
from kb.engines import ENGINES
from kb.ingest import index_paths
from kb.letters import parse_letter
from kb.synth import write_letters


def letters_for(passages: int, directory: Path, seed: int) -> list[Path]:
    """Enough generated letters for `passages` passages (about 1.9 per letter), written as files."""
    count = max(1, round(passages / 1.89))
    return write_letters(directory, count, seed=seed)


def directory_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def fts5_build(database: Path, docs: Iterable[dict]) -> float:
    """Seconds to insert the passage documents into SQLite with FTS5, in one transaction."""
    started = time.perf_counter()
    db = sqlite3.connect(database)
    db.executescript("""
        CREATE TABLE passages (
            rowid INTEGER PRIMARY KEY, passage_id TEXT UNIQUE, letter_id TEXT, heading TEXT, rationale TEXT,
            decision TEXT, drug TEXT, drug_class TEXT, category TEXT, subcategory TEXT, guideline TEXT,
            specialty TEXT, decision_date TEXT, year INTEGER);
        CREATE INDEX passages_letter ON passages (letter_id);
        CREATE VIRTUAL TABLE passages_text USING fts5(
            heading, rationale, content='passages', content_rowid='rowid', tokenize='porter unicode61');
    """)
    with db:
        for row, doc in enumerate(docs, 1):
            date = doc.get("decision_date")
            db.execute(
                "INSERT INTO passages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (row, doc["passage_id"], doc["letter_id"], doc["heading"], doc["rationale"], doc["decision"],
                 doc["drug"], doc["drug_class"], doc["category"], doc["subcategory"], doc["guideline"],
                 doc["specialty"], date.date().isoformat() if date else None, doc.get("year")),
            )
            db.execute("INSERT INTO passages_text (rowid, heading, rationale) VALUES (?, ?, ?)",
                       (row, doc["heading"], doc["rationale"]))
    db.close()
    return time.perf_counter() - started


def engine_build(directory: Path, engine: str, changes: list[kb_index.Change]) -> float:
    """Seconds for an engine's writer to write the documents into a new generation and commit."""
    started = time.perf_counter()
    generation = kb_index.start_generation(directory, None, engine)
    kb_index.apply_changes(generation, changes, optimize=True)
    return time.perf_counter() - started


def measure(passages: int, engines: list[str], workdir: Path, jobs: int, seed: int) -> list[dict]:
    letters_dir = workdir / f"letters-{passages}"
    if sum(1 for _ in letters_dir.glob("*")) != max(1, round(passages / 1.89)):
        shutil.rmtree(letters_dir, ignore_errors=True)
        letters_for(passages, letters_dir, seed)
    files = sorted(letters_dir.glob("*"))

    end_to_end = {}
    for engine in engines:
        index_dir = workdir / f"e2e-{engine}-{passages}"
        shutil.rmtree(index_dir, ignore_errors=True)
        report = index_paths([letters_dir], index_dir, jobs=jobs, rebuild=True, engine=engine)
        generation = index_dir / kb_index.current_generation(index_dir)
        end_to_end[engine] = (report, directory_size(generation) / 1e6)
        shutil.rmtree(index_dir)

    changes = []
    for path in files:
        letter = parse_letter(path.read_text(encoding="utf-8"))
        docs = documents(letter, Source(str(path), "0" * 64, "text", path.stat().st_size))
        changes.append(kb_index.Change(docs[0]["letter_id"], tuple(docs)))
    passage_docs = [d for change in changes for d in change.docs if d["kind"] == kb_index.PASSAGE]
    rows = writing_rates(changes, passage_docs, engines, workdir)
    for row in rows:
        report, row["index_mb"] = end_to_end[row["engine"]]
        row.update(passages=report.passages, letters=report.letters, end_to_end=report.passages / report.seconds)
    return rows


def writing_rates(changes: list[kb_index.Change], passage_docs: list[dict], engines: list[str],
                  workdir: Path) -> list[dict]:
    """Passages/s writing the documents into SQLite FTS5, then into each engine's new generation."""
    database = workdir / f"fts5-writing-{len(passage_docs)}.sqlite3"
    database.unlink(missing_ok=True)
    fts5_seconds = fts5_build(database, passage_docs)
    fts5_mb = database.stat().st_size / 1e6
    database.unlink()
    rows = []
    for engine in engines:
        directory = workdir / f"writing-{engine}-{len(passage_docs)}"
        shutil.rmtree(directory, ignore_errors=True)
        seconds = engine_build(directory, engine, changes)
        index_mb = directory_size(directory) / 1e6
        shutil.rmtree(directory)
        rows.append({"engine": engine, "passages": len(passage_docs), "letters": len(changes), "end_to_end": None,
                     "writing": len(passage_docs) / seconds, "fts5": len(passage_docs) / fts5_seconds,
                     "index_mb": index_mb, "fts5_mb": fts5_mb})
    return rows


def measure_writing(index_dir: Path, engines: list[str], workdir: Path) -> list[dict]:
    """Writing only, from the passage documents stored in `index_dir`, grouped by letter as kb index does."""
    from kb.search import SearchIndex

    generation = SearchIndex(index_dir, cached_queries=0).generation()
    rows = np.flatnonzero(generation.columns.passage).tolist()
    docs = [doc for start in range(0, len(rows), 1000) for doc in generation.reader.stored(rows[start:start + 1000])]
    changes = [kb_index.Change(letter_id, tuple(group))
               for letter_id, group in itertools.groupby(docs, key=lambda doc: doc["letter_id"])]
    return writing_rates(changes, docs, engines, workdir)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=list(ENGINES))
    parser.add_argument("--from-index", type=Path, help="writing only, from this index's stored passages")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/kb-bench-build"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.from_index:
        rows = measure_writing(args.from_index, args.engines, args.workdir)
    else:
        rows = [row for size in args.sizes for row in measure(size, args.engines, args.workdir, args.jobs, args.seed)]
    print(f"machine: {machine()}; load {load_average()}")
    print(f"versions: {versions('whoosh-reloaded', 'tantivy', 'pypdfium2')}, SQLite {sqlite3.sqlite_version}")
    print()
    print("| passages (letters) | engine | kb index end to end, passages/s | writing only: engine passages/s | "
          "SQLite FTS5 passages/s | engine / FTS5 | index size | FTS5 size |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        end_to_end = f"{r['end_to_end']:,.0f} (jobs {args.jobs})" if r["end_to_end"] else "—"
        print(f"| {r['passages']:,} ({r['letters']:,}) | {r['engine']} | {end_to_end} | "
              f"{r['writing']:,.0f} | {r['fts5']:,.0f} | {r['writing'] / r['fts5']:.2f} | "
              f"{r['index_mb']:.0f} MB | {r['fts5_mb']:.0f} MB |")


if __name__ == "__main__":
    main()
