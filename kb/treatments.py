"""Treatment category and subcategory for every IMR item heading, drug or not, after the DWC's categories.

`classify_treatment(heading, drug_request)` is pure: the rules live in `kb/data/treatments.json`, loaded and
compiled once at import. Rules are tried in their listed order and the first whose pattern matches decides.
One step in that order is not a pattern: when the heading asks for drugs (the `DrugRequest` that
`kb.drugs.parse_drug_request` found) and no procedure, equipment or service rule claimed it first, the item
is Pharmaceuticals with the first drug's class as subcategory, or Topical Compounds for a compound.

    >>> classify_treatment("Lumbar epidural steroid injection L5-S1", None)
    Treatment(category='Injection', subcategory='Epidural Steroid')
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from kb.drugs import TOPICAL_FORMS
from kb.models import DrugRequest, Treatment

DATA_PATH = Path(__file__).resolve().parent / "data" / "treatments.json"

OTHER = Treatment("Other")

MAX_CONTEXT_CHARS = 3000  # of a guideline line or a rationale: the words that decide come early
# Real headings run to about 450 characters (the longest are partial authorizations) and no pattern spans
# more than about 200, so classifying the first 2,000 characters of each candidate text loses nothing real
# while bounding the time on a runaway heading (an upstream parse error) whatever its length.
MAX_CLASSIFIED_CHARS = 2000


@dataclass(frozen=True)
class TreatmentRule:
    """One entry of treatments.json: its patterns compiled into one regex, or the drug-request step."""

    id: str
    treatment: Treatment
    pattern: re.Pattern[str] | None  # None for the drug-request step
    examples: tuple[str, ...]
    counterexamples: tuple[str, ...] = ()

    @property
    def is_drug_request(self) -> bool:
        return self.pattern is None


class TreatmentContext(NamedTuple):
    """What else the letter says about an item: both sides' guideline lines, and its rationale."""

    lines: str = ""
    rationale: str = ""


@dataclass(frozen=True)
class ContextRule:
    """An entry of treatments.json's context_rules: a treatment that context words decide, for headings a
    listed rule claimed and that hold one of the listed words."""

    id: str
    treatment: Treatment
    when_rules: frozenset[str]
    when_words: re.Pattern[str]
    where: tuple[str, ...]  # "lines", "rationale"
    pattern: re.Pattern[str]
    examples: tuple[dict, ...]
    counterexamples: tuple[dict, ...]

    def applies(self, rule_id: str, text: str, context: TreatmentContext) -> bool:
        if rule_id not in self.when_rules or not self.when_words.search(text):
            return False
        return any(self.pattern.search(getattr(context, where)[:MAX_CONTEXT_CHARS]) for where in self.where)


@dataclass(frozen=True)
class DrugRequestStep:
    """How the drug-request step names its subcategory (its entry in treatments.json)."""

    category: str
    compound_subcategory: str
    unknown_class_subcategory: str
    unknown_classes: frozenset[str]
    topical_subcategory: str
    topical_classes: frozenset[str]

    def treatment_for(self, drug_request: DrugRequest) -> Treatment:
        if drug_request.compound:
            return Treatment(self.category, self.compound_subcategory)
        drug_class = drug_request.drugs[0].drug_class
        if drug_class in self.topical_classes and _is_topical(drug_request):
            return Treatment(self.category, self.topical_subcategory)
        if drug_class in self.unknown_classes:
            # drugs.json's class "Other" would read as the category Other in a facet.
            return Treatment(self.category, self.unknown_class_subcategory)
        return Treatment(self.category, drug_class)


def _is_topical(drug_request: DrugRequest) -> bool:
    """Spread on the skin (a cream, gel, ointment or lotion) or at a percent strength (a concentration:
    "Diclofenac sodium 3%"); a patch alone is not, since a patch may deliver a drug through the skin for the
    whole body (Butrans, Duragesic) and the topical patches are Topical Analgesics by their own class."""
    return drug_request.form in SPREAD_FORMS or any(m.strength and m.strength.endswith("%") for m in drug_request.drugs)


def _compile_patterns(patterns: list[str]) -> re.Pattern[str]:
    # Word edges by lookaround rather than \b, so patterns may start or end with "#" or "/".
    return re.compile(r"(?<!\w)(?:" + "|".join(patterns) + r")(?!\w)", re.IGNORECASE)


def _load_rule(entry: dict) -> TreatmentRule:
    return TreatmentRule(
        id=entry["id"],
        treatment=Treatment(entry["category"], entry.get("subcategory")),
        pattern=None if entry.get("drug_request") else _compile_patterns(entry["patterns"]),
        examples=tuple(entry["examples"]),
        counterexamples=tuple(entry.get("counterexamples", ())),
    )


_DATA = json.loads(DATA_PATH.read_text(encoding="utf-8"))

# The site's facet list: [{category, description, subcategories: [{subcategory, description}, ...]}, ...].
TREATMENT_CATEGORIES: list[dict] = _DATA["categories"]
TREATMENT_RULES: tuple[TreatmentRule, ...] = tuple(_load_rule(entry) for entry in _DATA["rules"])
DRUG_REQUEST_STEP = next(
    DrugRequestStep(
        category=entry["category"],
        compound_subcategory=entry["compound_subcategory"],
        unknown_class_subcategory=entry["unknown_class_subcategory"],
        unknown_classes=frozenset(entry["unknown_classes"]),
        topical_subcategory=entry["topical_subcategory"],
        topical_classes=frozenset(entry["topical_classes"]),
    )
    for entry in _DATA["rules"]
    if entry.get("drug_request")
)
RULES_BY_ID = {rule.id: rule for rule in TREATMENT_RULES}
SPREAD_FORMS = TOPICAL_FORMS - {"patch"}
ATTACHED = _DATA["attached"]
_SECONDARY_CATEGORIES = frozenset(ATTACHED["secondary_categories"])
_CONNECTORS = tuple(ATTACHED["connectors"])
CONTEXT_RULES: tuple[ContextRule, ...] = tuple(
    ContextRule(
        id=entry["id"],
        treatment=Treatment(entry["category"], entry.get("subcategory")),
        when_rules=frozenset(entry["when_rules"]),
        when_words=_compile_patterns(entry["when_words"]),
        where=tuple(entry["where"]),
        pattern=_compile_patterns(entry["patterns"]),
        examples=tuple(entry["examples"]),
        counterexamples=tuple(entry.get("counterexamples", ())),
    )
    for entry in _DATA["context_rules"]
)


# --- cleaning: a named pipeline of small steps -------------------------------------------------------

_DASHES = re.compile(r"[\u2010-\u2015\u2212]")


def plain_dashes(text: str) -> str:
    """PDF text uses en and em dashes where the patterns expect "-"."""
    return _DASHES.sub("-", text)


def collapse_whitespace(text: str) -> str:
    """Headings wrap over lines and carry double spaces; patterns are written with single spaces."""
    return " ".join(text.split())


CLEANING_STEPS = (plain_dashes, collapse_whitespace, str.lower)


def normalize_heading(heading: str) -> str:
    for step in CLEANING_STEPS:
        heading = step(heading)
    return heading


# --- which part of the heading is the request -----------------------------------------------------

_ORIGINAL_REQUEST_LEAD = "original request,"
_ORIGINAL_REQUEST_TAIL = " was the original request"


def requested_portions(text: str) -> Iterator[str]:
    """The texts to classify, best first: the disputed portion, the original request, the whole heading.

    A partial-authorization heading ("X was the original request. Y was authorized ... The remaining IMR
    eligible portion of the original request, Z is") also names what the claims administrator authorized,
    which may be a different service ("authorized an Evaluation only"); the disputed portion decides.
    Plain string searches keep this linear on any input.
    """
    seen: set[str] = set()
    lead = text.rfind(_ORIGINAL_REQUEST_LEAD)
    if lead >= 0:
        disputed = text[lead + len(_ORIGINAL_REQUEST_LEAD) :].strip()
        yield from _unseen(seen, disputed.removesuffix(":").removesuffix(" is").strip())
    tail = text.find(_ORIGINAL_REQUEST_TAIL)
    if tail >= 0:
        yield from _unseen(seen, text[:tail].strip())
    yield from _unseen(seen, text)


def _unseen(seen: set[str], text: str) -> Iterator[str]:
    if text and text not in seen:
        seen.add(text)
        yield text


# --- classification ------------------------------------------------------------------------------


def pharmaceutical_treatment(drug_request: DrugRequest | None) -> Treatment | None:
    """Pharmaceuticals with the class of the first drug, or None when the heading asks for no drug."""
    if drug_request is None or not (drug_request.drugs or drug_request.compound):
        return None
    return DRUG_REQUEST_STEP.treatment_for(drug_request)


def matching_rule(text: str, drug_request: DrugRequest | None = None) -> TreatmentRule | None:
    """The first rule that claims `text` (already normalized), the drug-request step included."""
    is_drug_request = pharmaceutical_treatment(drug_request) is not None
    for rule in TREATMENT_RULES:
        if rule.is_drug_request:
            if is_drug_request:
                return rule
        elif rule.pattern.search(text):
            return rule
    return None


def names_a_service(heading: str) -> bool:
    """Whether a service, procedure, equipment or test rule (one tried before the drug-request step) claims
    the heading: then a heading that merely reads like a drug request ("Hot/cold therapy wrap #1") is not one."""
    for text in requested_portions(normalize_heading(heading)):
        for rule in TREATMENT_RULES:
            if rule.is_drug_request:
                break
            if rule.pattern.search(text[:MAX_CLASSIFIED_CHARS]):
                return True
    return False


def classify_treatment(heading: str, drug_request: DrugRequest | None = None,
                       context: TreatmentContext | None = None) -> Treatment:
    """The DWC-style category of one item heading; Treatment("Other") when nothing matches.

    The primary treatment wins over an attached consult or evaluation ("Lumbar epidural steroid injection
    with pain interventionist consult" is the injection), and `context` (both sides' guideline lines, the
    rationale) decides between treatments a heading's words leave open ("Labs" before a surgery are
    pre-operative; a "Urine test" the guidelines cite drug testing for is a drug screen)."""
    for text in requested_portions(normalize_heading(heading)):
        text = text[:MAX_CLASSIFIED_CHARS]
        rule = matching_rule(text, drug_request)
        if rule is None:
            continue
        if rule.is_drug_request:
            return pharmaceutical_treatment(drug_request)
        rule = _primary(text, rule)
        for context_rule in CONTEXT_RULES:
            if context and context_rule.applies(rule.id, text, context):
                return context_rule.treatment
        return rule.treatment
    return OTHER


def _primary(text: str, rule: TreatmentRule) -> TreatmentRule:
    """The rule of the treatment before an attached consult, evaluation or visit, when there is one."""
    if rule.treatment.category not in _SECONDARY_CATEGORIES:
        return rule
    cut = min((at for at in (text.find(c) for c in _CONNECTORS) if at > 0), default=-1)
    if cut < 0:
        return rule
    first = matching_rule(text[:cut])
    if first is None or first.is_drug_request or first.treatment.category in _SECONDARY_CATEGORIES:
        return rule
    return first
