"""What a general drug dictionary from PyPI (drug-named-entity-recognition) would add to kb/data/drugs.json.

Not a dependency of imr-kb: run it in an environment that has the package (`pip install
drug-named-entity-recognition`) with this checkout on PYTHONPATH. It reads the 130 real letters and the
labelled items of other years, and reports: import time and size; on item headings, the drugs it finds that
the project's table does not, and the ones it misses that the table finds (kits, brands, combinations); on
rationales, the names it finds that the table does not know; and its time per letter beside the table's.

    PYTHONPATH=. python -m bench.measure_drug_dictionary [--letters ../shared/letters]
"""

from __future__ import annotations

import argparse
import re
import time
from collections import Counter
from pathlib import Path

from kb.drugs import find_drugs, resolve_drug
from kb.letters import parse_letter
from tests.labelled import load

_TOKEN = re.compile(r"[A-Za-z][A-Za-z-]+")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--letters", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "letters")
    args = parser.parse_args()
    started = time.perf_counter()
    import drug_named_entity_recognition as dner  # noqa: PLC0415 - timed on purpose
    from drug_named_entity_recognition import drugs_finder

    import_seconds = time.perf_counter() - started
    package = Path(dner.__file__).parent
    size = sum(f.stat().st_size for f in package.rglob("*") if f.is_file())
    print(f"drug-named-entity-recognition: import {import_seconds:.2f} s, {size / 1e6:.1f} MB on disk, "
          f"{len(drugs_finder.drug_variant_to_canonical):,} names")

    headings, rationales = [], []
    for path in sorted(args.letters.glob("*.txt")):
        for item in parse_letter(path.read_text(encoding="utf-8")).items:
            headings.append(item.heading)
            rationales.append(item.rationale)
    for letter in load("other-years.json")["letters"]:
        headings += [item["heading"] for item in letter["items"]]
        rationales += [item["rationale"] for item in letter["items"]]

    def dictionary_names(text: str) -> set[str]:
        return {match["name"].lower() for match, _, _ in dner.find_drugs(_TOKEN.findall(text), is_ignore_case=True)}

    added, missed = Counter(), Counter()
    for heading in headings:
        ours = {m.generic for m in find_drugs(heading)}
        theirs = dictionary_names(heading)
        for name in theirs:
            entry = resolve_drug(name)
            if entry is None and not any(name in generic.split("/") for generic in ours):
                added[name] += 1
        if ours and not theirs:
            missed[" / ".join(sorted(ours))] += 1
    print(f"\nheadings: {len(headings)}; names the dictionary adds that the table does not know: "
          f"{sum(added.values())} ({dict(added.most_common(15))})")
    print(f"headings whose drugs the table finds and the dictionary does not: {sum(missed.values())} "
          f"({dict(missed.most_common(15))})")

    unknown = Counter()
    started = time.perf_counter()
    for rationale in rationales:
        for name in dictionary_names(rationale):
            if resolve_drug(name) is None:
                unknown[name] += 1
    dictionary_seconds = time.perf_counter() - started
    started = time.perf_counter()
    for rationale in rationales:
        find_drugs(rationale)
    table_seconds = time.perf_counter() - started
    print(f"\nrationales: {len(rationales)}; names the dictionary finds that the table does not know: "
          f"{sum(unknown.values())} in {len(unknown)} names ({dict(unknown.most_common(20))})")
    print(f"time over all rationales: dictionary {dictionary_seconds:.2f} s, table {table_seconds:.3f} s")


if __name__ == "__main__":
    main()
