"""kb.regions: the data's examples, sides, chapters, and the order in which an item's region is decided."""

from __future__ import annotations

import pytest

from kb.letters import parse_letter
from kb.regions import (
    DATA,
    REGIONS,
    SIDES,
    chapter_regions,
    combine,
    find_regions,
    find_side,
    is_diagnosis_sentence,
    is_surgical_context,
    item_region,
)

REGION_EXAMPLES = [(e["id"], x) for e in DATA["regions"] for x in e["examples"]]
REGION_COUNTEREXAMPLES = [(e["id"], x) for e in DATA["regions"] for x in e["counterexamples"]]


def regions_in(text: str) -> set[str]:
    return {m.region for m in find_regions(text)}


@pytest.mark.parametrize(("region", "text"), REGION_EXAMPLES)
def test_region_examples(region, text):
    assert combine(r for r in regions_in(text) if r in REGIONS) == region


@pytest.mark.parametrize(("region", "text"), REGION_COUNTEREXAMPLES)
def test_region_counterexamples(region, text):
    assert region not in regions_in(text)


@pytest.mark.parametrize("text", DATA["multiple"]["examples"])
def test_multiple_examples(text):
    assert combine(r for r in regions_in(text) if r in REGIONS) == "multiple"


@pytest.mark.parametrize("text", DATA["unstated"]["examples"])
def test_unstated_examples(text):
    assert regions_in(text) == set()


@pytest.mark.parametrize(("kind", "text"), [("spine", x) for x in DATA["spine"]["examples"]]
                         + [(limb["id"], x) for limb in DATA["limbs"] for x in limb["examples"]])
def test_vague_examples(kind, text):
    assert kind in regions_in(text)


@pytest.mark.parametrize("text", DATA["not_regions"]["examples"])
def test_phrases_that_are_no_body_part(text):
    assert regions_in(text) == set()


@pytest.mark.parametrize(("text", "side"), DATA["side_examples"])
def test_side_examples(text, side):
    assert find_side(text) == side


@pytest.mark.parametrize(("line", "region"), DATA["chapters"]["examples"])
def test_chapter_examples(line, region):
    assert chapter_regions(line) == ({region} if region else set())


@pytest.mark.parametrize("text", DATA["surgical_context"]["examples"])
def test_surgical_context_examples(text):
    assert is_surgical_context(text)


@pytest.mark.parametrize("text", DATA["diagnosis_cues"]["examples"])
def test_diagnosis_cue_examples(text):
    assert is_diagnosis_sentence(text)


def test_spans_point_at_the_phrase():
    text = "MRI of the\nright   shoulder and the lumbar spine"
    for mention in find_regions(text, offset=100):
        assert mention.span.start >= 100
        assert text[mention.span.start - 100 : mention.span.end - 100] == mention.text
    assert [m.region for m in find_regions(text)] == ["shoulder", "lumbar"]


def test_systemic_counts_only_without_a_musculoskeletal_region():
    assert combine(["systemic"]) == "systemic"
    assert combine(["systemic", "lumbar"]) == "lumbar"
    assert combine([]) == "unstated"


# --- the order of sources, on small letters ----------------------------------------------------

LETTER = """Case Number: CM17-0000001
Date Assigned: 01/02/2017 Date of Injury: 10/01/2016
Decision Date: 02/01/2017 UR Denial Date: 01/01/2017
Priority: Standard

CLINICAL CASE SUMMARY
The expert reviewer developed the following clinical case summary based on a review of the case file,
including all medical records:
The injured worker is a 50 year old female who sustained an industrial injury on 10-01-2016. {summary}

IMR ISSUES, DECISIONS AND RATIONALES
The Final Determination was based on decisions for the disputed items/services set forth below:
{items}"""

ITEM = """
{heading}: Upheld
Claims Administrator guideline: Decision based on MTUS Chronic Pain Medical Treatment 2016.
MAXIMUS guideline: {line}
Decision rationale: The request is not medically necessary.
"""

CHRONIC = "Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s): Physical medicine treatment."
CASES = [
    # heading, reviewer line, summary, expected (region, side, source)
    ("MRI of the right shoulder", CHRONIC, "Diagnoses include lumbar strain.", ("shoulder", "right", "heading")),
    ("Physical therapy 2 x 4", CHRONIC, "Diagnoses include lumbar strain.", ("lumbar", "unstated", "summary")),
    ("Physical therapy 2 x 4", CHRONIC, "Diagnoses include lumbar strain and right knee sprain.",
     ("multiple", "unstated", "summary")),
    ("Hot/cold wrap", "Decision based on MTUS Low Back Complaints 2004, Section(s): Physical Methods.",
     "Diagnoses include neck strain and lumbar strain.", ("lumbar", "unstated", "guideline")),
    ("EMG/NCV of the bilateral upper extremities", CHRONIC,
     "Diagnoses include cervical radiculopathy and lumbar strain.", ("cervical", "bilateral", "summary")),
    ("Spinal manipulation 1 x 8", CHRONIC, "Diagnoses include lumbar strain.", ("lumbar", "unstated", "summary")),
    ("Omeprazole 20mg #30", CHRONIC, "Diagnoses include lumbar strain.", ("systemic", "unstated", "treatment")),
    ("1 knee scooter", CHRONIC, "She is being treated for left foot plantar fasciitis.", ("ankle-foot", "unstated", "summary")),
    ("Gym membership", CHRONIC, "", ("unstated", "unstated", "none")),
]


@pytest.mark.parametrize(("heading", "line", "summary", "expected"), CASES)
def test_item_region_sources(heading, line, summary, expected):
    letter = parse_letter(LETTER.format(summary=summary, items=ITEM.format(heading=heading, line=line)))
    decided = item_region(letter, letter.items[0])
    assert (decided.region, decided.side, decided.source) == expected
    assert decided.region in REGIONS and decided.side in SIDES
    for span in decided.spans:
        assert span.of(letter.text).strip()


def test_associated_surgical_services_take_the_surgery_region_and_side():
    items = "".join(ITEM.format(heading=h, line=CHRONIC) for h in
                    ("Right shoulder arthroscopy with rotator cuff repair", "Associated surgical service: Hip pad",
                     "Pre-operative EKG", "Post-op Zofran"))
    letter = parse_letter(LETTER.format(summary="Diagnoses include right shoulder rotator cuff tear.", items=items))
    decided = [item_region(letter, item) for item in letter.items]
    assert [(d.region, d.side) for d in decided] == [("shoulder", "right"), ("shoulder", "right"), ("shoulder", "right"),
                                                     ("systemic", "unstated")]
    assert decided[1].source == "surgery"
