"""Rendering: lines wrapped like a PDF page, the extraction style, and the layouts.
"""

from __future__ import annotations

import random
import re
from functools import lru_cache

from kb.letters import SYNTHETIC_MARK
from kb.synth.case import _short_slash, _slash
from kb.synth.choices import _chance, _joined
from kb.synth.model import OVERTURNED, SHARES, UPHELD
from kb.synth.prose import _specialties_prose
from kb.synth.tables import BOILERPLATE

# --------------------------------------------------------------------------------------------
# Rendering: lines wrapped like a PDF page, then the extraction style


@lru_cache(maxsize=None)
def _line_pattern(width: int) -> re.Pattern[str]:
    # The longest run of at most `width` characters that ends before a space or at the end: greedy, so
    # the engine backs off to the last space that fits, in C rather than in a Python loop.
    return re.compile(r"(\S.{0,%d})(?: |$)" % (width - 1))


def _wrap(text: str, width: int) -> list[str]:
    """Break `text` at spaces into lines of at most `width` characters."""
    if len(text) <= width:
        return [text]
    lines = _line_pattern(width).findall(text)
    if sum(map(len, lines)) + len(lines) - 1 != len(text):  # a word longer than a line: break it alone
        return _wrap_heading(text, width, sentence_ends=True)
    return lines


@lru_cache(maxsize=None)
def _wrapped_boilerplate(text: str, width: int) -> tuple[str, ...]:
    return tuple(_wrap(text, width))


def _wrap_heading(text: str, width: int, sentence_ends: bool) -> list[str]:
    """Break a heading at spaces; with sentence_ends False no line but the last may end a sentence.

    The parser finds a heading by walking back from its decision to the line after the previous
    sentence end, so a heading line ending in "." would cut the heading short.
    """
    lines = []
    while len(text) > width:
        cut = text.rfind(" ", 0, width + 1)
        while not sentence_ends and cut > 0 and text[cut - 1] in ".?!":
            cut = text.rfind(" ", 0, cut)
        if cut <= 0:
            cut = text.find(" ", width + 1)
            while not sentence_ends and cut != -1 and text[cut - 1] in ".?!":
                cut = text.find(" ", cut + 1)
            if cut == -1:
                break
        lines.append(text[:cut])
        text = text[cut + 1 :]
    lines.append(text)
    return lines


class _Page:
    """The letter's lines, as a PDF page lays them out."""

    def __init__(self, width: int, gaps: bool) -> None:
        self.width = width
        self.gaps = gaps  # pdfium drops the blank lines between blocks
        self.lines: list[str] = [SYNTHETIC_MARK]

    def line(self, text: str) -> None:
        self.lines.append(text)

    def para(self, text: str) -> None:
        self.lines.extend(_wrap(text, self.width))

    def boilerplate(self, text: str) -> None:
        self.lines.extend(_wrapped_boilerplate(text, self.width))

    def gap(self) -> None:
        if self.gaps and self.lines[-1]:
            self.lines.append("")

    def render(self, style: str, crlf: bool) -> str:
        if style == "pypdf":  # a space ends every line
            return " \n".join(self.lines) + " \n"
        if style == "doubled":  # and every line is followed by an empty one
            return " \n\n".join(self.lines) + " \n"
        end = "\r\n" if crlf else "\n"
        return end.join(self.lines) + end


def _items_section(page: _Page, rng: random.Random, items, drafts, paragraphs_of) -> None:
    page.boilerplate(BOILERPLATE["items_lead"])
    page.gap()
    for item, draft, paragraphs in zip(items, drafts, paragraphs_of):
        alone = _chance(rng, SHARES["decision_alone"])
        text = f"{draft.heading}:" if alone else f"{draft.heading}: {item.decision}"
        page.lines.extend(_wrap_heading(text, page.width, sentence_ends=draft.partial))
        if alone:
            page.line(item.decision)
        page.gap()
        page.para(f"Claims Administrator guideline: {item.claims_administrator_guideline}")
        page.gap()
        page.para(f"MAXIMUS guideline: {item.reviewer_guideline}")
        page.gap()
        for n, paragraph in enumerate(paragraphs):
            page.para(("Decision rationale: " if n == 0 else "") + " ".join(paragraph))
            page.gap()


def _summary_section(page: _Page, summary: list[str]) -> None:
    page.line("CLINICAL CASE SUMMARY")
    page.boilerplate(BOILERPLATE["summary_lead"])
    page.gap()
    for paragraph in summary:
        page.para(paragraph)
        page.gap()


def _list_credentials(page: _Page, rng: random.Random, specialties, states) -> None:
    separator = ", " if _chance(rng, 0.6) else ","
    lines = [f"State(s) of Licensure: {separator.join(states)}",
             f"Certification(s)/Specialty: {', '.join(specialties)}"]
    page.line(BOILERPLATE["credentials_intro"])
    for line in lines if _chance(rng, 0.8) else reversed(lines):
        page.para(line)


# --------------------------------------------------------------------------------------------
# The layouts


def _posted(page: _Page, rng, case, number, reviewer, summary, items, drafts, paragraphs_of) -> None:
    specialties, states, _ = reviewer
    priority = "Expedited" if case.priority_expedited else "Standard"
    page.line(f"Case Number: {number}")
    page.line(f"Date Assigned: {_slash(case.assigned)} Date of Injury: {_slash(case.injury)}")
    page.line(f"Decision Date: {_slash(case.decision)} UR Denial Date: {_slash(case.ur)}")
    page.line(f"Priority: {priority} Application")
    page.line("Received:")
    page.line(_slash(case.received))
    page.gap()
    page.line("HOW THE IMR FINAL DETERMINATION WAS MADE")
    page.boilerplate(BOILERPLATE["posted_how_made"])
    page.gap()
    _list_credentials(page, rng, specialties, states)
    page.gap()
    _summary_section(page, summary)
    page.line("IMR ISSUES, DECISIONS AND RATIONALES")
    _items_section(page, rng, items, drafts, paragraphs_of)


def _fdl_2014(page: _Page, rng, case, number, reviewer, summary, items, drafts, paragraphs_of) -> None:
    specialties, states, prose = reviewer
    priority = "Expedited" if case.priority_expedited else "Standard"
    for line in BOILERPLATE["letterhead"]:
        page.line(line)
    page.gap()
    page.line(f"Dated: {_short_slash(case.decision)}")
    page.gap()
    page.line(f"IMR Case Number: {number} Date of Injury: {_short_slash(case.injury)}")
    page.line(f"Claims Number: [redacted] UR Denial Date: {_short_slash(case.ur)}")
    page.line(f"Priority: {priority} Application Received: {_short_slash(case.received)}")
    page.line("Employee Name: [redacted]")
    page.line("Provider Name: [redacted]")
    page.para("Treatment(s) in Dispute Listed on IMR Application: "
              + "; ".join(draft.original or draft.request for draft in drafts))
    page.gap()
    page.boilerplate(BOILERPLATE["fdl_intro"])
    page.gap()
    decisions = {item.decision for item in items}
    outcome = "UPHOLD" if decisions == {UPHELD} else "OVERTURN" if decisions == {OVERTURNED} else "PARTIAL OVERTURN"
    page.boilerplate(BOILERPLATE["final_determination"][outcome])
    page.gap()
    page.line("HOW THE IMR FINAL DETERMINATION WAS MADE")
    page.para(BOILERPLATE["prose_how_made"].format(specialties=_specialties_prose(specialties, prose),
                                                   states=_joined(list(states))))
    page.gap()
    _summary_section(page, summary)
    page.line("DOCUMENTS REVIEWED")
    page.para(case.slots.pick(BOILERPLATE["documents"]))
    page.gap()
    page.line("IMR DECISION(S) AND RATIONALE(S)")
    _items_section(page, rng, items, drafts, paragraphs_of)
    if _chance(rng, BOILERPLATE["fdl_trailer_share"]):
        page.line("APPEAL RIGHTS")
        page.boilerplate(BOILERPLATE["appeal"])
        page.gap()
        page.line("cc: [redacted]")


def _body(page: _Page, rng, case, number, reviewer, summary, items, drafts, paragraphs_of) -> None:
    specialties, states, prose = reviewer
    page.line("HOW THE IMR FINAL DETERMINATION WAS MADE")
    if _chance(rng, 0.5):
        page.boilerplate(BOILERPLATE["posted_how_made"])
        page.gap()
        _list_credentials(page, rng, specialties, states)
    else:
        page.para(BOILERPLATE["prose_how_made"].format(specialties=_specialties_prose(specialties, prose),
                                                       states=_joined(list(states))))
    page.gap()
    _summary_section(page, summary)
    page.line("IMR ISSUES, DECISIONS AND RATIONALES")
    _items_section(page, rng, items, drafts, paragraphs_of)


_LAYOUT_WRITERS = {"posted": _posted, "fdl-2014": _fdl_2014, "body": _body}
