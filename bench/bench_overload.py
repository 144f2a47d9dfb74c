"""Overload shed, not queued; slow and costly clients cannot take the site down.

Attacks the site on loopback, set up two ways over the same index:
  - before: gunicorn alone with 2 sync workers (the README's command before the production setup);
  - production: gunicorn with kb/web/gunicorn_conf.py (2 workers x 4 threads) behind nginx with
    deploy/nginx-site.conf (bench.production).
Each attack runs for --seconds while a probe asks for an ordinary search every 0.5 s (from its own
address); the probe's latency is what a reader waits meanwhile:
  - slowloris: 2 and 16 connections trickling headers, a byte every 0.5 s (bench.attacks.slowloris);
  - quadratic briefs: 2 connections posting bench.attacks.QUADRATIC_BRIEFS to /api/cite-check in turn;
  - costly searches: 2 connections sending bench.attacks.SLOWEST_SEARCHES in turn;
  - overload: --clients clients (10 times the production setup's 8 threads), each from its own address,
    sending bench.load.QUERY_PATHS as fast as they are answered.

    python -m bench.bench_overload [--index-dir DIR | --letters 5291] [--seconds 20] [--clients 80]
                                   [--setups before production] [--attacks overload slowloris ...]
"""

from __future__ import annotations

import argparse
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from bench.attacks import QUADRATIC_BRIEFS, SLOWEST_SEARCHES, cite_check_body, running, slowloris
from bench.common import load_average, machine, versions
from bench.load import QUERY_PATHS, gunicorn
from bench.production import Answers, ask, overload, probing, production_site
from kb.index import current_generation
from kb.ingest import index_paths
from kb.synth import write_letters


@contextmanager
def before_setup(index_dir: Path):
    with gunicorn(index_dir, workers=2) as port:
        yield port


@contextmanager
def production_setup(index_dir: Path):
    with production_site(index_dir) as (port, _):
        yield port


@contextmanager
def repeating(port: int, requests: list[tuple[str, str, bytes | None]], connections: int = 2):
    """`connections` clients sending `requests` (method, path, body) in turn until the block ends."""
    stop = threading.Event()
    answers = Answers()

    def attacker(n: int) -> None:
        i = n
        while not stop.is_set():
            method, path, body = requests[i % len(requests)]
            answers.add(ask(port, path, method=method, body=body, source=f"127.0.2.{n + 1}", timeout=60))
            i += 1

    with running(attacker, connections, stop, join_timeout=90):
        yield answers


def attacks(seconds: float, clients: int) -> dict[str, Callable[[int], tuple[Answers, Answers | None]]]:
    briefs = [("POST", "/api/cite-check", cite_check_body(text)) for text in QUADRATIC_BRIEFS.values()]
    searches = [("GET", path, None) for path in SLOWEST_SEARCHES.values()]

    def quiet(port):
        with probing(port) as probe:
            time.sleep(seconds)
        return probe, None

    def loris(sockets):
        def run(port):
            with slowloris("127.0.0.1", port, sockets=sockets), probing(port) as probe:
                time.sleep(seconds)
            return probe, None
        return run

    def costly(requests):
        def run(port):
            with repeating(port, requests) as attack, probing(port) as probe:
                time.sleep(seconds)
            return probe, attack
        return run

    def crowd(port):
        with probing(port) as probe:
            load = overload(port, list(QUERY_PATHS), clients=clients, seconds=seconds)
        return probe, load

    return {"none (the probe alone)": quiet, "slowloris, 2 connections": loris(2),
            "slowloris, 16 connections": loris(16), "quadratic briefs, 2 connections": costly(briefs),
            "costly searches, 2 connections": costly(searches), f"overload, {clients} clients": crowd}


def summary(answers: Answers) -> str:
    statuses = ", ".join(f"{status or 'none'}: {n}" for status, n in sorted(answers.statuses().items(),
                                                                             key=lambda kv: kv[0] or 0))
    return (f"{len(answers.answers)} ({statuses}) | {1000 * answers.percentile(50):,.0f} | "
            f"{1000 * answers.percentile(95):,.0f} | {1000 * max(answers.seconds() or [0]):,.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index-dir", type=Path)
    parser.add_argument("--letters", type=int, default=5291)  # about 10,000 passages
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/kb-bench-overload"))
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=80)
    parser.add_argument("--setups", nargs="+", default=["before", "production"], choices=["before", "production"])
    parser.add_argument("--attacks", nargs="+", help="only the attacks whose names start so (e.g. overload slowloris)")
    args = parser.parse_args()
    index_dir = args.index_dir
    if index_dir is None:
        index_dir = args.workdir / f"index-{args.letters}"
        if current_generation(index_dir) is None:
            index_paths(write_letters(args.workdir / f"letters-{args.letters}", args.letters, seed=11), index_dir)
    setups = {"before": before_setup, "production": production_setup}
    rows = []
    for setup in args.setups:
        for name, attack in attacks(args.seconds, args.clients).items():
            if args.attacks and not name.startswith(tuple(args.attacks)):
                continue
            with setups[setup](index_dir) as port:
                probe, load = attack(port)
            rows.append((setup, name, probe, load))
            print(f"[{setup}] {name}: probe {summary(probe)}" + (f"; attack {summary(load)}" if load else ""),
                  flush=True)
    print()
    print(f"machine: {machine()}; load {load_average()}")
    print(f"versions: {versions('gunicorn', 'flask', 'whoosh-reloaded', 'tantivy')}; index {index_dir}; "
          f"{args.seconds:g} s per attack")
    print()
    print("| setup | attack | probe answers (statuses) | probe p50 ms | probe p95 ms | probe max ms "
          "| attack answers (statuses) | p50 ms | p95 ms | max ms | 503/429 with Retry-After |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for setup, name, probe, load in rows:
        shed = [a for a in load.answers if a.status in (429, 503)] if load else []
        retry = f"{sum(1 for a in shed if a.retry_after)} of {len(shed)}" if load else "—"
        print(f"| {setup} | {name} | {summary(probe)} | {summary(load) if load else '— | — | — | —'} | {retry} |")
    print(f"\nload now {load_average()}")


if __name__ == "__main__":
    main()
