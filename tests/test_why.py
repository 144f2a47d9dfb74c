"""kb.why: why_tags over the real letters gives complete, well-formed rows whose spans point into the letter."""

from __future__ import annotations

from pathlib import Path

from kb.bands import AGE_LABELS, PHASE_LABELS, SINCE_INJURY_LABELS
from kb.diagnoses import DIAGNOSIS_LABELS
from kb.letters import parse_letter
from kb.reasons import REASON_LABELS, REASONS_BY_DECISION
from kb.regions import REGIONS, SIDES
from kb.why import why_tags

FIELDS = {"ordinal", "region", "regions", "region_source", "region_spans", "side", "days_since_injury", "since_injury",
          "injury_phase", "age_band", "sex", "diagnoses", "diagnosis_categories", "reasons", "reason_ids"}


def test_rows_for_every_real_item(letters_dir: Path):
    for path in sorted(letters_dir.glob("*.txt")):
        letter = parse_letter(path.read_text(encoding="utf-8"))
        rows = why_tags(letter)
        assert [row["ordinal"] for row in rows] == [item.ordinal for item in letter.items]
        for item, row in zip(letter.items, rows):
            assert set(row) == FIELDS
            assert row["region"] in REGIONS and row["side"] in SIDES
            assert set(row["regions"]) <= set(REGIONS)
            assert row["since_injury"] in SINCE_INJURY_LABELS and row["injury_phase"] in PHASE_LABELS
            assert row["age_band"] in AGE_LABELS and row["sex"] in ("male", "female", None)
            assert all(d["id"] in DIAGNOSIS_LABELS for d in row["diagnoses"])
            allowed = {e.id for e in REASONS_BY_DECISION[item.decision]}
            assert set(row["reason_ids"]) <= allowed and set(row["reason_ids"]) <= set(REASON_LABELS)
            for start, end in row["region_spans"] + [d["span"] for d in row["diagnoses"]]:
                assert 0 <= start < end <= len(letter.text)
            for reason in row["reasons"]:
                start, end = reason["span"]
                # the sentence that states the reason lies in this item's rationale
                assert item.rationale_span.start <= start < end <= item.rationale_span.end


def test_a_letter_without_summary_or_dates_still_gets_rows():
    text = (Path(__file__).parent / "fixtures" / "letters" / "review-2013.txt").read_text(encoding="utf-8")
    rows = why_tags(parse_letter(text))
    assert rows and all(row["region"] in REGIONS for row in rows)
