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
    after_negation: tuple[tuple[re.Pattern[str], int], ...]  # (objects, within): count only after a negation
    exclude: re.Pattern[str] | None
    negated_by: re.Pattern[str] | None
    negation_window: int  # characters before a match where a negation undoes it
    negation_inside: bool  # a negation inside the match undoes it too ("with no documented improvement")
    residual: bool  # counts only where its phrase overlaps no more specific reason's match
    keywords: tuple[str, ...]  # words every match contains (regex phrases): sentences without one are skipped
    examples: tuple[str, ...]
    counterexamples: tuple[str, ...]


@dataclass(frozen=True)
class Reason:
    """One reason found in a rationale: its id and the sentence that states it."""

    id: str
    label: str
    text: str  # the sentence
    span: Span  # of the sentence, in the text the rationale was given as (shifted by the caller's offset)


def _negated_groups(rows: list[dict]) -> list[tuple[re.Pattern[str], int]]:
    by_window: dict[int, list[str]] = {}
    for row in rows:
        by_window.setdefault(row["within"], []).append(row["after_negation"])
    return [(compile_phrases(objects), within) for within, objects in sorted(by_window.items())]


def _entry(row: dict) -> ReasonEntry:
    return ReasonEntry(
        id=row["id"],
        label=row["label"],
        decision=row["decision"],
        kind=row["kind"],
        pattern=compile_phrases(row["phrases"]),
        after_negation=tuple(_negated_groups(row.get("after_negation", ()))),
        exclude=compile_phrases(row["exclude"]) if row.get("exclude") else None,
        negated_by=compile_phrases(row["negated_by"]["phrases"]) if row.get("negated_by") else None,
        negation_window=row["negated_by"]["window"] if row.get("negated_by") else 0,
        negation_inside=row["negated_by"]["inside"] if row.get("negated_by") else False,
        residual=row.get("residual", False),
        keywords=tuple(row.get("keywords", ())),
        examples=tuple(row["examples"]),
        counterexamples=tuple(row["counterexamples"]),
    )


NEGATION = compile_phrases([DATA["negation"]])
REASONS: tuple[ReasonEntry, ...] = tuple(_entry(row) for row in DATA["reasons"])


class _KeywordIndex:
    """One scan of a sentence tells which reasons may match in it (those whose keywords it holds)."""

    def __init__(self, entries: tuple[ReasonEntry, ...]):
        self.always = frozenset(e.id for e in entries if not e.keywords)
        keywords = sorted({k for e in entries for k in e.keywords})
        self.scan = compile_phrases(keywords)
        self.each = [(re.compile(compile_phrases([k]).pattern + r"\Z", re.I), frozenset(e.id for e in entries if k in e.keywords))
                     for k in keywords]
        self.cache: dict[str, frozenset[str]] = {}

    def reasons_in(self, sentence: str) -> set[str]:
        found = set(self.always)
        for match in self.scan.finditer(sentence):
            word = " ".join(match.group().lower().split())
            ids = self.cache.get(word)
            if ids is None:
                ids = frozenset().union(*(owners for pattern, owners in self.each if pattern.match(word)))
                if len(self.cache) < 10_000:
                    self.cache[word] = ids
            found |= ids
        return found


_KEYWORDS = _KeywordIndex(REASONS)
REASON_LABELS = {entry.id: entry.label for entry in REASONS}
REASONS_BY_DECISION = {decision: tuple(e for e in REASONS if e.decision == decision) for decision in ("Upheld", "Overturned")}
_GUIDELINE_CUES = compile_phrases(DATA["sentence_kinds"]["guideline"])
_FINDING_CUES = compile_phrases(DATA["sentence_kinds"]["finding"])


def states_guideline(sentence: str) -> bool:
    """A sentence that reports what a guideline says, and says nothing of this case."""
    return _FINDING_CUES.search(sentence) is None and _GUIDELINE_CUES.search(sentence) is not None


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


def _counts(entry: ReasonEntry, sentence: str, start: int, end: int) -> bool:
    if entry.exclude is not None:
        for excluded in entry.exclude.finditer(sentence):
            if excluded.start() < end and start < excluded.end():
                return False
    if entry.negated_by is not None:
        clause_start = max((m.end() for m in _CLAUSE_START.finditer(sentence, 0, start)), default=0)
        if entry.negated_by.search(sentence, max(clause_start, start - entry.negation_window),
                                   end if entry.negation_inside else start):
            return False
    return True


_STOP = re.compile(r"[.;]")


def _nearest_negation(sentence: str, start: int, within: int) -> int | None:
    """Where the negation nearest before `start` begins (within `within` characters, no stop between)."""
    lo = max(0, start - within)
    stop = None
    for stop in _STOP.finditer(sentence, lo, start):
        pass
    if stop is not None:
        lo = stop.end()
    found = None
    for found in NEGATION.finditer(sentence, lo, start):
        pass
    return found.start() if found is not None else None


def _matches(entry: ReasonEntry, sentence: str, quoted: list[tuple[int, int]] = ()) -> list[tuple[int, int]]:
    """Spans of the entry's phrases that count in a sentence; a finding inside a quotation does not."""
    spans = [m.span() for m in entry.pattern.finditer(sentence)]
    for objects, within in entry.after_negation:
        for match in objects.finditer(sentence):
            negation = _nearest_negation(sentence, match.start(), within)
            if negation is not None:
                spans.append((negation, match.end()))
    found = []
    for start, end in spans:
        if entry.kind == FINDING and any(a <= start < b for a, b in quoted):
            continue
        if _counts(entry, sentence, start, end):
            found.append((start, end))
    return found


def find_reasons(rationale: str, decision: str, offset: int = 0, prefilter: bool = True) -> list[Reason]:
    """The reasons a rationale gives for its decision, in taxonomy order, each with its first sentence.

    `prefilter=False` tries every reason on every sentence, ignoring the keywords (the tests compare).
    """
    entries = REASONS_BY_DECISION.get(decision, ())
    first: dict[str, Reason] = {}
    spans = sentence_spans(rationale)
    quotations = quoted_intervals(rationale, spans)
    for span in spans:
        text = span.of(rationale)
        quoted = [(a - span.start, b - span.start) for a, b in quotations if a < span.end and span.start < b]
        possible = _KEYWORDS.reasons_in(text) if prefilter else None
        candidates = [e for e in entries if possible is None or e.id in possible]
        if not candidates:
            continue
        is_guideline = None  # decided once, and only when a finding reason is a candidate
        specific: list[tuple[int, int]] = []
        residual: list[ReasonEntry] = []
        for entry in candidates:
            if entry.kind == FINDING:
                if is_guideline is None:
                    is_guideline = any(a <= 0 and span.end - span.start <= b for a, b in quoted) or states_guideline(text)
                if is_guideline:
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
