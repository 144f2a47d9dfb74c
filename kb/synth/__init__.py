"""Synthetic IMR Final Determination Letters, for the demo, the tests and the benchmarks.

`synthetic_letter(seed, index)` makes one letter, `generate_letters(count, seed)` the first `count`
letters of a run, and `write_letters(directory, count, seed)` writes them as text files.

A letter depends on nothing but (seed, index): it has its own `random.Random`, seeded from a string
(which the standard library hashes with SHA-512, the same on every machine), and every choice draws
`Random.random()` only, whose sequence Python keeps stable across versions. So a benchmark may generate
chunks in parallel and get, byte for byte, the letters a serial run makes.

Each letter is in a layout `kb.letters.parse_letter` reads: "posted" for decisions from 2016 on,
"fdl-2014" (and now and then a header-less "body") for 2013-2015. Its first line is
`kb.letters.SYNTHETIC_MARK`. `SyntheticLetter.items` says exactly what the parser must find: headings,
decisions, both guideline lines and the rationale, whitespace-squashed, plus the drugs, drug class and
treatment kind the generator intended.

Every phrase, share and weight comes from data/synth.json; this package only assembles them, by job: `model`
(what it returns), `choices` (random choices), `tables` (the data, prepared), `case` (the case), `slots`
(template slots), `requests` (what an item asks for), `citing` (guideline lines), `prose` (rationale, reviewer,
summary), `render` (page text and layouts), `api` (the functions below).
"""

from kb.synth.api import case_number, generate_letters, synthetic_letter, write_letters
from kb.synth.model import (
    DATA,
    DATA_PATH,
    PHARMACEUTICALS,
    TOPICAL_COMPOUNDS,
    SyntheticItem,
    SyntheticLetter,
)
from kb.synth.slots import _RESOLVERS
from kb.synth.tables import COMPOUNDS, GROUPS, REGION_SETS, REGIONS, SERVICES, SOURCES

__all__ = [
    "COMPOUNDS", "DATA", "DATA_PATH", "GROUPS", "PHARMACEUTICALS", "REGIONS", "REGION_SETS", "SERVICES", "SOURCES",
    "TOPICAL_COMPOUNDS", "SyntheticItem", "SyntheticLetter", "_RESOLVERS", "case_number", "generate_letters",
    "synthetic_letter", "write_letters",
]
