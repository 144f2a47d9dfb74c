"""Frozen dataclasses shared by the parser, the index and the site.

Every piece of text the parser extracts keeps its `Span` in `Letter.text`, the cleaned letter text,
so the letter page can highlight a heading, a citation or a drug mention exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

UPHELD = "Upheld"
OVERTURNED = "Overturned"
DECISIONS = (UPHELD, OVERTURNED)


@dataclass(frozen=True)
class Span:
    """A half-open character range [start, end) in some text."""

    start: int
    end: int

    def shift(self, offset: int) -> Span:
        return Span(self.start + offset, self.end + offset)

    def of(self, text: str) -> str:
        return text[self.start : self.end]


@dataclass(frozen=True)
class DrugMention:
    """One drug named in a heading or a rationale, resolved to its generic name and class."""

    generic: str  # canonical generic name, lower case: "carisoprodol"
    drug_class: str  # class label from drugs.json: "Muscle Relaxants"
    brand: str | None  # brand as the table spells it, when the text used a brand: "Soma"
    text: str  # the words as written: "Soma", "carisprodol"
    span: Span
    strength: str | None = None  # normalised, when written right after the name: "350mg", "10/325mg", "5%"

    def shifted(self, offset: int) -> DrugMention:
        return replace(self, span=self.span.shift(offset))


@dataclass(frozen=True)
class DrugRequest:
    """What an item heading asks for when it asks for drugs: "Norco 10/325mg #60"."""

    drugs: tuple[DrugMention, ...]
    form: str | None = None  # "tablet", "cream", "patch", ... when stated
    quantity: float | None = None  # 60.0 for "#60" or "QTY: 60.00"
    quantity_unit: str | None = None  # "g", "ml", ... when the quantity carries a unit
    compound: bool = False  # a compounded product (several drugs, or the word "compound")


@dataclass(frozen=True)
class Citation:
    """One canonical, countable guideline citation.

    `id` is stable and hierarchical so it can be a facet value: "MTUS/CPMTG/p24",
    "MTUS/LBC/s:special-studies", "MTUS/SRC/p388" (ACOEM ch. 15 as the MTUS adopted it), "ODG/low-back",
    "NONE". kb.guidelines explains the scheme and derives labels and parents from an id alone.
    """

    id: str
    source: str  # "MTUS" | "ACOEM" | "ODG" | "Other" | "None"
    label: str  # readable: "MTUS Chronic Pain Medical Treatment Guidelines, p. 24"
    text: str  # the words it was parsed from
    span: Span
    part: str | None = None  # canonical part or chapter name: "Chronic Pain Medical Treatment Guidelines"
    chapter: int | None = None  # ACOEM chapter
    year: int | None = None  # edition year when stated
    sections: tuple[str, ...] = ()
    pages: tuple[str, ...] = ()  # as written after normalising: ("24",), ("63-65",)

    def shifted(self, offset: int) -> Citation:
        return replace(self, span=self.span.shift(offset))


@dataclass(frozen=True)
class Treatment:
    """The DWC-style category of an item: ("Pharmaceuticals", "Opioids"), ("Diagnostic Testing", "MRI")."""

    category: str
    subcategory: str | None = None


@dataclass(frozen=True)
class PartialAuthorization:
    """"X was the original request. Y was authorized ... The remaining IMR eligible portion ..., Z is:"."""

    original_request: str
    authorized: str | None  # None when the letter says the whole original request is IMR eligible
    disputed: str


@dataclass(frozen=True)
class Item:
    """One disputed item/service: a heading, a decision, both guideline lines and the rationale."""

    ordinal: int  # 1-based, in letter order
    heading: str  # as requested, wrapped lines joined by single spaces, without ": Upheld"
    decision: str  # UPHELD | OVERTURNED
    claims_administrator_guideline: str
    reviewer_guideline: str
    rationale: str
    span: Span  # the whole block, heading through rationale
    heading_span: Span
    decision_span: Span
    claims_administrator_guideline_span: Span
    reviewer_guideline_span: Span
    rationale_span: Span
    partial: PartialAuthorization | None = None
    drug_request: DrugRequest | None = None  # when the heading names drugs
    treatment: Treatment = field(default_factory=lambda: Treatment("Other"))
    claims_administrator_citations: tuple[Citation, ...] = ()
    reviewer_citations: tuple[Citation, ...] = ()
    rationale_citations: tuple[Citation, ...] = ()
    rationale_drugs: tuple[DrugMention, ...] = ()

    @property
    def drugs(self) -> tuple[DrugMention, ...]:
        return self.drug_request.drugs if self.drug_request else ()


@dataclass(frozen=True)
class Reviewer:
    specialties: tuple[str, ...] = ()
    states: tuple[str, ...] = ()


@dataclass(frozen=True)
class Letter:
    """A parsed Final Determination Letter. Dates are ISO "YYYY-MM-DD" strings."""

    text: str  # the cleaned text every span points into
    layout: str  # one of kb.letters.LAYOUTS
    items: tuple[Item, ...]
    case_number: str | None = None
    date_assigned: str | None = None
    decision_date: str | None = None
    date_of_injury: str | None = None
    ur_denial_date: str | None = None
    application_received: str | None = None
    priority: str | None = None  # "Standard" | "Expedited"
    reviewer: Reviewer = Reviewer()
    summary: str | None = None
    summary_span: Span | None = None
    age: int | None = None
    sex: str | None = None  # "male" | "female"
    synthetic: bool = False  # made by kb.synth, never a real decision
