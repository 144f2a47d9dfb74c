"""PDF -> parsed letters per second on the real letters, one core: pypdfium2 (imr-kb) against pypdf.

Both extractors feed the same parser in the same run, on the same bytes already in memory, so the
ratio is fair on a noisy machine. Goal: >= 200 letters/s per core with pypdfium2.

    python -m bench.bench_parse [--letters ../shared/letters] [--rounds 3]
"""

from __future__ import annotations

import argparse
import io
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "letters")
    parser.add_argument("--rounds", type=int, default=3)
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


if __name__ == "__main__":
    main()
