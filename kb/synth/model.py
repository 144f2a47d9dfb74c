"""What the generator returns (SyntheticLetter, SyntheticItem), the reference data file, and case numbers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path


DATA_PATH = Path(__file__).resolve().parents[1] / "data" / "synth.json"
DATA = json.loads(DATA_PATH.read_text(encoding="utf-8"))
SHARES: dict[str, float] = DATA["shares"]

UPHELD, OVERTURNED = "Upheld", "Overturned"
TOPICAL_COMPOUNDS = "Topical Compounds"
PHARMACEUTICALS = "Pharmaceuticals"
CLAIMS_ADMINISTRATOR, EXPERT_REVIEWER = "Claims Administrator", "Expert Reviewer"

# Case numbers: the seven digits of index i are an affine permutation of i within blocks of this size,
# so the first quarter million letters of a run look like one real year's (CM16-0213037) and no two
# letters of a run ever share a number (up to ten million letters).
SERIAL_BLOCK = 250_000
# Synthetic case numbers start here: the DWC numbers about 200,000 cases a year from 0000001, so CMyy-8xxxxxx
# and CMyy-9xxxxxx are never real and a demo's citation cannot be mistaken for a real decision's
SYNTHETIC_SERIALS = 8_000_000
MAX_SYNTHETIC_LETTERS = 1_500_000  # a run's serials stay below 9,500,000 (CMyy-99xxxxx: never synthetic)
SERIAL_STEP = 104_729  # prime, so coprime with 2**4 * 5**6 = SERIAL_BLOCK

MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December")


# --------------------------------------------------------------------------------------------
# What the generator returns


@dataclass(frozen=True)
class SyntheticItem:
    """One disputed item as the parser must report it, plus what the generator meant by it."""

    heading: str  # whitespace-squashed, without ": Upheld"; a partial authorization keeps all three parts
    decision: str  # "Upheld" | "Overturned"
    drugs: tuple[str, ...]  # generics the heading's disputed request names, in order (empty if not a drug)
    drug_class: str | None  # drugs.json class, "Topical Compounds" for a compound, None if not a drug
    treatment: str  # kind: "drug", "imaging", "physical_therapy", ... (see synth.json services)
    category: str  # the DWC category kb.treatments should find: "Pharmaceuticals", "Diagnostic Testing", ...
    subcategory: str | None
    claims_administrator_guideline: str
    reviewer_guideline: str
    rationale: str
    partial: bool = False


@dataclass(frozen=True)
class SyntheticLetter:
    """A generated letter and what parsing it must give. Fields the layout does not show are None."""

    text: str
    layout: str  # "posted" | "fdl-2014" | "body"
    case_number: str | None
    decision_date: str | None  # ISO
    items: tuple[SyntheticItem, ...]
    seed: int
    index: int
    date_of_injury: str | None = None
    ur_denial_date: str | None = None
    application_received: str | None = None
    date_assigned: str | None = None
    priority: str | None = None
    specialties: tuple[str, ...] = ()
    states: tuple[str, ...] = ()
    age: int | None = None
    sex: str | None = None  # "male" | "female"

    @property
    def filename(self) -> str:
        """A stable file name: the case number, or the run position for letters without one."""
        return f"{self.case_number or f'synthetic-{self.seed}-{self.index:07d}'}.txt"
