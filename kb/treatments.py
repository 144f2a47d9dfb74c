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

from kb.models import DrugRequest, Treatment

DATA_PATH = Path(__file__).resolve().parent / "data" / "treatments.json"

OTHER = Treatment("Other")

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


@dataclass(frozen=True)
class DrugRequestStep:
    """How the drug-request step names its subcategory (its entry in treatments.json)."""

    category: str
    compound_subcategory: str
    unknown_class_subcategory: str
    unknown_classes: frozenset[str]

    def treatment_for(self, drug_request: DrugRequest) -> Treatment:
        if drug_request.compound:
            return Treatment(self.category, self.compound_subcategory)
        drug_class = drug_request.drugs[0].drug_class
        if drug_class in self.unknown_classes:
            # drugs.json's class "Other" would read as the category Other in a facet.
            return Treatment(self.category, self.unknown_class_subcategory)
        return Treatment(self.category, drug_class)


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
    )
    for entry in _DATA["rules"]
    if entry.get("drug_request")
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


def classify_treatment(heading: str, drug_request: DrugRequest | None = None) -> Treatment:
    """The DWC-style category of one item heading; Treatment("Other") when nothing matches."""
    for text in requested_portions(normalize_heading(heading)):
        rule = matching_rule(text[:MAX_CLASSIFIED_CHARS], drug_request)
        if rule is None:
            continue
        if rule.is_drug_request:
            return pharmaceutical_treatment(drug_request)
        return rule.treatment
    return OTHER
