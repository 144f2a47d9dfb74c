"""What checking an index costs: `kb verify` (every byte against the manifest's xxh3 checksums), the cheap
check (each file's size), and the site's first answer from a newly published generation (the cheap check,
opening, and every byte checked first when the generation is small, else in a thread).

The index measured is the published generation of `--source` (say, a 100k-passage index made by
bench_ingest --memory 100000), or with `--times K` a generation K times its size: every passage and
letter document of the source written K times over under other ids, by the source's engine, sealed and
published as kb index does (a million passages this way takes minutes, not the half hour of parsing).

    python -m bench.bench_verify --source /tmp/kb-bench-ingest/index-100000 [--times 10]
"""

from __future__ import annotations

import argparse
import itertools
import os
import shutil
import time
from pathlib import Path

import numpy as np

from bench.common import load_average, machine, versions
from kb import index as kb_index
from kb.health import verify_index
from kb.integrity import check_generation, generation_bytes
from kb.published import PublishedIndex


def grown(source: Path, times: int, target: Path) -> Path:
    """A new index holding every document of `source`'s published generation `times` times."""
    shutil.rmtree(target, ignore_errors=True)
    name = kb_index.current_generation(source)
    engine = kb_index.generation_engine(source / name)
    reader = kb_index.open_generation(source / name)
    rows = kb_index.engine_of(source / name).live_rows(source / name, kb_index.LETTER).tolist()
    rows += kb_index.engine_of(source / name).live_rows(source / name, kb_index.PASSAGE).tolist()
    docs = [doc for start in range(0, len(rows), 1000) for doc in reader.stored(sorted(rows)[start:start + 1000])]
    docs.sort(key=lambda doc: doc["letter_id"])
    generation = kb_index.start_generation(target, None, engine)
    for copy in range(times):
        changes = []
        for letter_id, group in itertools.groupby(docs, key=lambda doc: doc["letter_id"]):
            renamed = f"{letter_id}#{copy}"
            changes.append(kb_index.Change(renamed, tuple(
                {**doc, "letter_id": renamed, "passage_id": doc["passage_id"].replace(letter_id, renamed, 1)}
                for doc in group)))
        kb_index.apply_changes(generation, changes)
    columns = kb_index.build_columns(generation)
    # the copies' rationales are the source's word for word: rather than group them all as one, mark about
    # one in seven templated (the demo's share), so the wording facet costs what it would
    hashes = columns.passage_hash[columns.passage]
    columns = columns.with_wording(hashes, np.arange(len(hashes), dtype=np.int64),
                                   (np.arange(len(hashes)) % 7 == 0).astype(np.int32))
    letters, passages = kb_index.count_documents(generation)
    kb_index.seal_generation(generation, columns, letters=letters, passages=passages)
    kb_index.publish(target, generation.name)
    return target


def seconds(action) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def drop_page_cache() -> bool:
    """Empty the kernel's page cache (root only), so the next read comes from the disk."""
    try:
        os.sync()
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
        return True
    except OSError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, required=True)
    parser.add_argument("--times", type=int, default=1)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/kb-bench-verify"))
    args = parser.parse_args()
    index_dir = args.source if args.times == 1 else grown(args.source, args.times, args.workdir / f"x{args.times}")
    generation = index_dir / kb_index.current_generation(index_dir)
    passages = kb_index.count_documents(generation)[1]
    size = generation_bytes(generation)
    cold = seconds(lambda: verify_index(index_dir)) if drop_page_cache() else None
    warm = min(seconds(lambda: verify_index(index_dir)) for _ in range(3))
    cheap = min(seconds(lambda: check_generation(generation, deep=False)) for _ in range(5))
    first = {}
    for label, deep_at_open in (("checked whole before it answers", 1 << 62), ("checked in a thread", 0)):
        published = PublishedIndex(index_dir, cached_queries=0, deep_check_at_open=deep_at_open)
        first[label] = seconds(published.current)
    print(f"{passages:,} passages, {kb_index.generation_engine(generation)}, {size / 1e9:.2f} GB in "
          f"{len(list(generation.iterdir()))} files; load {load_average()}")
    print(f"machine: {machine()}; versions: {versions('xxhash', 'tantivy', 'whoosh-reloaded')}\n")
    print("| check | seconds |")
    print("|---|---|")
    print(f"| kb verify, every byte, from the disk (page cache emptied) | {cold:.2f} |" if cold is not None
          else "| kb verify, from the disk | (not measured: the page cache can only be emptied as root) |")
    print(f"| kb verify, every byte, from the page cache (best of 3) | {warm:.2f} |")
    print(f"| the cheap check: every file's size (best of 5) | {cheap * 1000:.1f} ms |")
    for label, took in first.items():
        print(f"| the site's first answer from this generation, {label} | {took:.2f} |")


if __name__ == "__main__":
    main()
