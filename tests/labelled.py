"""Scoring the parser against hand-labelled items (tests/fixtures/labels): precision and recall per field.

A labelled item holds the active ingredients its heading asks for, its treatment category and subcategory, and
each side's citation ids. `score(pairs)` compares (labelled, parsed) items field by field; `table(scores)`
prints the figures the README and the report quote. Run `python -m tests.labelled` for the table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from kb.models import Item

LABELS = Path(__file__).resolve().parent / "fixtures" / "labels"
SET_FIELDS = ("ingredients", "claims_administrator", "reviewer")  # compared as sets, per item and per element
ONE_FIELDS = ("category", "subcategory")


def load(name: str) -> dict:
    return json.loads((LABELS / name).read_text(encoding="utf-8"))


def parsed_labels(item: Item) -> dict:
    """What the parser says about an item, in the labels' terms."""
    return {
        "ingredients": [i.name for i in item.ingredients],
        "category": item.treatment.category,
        "subcategory": item.treatment.subcategory,
        "claims_administrator": [c.id for c in item.claims_administrator_citations],
        "reviewer": [c.id for c in item.reviewer_citations],
    }


@dataclass
class FieldScore:
    items: int = 0
    exact: int = 0  # items whose field is exactly right (as a set for list fields)
    true_positives: int = 0
    labelled: int = 0  # elements labelled (precision and recall are over elements for list fields)
    found: int = 0
    wrong: list = field(default_factory=list)

    @property
    def exact_share(self) -> float:
        return self.exact / self.items if self.items else 1.0

    @property
    def precision(self) -> float:
        return self.true_positives / self.found if self.found else 1.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.labelled if self.labelled else 1.0


def score(pairs: list[tuple[str, dict, dict]]) -> dict[str, FieldScore]:
    """(item id, labelled, parsed) -> per field: items exactly right, and element precision and recall (for a
    single-valued field an item's value is its one element; None, no subcategory, is no element)."""
    scores = {name: FieldScore() for name in (*SET_FIELDS[:1], *ONE_FIELDS, *SET_FIELDS[1:])}
    for item_id, want, got in pairs:
        for name, result in scores.items():
            wanted = set(want[name]) if name in SET_FIELDS else {want[name]} - {None}
            found = set(got[name]) if name in SET_FIELDS else {got[name]} - {None}
            result.items += 1
            result.labelled += len(wanted)
            result.found += len(found)
            result.true_positives += len(wanted & found)
            if wanted == found:
                result.exact += 1
            else:
                result.wrong.append((item_id, sorted(wanted), sorted(found)))
    return scores


def table(scores: dict[str, FieldScore]) -> str:
    rows = ["| field | items exactly right | precision | recall |", "|---|---|---|---|"]
    for name, result in scores.items():
        rows.append(f"| {name} | {result.exact}/{result.items} ({100 * result.exact_share:.1f} %) | "
                    f"{100 * result.precision:.1f} % | {100 * result.recall:.1f} % |")
    return "\n".join(rows)


if __name__ == "__main__":  # pragma: no cover - a report for people
    from tests.test_labelled_items import other_years_pairs, real_pairs

    for title, pairs in (("real letters", real_pairs()), ("other years", other_years_pairs())):
        scores = score(pairs)
        print(f"\n{title}: {len(pairs)} items\n{table(scores)}")
        for name, result in scores.items():
            for wrong in result.wrong:
                print(f"  {name}: {wrong}")
