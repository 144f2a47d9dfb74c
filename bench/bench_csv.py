"""CSV export: the time to produce 10,000 rows, in this process (the Flask app through its test client,
the streamed body read to its end) and over HTTP from gunicorn (--http: the production setup of
bench.production without nginx's buffering in the way).

    python -m bench.bench_csv [--indexes DIR ...] [--rounds 5] [--http]

The indexes are bench.bench_scale's (<workdir>/index-<engine>-<N>), e.g.
    python -m bench.bench_scale --sizes 100000 --engines tantivy --rounds 1   # builds it, then measures
    python -m bench.bench_csv --indexes /tmp/kb-bench-build/index-tantivy-100000
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import time
from pathlib import Path

from bench.common import load_average, machine, versions
from bench.load import gunicorn
from kb.web import create_app

EXPORTS = {
    "every passage, newest first": "/search.csv?sort=newest",
    "a word in most passages, by relevance": "/search.csv?q=pain",
    "a drug class, oldest first": "/search.csv?class=Opioids&sort=oldest",
}


def in_process(index_dir: Path, path: str, rounds: int) -> tuple[list[float], list[float], int, int]:
    """(wall times, processor times, rows, bytes): processor time is what the export costs this process,
    whatever else the machine runs meanwhile."""
    client = create_app({"INDEX_DIR": str(index_dir)}).test_client()
    client.get(path).get_data()  # warm: the generation opened, the text query cached as a real site would have it
    times, cpu = [], []
    for _ in range(rounds):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = client.get(path)
        body = response.get_data()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    return times, cpu, body.count(b"\n") - 2, len(body)  # rows: lines less the header and the trailer


def over_http(index_dir: Path, path: str, rounds: int) -> list[float]:
    times = []
    with gunicorn(index_dir, workers=1, production=True) as port:
        for n in range(rounds + 1):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            started = time.perf_counter()
            connection.request("GET", path)
            connection.getresponse().read()
            if n:  # the first request warms the worker up
                times.append(time.perf_counter() - started)
            connection.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--indexes", type=Path, nargs="+", required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--http", action="store_true")
    args = parser.parse_args()
    rows = []
    for index_dir in args.indexes:
        for name, path in EXPORTS.items():
            times, cpu, count, size = in_process(index_dir, path, args.rounds)
            http_times = over_http(index_dir, path, args.rounds) if args.http else []
            rows.append((index_dir.name, name, count, size, times, cpu, http_times))
            print(f"[{index_dir.name}] {name}: {count:,} rows, {size / 1e6:.1f} MB, "
                  f"median {statistics.median(times):.2f} s", flush=True)
    print()
    print(f"machine: {machine()}; load {load_average()}")
    print(f"versions: {versions('flask', 'gunicorn', 'whoosh-reloaded', 'tantivy')}; "
          f"{args.rounds} rounds after a warm-up")
    print()
    print("| index | export | rows | size | in process, median | best | processor time, median "
          "| over HTTP (gunicorn), median |")
    print("|---|---|---|---|---|---|---|---|")
    for index, name, count, size, times, cpu, http_times in rows:
        http = f"{statistics.median(http_times):.2f} s" if http_times else "—"
        print(f"| {index} | {name} | {count:,} | {size / 1e6:.1f} MB | {statistics.median(times):.2f} s | "
              f"{min(times):.2f} s | {statistics.median(cpu):.2f} s | {http} |")
    print(f"\nload now {load_average()}")


if __name__ == "__main__":
    main()
