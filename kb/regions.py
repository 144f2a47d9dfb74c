"""Body region and side of every IMR item, from kb/data/regions.json.

The canonical regions: cervical, thoracic and lumbar spine, shoulder, elbow, wrist and hand, hip, knee, ankle
and foot, head, systemic/psychological, and "multiple" when an item concerns two or more of them ("unstated"
when the letter says none). `find_regions(text)` finds every region phrase in a text with its span;
`item_region(letter, item)` decides the region of one item, trying in order:

1. the treatment: psychological services and drugs for the stomach, sleep, mood and the like are systemic;
2. surgical context: a pre-operative test, post-operative drug or "Associated surgical service" item concerns
   the body part of the letter's surgery ("Associated surgical service: Hip pad" for a shoulder repair);
3. the heading ("MRI of the right shoulder", "L4-5 transforaminal ESI", "Back support");
4. when the heading names no region, or only a spine without its level ("Spinal manipulation") or a whole
   limb ("EMG of the upper extremities"): the body-part chapter of the MTUS the reviewer cited, then the
   case summary's diagnoses, then the rest of the summary; a limb keeps only the regions of that limb.

The side (right, left, bilateral, unstated) is what the heading says; a pre- or post-operative item without
one takes its surgery's. A partly authorized item is read in its disputed portion first, then in the whole
sentence that names the original request. Pure: the only I/O is reading the JSON at import.

    >>> find_side("MRI of the right shoulder without contrast")
    'right'
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from kb.models import Item, Letter, Span, Treatment
from kb.phrases import compile_phrases, sentence_spans

DATA_PATH = Path(__file__).resolve().parent / "data" / "regions.json"
DATA = json.loads(DATA_PATH.read_text(encoding="utf-8"))

MULTIPLE = DATA["multiple"]["id"]
UNSTATED = DATA["unstated"]["id"]
SYSTEMIC = "systemic"
SPINE = "spine"
NOT_A_REGION = "not-a-region"
SIDES = ("right", "left", "bilateral", UNSTATED)

REGION_LABELS: dict[str, str] = {
    **{entry["id"]: entry["label"] for entry in DATA["regions"]},
    MULTIPLE: DATA["multiple"]["label"],
    UNSTATED: DATA["unstated"]["label"],
}
# The canonical facet values, in display order.
REGIONS: tuple[str, ...] = tuple(REGION_LABELS)
LIMB_REGIONS: dict[str, frozenset[str]] = {limb["id"]: frozenset(limb["regions"]) for limb in DATA["limbs"]}
SPINE_REGIONS = frozenset(DATA["spine"]["regions"])
VAGUE = {SPINE: SPINE_REGIONS, **LIMB_REGIONS}


def _kind_patterns() -> list[tuple[str, re.Pattern[str]]]:
    kinds = [(NOT_A_REGION, DATA["not_regions"]["phrases"])]
    kinds += [(entry["id"], entry["phrases"]) for entry in DATA["regions"]]
    kinds += [(SPINE, DATA["spine"]["phrases"])] + [(limb["id"], limb["phrases"]) for limb in DATA["limbs"]]
    return [(kind, re.compile(r"(?:" + compile_phrases(phrases).pattern + r")\Z", re.I)) for kind, phrases in kinds]


_KINDS = _kind_patterns()
_ALL_PHRASES = compile_phrases(
    [*DATA["not_regions"]["phrases"], *(p for e in DATA["regions"] for p in e["phrases"]), *DATA["spine"]["phrases"],
     *(p for limb in DATA["limbs"] for p in limb["phrases"])]
)
_SIDE_PATTERNS = [(side["id"], compile_phrases(side["phrases"])) for side in DATA["sides"]]
_PLURAL_PARTS = compile_phrases(DATA["plural_parts"])
_SURGICAL_CONTEXT = compile_phrases(DATA["surgical_context"]["phrases"])
_DIAGNOSIS_CUES = compile_phrases(DATA["diagnosis_cues"]["phrases"])
_NEGATION_CUES = compile_phrases(DATA["negation_cues"]["phrases"])
_CHAPTERS = [(entry["region"], compile_phrases(entry["phrases"])) for entry in DATA["chapters"]["entries"]]
_NON_MTUS = re.compile(r"Non-MTUS|outside\s+of\s+the\s+MTUS", re.I)
_SYSTEMIC_TREATMENTS = {
    entry["category"]: None if entry["subcategories"] is None else frozenset(entry["subcategories"])
    for entry in DATA["systemic_treatments"]
}
_SURGERY, _PERIOPERATIVE = "Surgery", "Pre/Post-operative Services"


@dataclass(frozen=True)
class RegionMention:
    """A phrase naming a body part: a region id, or "spine", "upper-limb", "lower-limb" (vague ones)."""

    region: str
    text: str
    span: Span


@dataclass(frozen=True)
class ItemRegion:
    """What `item_region` decided for one item."""

    region: str  # one of REGIONS
    regions: tuple[str, ...]  # the specific regions behind it, several when region is "multiple"
    side: str  # one of SIDES
    source: str  # "treatment" | "surgery" | "heading" | "guideline" | "summary" | "none"
    spans: tuple[Span, ...]  # the phrases that decided it, in the letter text


# --------------------------------------------------------------------------------------------------
# Phrases


def _kind_of(phrase: str) -> str:
    for kind, pattern in _KINDS:
        if pattern.match(phrase):
            return kind
    return NOT_A_REGION  # unreachable: every match comes from one of the kinds


def find_regions(text: str, offset: int = 0) -> list[RegionMention]:
    """Every body-part phrase of `text` (spans shifted by `offset`), phrases that are no body part dropped."""
    mentions = []
    for match in _ALL_PHRASES.finditer(text):
        kind = _kind_of(match.group())
        if kind != NOT_A_REGION:
            mentions.append(RegionMention(kind, match.group(), Span(match.start() + offset, match.end() + offset)))
    return mentions


def find_side(text: str) -> str:
    """right, left, bilateral (both named, or a part named in the plural), or unstated."""
    found = {side for side, pattern in _SIDE_PATTERNS if pattern.search(text)}
    if "bilateral" in found or {"right", "left"} <= found:
        return "bilateral"
    if found:
        return found.pop()
    return "bilateral" if _PLURAL_PARTS.search(text) else UNSTATED


def combine(regions: Iterable[str]) -> str:
    """One region value for a set of specific regions; systemic counts only when nothing else is found."""
    found = set(regions)
    if len(found) > 1:
        found.discard(SYSTEMIC)
    if not found:
        return UNSTATED
    return found.pop() if len(found) == 1 else MULTIPLE


def chapter_regions(guideline_line: str) -> set[str]:
    """Regions of the body-part MTUS parts a guideline line cites, before any Non-MTUS citation."""
    cut = _NON_MTUS.search(guideline_line)
    mtus = guideline_line[: cut.start()] if cut else guideline_line
    return {region for region, pattern in _CHAPTERS if pattern.search(mtus)}


def is_systemic_treatment(treatment: Treatment) -> bool:
    if treatment.category not in _SYSTEMIC_TREATMENTS:
        return False
    subcategories = _SYSTEMIC_TREATMENTS[treatment.category]
    return subcategories is None or treatment.subcategory in subcategories


def is_diagnosis_sentence(sentence: str) -> bool:
    """Whether a summary sentence states diagnoses or injured parts ("Diagnoses include ...")."""
    return _DIAGNOSIS_CUES.search(sentence) is not None


def is_surgical_context(heading: str) -> bool:
    """A pre- or post-operative item, or one the letter calls an associated surgical service."""
    return _SURGICAL_CONTEXT.search(heading) is not None


# --------------------------------------------------------------------------------------------------
# The case summary


class SummaryRegions:
    """The regions of a case summary: from its diagnosis sentences, else from all of it.

    Computed lazily: most items name their region in the heading and never ask.
    """

    def __init__(self, letter: Letter):
        self._letter = letter
        self._sentences: list[Span] | None = None
        self._diagnosed: list[RegionMention] | None = None
        self._mentioned: list[RegionMention] | None = None

    def _text(self) -> str:
        span = self._letter.summary_span
        return span.of(self._letter.text) if span else ""

    def _all_sentences(self) -> list[Span]:
        if self._sentences is None:
            self._sentences = sentence_spans(self._text())
        return self._sentences

    def _found(self, diagnosis_sentences: bool) -> list[RegionMention]:
        text, start = self._text(), self._letter.summary_span.start if self._letter.summary_span else 0
        found: list[RegionMention] = []
        for sentence in self._all_sentences():
            words = sentence.of(text)
            if diagnosis_sentences and not is_diagnosis_sentence(words):
                continue
            mentions = find_regions(words, start + sentence.start)
            if not mentions:
                continue
            negated = _NEGATION_CUES.search(words)
            found += [m for m in mentions if negated is None or m.span.start < start + sentence.start + negated.start()]
        return found

    @property
    def diagnosed(self) -> list[RegionMention]:
        if self._diagnosed is None:
            self._diagnosed = self._found(diagnosis_sentences=True)
        return self._diagnosed

    @property
    def mentioned(self) -> list[RegionMention]:
        if self._mentioned is None:
            self._mentioned = self._found(diagnosis_sentences=False)
        return self._mentioned

    def regions(self, allowed: frozenset[str] | None = None) -> tuple[set[str], tuple[Span, ...]]:
        """The first non-empty of diagnosed and mentioned regions (within `allowed`), with their spans."""
        for source in ("diagnosed", "mentioned"):
            chosen = [m for m in getattr(self, source) if m.region in REGION_LABELS and (allowed is None or m.region in allowed)]
            if chosen:
                return {m.region for m in chosen}, tuple(m.span for m in chosen)
        return set(), ()


def summary_regions(letter: Letter) -> SummaryRegions:
    return SummaryRegions(letter)


# --------------------------------------------------------------------------------------------------
# An item


def _heading(letter: Letter, item: Item) -> tuple[str, int]:
    return item.heading_span.of(letter.text), item.heading_span.start


def _whole_heading(letter: Letter, item: Item) -> tuple[str, int] | None:
    """The whole partial-authorization sentence ("X was the original request ..."), when the heading is its
    disputed portion only ("with open carpal tunnel release" after "Open reduction ... left distal radius")."""
    span = getattr(item, "full_heading_span", None)
    if span is None or span == item.heading_span:
        return None
    return span.of(letter.text), span.start


def _surgery(letter: Letter, summary: SummaryRegions) -> ItemRegion | None:
    """The region of the letter's surgery, when its surgery items agree on one."""
    found: list[ItemRegion] = []
    for other in letter.items:
        heading, offset = _heading(letter, other)
        if other.treatment.category != _SURGERY or other.treatment.subcategory == _PERIOPERATIVE:
            continue
        if is_surgical_context(heading):
            continue
        decided = _from_heading(letter, other, heading, offset, summary)
        if decided.region != UNSTATED:
            found.append(decided)
    if len({f.region for f in found}) != 1:
        return None
    return found[0]


def _from_heading(letter: Letter, item: Item, heading: str, offset: int, summary: SummaryRegions) -> ItemRegion:
    mentions = find_regions(heading, offset)
    side = find_side(heading)
    whole = _whole_heading(letter, item)
    if whole is not None and (not mentions or side == UNSTATED):
        mentions = mentions or find_regions(*whole)
        side = side if side != UNSTATED else find_side(whole[0])
    specific = [m for m in mentions if m.region in REGION_LABELS]
    named = {m.region for m in specific}
    # "Lumbar spine" or "the lumbar and lower extremities" says which part of the spine or limb it means.
    vague = {m.region for m in mentions if m.region in VAGUE and not named & VAGUE[m.region]}
    spans = tuple(m.span for m in specific)
    if specific and not vague:
        return ItemRegion(combine(m.region for m in specific), _sorted(m.region for m in specific), side, "heading",
                          spans)
    allowed = frozenset().union(*(VAGUE[v] for v in vague)) if vague else None
    cited = chapter_regions(item.reviewer_guideline)
    cited = cited & allowed if allowed is not None else cited
    if cited:
        return ItemRegion(combine(named | cited), _sorted(named | cited), side, "guideline", spans)
    from_summary, summary_spans = summary.regions(allowed)
    if from_summary:
        return ItemRegion(combine(named | from_summary), _sorted(named | from_summary), side, "summary",
                          spans + summary_spans)
    if named:
        return ItemRegion(combine(named), _sorted(named), side, "heading", spans)
    if vague - {SPINE}:
        return ItemRegion(MULTIPLE, (), side, "heading", ())
    return ItemRegion(UNSTATED, (), side, "none", ())


def _sorted(regions: Iterable[str]) -> tuple[str, ...]:
    order = {region: n for n, region in enumerate(REGIONS)}
    return tuple(sorted(set(regions), key=order.__getitem__))


def item_region(letter: Letter, item: Item, summary: SummaryRegions | None = None) -> ItemRegion:
    """The body region and side of one item of a parsed letter (`summary`: summary_regions(letter), reused)."""
    summary = summary_regions(letter) if summary is None else summary
    heading, offset = _heading(letter, item)
    side = find_side(heading)
    whole = _whole_heading(letter, item)
    if side == UNSTATED and whole is not None:
        side = find_side(whole[0])
    if is_systemic_treatment(item.treatment):
        return ItemRegion(SYSTEMIC, (SYSTEMIC,), side, "treatment", ())
    if is_surgical_context(heading):
        surgery = _surgery(letter, summary)
        if surgery is not None:
            return ItemRegion(surgery.region, surgery.regions, surgery.side if side == UNSTATED else side, "surgery",
                              surgery.spans)
    return _from_heading(letter, item, heading, offset, summary)
