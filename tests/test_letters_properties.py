"""Property-based tests of the parser: generated letters parse back to exactly their items, random
text never crashes it, and no pattern backtracks catastrophically."""

from __future__ import annotations

import re
import textwrap
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb import letters
from kb.letters import ParseError, parse_letter

WORDS = (
    "MRI lumbar cervical spine right left shoulder knee bilateral physical therapy sessions weeks "
    "acupuncture chiropractic epidural steroid injection L4-5 L5-S1 EMG/NCV upper lower extremities "
    "Norco 10/325mg #60 Tramadol 50mg QTY: 90.00 Lidoderm 5% patch (magnetic resonance imaging) "
    "retrospective DOS: 11/14/16 consultation follow-up with an orthopedic surgeon home health times two"
).split()
SENTENCE_WORDS = (
    "the patient worker reports pain guidelines recommend support imaging therapy there is no "
    "documentation of functional improvement records show a trial was completed without benefit "
    "objective findings include tenderness and spasm MTUS ODG ACOEM criteria are met not"
).split()
GUIDELINES = [
    "Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s): Opioids, criteria for use.",
    "The Claims Administrator did not cite any medical evidence for its decision.",
    "Decision based on MTUS Low Back Complaints 2004, Section(s): Special Studies.",
    "Decision based on Non-MTUS Citation Official Disability Guidelines (ODG), Knee and Leg Chapter.",
    "Decision based on MTUS Chronic Pain Treatment Guidelines Page(s): 24, 66, 124.",
]

headings = st.lists(st.sampled_from(WORDS), min_size=1, max_size=30).map(" ".join)
sentences = st.lists(st.sampled_from(SENTENCE_WORDS), min_size=3, max_size=25).map(
    lambda words: " ".join(words).capitalize() + "."
)
rationales = st.lists(sentences, min_size=1, max_size=6).map(" ".join)


@st.composite
def partial_headings(draw) -> str:
    original, authorized, disputed = draw(headings), draw(headings), draw(headings)
    return (
        f"{original} was the original request. {authorized} was authorized by the Claims Administrator. "
        f"The remaining IMR eligible portion of the original request, {disputed} is"
    )


items = st.tuples(
    st.one_of(headings, headings, partial_headings()),
    st.sampled_from(["Upheld", "Overturned"]),
    st.sampled_from(GUIDELINES),
    st.sampled_from(GUIDELINES),
    rationales,
)


@st.composite
def letters_with_items(draw):
    """A letter in the posted layout, with the traps: random wrap width, decision on its own line,
    blank lines or none or doubled, trailing spaces, CRLF."""
    drawn = draw(st.lists(items, min_size=1, max_size=8))
    width = draw(st.integers(min_value=30, max_value=120))
    decision_alone = draw(st.lists(st.booleans(), min_size=len(drawn), max_size=len(drawn)))
    blank_style = draw(st.sampled_from(["none", "single", "doubled"]))
    trailing = draw(st.sampled_from(["", " "]))
    newline = draw(st.sampled_from(["\n", "\r\n"]))

    def wrap(text: str) -> list[str]:
        return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)

    blocks = [
        ["Case Number: CM17-0012345", "Date Assigned: 01/02/2017 Date of Injury: 10/10/2016",
         "Decision Date: 02/01/2017 UR Denial Date: 12/20/2016", "Priority: Standard Application",
         "Received:", "12/28/2016"],
        ["IMR ISSUES, DECISIONS AND RATIONALES"],
        wrap("The Final Determination was based on decisions for the disputed items/services set forth below:"),
    ]
    for (heading, decision, ca, reviewer, rationale), alone in zip(drawn, decision_alone):
        if alone:
            blocks.append(wrap(heading + ":") + [decision])
        else:
            blocks.append(wrap(f"{heading}: {decision}"))
        blocks.append(wrap("Claims Administrator guideline: " + ca))
        blocks.append(wrap("MAXIMUS guideline: " + reviewer))
        blocks.append(wrap("Decision rationale: " + rationale))

    if blank_style == "none":
        lines = [line for block in blocks for line in block]
    elif blank_style == "single":
        lines = [line for block in blocks for line in [*block, ""]]
    else:  # every line doubled, paragraphs doubled again, as in the seeds
        lines = [out for block in blocks for line in [*block, ""] for out in (line, "")]
    text = newline.join(line + trailing for line in lines)
    return text, drawn


def _squash(text: str) -> str:
    return " ".join(text.split())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(letters_with_items())
def test_generated_letters_parse_back_to_their_items(generated):
    text, drawn = generated
    letter = parse_letter(text)
    assert [(i.full_heading, i.decision) for i in letter.items] == [(_squash(h), d) for h, d, *_ in drawn]
    for item, (_, _, ca, reviewer, rationale) in zip(letter.items, drawn):
        assert item.claims_administrator_guideline == ca
        assert item.reviewer_guideline == reviewer
        assert _squash(item.rationale) == rationale
    assert letter.case_number == "CM17-0012345"


MARKER_LINES = [
    "IMR ISSUES, DECISIONS AND RATIONALES",
    "Claims Administrator guideline:",
    "MAXIMUS guideline:",
    "Decision rationale:",
    ": Upheld",
    "Overturned",
    "was the original request.",
    "The remaining IMR eligible portion of the original request,",
    "Case Number: CM16-0213037",
    "1) MAXIMUS Federal Services, Inc. has determined the request for",
    "is not medically necessary and appropriate.",
    "1) Regarding the request for",
    "ISSUE AT DISPUTE:",
    "RATIONALE FOR WHY THE REQUESTED TREATMENT/SERVICE IS/WAS NOT MEDICALLY NECESSARY:",
    "State(s) of Licensure: California",
    "Board Certified in",
    "\ufffe",
    "\r\n",
    "\x00",
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(MARKER_LINES), st.text(max_size=40)), max_size=40))
def test_random_text_gives_a_letter_or_a_parse_error(parts):
    text = "\n".join(parts)
    try:
        letter = parse_letter(text)
    except ParseError as error:
        assert str(error)
    else:
        assert letter.items


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_arbitrary_unicode_never_crashes(text):
    try:
        parse_letter(text)
    except ParseError:
        pass


# Lines built to make a backtracking pattern explode: long runs of what patterns repeat.
MEGABYTE = 1_000_000
ADVERSARIAL_LINES = {
    "spaces": " " * MEGABYTE + "x",
    "letters": "a" * MEGABYTE,
    "words": ("upheld " * (MEGABYTE // 7)),
    "colons": (": " * (MEGABYTE // 2)),
    "dates": ("11/03/20 " * (MEGABYTE // 9)),
    "partial": ("was the original request. " * (MEGABYTE // 26)),
    "markers": ("Claims Administrator guideline " * (MEGABYTE // 31)),
    "board": ("Board Certified in Anesthesiology " * (MEGABYTE // 34)),
    "hyphens": ("-" * MEGABYTE),
    "years": ("45 year old " * (MEGABYTE // 12)),
}


def _module_patterns(module) -> dict[str, re.Pattern[str]]:
    return {name: value for name, value in vars(module).items() if isinstance(value, re.Pattern)}


def test_no_parser_pattern_backtracks_on_a_megabyte_line():
    slowest = []
    for name, pattern in _module_patterns(letters).items():
        for kind, line in ADVERSARIAL_LINES.items():
            elapsed = _time(lambda: pattern.search(line))
            slowest.append((elapsed, name, kind))
    slowest.sort(reverse=True)
    # a linear pattern takes milliseconds of processor time on a megabyte, a backtracking one hours
    assert slowest[0][0] < 2.0, f"slowest patterns on a 1 MB line: {slowest[:5]}"


def test_parsing_a_megabyte_line_is_fast():
    for kind, line in ADVERSARIAL_LINES.items():
        text = "IMR ISSUES, DECISIONS AND RATIONALES\n" + line + "\nClaims Administrator guideline: x"
        elapsed = _time(lambda: _parse_or_error(text))
        assert elapsed < 2.0, (kind, elapsed)


def _parse_or_error(text: str) -> None:
    try:
        parse_letter(text)
    except ParseError:
        pass


def _time(fn) -> float:
    """Processor time, which a busy machine does not inflate the way it does the wall clock."""
    start = time.process_time()
    fn()
    return time.process_time() - start
