"""Screenshots of the search, precedents, item and cite-check pages at desktop (1280 px) and phone (390 px)
width, for the README: `python -m tests.screenshots` writes docs/screenshots/<page>-<width>.png.

They are taken from the demo index `kb demo` serves (3,000 synthetic letters, seed 2016), built afresh in a
temporary folder (about a minute and a half on 2 cores) or read from --index-dir (e.g. index/demo after
`kb demo`), in Debian's Chromium as the browser tests drive it, each page as the first screen shows it.
With pngquant installed (`apt-get install pngquant`) the PNGs are squeezed to about a third of their size.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.browserutil import MISSING, PHONE, ROOT, TIMEOUT_MS, VIEWPORT, launched_chromium, serving

OUT = ROOT / "docs" / "screenshots"
DEMO_LETTERS, DEMO_SEED = 3000, 2016  # kb demo's defaults
WIDTHS = {"desktop": VIEWPORT, "phone": PHONE}
SEARCH = "/search?q=carisoprodol+weaning"  # the README's first example
PRECEDENTS = "/precedents?drug=hydrocodone"
PORT = 5000  # kb demo's: the citations in the pictures name http://127.0.0.1:5000/ (any free port if taken)
NOT_INDEXED = ("CM16-0213037", "CM99-0000001")  # a real case number (not in the demo) is cited to show "not found"


def build_demo_index(folder: Path, letters: int, seed: int) -> Path:
    from kb.ingest import index_paths
    from kb.synth import write_letters

    write_letters(folder / "letters", letters, seed=seed)
    index_paths([folder / "letters"], folder / "index", jobs=None)
    return folder / "index"


def open_search(page) -> None:
    page.goto(SEARCH)


def open_precedents(page) -> None:
    page.goto(PRECEDENTS)


def open_item(page) -> None:
    """The first result's item permalink: the letter, scrolled to the item, with its context line."""
    page.goto(SEARCH)
    page.goto(page.locator("ol.hits a.permalink").first.get_attribute("href"))


def open_cite_check(page) -> None:
    """A brief citing two decisions of the search, quoting one, and citing one that is not indexed."""
    page.goto(SEARCH)
    first, second = page.locator("ol.hits input[name=p]").evaluate_all("boxes => boxes.map(b => b.value)")[:2]
    letter_id, ordinal = first.split("/")
    letter = page.request.get(f"/api/letters/{letter_id}").json()["letter"]
    item = next(i for i in letter["items"] if i["ordinal"] == int(ordinal))
    quote = " ".join(item["rationale"].split()[:14])
    absent = next(case for case in NOT_INDEXED if page.request.get(f"/api/letters/{case}").status == 404)
    page.goto("/cite-check")
    page.get_by_label("Brief text").fill(
        f"The reviewer in {letter_id} upheld the denial, reasoning that \"{quote}\". The same result was reached "
        f"in {second.split('/')[0]}; compare {absent}.")
    with page.expect_navigation():
        page.get_by_role("button", name="Check citations").click()
    # the first screen of the report, with the end of the brief above it
    page.evaluate("""() => { const h = document.querySelector("main h2");
                             if (h) window.scrollTo(0, h.getBoundingClientRect().top + scrollY - innerHeight / 5); }""")


PAGES = {"search": open_search, "precedents": open_precedents, "item": open_item, "cite-check": open_cite_check}


def take(base: str, out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    taken = []
    with launched_chromium() as chromium:
        for width, viewport in WIDTHS.items():
            context = chromium.new_context(viewport=viewport, base_url=base)
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            for name, open_page in PAGES.items():
                open_page(page)
                page.wait_for_load_state("load")
                page.evaluate("() => document.activeElement && document.activeElement.blur()")
                path = out / f"{name}-{width}.png"
                page.screenshot(path=str(path), animations="disabled")
                taken.append(path)
            context.close()
    return taken


def squeeze(paths: list[Path]) -> bool:
    """Quantise the PNGs in place with pngquant (256 colours at most, which these flat pages lose nothing
    visible to); False when pngquant is not installed."""
    pngquant = shutil.which("pngquant")
    if pngquant is None:
        return False
    for path in paths:
        subprocess.run([pngquant, "--force", "--skip-if-larger", "--strip", "--speed", "1", "--quality", "70-95",
                        "--output", str(path), str(path)], check=False)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.screenshots", description=__doc__.split("\n\n")[0])
    parser.add_argument("--index-dir", type=Path, help="an existing demo index (default: build one afresh)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"where the PNGs go (default: {OUT.relative_to(ROOT)})")
    args = parser.parse_args(argv)
    if MISSING is not None:
        print(f"cannot take screenshots: {MISSING}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="kb-screenshots-") as scratch:
        index_dir = args.index_dir or build_demo_index(Path(scratch), DEMO_LETTERS, DEMO_SEED)
        with serving(index_dir, port=PORT) as base:
            paths = take(base, args.out)
    squeezed = squeeze(paths)
    total = sum(path.stat().st_size for path in paths)
    for path in paths:
        print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}  {path.stat().st_size // 1024} KB")
    print(f"{len(paths)} screenshots, {total // 1024} KB in all"
          + ("" if squeezed else " (pngquant is not installed: apt-get install pngquant makes them smaller)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
