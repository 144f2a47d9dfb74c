"""The letter parser: real letters end to end, the seeds, golden fixtures per layout and trap."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from kb.extract import extract_text
from kb.letters import CLEANING_STEPS, LAYOUTS, ParseError, clean_text, parse_letter
from kb.models import Letter
from kb.records import letter_record
from tests.conftest import FIXTURES

LETTER_FIXTURES = FIXTURES / "letters"


def _us_date(iso: str | None) -> str | None:
    return f"{iso[5:7]}/{iso[8:10]}/{iso[:4]}" if iso else None


def _squash(text: str) -> str:
    return " ".join(text.split())


def _index_rows(letters_dir: Path) -> dict[str, dict[str, str]]:
    with open(letters_dir / "index.csv", newline="", encoding="utf-8") as f:
        return {row["case_number"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def real_letters(letters_dir: Path) -> dict[str, tuple[Letter, Letter]]:
    """Every real letter parsed twice: from its PDF (pdfium) and from its .txt (pypdf)."""
    parsed = {}
    for pdf in sorted(letters_dir.glob("*.pdf")):
        parsed[pdf.stem] = (
            parse_letter(extract_text(pdf).text),
            parse_letter(extract_text(pdf.with_suffix(".txt")).text),
        )
    return parsed


def test_every_real_letter_yields_the_items_of_index_csv(letters_dir, real_letters):
    rows = _index_rows(letters_dir)
    assert len(real_letters) == len(rows) == 130
    for case, (letter, _) in real_letters.items():
        row = rows[case]
        expected = [entry.rsplit(" => ", 1) for entry in row["items"].split(" || ")]
        got = [(item.heading, item.decision) for item in letter.items]
        assert len(got) == int(row["n_items"]) == len(expected), case
        for item, (heading, decision) in zip(letter.items, expected):
            assert item.decision == decision, (case, item.ordinal)
            # index.csv keeps double spaces, and once cut a partial-authorization heading at a blank
            # line inside it; the parser keeps the whole heading, and heads a partial item by its disputed part.
            assert item.full_heading == _squash(heading) or (
                item.partial is not None and item.full_heading.endswith(_squash(heading))
            ), (case, item.ordinal, item.full_heading, heading)
            assert item.heading == (item.partial.disputed if item.partial else item.full_heading)
        assert sum(i.decision == "Upheld" for i in letter.items) == int(row["n_upheld"])


def test_every_real_letter_has_its_header_and_reviewer(letters_dir, real_letters):
    rows = _index_rows(letters_dir)
    for case, (letter, _) in real_letters.items():
        row = rows[case]
        assert letter.layout == "posted"
        assert letter.case_number == case
        assert _us_date(letter.date_assigned) == row["date_assigned"]
        assert _us_date(letter.decision_date) == row["decision_date"]
        assert _us_date(letter.date_of_injury) == row["date_of_injury"]
        assert _us_date(letter.ur_denial_date) == row["ur_denial_date"]
        assert _us_date(letter.application_received) == row["application_received"]
        assert letter.priority == row["priority"]
        assert list(letter.reviewer.states) == [s.strip() for s in row["state_of_licensure"].split(",")]
        # index.csv keeps only the first line of a wrapped specialty list ("Public Health &").
        expected = [s.strip() for s in row["certification_specialty"].split(",")]
        got = list(letter.reviewer.specialties)
        assert len(got) == len(expected), case
        assert got[:-1] == expected[:-1] and got[-1].startswith(expected[-1]), (case, got, expected)


def test_pdf_and_text_of_a_letter_parse_the_same(real_letters):
    def essentials(letter: Letter):
        return [
            (
                item.heading,
                item.decision,
                [c.id for c in item.claims_administrator_citations],
                [c.id for c in item.reviewer_citations],
                [m.generic for m in item.drugs],
                item.treatment,
                _squash(item.rationale),
            )
            for item in letter.items
        ]

    for case, (from_pdf, from_text) in real_letters.items():
        assert essentials(from_pdf) == essentials(from_text), case
        assert from_pdf.reviewer == from_text.reviewer, case
        assert from_pdf.age == from_text.age and from_pdf.sex == from_text.sex, case


def test_real_letters_state_age_and_sex(real_letters):
    stated = [letter for letter, _ in real_letters.values() if letter.age is not None]
    assert len(stated) >= 120
    assert all(18 <= letter.age <= 90 for letter in stated)
    assert {letter.sex for letter in stated} >= {"male", "female"}


def test_seeds_parse_to_their_drugs_and_citations(seeds_dir):
    first, second = (parse_letter(extract_text(p).text) for p in sorted(seeds_dir.glob("*.txt")))
    assert first.layout == second.layout == "body"
    assert first.case_number is None and second.case_number is None

    xanax, soma = first.items
    assert (xanax.heading, xanax.decision) == ("Xanax 1mg QTY: 60.00", "Upheld")
    assert (soma.heading, soma.decision) == ("Soma 350mg QTY: 120.00", "Upheld")
    assert [(d.generic, d.drug_class, d.brand) for d in xanax.drugs] == [("alprazolam", "Benzodiazepines", "Xanax")]
    assert [(d.generic, d.drug_class, d.brand) for d in soma.drugs] == [("carisoprodol", "Muscle Relaxants", "Soma")]
    assert xanax.drug_request.quantity == 60.0 and soma.drug_request.quantity == 120.0
    assert xanax.drugs[0].strength == "1mg" and soma.drugs[0].strength == "350mg"
    assert "MTUS/CPMTG/p24" in [c.id for c in xanax.claims_administrator_citations]
    chapter15 = [c for c in xanax.reviewer_citations if c.chapter == 15]
    assert sorted(p for c in chapter15 for p in c.pages) == ["388", "402"]

    carisoprodol, triazolam = second.items
    assert (carisoprodol.heading, carisoprodol.decision) == ("Carisoprodol 350mg #60", "Upheld")
    assert (triazolam.heading, triazolam.decision) == ("Triazolam 0.25mg #60", "Upheld")
    assert carisoprodol.drugs[0].generic == "carisoprodol" and carisoprodol.drug_request.quantity == 60.0
    assert triazolam.drugs[0].generic == "triazolam" and triazolam.drugs[0].drug_class == "Benzodiazepines"
    assert "MTUS/CPMTG/p29" in [c.id for c in carisoprodol.reviewer_citations]
    assert second.reviewer.specialties == ("Physical Medicine & Rehabilitation",)
    assert second.reviewer.states == ("Nevada",)
    assert (first.age, first.sex, second.age, second.sex) == (35, "female", 56, "female")


# ---------------------------------------------------------------------------------------------
# Golden files: one fixture letter per layout and per trap, written for this project.

GOLDEN_CASES = sorted(p.stem for p in LETTER_FIXTURES.glob("*.txt"))


def _golden_output(name: str) -> dict:
    raw = (LETTER_FIXTURES / f"{name}.txt").read_bytes().decode("utf-8")
    try:
        return letter_record(parse_letter(raw), source=f"{name}.txt")
    except ParseError as error:
        return {"source": f"{name}.txt", "ok": False, "error": str(error)}


@pytest.mark.parametrize("name", GOLDEN_CASES)
def test_golden(name, update_golden):
    golden = LETTER_FIXTURES / f"{name}.json"
    got = _golden_output(name)
    if update_golden:
        golden.write_text(json.dumps(got, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    assert golden.exists(), f"no golden file for {name}: run pytest --update-golden and review it"
    assert got == json.loads(golden.read_text(encoding="utf-8"))


def test_golden_fixtures_cover_every_layout_and_trap():
    layouts = {json.loads((LETTER_FIXTURES / f"{n}.json").read_text()).get("layout") for n in GOLDEN_CASES}
    assert set(LAYOUTS) <= layouts
    raw = {n: (LETTER_FIXTURES / f"{n}.txt").read_bytes() for n in GOLDEN_CASES}
    assert any(b"\r\n" in text for text in raw.values()), "a CRLF fixture"
    assert any(b"\n\n" not in text.replace(b"\r", b"") for text in raw.values()), "a fixture with no blank lines"
    assert any(b"\n\n\n\n" in text for text in raw.values()), "a fixture with doubled blank lines"


def test_golden_spans_point_at_what_they_name():
    for name in GOLDEN_CASES:
        raw = (LETTER_FIXTURES / f"{name}.txt").read_bytes().decode("utf-8")
        try:
            letter = parse_letter(raw)
        except ParseError:
            continue
        for item in letter.items:
            assert _squash(item.heading_span.of(letter.text)) == item.heading
            assert item.decision_span.of(letter.text).casefold().find(item.decision.casefold()) >= 0 or (
                "medically necessary" in item.decision_span.of(letter.text).casefold()
            )
            assert item.rationale_span.of(letter.text) == item.rationale
            assert _squash(item.reviewer_guideline_span.of(letter.text)) == item.reviewer_guideline
            for mention in (*item.drugs, *item.rationale_drugs):
                assert mention.span.of(letter.text) == mention.text
            for citation in (*item.claims_administrator_citations, *item.reviewer_citations, *item.rationale_citations):
                assert citation.span.of(letter.text) == citation.text


def test_partial_heading_keeps_its_opening_when_a_line_ends_after_it():
    # "leaving the original request IMR eligible" is not the opening: "X was the original request." is,
    # even when a line break falls right after it.
    text = """IMR ISSUES, DECISIONS AND RATIONALES
Twenty-four sessions of physical therapy for the left shoulder was the original request.
The Claims Administrator modified the request without stating an authorized quantity,
leaving the original request IMR eligible. The original request, Twenty-four sessions of
physical therapy for the left shoulder is: Upheld
Claims Administrator guideline: Decision based on MTUS Shoulder Complaints 2004.
MAXIMUS guideline: Decision based on MTUS Shoulder Complaints 2004.
Decision rationale: The request is not medically necessary.
"""
    item = parse_letter(text).items[0]
    assert item.full_heading.startswith("Twenty-four sessions of physical therapy for the left shoulder was the original")
    assert item.heading == "Twenty-four sessions of physical therapy for the left shoulder"
    assert item.partial.original_request == "Twenty-four sessions of physical therapy for the left shoulder"
    assert item.partial.authorized is None
    assert item.partial.disputed == "Twenty-four sessions of physical therapy for the left shoulder"


# ---------------------------------------------------------------------------------------------
# Cleaning steps and errors


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("a\r\nb\rc", "a\nb\nc"),
        ("electro\ufffemyography", "electro-myography"),
        ("electro- \nmyography", "electro-myography"),
        ("pain -\nradiating", "pain -\nradiating"),
        ("x\x00y\x07z", "xyz"),
        ("\ufeffCase\u00a0Number", "Case Number"),
        ("one  \ntwo \t\n", "one\ntwo"),
        ("a\n\nb\n\nc\n\nd\n\n\n\ne\n\nf\n\ng\n\nh\n\n", "a\nb\nc\nd\n\ne\nf\ng\nh"),
        ("a\n\n\n\n\nb", "a\n\nb"),
    ],
)
def test_cleaning_steps(raw, clean):
    assert clean_text(raw) == clean


def test_cleaning_steps_are_named_functions():
    assert all(callable(step) and step.__doc__ is not None or step.__name__ for step in CLEANING_STEPS)
    assert [step.__name__ for step in CLEANING_STEPS][0] == "normalize_line_ends"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the text is empty"),
        ("   \n\n  ", "the text is empty"),
        ("Dear adjuster, please find the records attached.", "fits no known letter layout"),
        (
            "IMR ISSUES, DECISIONS AND RATIONALES\nMRI of the knee: Upheld\nClaims Administrator guideline: x\n"
            "Decision rationale: y.",
            "item 1: expected 'MAXIMUS guideline:' but found 'Decision rationale:'",
        ),
        (
            "IMR ISSUES, DECISIONS AND RATIONALES\nMRI of the knee\nClaims Administrator guideline: x\n"
            "MAXIMUS guideline: y\nDecision rationale: z.",
            "item 1: no decision (Upheld or Overturned)",
        ),
        (
            "IMR ISSUES, DECISIONS AND RATIONALES\nThe Final Determination was based on decisions for the "
            "disputed items/services set forth below:\n",
            "no items",
        ),
        (
            "Case Number: CM16-0213037\nIMR ISSUES, DECISIONS AND RATIONALES\nMRI: Upheld\n"
            "Claims Administrator guideline: x\nMAXIMUS guideline: y\nDecision rationale: z.\n"
            "CT: Upheld\nClaims Administrator guideline: x\n",
            "item 2: expected 'MAXIMUS guideline:' but the letter ends",
        ),
    ],
)
def test_parse_errors_name_what_is_missing(text, message):
    with pytest.raises(ParseError, match=None) as caught:
        parse_letter(text)
    assert message in str(caught.value)
