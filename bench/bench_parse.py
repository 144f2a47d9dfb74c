"""PDF -> parsed letters per second on the real letters, one core: pypdfium2 (imr-kb) against pypdf.

Both extractors feed the same parser in the same run, on the same bytes already in memory, so the
ratio is fair on a noisy machine. Goal: >= 200 letters/s per core with pypdfium2.

`--against REF` also times the parser alone (the text already extracted) of this checkout and of the git
revision REF side by side: each in its own process on the same core, rounds alternating, so a change to the
parser is measured against what it replaced under the same load.

    python -m bench.bench_parse [--letters ../shared/letters] [--rounds 3] [--against main]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import pypdf

from bench.common import load_average, machine, pin_to_one_core, versions
from kb.extract import extract_bytes
from kb.letters import parse_letter


def pdfium_text(data: bytes, name: str) -> str:
    return extract_bytes(data, name).text


def pypdf_text(data: bytes, name: str) -> str:
    reader = pypdf.PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def rate(extract, files: list[tuple[str, bytes]], rounds: int) -> tuple[float, float]:
    """Best-of-`rounds` letters/s for extract+parse, and the share of that time spent parsing."""
    best, parse_share = 0.0, 0.0
    for _ in range(rounds):
        extract_time = parse_time = 0.0
        for name, data in files:
            start = time.perf_counter()
            text = extract(data, name)
            middle = time.perf_counter()
            letter = parse_letter(text)
            parse_time += time.perf_counter() - middle
            extract_time += middle - start
            assert letter.items
        total = extract_time + parse_time
        if len(files) / total > best:
            best, parse_share = len(files) / total, parse_time / total
    return best, parse_share


PARSE_ONLY = """
import json, sys, time
from kb.letters import parse_letter
texts = json.load(open(sys.argv[1], encoding="utf-8"))
for text in texts:
    parse_letter(text)  # warm up: imports, compiled patterns, caches
best = 0.0
for _ in range(3):
    start = time.perf_counter()
    for text in texts:
        parse_letter(text)
    best = max(best, len(texts) / (time.perf_counter() - start))
print(best)
"""


def _export(ref: str, into: Path) -> Path:
    """The kb package of git revision `ref`, unpacked under `into`."""
    archive = subprocess.run(["git", "archive", "--format=tar", ref, "kb"], check=True, capture_output=True,
                             cwd=Path(__file__).resolve().parents[1]).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def parse_rates(texts: list[str], trees: dict[str, Path], rounds: int, cpu: int | None) -> dict[str, float]:
    """Best-of-`rounds` parse-only letters/s of each tree's kb, rounds alternating between the trees."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", encoding="utf-8", delete=False) as handle:
        json.dump(texts, handle)
    best = dict.fromkeys(trees, 0.0)
    try:
        for _ in range(rounds):
            for name, tree in trees.items():
                environment = {**os.environ, "PYTHONPATH": str(tree)}
                command = [sys.executable, "-c", PARSE_ONLY, handle.name]
                if cpu is not None:
                    command = ["taskset", "-c", str(cpu), *command]
                out = subprocess.run(command, check=True, capture_output=True, text=True, env=environment).stdout
                best[name] = max(best[name], float(out.strip().splitlines()[-1]))
    finally:
        os.unlink(handle.name)
    return best


def compare(files: list[tuple[str, bytes]], ref: str, rounds: int, cpu: int | None) -> None:
    texts = [pdfium_text(data, name) for name, data in files]
    with tempfile.TemporaryDirectory() as base:
        trees = {ref: _export(ref, Path(base)), "this checkout": Path(__file__).resolve().parents[1]}
        rates = parse_rates(texts, trees, rounds, cpu)
    print(f"\nThe parser alone (text already extracted), {len(texts)} letters, best of {rounds} alternating rounds "
          "(3 passes each, after one to warm up), "
          f"load {load_average()}:\n")
    print("| parser | letters/s (parse only, one core) | ms per letter |")
    print("|---|---|---|")
    for name, rate in rates.items():
        print(f"| {name} | {rate:.0f} | {1000 / rate:.2f} |")
    print(f"\nthis checkout / {ref}: {rates['this checkout'] / rates[ref]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "letters")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", metavar="REF", help="also time the parser alone against git revision REF")
    args = parser.parse_args()
    cpu = pin_to_one_core()
    files = [(p.name, p.read_bytes()) for p in sorted(args.letters.glob("*.pdf"))]
    if not files:
        raise SystemExit(f"no PDFs in {args.letters}")
    parse_letter(pdfium_text(files[0][1], files[0][0]))  # warm up: imports, compiled patterns
    results = {name: rate(fn, files, args.rounds) for name, fn in (("pypdfium2", pdfium_text), ("pypdf", pypdf_text))}
    print(f"{len(files)} real letters, best of {args.rounds} rounds, pinned to CPU {cpu}, load {load_average()}")
    print(f"machine: {machine()}")
    print(f"versions: {versions('pypdfium2', 'pypdf')}")
    print()
    print("| extractor | letters/s (extract + parse, one core) | share of time parsing |")
    print("|---|---|---|")
    for name, (letters_per_s, share) in results.items():
        print(f"| {name} | {letters_per_s:.0f} | {share:.0%} |")
    print(f"\npypdfium2 / pypdf: {results['pypdfium2'][0] / results['pypdf'][0]:.1f}x")
    if args.against:
        compare(files, args.against, max(args.rounds, 5), cpu)


if __name__ == "__main__":
    main()
