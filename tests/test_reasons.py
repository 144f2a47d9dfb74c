"""kb.reasons: every reason's examples and counterexamples, decisions, guideline statements and quotations, spans."""

from __future__ import annotations

import pytest

from kb.reasons import DATA, REASONS, REASONS_BY_DECISION, find_reasons, quoted_intervals, states_guideline
from kb.phrases import sentence_spans

EXAMPLES = [(e.id, e.decision, x) for e in REASONS for x in e.examples]
COUNTEREXAMPLES = [(e.id, e.decision, x) for e in REASONS for x in e.counterexamples]


@pytest.mark.parametrize(("reason", "decision", "text"), EXAMPLES)
def test_every_example_gives_its_reason(reason, decision, text):
    assert reason in [r.id for r in find_reasons(text, decision)]


@pytest.mark.parametrize(("reason", "decision", "text"), COUNTEREXAMPLES)
def test_no_counterexample_gives_its_reason(reason, decision, text):
    assert reason not in [r.id for r in find_reasons(text, decision)]


def test_the_taxonomy():
    ids = [e.id for e in REASONS]
    assert len(ids) == len(set(ids))
    assert all(e.decision in ("Upheld", "Overturned") and e.kind in ("finding", "any") for e in REASONS)
    assert len(REASONS_BY_DECISION["Upheld"]) >= 10 and len(REASONS_BY_DECISION["Overturned"]) >= 4
    assert all(e.examples for e in REASONS)
    assert sum(1 for row in DATA["reasons"] if row.get("residual")) == 1


def test_reasons_follow_the_decision_of_the_item():
    text = "There is no evidence of any red flag conditions. The request meets the guideline criteria."
    assert [r.id for r in find_reasons(text, "Upheld")] == ["no-red-flags-or-objective-findings"]
    assert [r.id for r in find_reasons(text, "Overturned")] == ["meets-criteria"]


def test_negations():
    assert find_reasons("There is documentation of functional improvement with the medication.", "Upheld") == []
    assert find_reasons("The patient completed six sessions with no improvement in function.", "Overturned") == []
    assert [r.id for r in find_reasons("The patient reported benefit from previous sessions.", "Overturned")] == [
        "documented-improvement"]


def test_a_reason_quoted_from_the_guideline_is_not_a_finding():
    guideline = 'The MTUS states that "continued opioid use requires documentation of functional improvement and no ' \
                'aberrant behavior; there is no role for long-term use without benefit."'
    assert states_guideline("The MTUS recommends physical therapy for 9-10 visits.")
    assert not states_guideline("In this case, the patient has had 12 visits.")
    assert find_reasons(guideline, "Upheld") == []
    assert [r.id for r in find_reasons(guideline + " In this case there is no documented functional improvement.",
                                       "Upheld")] == ["no-functional-improvement"]


def test_quotations_close_or_end_with_their_sentence():
    text = 'He said "helping with pain" today. The MTUS states "Recommended for short-term use only. Not beyond 2 ' \
           'weeks." Here there is none. A stray " mark.'
    spans = sentence_spans(text)
    intervals = quoted_intervals(text, spans)
    quoted = ["".join(text[a:b]) for a, b in intervals]
    assert quoted[0].startswith('"Recommended') and quoted[0].endswith('weeks."')
    assert quoted[-1] == '" mark.'
    assert not any("helping" in q for q in quoted)  # short quotations are words from the records


def test_spans_are_sentences_of_the_rationale_shifted_by_the_offset():
    rationale = "The ACOEM guidelines recommend imaging for red flags.\nThere are no red flags.  The request exceeds guidelines."
    found = find_reasons(rationale, "Upheld", offset=1000)
    assert [r.id for r in found] == ["exceeds-quantity-or-duration", "no-red-flags-or-objective-findings"]
    for reason in found:
        assert rationale[reason.span.start - 1000 : reason.span.end - 1000] == reason.text


def test_insufficient_documentation_is_residual():
    # the phrase "lack of documentation regarding" belongs to the more specific reason here
    found = [r.id for r in find_reasons("There is a lack of documentation regarding the patient's objective functional "
                                        "improvement with prior sessions.", "Upheld")]
    assert found == ["no-functional-improvement"]
    assert [r.id for r in find_reasons("The request failed to specify the frequency and duration.", "Upheld")] == [
        "insufficient-documentation"]


def test_keywords_change_no_result(letters_dir):
    """The keyword prefilter only skips work: every real rationale gives the same reasons with and without it."""
    from pathlib import Path

    from kb.letters import parse_letter

    for path in sorted(Path(letters_dir).glob("*.txt")):
        for item in parse_letter(path.read_text(encoding="utf-8")).items:
            assert find_reasons(item.rationale, item.decision) == find_reasons(item.rationale, item.decision,
                                                                               prefilter=False), item.heading
    for reason, decision, text in EXAMPLES + COUNTEREXAMPLES:
        assert find_reasons(text, decision) == find_reasons(text, decision, prefilter=False)
