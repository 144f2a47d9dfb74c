"""kb fetch against the fake DWC search (tests/dwc_server.py) serving the real letters: the pace it keeps at
the default rate, what it costs when unthrottled, and the disk a letter takes; then the time and disk of
a month, a year and the whole archive at that pace, from the volumes in ../shared/docs/dwc-search.md.

    python -m bench.bench_fetch [--letters ../shared/letters] [--paced 20]

Nothing goes to the DWC: the site runs on 127.0.0.1, so the pace measured is the fetcher's own (it keeps
to --rate); on the real site each request also takes the site's answer time, within that second.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import date
from pathlib import Path

from bench.common import load_average, machine, versions
from kb.fetch import FetchSettings, fetch_range
from kb.http_client import Politeness
from tests.dwc_server import FakeDwc, shared_letters

# ../shared/docs/dwc-search.md and letters.md: letters a month and a year, since 2013; items per letter
MONTH = (11_000, 15_000)
YEAR = (127_000, 185_000)
ARCHIVE = 1_900_000
ITEMS_PER_LETTER = (1.55, 1.6)
PAGE_SIZE = 25


def run(letters, folder: Path, rate: float) -> tuple[float, object]:
    start = min(letter.decision_date for letter in letters)
    end = max(letter.decision_date for letter in letters)
    with FakeDwc(letters) as site:
        settings = FetchSettings(base_url=site.base_url, politeness=Politeness(rate=rate, backoff=0.01))
        began = time.perf_counter()
        report = fetch_range(folder, start, end, settings=settings)
        return time.perf_counter() - began, report


def hours(seconds: float) -> str:
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "letters")
    parser.add_argument("--paced", type=int, default=20, help="letters fetched at the default rate (one a second)")
    args = parser.parse_args()
    letters = sorted(shared_letters(args.letters), key=lambda x: (x.decision_date, x.case_number))

    with tempfile.TemporaryDirectory() as temporary:
        paced_seconds, paced = run(letters[: args.paced], Path(temporary) / "paced", rate=1.0)
        free_seconds, free = run(letters, Path(temporary) / "free", rate=1000.0)
        folder = Path(temporary) / "free"
        pdfs = list(folder.rglob("CM*.pdf"))
        pdf_bytes = sum(p.stat().st_size for p in pdfs) / len(pdfs)
        sidecar_bytes = sum(p.stat().st_size for p in folder.rglob("*.dwc.json")) / len(pdfs)
        ledger_bytes = sum(p.stat().st_size for p in folder.glob("fetch.sqlite3*")) / len(pdfs)

    per_letter = pdf_bytes + sidecar_bytes + ledger_bytes
    pace = paced.requests / paced_seconds
    print(f"## Fetching letters (issue 13)\n\n{machine()}; {versions('pypdfium2')}; load {load_average()}; "
          f"{date.today().isoformat()}.\n`python -m bench.bench_fetch --paced {args.paced}`: the fake DWC search "
          "on 127.0.0.1 serving the 130 real letters.\n")
    print("| run | letters | requests | seconds | requests/s |\n|---|---|---|---|---|")
    print(f"| default rate (`--rate 1`) | {paced.fetched} | {paced.requests} | {paced_seconds:.1f} | {pace:.2f} |")
    print(f"| unthrottled (`--rate 1000`) | {free.fetched} | {free.requests} | {free_seconds:.1f} | "
          f"{free.requests / free_seconds:.0f} |")
    print(f"\nDisk per letter: PDF {pdf_bytes / 1024:.1f} KB, sidecar {sidecar_bytes:.0f} bytes, fetch ledger "
          f"{ledger_bytes:.0f} bytes.\n")
    print("At one request a second (one per letter, plus one results page per 25 treatment rows or cases):\n")
    print("| collection | letters | results pages | time | disk (letters) |\n|---|---|---|---|---|")
    for name, (low, high) in (("a month", MONTH), ("a year", YEAR), ("everything since 2013", (ARCHIVE, ARCHIVE))):
        pages = (low / PAGE_SIZE, high * ITEMS_PER_LETTER[1] / PAGE_SIZE)
        time_range = (low + pages[0]) / pace, (high + pages[1]) / pace
        spread = (lambda a, b, fmt: fmt(a) if fmt(a) == fmt(b) else f"{fmt(a)} to {fmt(b)}")
        print(f"| {name} | {spread(low, high, lambda n: f'{n:,.0f}')} | "
              f"{spread(*pages, lambda n: f'{n:,.0f}')} | {spread(*time_range, hours)} | "
              f"{spread(low * per_letter, high * per_letter, lambda b: f'{b / 1e9:.1f} GB')} |")


if __name__ == "__main__":
    main()
