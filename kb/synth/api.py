"""The public API: one letter from (seed, index), the letters of a run, writing them as files.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

from kb.synth.case import _case
from kb.synth.choices import _between, _chance
from kb.synth.model import (
    DATA,
    MAX_SYNTHETIC_LETTERS,
    SERIAL_BLOCK,
    SERIAL_STEP,
    SYNTHETIC_SERIALS,
    SyntheticLetter,
)
from kb.synth.prose import _item, _reviewer, _summary
from kb.synth.render import _LAYOUT_WRITERS, _Page
from kb.synth.slots import _Slots
from kb.synth.tables import _ITEM_COUNTS, _STYLES

# --------------------------------------------------------------------------------------------
# Public API


def case_number(seed: int, index: int, year: int) -> str:
    """"CM" + two-digit year + "-" + seven digits, unique among the letters of one run (one seed), and from
    SYNTHETIC_SERIALS up: never a real case's number."""
    if not 0 <= index < MAX_SYNTHETIC_LETTERS:
        raise ValueError(f"a synthetic run holds at most {MAX_SYNTHETIC_LETTERS:,} letters")
    block, offset = divmod(index, SERIAL_BLOCK)
    serial = SYNTHETIC_SERIALS + block * SERIAL_BLOCK + (offset * SERIAL_STEP + seed * 7919) % SERIAL_BLOCK
    return f"CM{year % 100:02d}-{serial:07d}"


def synthetic_letter(seed: int, index: int) -> SyntheticLetter:
    """Letter `index` of run `seed`: the same text on every machine, whatever else was generated."""
    rng = random.Random(f"imr-kb-synth/{seed}/{index}")
    case = _case(rng)
    case.slots = _Slots(rng, case, None)
    used: set[str] = set()
    built = [_item(rng, case, used) for _ in range(_ITEM_COUNTS.pick(rng))]
    items = tuple(item for item, _, _ in built)
    drafts = [draft for _, draft, _ in built]
    paragraphs_of = [paragraphs for _, _, paragraphs in built]
    reviewer = _reviewer(rng, case, drafts[0])
    summary = _summary(rng, case, drafts)
    number = case_number(seed, index, case.assigned.year)
    style = _STYLES[case.layout].pick(rng)
    low, high = DATA["extraction_styles"]["wrap_width"]
    page = _Page(_between(rng, low, high), gaps=style != "pdfium")
    _LAYOUT_WRITERS[case.layout](page, rng, case, number, reviewer, summary, items, drafts, paragraphs_of)
    text = page.render(style, crlf=style == "pdfium" and _chance(rng, 0.5))
    headed = case.layout != "body"
    return SyntheticLetter(
        text=text,
        layout=case.layout,
        case_number=number if headed else None,
        decision_date=case.decision.isoformat() if headed else None,
        items=items,
        seed=seed,
        index=index,
        date_of_injury=case.injury.isoformat() if headed else None,
        ur_denial_date=case.ur.isoformat() if headed else None,
        application_received=case.received.isoformat() if headed else None,
        date_assigned=case.assigned.isoformat() if case.layout == "posted" else None,
        priority=("Expedited" if case.priority_expedited else "Standard") if headed else None,
        specialties=reviewer[0],
        states=reviewer[1],
        age=case.age,
        sex=case.sex,
    )


def generate_letters(count: int, seed: int = 0, start: int = 0) -> Iterator[SyntheticLetter]:
    """`count` letters of run `seed` in order, from letter `start` on (so chunks can be made apart)."""
    for index in range(start, start + count):
        yield synthetic_letter(seed, index)


def write_letters(directory: str | Path, count: int, seed: int = 0) -> list[Path]:
    """Write the first `count` letters of run `seed` into `directory` as UTF-8 text files."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for letter in generate_letters(count, seed):
        path = directory / letter.filename
        path.write_bytes(letter.text.encode("utf-8"))  # bytes, so CRLF letters keep their line ends
        paths.append(path)
    return paths
