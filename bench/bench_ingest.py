"""`kb index` end to end: does it keep every core busy, and does its memory stay flat as the collection grows?

cores   the one-core parse rate of the real PDFs (bench_parse's measure, extract + parse in memory, pinned
        to one CPU) and the one-core rate of a file's whole work in a worker (kb.pool.parse_file: read,
        extract, parse, tag, the index documents), then `kb index --jobs N` and `--jobs 1` end to end on the
        same PDFs, as a user runs it (a process started from nothing, a new index, published), in the same
        run: on the 130 letters alone, whose second or so is mostly starting up, and on the letters with
        byte-different copies of each (every file read and parsed; the copies are decided duplicates of
        their case numbers), which shows the steady rate; with how many CPUs the machine had busy meanwhile
        (/proc/stat: other work included). Goal: at least 1.7 times the one-core parse rate with two jobs.
memory  `kb index` of generated letters of N passages into a new index, the peak resident memory of the
        indexing process (GNU time's maximum resident set size), for each size: it must not grow with N.

    python -m bench.bench_ingest [--copies 8] [--jobs 2] [--rounds 3]
    python -m bench.bench_ingest --memory 100000 300000 [--engine tantivy]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.bench_build import letters_for
from bench.bench_parse import pdfium_text, rate
from bench.common import busy_cores, cpu_times, load_average, machine, pin_to_one_core, versions
from kb.letters import parse_letter
from kb.pool import WorkerPool, parse_file

SHARED = Path(__file__).resolve().parents[2] / "shared"


def _in_pinned_child(measure: str, letters: Path, rounds: int) -> float:
    """bench_ingest.<measure>(letters, rounds), run in a child that pins itself to one CPU (this process
    keeps every core)."""
    code = (f"import sys; from pathlib import Path; from bench.bench_ingest import {measure}; "
            f"print({measure}(Path({str(letters)!r}), {rounds}))")
    return float(subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                                cwd=Path(__file__).resolve().parents[1]).stdout)


def one_core_rate(letters: Path, rounds: int) -> float:
    """bench_parse's rate (extract + parse) on one CPU."""
    return _in_pinned_child("_pinned_rate", letters, rounds)


def whole_work_rate(letters: Path, rounds: int) -> float:
    """Files/s of kb.pool.parse_file (everything a worker does for a file) on one CPU."""
    return _in_pinned_child("_pinned_whole_rate", letters, rounds)


def _pinned_rate(letters: Path, rounds: int) -> float:
    pin_to_one_core()
    files = [(p.name, p.read_bytes()) for p in sorted(letters.glob("*.pdf"))]
    parse_letter(pdfium_text(files[0][1], files[0][0]))  # warm up: imports, compiled patterns
    return rate(pdfium_text, files, rounds)[0]


def _pinned_whole_rate(letters: Path, rounds: int) -> float:
    pin_to_one_core()
    files = [str(p) for p in sorted(letters.glob("*.pdf"))]
    assert parse_file(files[0]).ok  # warm up
    best = 0.0
    for _ in range(rounds):
        started = time.perf_counter()
        for path in files:
            parse_file(path)
        best = max(best, len(files) / (time.perf_counter() - started))
    return best


def pool_rate(files: list[str], jobs: int) -> float:
    """Files/s of kb.pool.WorkerPool alone over `files` (started from nothing in this process): every file's
    whole work in `jobs` workers, with nothing decided or written."""
    started = time.perf_counter()
    with WorkerPool(jobs) as pool:
        answered = sum(1 for _ in pool.run(files))
    assert answered == len(files)
    return answered / (time.perf_counter() - started)


def copies_of(letters: Path, directory: Path, copies: int) -> int:
    """The PDFs, and `copies - 1` more of each with bytes of their own (a comment after %%EOF, which PDF
    readers ignore): every file is read and parsed, each letter indexed once."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    count = 0
    for pdf in sorted(letters.glob("*.pdf")):
        data = pdf.read_bytes()
        for copy in range(copies):
            (directory / f"{pdf.stem}-{copy}.pdf").write_bytes(data + (b"\n%% copy %d\n" % copy if copy else b""))
            count += 1
    return count


def index_seconds(source: Path, index_dir: Path, jobs: int, engine: str | None = None) -> tuple[float, int, float]:
    """Wall seconds, peak resident KB of `kb index` on a new index, as a user runs it, and the CPUs the
    machine had busy meanwhile."""
    shutil.rmtree(index_dir, ignore_errors=True)
    command = ["/usr/bin/time", "-f", "%M", sys.executable, "-m", "kb", "index", str(source), "--index-dir",
               str(index_dir), "--jobs", str(jobs), *(["--engine", engine] if engine else [])]
    ticks = cpu_times()
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    seconds = time.perf_counter() - started
    busy = busy_cores(ticks, cpu_times())
    if done.returncode:
        raise SystemExit(done.stdout + done.stderr)
    return seconds, int(done.stderr.strip().splitlines()[-1]), busy


def cores(args) -> None:
    letters = args.letters
    work = args.workdir
    count = len(list(letters.glob("*.pdf")))
    copies = copies_of(letters, work / "copies", args.copies)
    print(f"{count} real PDFs; median of {args.rounds} runs; load {load_average()} at the start")
    single = one_core_rate(letters, args.rounds)
    whole = whole_work_rate(letters, args.rounds)

    def median_run(source: Path, jobs: int) -> tuple[float, float]:
        runs = sorted(index_seconds(source, work / "index", jobs, args.engine) for _ in range(args.rounds))
        seconds, _, busy = runs[len(runs) // 2]
        return seconds, busy

    copy_files = sorted(str(p) for p in (work / "copies").glob("*.pdf"))
    ticks = cpu_times()
    pooled = statistics.median(pool_rate(copy_files, args.jobs) for _ in range(args.rounds))
    pool_busy = busy_cores(ticks, cpu_times())
    runs = [(f"kb index --jobs {args.jobs}, the letters", count, *median_run(letters, args.jobs)),
            ("kb index --jobs 1, with {} copies of each".format(args.copies - 1), copies,
             *median_run(work / "copies", 1)),
            (f"kb index --jobs {args.jobs}, with {args.copies - 1} copies of each", copies,
             *median_run(work / "copies", args.jobs))]
    print(f"load {load_average()} at the end; engine {args.engine}")
    print(f"machine: {machine()}")
    print(f"versions: {versions('pypdfium2', 'whoosh-reloaded', 'tantivy')}\n")
    print("| measure | files | letters/s | / one-core parse rate | CPUs busy |")
    print("|---|---|---|---|---|")
    print(f"| extract + parse, one core (bench_parse) | {count} | {single:.0f} | 1.00 | 1 |")
    print(f"| a file's whole work in a worker (parse_file), one core | {count} | {whole:.0f} | "
          f"{whole / single:.2f} | 1 |")
    print(f"| the worker pool alone, {args.jobs} workers, with {args.copies - 1} copies of each | {copies:,} | "
          f"{pooled:.0f} | {pooled / single:.2f} | {pool_busy:.2f} |")
    for label, files, seconds, busy in runs:
        print(f"| {label} | {files:,} | {files / seconds:.0f} | {files / seconds / single:.2f} | {busy:.2f} |")


def memory(args) -> None:
    print(f"kb index of generated letters, new index, --jobs {args.jobs}, engine {args.engine}; "
          f"load {load_average()}")
    print(f"machine: {machine()}\n")
    print("| passages | letter files | seconds | passages/s | peak resident memory of kb index |")
    print("|---|---|---|---|---|")
    for size in args.memory:
        letters = args.workdir / f"letters-{size}"
        if not letters.exists():
            letters_for(size, letters, seed=size)
        files = len(list(letters.iterdir()))
        seconds, peak, _ = index_seconds(letters, args.workdir / f"index-{size}", args.jobs, args.engine)
        print(f"| {size:,} | {files:,} | {seconds:.0f} | {size / seconds:.0f} | {peak / 1024:.0f} MB |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=Path, default=SHARED / "letters")
    parser.add_argument("--copies", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--memory", type=int, nargs="*", help="measure memory at these numbers of passages")
    parser.add_argument("--engine", default="tantivy")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/kb-bench-ingest"))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.memory:
        memory(args)
    else:
        cores(args)


if __name__ == "__main__":
    main()
