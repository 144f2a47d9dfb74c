"""Diagnoses stated in a case summary, normalised to canonical terms with ICD-10-CM codes (kb/data/diagnoses.json).

`find_diagnoses(text)` finds every canonical term in a text, with its span; a term right after "rule out",
"no", "denies" and the like in the same clause is left out. `letter_diagnoses(letter)` reads the summary's
diagnosis sentences ("The current diagnoses are documented as ...", "is undergoing treatment for ..."), or
the whole summary when those name none, and returns each term once, in order of first mention.

Pure: the only I/O is reading the JSON at import.

    >>> [d.id for d in find_diagnoses("Diagnoses include lumbar strain and left lumbar radiculopathy.")]
    ['lumbar-sprain-strain', 'lumbar-radiculopathy']
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from kb.models import Letter, Span
from kb.phrases import compile_phrases, phrase_regex, sentence_spans
from kb.regions import is_diagnosis_sentence

DATA_PATH = Path(__file__).resolve().parent / "data" / "diagnoses.json"
DATA = json.loads(DATA_PATH.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class DiagnosisEntry:
    id: str
    label: str
    icd10cm: str  # the most specific code that fits the term: "S33.5"
    category: str  # its three-character ICD-10-CM category: "S33"
    region: str | None  # a kb.regions region id, None when the term fits any
    pattern: re.Pattern[str]
    examples: tuple[str, ...]


@dataclass(frozen=True)
class Diagnosis:
    """One canonical diagnosis found in a text."""

    id: str
    label: str
    icd10cm: str
    category: str
    region: str | None
    text: str
    span: Span


def _expand(pattern: str) -> str:
    for name, part in DATA["parts"].items():
        pattern = pattern.replace("{" + name + "}", part)
    return phrase_regex(pattern)


def _entry(row: dict) -> DiagnosisEntry:
    body = "|".join(_expand(p) for p in row["patterns"])
    return DiagnosisEntry(
        id=row["id"],
        label=row["label"],
        icd10cm=row["icd10cm"],
        category=row["category"],
        region=row["region"],
        pattern=re.compile(r"(?<![\w-])(?:" + body + r")(?!\w)", re.I),
        examples=tuple(row["examples"]),
    )


DIAGNOSES: tuple[DiagnosisEntry, ...] = tuple(_entry(row) for row in DATA["diagnoses"])
# Head nouns: one scan of a sentence says which terms can match in it (those whose patterns hold a head
# the sentence holds, and those whose patterns hold none).
_HEADS = re.compile("|".join(sorted(DATA["heads"]["words"], key=len, reverse=True)), re.I)
_HEAD_PATTERNS = [(head, re.compile(head + r"\Z", re.I)) for head in DATA["heads"]["words"]]
_HEADS_OF: dict[str, frozenset[str]] = {}  # a matched word -> the heads it is (a few hundred words at most)
_TERMS_WITH: dict[str, tuple[DiagnosisEntry, ...]] = {
    head: tuple(e for e in DIAGNOSES if head in e.pattern.pattern.lower()) for head in DATA["heads"]["words"]
}
_ALWAYS = tuple(e for e in DIAGNOSES if not any(head in e.pattern.pattern.lower() for head in DATA["heads"]["words"]))
DIAGNOSIS_LABELS = {entry.id: entry.label for entry in DIAGNOSES}
_UNCERTAIN = compile_phrases(DATA["uncertain"]["phrases"])
_CLAUSE_START = re.compile(r"[;:(]|\b(?:but|however)\b", re.I)


def _uncertain(text: str, start: int) -> bool:
    """Whether the clause before `start` says "rule out", "no", "denies"... .

    Commas do not end the clause: "denied nausea, vomiting, headaches" denies all three.
    """
    clause = text[:start]
    cut = max((m.end() for m in _CLAUSE_START.finditer(clause)), default=0)
    return _UNCERTAIN.search(clause, cut) is not None


def _candidates(text: str) -> list[DiagnosisEntry]:
    heads: set[str] = set()
    for word in {m.group().lower() for m in _HEADS.finditer(text)}:
        known = _HEADS_OF.get(word)
        if known is None:
            known = _HEADS_OF[word] = frozenset(head for head, pattern in _HEAD_PATTERNS if pattern.match(word))
        heads |= known
    chosen = {id(e): e for head in heads for e in _TERMS_WITH[head]}
    chosen.update((id(e), e) for e in _ALWAYS)
    return [e for e in DIAGNOSES if id(e) in chosen]


def find_diagnoses(text: str, offset: int = 0, prefilter: bool = True) -> list[Diagnosis]:
    """Every canonical diagnosis of `text` (one sentence) in order, a term inside a longer one's match dropped.

    `prefilter=False` tries every term, ignoring the head nouns (the tests compare).
    """
    found = []
    for entry in _candidates(text) if prefilter else DIAGNOSES:
        for match in entry.pattern.finditer(text):
            if not _uncertain(text, match.start()):
                found.append((match.start(), match.end(), entry, match.group()))
    kept = [f for f in found if not any(o is not f and o[0] <= f[0] and f[1] <= o[1] and (o[1] - o[0]) > (f[1] - f[0])
                                        for o in found)]
    kept.sort(key=lambda f: (f[0], -f[1]))
    return [Diagnosis(e.id, e.label, e.icd10cm, e.category, e.region, t, Span(s + offset, end + offset))
            for s, end, e, t in kept]


def letter_diagnoses(letter: Letter) -> list[Diagnosis]:
    """The summary's diagnoses, each term once, in order of first mention."""
    if letter.summary_span is None:
        return []
    text = letter.summary_span.of(letter.text)
    offset = letter.summary_span.start
    sentences = sentence_spans(text)
    stating = [s for s in sentences if is_diagnosis_sentence(s.of(text))]
    found = [d for s in stating for d in find_diagnoses(s.of(text), offset + s.start)]
    if not found:
        found = [d for s in sentences if s not in stating for d in find_diagnoses(s.of(text), offset + s.start)]
    first: dict[str, Diagnosis] = {}
    for diagnosis in found:
        first.setdefault(diagnosis.id, diagnosis)
    return list(first.values())
