"""The site under gunicorn: requests per second and latency for a fixed mix of real requests.

Builds an index of generated letters (or uses --index-dir), starts gunicorn with 2 workers on a free
loopback port, and runs bench.load's request mix from several client threads for a fixed time.

    python -m bench.bench_serve [--letters 5000] [--seconds 30] [--clients 4] [--index-dir DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.common import load_average, machine, versions
from bench.load import QUERY_PATHS, gunicorn, gunicorn_memory_mb, run_load
from kb.index import current_generation
from kb.ingest import index_paths
from kb.synth import write_letters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=int, default=5000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--index-dir", type=Path)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/kb-bench-serve"))
    args = parser.parse_args()

    index_dir = args.index_dir
    if index_dir is None:
        index_dir = args.workdir / f"index-{args.letters}"
        if current_generation(index_dir) is None:
            letters = write_letters(args.workdir / f"letters-{args.letters}", args.letters, seed=11)
            index_paths(letters, index_dir)
    print(f"machine: {machine()}; load {load_average()}")
    print(f"versions: {versions('gunicorn', 'flask', 'whoosh-reloaded', 'tantivy', 'numpy')}")
    print(f"index: {index_dir}; {args.workers} gunicorn workers, {args.clients} client threads, {args.seconds:.0f} s")
    with gunicorn(index_dir, workers=args.workers) as port:
        run_load("127.0.0.1", port, list(QUERY_PATHS), seconds=3, clients=args.clients)  # warm-up
        result = run_load("127.0.0.1", port, list(QUERY_PATHS), seconds=args.seconds, clients=args.clients)
        memory = gunicorn_memory_mb(port)
    print()
    print("| requests | errors | requests/s | p50 ms | p95 ms | p99 ms | worker peak RSS (with mapped index pages) "
          "| worker anonymous RSS at the end |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {result.requests:,} | {len(result.errors)} | {result.rate:.1f} | {1000 * result.percentile(50):.0f} | "
          f"{1000 * result.percentile(95):.0f} | {1000 * result.percentile(99):.0f} | "
          + (f"{memory[0]:,.0f} MB | {memory[1]:,.0f} MB |" if memory else "? | ? |"))
    slowest = sorted(result.by_path.items(), key=lambda kv: -max(kv[1]))[:5] if result.by_path else []
    for path, seconds in slowest:
        print(f"slowest: {path}: max {1000 * max(seconds):,.0f} ms over {len(seconds)} requests")
    for error in result.errors[:10]:
        print("error:", error)


if __name__ == "__main__":
    main()
