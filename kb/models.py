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
class Ingredient:
    """One active ingredient of a product, with its class: ("hydrocodone", "Opioids")."""

    name: str  # a generic of drugs.json, lower case
    drug_class: str


# How a mention's product was identified (DrugMention.resolution).
BY_TABLE = "table"  # a name the drug table lists
BY_RATIONALE = "rationale"  # a product the table does not know, whose ingredients the rationale names
UNRESOLVED = "unresolved"  # a product the table does not know and the rationale does not explain


@dataclass(frozen=True)
class DrugMention:
    """One product named in a heading or a rationale: its generic name and class, and its active ingredients.

    A combination ("Norco") is one product with several ingredients (hydrocodone, acetaminophen); a compound
    written ingredient by ingredient ("Flurbiprofen 20%/Cyclobenzaprine 4% cream") is one mention per
    ingredient. A product the table does not know keeps its name as written in `brand`.
    """

    generic: str  # the product's generic name, lower case: "carisoprodol", "hydrocodone/acetaminophen"
    drug_class: str  # the product's class from drugs.json: "Muscle Relaxants"
    brand: str | None  # brand as the table spells it, when the text used a brand: "Soma"
    text: str  # the words as written: "Soma", "carisprodol"
    span: Span
    strength: str | None = None  # normalised, when written right after the name: "350mg", "10/325mg", "5%"
    ingredients: tuple[Ingredient, ...] = ()
    resolution: str = BY_TABLE  # BY_TABLE | BY_RATIONALE | UNRESOLVED

    def shifted(self, offset: int) -> DrugMention:
        return replace(self, span=self.span.shift(offset))

    @property
    def known(self) -> bool:
        """Whether the drug table knows the product (else its name is reported by `kb status`)."""
        return self.resolution == BY_TABLE


@dataclass(frozen=True)
class DrugRequest:
    """What an item heading asks for when it asks for drugs: "Norco 10/325mg #60"."""

    drugs: tuple[DrugMention, ...]
    form: str | None = None  # "tablet", "cream", "patch", ... when stated
    quantity: float | None = None  # 60.0 for "#60" or "QTY: 60.00"
    quantity_unit: str | None = None  # "g", "ml", ... when the quantity carries a unit
    compound: bool = False  # a compounded product (several drugs, or the word "compound")

    @property
    def ingredients(self) -> tuple[Ingredient, ...]:
        """Every active ingredient of every product asked for, each once, in order."""
        return tuple(dict.fromkeys(i for drug in self.drugs for i in drug.ingredients))


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
    heading: str  # what is in dispute, wrapped lines joined by single spaces, without ": Upheld"; for a
    # partial authorization only the disputed portion ("Norco 10/325mg #35"), the whole sentence is full_heading
    decision: str  # UPHELD | OVERTURNED
    claims_administrator_guideline: str
    reviewer_guideline: str
    rationale: str
    span: Span  # the whole block, heading through rationale
    heading_span: Span  # of `heading`
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
    full_heading: str = ""  # the heading as the letter writes it, the whole partial-authorization sentence too
    full_heading_span: Span | None = None

    @property
    def drugs(self) -> tuple[DrugMention, ...]:
        return self.drug_request.drugs if self.drug_request else ()

    @property
    def ingredients(self) -> tuple[Ingredient, ...]:
        return self.drug_request.ingredients if self.drug_request else ()


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
