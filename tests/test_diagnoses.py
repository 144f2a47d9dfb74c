"""kb.diagnoses: every entry's examples, the ICD-10-CM fields, uncertain terms, and the real summaries."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kb.diagnoses import DATA, DIAGNOSES, find_diagnoses, letter_diagnoses
from kb.letters import parse_letter
from kb.regions import REGIONS

EXAMPLES = [(entry.id, example) for entry in DIAGNOSES for example in entry.examples]
ICD_CATEGORY = re.compile(r"[A-Z][0-9][0-9A-Z]")
ICD_CODE = re.compile(r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?")


@pytest.mark.parametrize(("diagnosis", "text"), EXAMPLES)
def test_every_example_yields_its_diagnosis(diagnosis, text):
    assert diagnosis in [d.id for d in find_diagnoses(text)]


def test_entries_are_well_formed():
    ids = [entry.id for entry in DIAGNOSES]
    assert len(ids) == len(set(ids))
    for row in DATA["diagnoses"]:
        assert ICD_CATEGORY.fullmatch(row["category"]), row["id"]
        assert ICD_CODE.fullmatch(row["icd10cm"]) and row["icd10cm"].startswith(row["category"]), row["id"]
        assert row["icd10cm_title"] and row["category_title"], row["id"]
        assert row["region"] is None or row["region"] in REGIONS, row["id"]
        assert row["examples"], row["id"]


@pytest.mark.parametrize("text", DATA["uncertain"]["examples"])
def test_ruled_out_terms_are_left_out(text):
    assert find_diagnoses(text) == []


def test_a_longer_term_wins_over_the_term_inside_it():
    assert [d.id for d in find_diagnoses("a diagnosis of lumbar pain with radiculopathy")] == ["lumbar-radiculopathy"]


def test_spans_point_at_the_words():
    text = "Diagnoses include right shoulder\nimpingement syndrome and lumbar   strain."
    for d in find_diagnoses(text, offset=7):
        assert text[d.span.start - 7 : d.span.end - 7] == d.text


def test_real_summaries(letters_dir: Path):
    found = {}
    for path in sorted(letters_dir.glob("*.txt")):
        letter = parse_letter(path.read_text(encoding="utf-8"))
        diagnoses = letter_diagnoses(letter)
        found[letter.case_number] = [d.id for d in diagnoses]
        assert len({d.id for d in diagnoses}) == len(diagnoses)
        for d in diagnoses:
            assert d.span.of(letter.text) == d.text
            assert letter.summary_span.start <= d.span.start < letter.summary_span.end
    assert sum(1 for ids in found.values() if ids) >= 0.95 * len(found)
    assert found["CM16-0213037"] == ["shoulder-contusion", "cervical-sprain-strain"]
    assert found["CM16-0231884"] == ["depression", "anxiety", "insomnia", "headache"]
    # "rule out carpal tunnel syndrome ... rule out cervical radiculopathy": neither is a diagnosis
    assert not {"carpal-tunnel-syndrome", "cervical-radiculopathy"} & set(found["CM16-0248034"])


def test_head_nouns_change_no_result(letters_dir: Path):
    """The head-noun prefilter only skips work: every summary sentence gives the same terms without it."""
    from kb.phrases import sentence_spans

    for path in sorted(letters_dir.glob("*.txt")):
        letter = parse_letter(path.read_text(encoding="utf-8"))
        text = letter.summary_span.of(letter.text) if letter.summary_span else ""
        for sentence in sentence_spans(text):
            words = sentence.of(text)
            assert find_diagnoses(words) == find_diagnoses(words, prefilter=False), words
    for _, text in EXAMPLES:
        assert find_diagnoses(text) == find_diagnoses(text, prefilter=False)
