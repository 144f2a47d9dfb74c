"""Decision reasons: why a reviewer upheld or overturned a UR denial, found in the rationale (kb/data/reasons.json).

`find_reasons(rationale, decision)` splits the rationale into sentences and returns every reason of the
taxonomy that the item's decision allows ("no documented functional improvement", "exceeds the recommended
quantity" for an upheld item; "meets the guideline's criteria", "documented improvement" for an overturned
one), each with the sentence that states it. A reason phrase inside a sentence that only states what a
guideline says ("Muscle relaxants are recommended for short-term use") is not the reviewer's reason unless
the reason is of the kind that the guideline itself supplies ("not recommended", "weaning"); phrases of
overturning reasons after a negation in the same clause ("with no improvement") do not count.

Pure: the only I/O is reading the JSON at import.

    >>> [r.id for r in find_reasons("There is no evidence of any red flag conditions.", "Upheld")]
    ['no-red-flags-or-objective-findings']
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from kb.models import Span
from kb.phrases import compile_phrases, sentence_spans

DATA_PATH = Path(__file__).resolve().parent / "data" / "reasons.json"
DATA = json.loads(DATA_PATH.read_text(encoding="utf-8"))

FINDING, ANY = "finding", "any"
_CLAUSE_START = re.compile(r"[,;:(]|\b(?:but|however|although|while)\b", re.I)


@dataclass(frozen=True)
class ReasonEntry:
    id: str
    label: str
    decision: str  # "Upheld" | "Overturned"
    kind: str  # FINDING: only in sentences about the case; ANY: also in sentences stating a guideline
    pattern: re.Pattern[str]
    exclude: re.Pattern[str] | None
    negated_by: re.Pattern[str] | None
    negation_window: int  # characters before a match where a negation undoes it
    negation_inside: bool  # a negation inside the match undoes it too ("with no documented improvement")
    residual: bool  # counts only where its phrase overlaps no more specific reason's match
    examples: tuple[str, ...]
    counterexamples: tuple[str, ...]


@dataclass(frozen=True)
class Reason:
    """One reason found in a rationale: its id and the sentence that states it."""

    id: str
    label: str
    text: str  # the sentence
    span: Span  # of the sentence, in the text the rationale was given as (shifted by the caller's offset)


def _entry(row: dict) -> ReasonEntry:
    return ReasonEntry(
        id=row["id"],
        label=row["label"],
        decision=row["decision"],
        kind=row["kind"],
        pattern=compile_phrases(row["phrases"]),
        exclude=compile_phrases(row["exclude"]) if row.get("exclude") else None,
        negated_by=compile_phrases(row["negated_by"]["phrases"]) if row.get("negated_by") else None,
        negation_window=row["negated_by"]["window"] if row.get("negated_by") else 0,
        negation_inside=row["negated_by"]["inside"] if row.get("negated_by") else False,
        residual=row.get("residual", False),
        examples=tuple(row["examples"]),
        counterexamples=tuple(row["counterexamples"]),
    )


REASONS: tuple[ReasonEntry, ...] = tuple(_entry(row) for row in DATA["reasons"])
REASON_LABELS = {entry.id: entry.label for entry in REASONS}
REASONS_BY_DECISION = {decision: tuple(e for e in REASONS if e.decision == decision) for decision in ("Upheld", "Overturned")}
_GUIDELINE_CUES = re.compile("|".join(f"(?:{p})" for p in DATA["sentence_kinds"]["guideline"]).replace(" ", r"\s+"), re.I)
_FINDING_CUES = compile_phrases(DATA["sentence_kinds"]["finding"])


def states_guideline(sentence: str) -> bool:
    """A sentence that reports what a guideline says, and says nothing of this case."""
    return _GUIDELINE_CUES.search(sentence) is not None and _FINDING_CUES.search(sentence) is None


_QUOTES = re.compile("[\"\u201c\u201d]")
MIN_QUOTATION = 40


def quoted_intervals(rationale: str, spans: list[Span]) -> list[tuple[int, int]]:
    """The stretches of a rationale inside quotation marks (a guideline quoted, often over several sentences).

    Marks pair up in order; a mark that no later mark closes quotes only to the end of its own sentence, so
    a stray mark cannot turn the rest of the rationale into a quotation. A short quotation (under
    MIN_QUOTATION characters) is a word from the records ("helping with pain"), not a guideline, and is kept.
    """
    marks = [m.start() for m in _QUOTES.finditer(rationale)]
    intervals = []
    i = 0
    while i < len(marks):
        if i + 1 < len(marks):
            if marks[i + 1] - marks[i] >= MIN_QUOTATION:
                intervals.append((marks[i], marks[i + 1] + 1))
            i += 2
        else:
            sentence_end = next((span.end for span in spans if span.start <= marks[i] < span.end), len(rationale))
            intervals.append((marks[i], sentence_end))
            i += 1
    return intervals


def _counts(entry: ReasonEntry, sentence: str, match: re.Match[str]) -> bool:
    if entry.exclude is not None:
        for excluded in entry.exclude.finditer(sentence):
            if excluded.start() < match.end() and match.start() < excluded.end():
                return False
    if entry.negated_by is not None:
        clause_start = max((m.end() for m in _CLAUSE_START.finditer(sentence, 0, match.start())), default=0)
        start = max(clause_start, match.start() - entry.negation_window)
        if entry.negated_by.search(sentence, start, match.end() if entry.negation_inside else match.start()):
            return False
    return True


def _matches(entry: ReasonEntry, sentence: str, quoted: list[tuple[int, int]] = ()) -> list[tuple[int, int]]:
    """Spans of the entry's phrases that count in a sentence; a finding inside a quotation does not."""
    found = []
    for match in entry.pattern.finditer(sentence):
        if entry.kind == FINDING and any(a <= match.start() < b for a, b in quoted):
            continue
        if _counts(entry, sentence, match):
            found.append(match.span())
    return found


def find_reasons(rationale: str, decision: str, offset: int = 0) -> list[Reason]:
    """The reasons a rationale gives for its decision, in taxonomy order, each with its first sentence."""
    entries = REASONS_BY_DECISION.get(decision, ())
    first: dict[str, Reason] = {}
    spans = sentence_spans(rationale)
    quotations = quoted_intervals(rationale, spans)
    for span in spans:
        text = span.of(rationale)
        quoted = [(a - span.start, b - span.start) for a, b in quotations if a < span.end and span.start < b]
        is_guideline = states_guideline(text) or any(a <= 0 and span.end - span.start <= b for a, b in quoted)
        specific: list[tuple[int, int]] = []
        residual: list[ReasonEntry] = []
        for entry in entries:
            if entry.kind == FINDING and is_guideline:
                continue
            if entry.residual:
                residual.append(entry)
                continue
            found = _matches(entry, text, quoted)
            specific += found
            if found and entry.id not in first:
                first[entry.id] = Reason(entry.id, entry.label, text, span.shift(offset))
        for entry in residual:
            alone = [(s, e) for s, e in _matches(entry, text, quoted) if not any(s < b and a < e for a, b in specific)]
            if alone and entry.id not in first:
                first[entry.id] = Reason(entry.id, entry.label, text, span.shift(offset))
    return [first[entry.id] for entry in entries if entry.id in first]
