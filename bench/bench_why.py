"""What the issue-15 taggers cost: why_tags per letter beside the parser, and reused-wording groups at scale.

1. The real letters, one core, best of --rounds: parse_letter alone, and why_tags on the parsed letter (region,
   side, time since injury, diagnoses, reasons), as letters/s and as a share of the parse time and of the
   PDF extract + parse time that bench_parse measures (the target: under ~10 % of parsing).
2. Reused wording over --rationales synthetic rationales (kb.synth): signatures, the incremental index,
   groups, memory; then 1,000 more rationales added one at a time to the full index (what indexing a new
   letter costs); with datasketch installed, its MinHash and LSH on the same texts, for comparison.

    python -m bench.bench_why [--letters ../shared/letters] [--rounds 3] [--rationales 100000]
"""

from __future__ import annotations

import argparse
import resource
import time
from pathlib import Path

from bench.common import load_average, machine, pin_to_one_core, versions
from kb.extract import extract_bytes
from kb.letters import parse_letter
from kb.synth import generate_letters
from kb.why import why_tags
from kb.wording import THRESHOLD, WordingIndex, signature


def best_of(rounds: int, run) -> float:
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return best


def tagger_cost(letters_dir: Path, rounds: int) -> None:
    pdfs = [(p.name, p.read_bytes()) for p in sorted(letters_dir.glob("*.pdf"))]
    texts = [extract_bytes(data, name).text for name, data in pdfs]
    parsed = [parse_letter(text) for text in texts]  # warm up imports and compiled patterns
    for letter in parsed:
        why_tags(letter)
    extract = best_of(rounds, lambda: [extract_bytes(data, name) for name, data in pdfs])
    parse = best_of(rounds, lambda: [parse_letter(text) for text in texts])
    tags = best_of(rounds, lambda: [why_tags(letter) for letter in parsed])
    items = sum(len(letter.items) for letter in parsed)
    n = len(texts)
    print(f"## why_tags beside the parser: {n} real letters ({items} items), best of {rounds}, one core\n")
    print("| step | letters/s | ms per letter | share of parse | share of extract + parse |")
    print("|---|---|---|---|---|")
    for name, seconds in (("extract (pypdfium2)", extract), ("parse_letter", parse), ("why_tags", tags)):
        print(f"| {name} | {n / seconds:.0f} | {1000 * seconds / n:.2f} | {seconds / parse:.0%} | "
              f"{seconds / (extract + parse):.0%} |")
    print(f"\nparse + why_tags: {n / (parse + tags):.0f} letters/s against {n / parse:.0f} for parse alone "
          f"({tags / parse:.0%} more); extract + parse + why_tags: {n / (extract + parse + tags):.0f} letters/s against "
          f"{n / (extract + parse):.0f} ({tags / (extract + parse):.0%} more)\n")


def synthetic_rationales(count: int) -> list[tuple[str, str]]:
    found = []
    for letter in generate_letters(count, seed=15):
        letter_id = letter.case_number or f"L{letter.index}"
        found += [(f"{letter_id}/{n}", item.rationale) for n, item in enumerate(letter.items, 1)]
        if len(found) >= count:
            break
    return found[:count]


def wording_cost(count: int) -> None:
    start = time.perf_counter()
    rationales = synthetic_rationales(count + 1000)
    made = time.perf_counter() - start
    base, extra = rationales[:count], rationales[count:]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    start = time.perf_counter()
    index = WordingIndex()
    index.add_many(base)
    built = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss_before
    start = time.perf_counter()
    groups = index.groups()
    counts = index.other_decision_counts()
    grouped = time.perf_counter() - start
    start = time.perf_counter()
    for item_id, text in extra:
        index.add(item_id, text)
    added = time.perf_counter() - start
    state = index.state()
    templated = sum(1 for n in counts.values() if n > 0)
    words = sum(len(text.split()) for _, text in base) / len(base)
    print(f"## Reused wording over {count:,} synthetic rationales (kb.synth, {words:.0f} words on average; "
          f"made in {made:.0f} s)\n")
    print("| step | time | per rationale |")
    print("|---|---|---|")
    print(f"| signatures + index, batch (add_many) | {built:.1f} s | {1e6 * built / count:.0f} µs |")
    print(f"| groups + 'other decisions' column | {grouped:.2f} s | {1e6 * grouped / count:.1f} µs |")
    print(f"| 1,000 more, one at a time, into the full index | {added:.2f} s | {1e6 * added / len(extra):.0f} µs |")
    print(f"\n{len(groups):,} groups; {templated:,} rationales ({templated / count:.0%}) share their wording with "
          f"another letter; largest group {len(groups[0]) if groups else 0:,}. Memory: the process's peak grew by "
          f"{peak / 2**20:.0f} MiB while building; saved state {state['signatures'].nbytes / 2**20:.0f} MiB of signatures "
          f"(128 x uint32 per rationale).\n")
    datasketch_cost(base)


def datasketch_cost(base: list[tuple[str, str]]) -> None:
    try:
        from datasketch import MinHash, MinHashLSH
    except ImportError:
        print("(datasketch not installed: no comparison)\n")
        return
    from kb.wording import words

    start = time.perf_counter()
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=128)
    for item_id, text in base:
        tokens = words(text)
        shingles = {" ".join(tokens[i : i + 5]).encode() for i in range(max(1, len(tokens) - 4))}
        mh = MinHash(num_perm=128)
        mh.update_batch(shingles)
        lsh.insert(item_id, mh)
    elapsed = time.perf_counter() - start
    start = time.perf_counter()
    for _, text in base[:1000]:
        signature(text)
    ours = (time.perf_counter() - start) / 1000
    print(f"datasketch {versions('datasketch')}: MinHash + MinHashLSH insert of the same {len(base):,} rationales "
          f"{elapsed:.1f} s ({1e6 * elapsed / len(base):.0f} µs each); kb.wording.signature alone "
          f"{1e6 * ours:.0f} µs each.\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "letters")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rationales", type=int, default=100_000)
    args = parser.parse_args()
    cpu = pin_to_one_core()
    print(f"pinned to CPU {cpu}, load {load_average()}; {machine()}; {versions('numpy', 'pypdfium2')}\n")
    tagger_cost(args.letters, args.rounds)
    wording_cost(args.rationales)


if __name__ == "__main__":
    main()
