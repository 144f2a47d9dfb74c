"""The drug reference table, and drug recognition in letter text.

`kb/data/drugs.json` lists the generics that workers' compensation disputes involve, each with its class,
brands, synonyms, misspellings seen in letters, and examples the tests check. It is loaded once, here, into
`DRUGS`, `DRUG_CLASSES` and `CLASS_OF`.

`find_drugs(text)` finds every drug mention in free text, such as a decision rationale. Every name the table
knows (generic, brand, synonym, misspelling) is compiled into ONE regular expression shaped like a trie, so
a scan costs the same whatever the size of the table: at each word start the engine follows at most one
branch per character, and the longest name wins because a branch that goes on is tried before the branch
that stops. Whitespace inside a name may be any run of spaces or line breaks ("Voltaren\\ngel").

`parse_drug_request(heading)` reads an item heading ("Norco 10/325mg #60") into a `DrugRequest`: the drugs
with their strengths, the form, the quantity and whether it is a compound.

Everything here is pure: the only I/O is reading the JSON at import.
"""

from __future__ import annotations

import difflib
import json
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from kb.models import DrugMention, DrugRequest, Ingredient, Span

DATA_PATH = Path(__file__).resolve().parent / "data" / "drugs.json"


@dataclass(frozen=True)
class DrugEntry:
    """One product of the table, as drugs.json gives it: a generic, a combination, a kit or a compound."""

    generic: str
    drug_class: str
    brands: tuple[str, ...]
    synonyms: tuple[str, ...]
    misspellings: tuple[str, ...]
    examples: tuple[str, ...]
    ingredient_names: tuple[str, ...] = ()  # its active ingredients, each a generic of the table
    compound: bool = False  # a compounded product (a workers'-comp kit)

    @property
    def names(self) -> tuple[str, ...]:
        """Every way a letter may write this drug."""
        return (self.generic, *self.brands, *self.synonyms, *self.misspellings)


@dataclass(frozen=True)
class _Resolution:
    """What a written name stands for. generic None marks a phrase that is not a drug mention."""

    generic: str | None
    brand: str | None


# --------------------------------------------------------------------------------------------------
# The table


def _load_table(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _entry_from_json(row: dict) -> DrugEntry:
    return DrugEntry(
        generic=row["generic"],
        drug_class=row["class"],
        brands=tuple(row["brands"]),
        synonyms=tuple(row["synonyms"]),
        misspellings=tuple(row["misspellings"]),
        examples=tuple(row["examples"]),
        ingredient_names=tuple(row.get("ingredients") or (row["generic"],)),
        compound=bool(row.get("compound")),
    )


TABLE = _load_table(DATA_PATH)
DRUG_CLASSES: tuple[str, ...] = tuple(row["name"] for row in TABLE["classes"])
CLASS_DESCRIPTIONS: dict[str, str] = {row["name"]: row["description"] for row in TABLE["classes"]}
DRUGS: dict[str, DrugEntry] = {row["generic"]: _entry_from_json(row) for row in TABLE["drugs"]}
CLASS_OF: dict[str, str] = {generic: entry.drug_class for generic, entry in DRUGS.items()}
INGREDIENTS_OF: dict[str, tuple[Ingredient, ...]] = {
    generic: tuple(Ingredient(name, CLASS_OF[name]) for name in entry.ingredient_names)
    for generic, entry in DRUGS.items()
}
# ingredient -> every product of the table holding it (itself first, when it is a product on its own)
PRODUCTS_WITH: dict[str, tuple[str, ...]] = {}
for _generic, _ingredients in INGREDIENTS_OF.items():
    for _ingredient in _ingredients:
        PRODUCTS_WITH.setdefault(_ingredient.name, ())
        PRODUCTS_WITH[_ingredient.name] += (_generic,)
NOT_DRUG_PHRASES: tuple[str, ...] = tuple(TABLE["not_drugs"]["phrases"])


# --------------------------------------------------------------------------------------------------
# Names: one canonical key per way of writing a name, and the trie-shaped pattern of all keys

_NO_LETTER_AFTER = r"(?![^\W\d_])"
_NO_LETTER_OR_DIGIT_AFTER = r"(?![^\W_])"
_SPACE_AROUND_PUNCTUATION = re.compile(r"\s*([/#.&+,()\-])\s*")
_PUNCTUATION = frozenset("/#.&+,()-")


def name_key(name: str) -> str:
    """Fold a written name so that every spelling the pattern accepts maps to one dictionary key.

    casefold, not lower: IGNORECASE matching is Unicode-aware, and only casefold maps every character it
    treats as equal (the Kelvin sign, the long s) back to the table's spelling.
    """
    collapsed = " ".join(name.casefold().split())
    return _SPACE_AROUND_PUNCTUATION.sub(r"\1", collapsed)


def _atom(char: str) -> str:
    """The regex for one character of a key: spaces match any whitespace run, punctuation may be padded."""
    if char == " ":
        return r"\s++"
    if char in _PUNCTUATION:
        return r"\s*+" + re.escape(char) + r"\s*+"
    return re.escape(char)


def _end_of_name(key: str) -> str:
    # A name ending in a letter may run into its strength ("Norco10/325mg"); one ending in a digit may not,
    # or "Tylenol 3" would be found inside "Tylenol 325mg".
    return _NO_LETTER_AFTER if key[-1].isalpha() else _NO_LETTER_OR_DIGIT_AFTER


_END = ""  # trie key of the end marker; no atom is empty


def _build_trie(keys: Iterable[str]) -> dict:
    trie: dict = {}
    for key in keys:
        node = trie
        for char in key:
            node = node.setdefault(_atom(char), {})
        node[_END] = _end_of_name(key)
    return trie


def _trie_pattern(node: dict) -> str:
    # Branches that go on come before the end marker, so the regex engine prefers the longest name.
    branches = [atom + _trie_pattern(child) for atom, child in node.items() if atom != _END]
    if _END in node:
        branches.append(node[_END])
    if len(branches) == 1:
        return branches[0]
    return "(?:" + "|".join(branches) + ")"


def _closest_brand(misspelling: str, entry: DrugEntry) -> str | None:
    """The brand a misspelling garbles ("flexaril" -> "Flexeril"), or None when it garbles the generic.

    Only names with the misspelling's first letter compete: misspellings keep it, and without that rule
    "oxicodone" is closer to "Roxicodone" than to "oxycodone".
    """
    key = name_key(misspelling)
    names = {name_key(name): name for name in (entry.generic, *entry.brands, *entry.synonyms)}
    candidates = [written for written in names if written[0] == key[0]] or list(names)
    best = difflib.get_close_matches(key, candidates, n=1, cutoff=0.0)
    closest = names[best[0]] if best else entry.generic
    return closest if closest in entry.brands else None


def _resolutions() -> dict[str, _Resolution]:
    # Brands are written last so that a medical food whose generic is its own brand ("Theramine") keeps it.
    table: dict[str, _Resolution] = {name_key(phrase): _Resolution(None, None) for phrase in NOT_DRUG_PHRASES}
    for entry in DRUGS.values():
        for name in (entry.generic, *entry.synonyms):
            table.setdefault(name_key(name), _Resolution(entry.generic, None))
        for misspelling in entry.misspellings:
            table.setdefault(name_key(misspelling), _Resolution(entry.generic, _closest_brand(misspelling, entry)))
        for brand in entry.brands:
            key = name_key(brand)
            if table.get(key, _Resolution(entry.generic, None)).generic == entry.generic:
                table[key] = _Resolution(entry.generic, brand)
    return table


def _names_pattern(keys: Iterable[str]) -> re.Pattern:
    # The leading one-character lookahead lets the engine reject most positions with a single set test
    # before it looks behind for a word boundary and walks the trie.
    keys = sorted(keys)
    first_characters = "".join(sorted({re.escape(key[0]) for key in keys}))
    return re.compile(rf"(?=[{first_characters}])(?<![^\W_])" + _trie_pattern(_build_trie(keys)), re.IGNORECASE)


RESOLUTIONS: dict[str, _Resolution] = _resolutions()
NAME_PATTERN = _names_pattern(RESOLUTIONS)


# --------------------------------------------------------------------------------------------------
# Vocabularies from the JSON: strengths, forms, quantity units


def _alternation(words: Iterable[str]) -> str:
    """Longest first, so "mgs" is not cut to "mg"; words ending in a letter may not run into a letter."""
    ordered = sorted(set(words), key=len, reverse=True)
    parts = [re.escape(w).replace(r"\ ", r"[\s-]+") + (_NO_LETTER_AFTER if w[-1].isalpha() else "") for w in ordered]
    return "(?:" + "|".join(parts) + ")"


def _canonical_words(rows: list[dict], field: str) -> dict[str, str]:
    return {name_key(word): row[field] for row in rows for word in row["words"]}


STRENGTH_UNIT_OF = _canonical_words(TABLE["strength_units"], "unit")
PER_UNIT_OF = _canonical_words(TABLE["per_units"], "unit")
QUANTITY_UNIT_OF = _canonical_words(TABLE["quantity_units"], "unit")
MEASURE_UNITS = frozenset(row["unit"] for row in TABLE["quantity_units"] if row["measure"])
FORM_OF = _canonical_words(TABLE["forms"], "form")
RELEASE_OF = _canonical_words(TABLE["releases"], "form")
TOPICAL_FORMS = frozenset(row["form"] for row in TABLE["forms"] if row["topical"])

_NUMBER = r"(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+(?:\.\d+)?|\.\d+)"
_STRENGTH_UNIT = _alternation(STRENGTH_UNIT_OF)
_PER_UNIT = _alternation(PER_UNIT_OF)
_STRENGTH_PART = rf"{_NUMBER}(?:\s*+{_STRENGTH_UNIT}(?:\s*+/\s*+(?:{_NUMBER}\s*+)?{_PER_UNIT})?)?"
_STRENGTH = rf"{_STRENGTH_PART}(?:\s*+[/-]\s*+{_STRENGTH_PART})*(?!\.?\d)"
_QUALIFIER = _alternation([*TABLE["salts"], *TABLE["strength_modifiers"], *FORM_OF, *RELEASE_OF])

# What may sit between a name and its strength: "Orphenadrine Citrate ER 100mg", "Lidocaine ointment 5%".
STRENGTH_AFTER_NAME = re.compile(rf"(?:\s++{_QUALIFIER}){{0,3}}\s*+(?P<strength>{_STRENGTH})", re.IGNORECASE)
STRENGTH_ANYWHERE = re.compile(rf"(?<![\w.]){_STRENGTH}", re.IGNORECASE)
_UNIT_WORD = re.compile(rf"{_STRENGTH_UNIT}|{_PER_UNIT}", re.IGNORECASE)
_HAS_STRENGTH_UNIT = re.compile(_STRENGTH_UNIT, re.IGNORECASE)

FORM_WORD = re.compile(rf"(?<![^\W\d_]){_alternation(FORM_OF)}", re.IGNORECASE)
# Not before a full stop: "Dr." is a doctor, not delayed release.
RELEASE_WORD = re.compile(rf"(?<![^\W\d_]){_alternation(RELEASE_OF)}(?!\.)", re.IGNORECASE)

_QUANTITY_UNIT = _alternation(QUANTITY_UNIT_OF)
_MEASURE_UNIT = _alternation(word for word, unit in QUANTITY_UNIT_OF.items() if unit in MEASURE_UNITS)
_COUNTED = rf"(?P<number>{_NUMBER})(?:\s*+(?P<unit>{_QUANTITY_UNIT}))?"
QTY_QUANTITY = re.compile(rf"\b(?:qty|quantity)\b\s*+[:#.]?\s*+{_COUNTED}", re.IGNORECASE)
HASH_QUANTITY = re.compile(rf"#\s*+{_COUNTED}", re.IGNORECASE)
MEASURED_QUANTITY = re.compile(rf"(?<![\w.,/#])(?P<number>{_NUMBER})\s*+(?P<unit>{_MEASURE_UNIT})", re.IGNORECASE)

DATE = re.compile(r"(?<!\d)(?:\d{1,2}/\d{1,2}/\d{2,4}|\d{4}-\d{2}-\d{2}|\d{1,2}-\d{1,2}-\d{4})(?!\d)")
COMPOUND_WORD = re.compile(r"\bcompound(?:ed|ing|s)?\b", re.IGNORECASE)
# Partial authorizations repeat the request; only what follows the last of these is disputed.
DISPUTED_PORTION_START = re.compile(
    r"(?:IMR\s+eligible\s+portion\s+of\s+the\s+original\s+request|The\s+original\s+request)\s*,\s*", re.IGNORECASE
)
# The lookbehind starts the search only at the first space of a run, so a long run is not rescanned.
ORIGINAL_REQUEST_END = re.compile(r"(?<!\s)\s++was\s+the\s+original\s+request\b", re.IGNORECASE)


# --------------------------------------------------------------------------------------------------
# Strengths


def _is_combination(generic: str) -> bool:
    return "/" in generic


def _canonical_unit(match: re.Match) -> str:
    written = name_key(match.group())
    return STRENGTH_UNIT_OF.get(written) or PER_UNIT_OF[written]


def normalise_strength(written: str, combination: bool) -> str:
    """ "10 / 325 MG" -> "10/325mg", "1percent" -> "1%"; a hyphen joins a combination's doses ("7.5-325mg")
    but is a range for a single drug ("50-100mg"), so only a combination turns it into a slash."""
    strength = re.sub(r"\s+", "", written)
    strength = re.sub(r"(?<=\d),(?=\d{3})", "", strength)
    strength = _UNIT_WORD.sub(_canonical_unit, strength)
    if combination:
        strength = strength.replace("-", "/")
    return strength


def _is_plausible_strength(written: str) -> bool:
    # Without a unit, only a two-dose combination ("Norco 10/325") is a strength; "11/14" is a date and
    # "Xanax 2" a count. Doses of the second drug of a combination are above 31, days of a month are not.
    if _HAS_STRENGTH_UNIT.search(written):
        return True
    doses = re.split(r"\s*[/-]\s*", written.strip())
    return len(doses) == 2 and "/" in written and float(doses[1].replace(",", "")) > 31


def _strength_after(text: str, end: int, generic: str) -> tuple[str, int] | None:
    """The strength written right after a name ending at `end`, normalised, with where it ends."""
    found = STRENGTH_AFTER_NAME.match(text, end)
    if not found or not _is_plausible_strength(found.group("strength")):
        return None
    return normalise_strength(found.group("strength"), _is_combination(generic)), found.end()


# --------------------------------------------------------------------------------------------------
# Mentions


@dataclass(frozen=True)
class _Found:
    """A mention and where its strength ends (its own end when it has none), for masking headings."""

    mention: DrugMention
    end: int


class _NameMatch(NamedTuple):
    start: int
    end: int
    generic: str
    brand: str | None


@lru_cache(maxsize=4096)
def _resolve(written: str) -> _Resolution | None:
    # Cached because long texts repeat the same few names thousands of times.
    return RESOLUTIONS.get(name_key(written))


def resolve_drug(name: str) -> DrugEntry | None:
    """The table's entry for a name as someone types it: a generic, brand, synonym or misspelling."""
    resolution = _resolve(name.strip())
    return DRUGS[resolution.generic] if resolution and resolution.generic else None


def ingredient_of(entry: DrugEntry) -> str | None:
    """The one ingredient a product is, when it has one ("Flexeril" -> "cyclobenzaprine"); None for a
    combination, whose brand names the combination itself."""
    return entry.ingredient_names[0] if len(entry.ingredient_names) == 1 else None


def _name_matches(text: str) -> Iterator[_NameMatch]:
    for match in NAME_PATTERN.finditer(text):
        resolution = _resolve(match.group())
        if resolution is not None and resolution.generic is not None:
            yield _NameMatch(match.start(), match.end(), resolution.generic, resolution.brand)


_OPEN_PARENTHESIS = re.compile(r"\s*+\(\s*+\Z")
_CLOSE_PARENTHESIS = re.compile(r"\s*+\)")
_CLOSE_AFTER_DETAILS = re.compile(r"[^()\n]{0,40}?\)")  # "(ketoprofen 20% cream)": strength and form inside


def _merge_parenthesised(text: str, matches: Iterable[_NameMatch]) -> list[_NameMatch]:
    """ "Ultram (tramadol)", "Meloxicam (Mobic)" and "Ketophene (ketoprofen 20% cream)" name one product
    twice, the second time by its ingredient: make them one mention, its span over the brackets."""
    merged: list[_NameMatch] = []
    covered = -1  # the end of the last merged bracket: names inside it are part of that mention
    for match in matches:
        if match.start < covered:
            continue
        previous = merged[-1] if merged else None
        if previous is not None and _names_the_same_product(previous.generic, match.generic):
            closing = (_CLOSE_PARENTHESIS if match.generic == previous.generic else _CLOSE_AFTER_DETAILS).match(
                text, match.end)
            if closing and _OPEN_PARENTHESIS.match(text[previous.end : match.start]):
                merged[-1] = previous._replace(end=closing.end(), brand=previous.brand or match.brand)
                covered = closing.end()
                continue
        merged.append(match)
    return merged


def _names_the_same_product(product: str, inner: str) -> bool:
    """Whether a name in brackets after `product` names it again: the same product, or (for a kit or
    compound) the one ingredient it holds."""
    if product == inner:
        return True
    ingredients = {i.name for i in INGREDIENTS_OF[product]}
    return len(INGREDIENTS_OF[inner]) == 1 and INGREDIENTS_OF[inner][0].name in ingredients and DRUGS[product].compound


def _found(text: str, match: _NameMatch) -> _Found:
    strength = _strength_after(text, match.end, match.generic)
    mention = DrugMention(
        generic=match.generic,
        drug_class=CLASS_OF[match.generic],
        brand=match.brand,
        text=text[match.start : match.end],
        span=Span(match.start, match.end),
        strength=strength[0] if strength else None,
        ingredients=INGREDIENTS_OF[match.generic],
    )
    return _Found(mention, strength[1] if strength else match.end)


def _find(text: str) -> list[_Found]:
    return [_found(text, match) for match in _merge_parenthesised(text, _name_matches(text))]


def find_drugs(text: str) -> list[DrugMention]:
    """Every drug mention in `text`, in order, none overlapping, each with its span in `text`."""
    return [found.mention for found in _find(text)]


# --------------------------------------------------------------------------------------------------
# Item headings


def _disputed_portion(heading: str) -> tuple[int, int]:
    """The [start, end) of the part of a heading that is in dispute (all of it, unless partial)."""
    starts = list(DISPUTED_PORTION_START.finditer(heading))
    if starts:
        return starts[-1].end(), len(heading)
    original_end = ORIGINAL_REQUEST_END.search(heading)
    return 0, original_end.start() if original_end else len(heading)


def _masked(text: str, spans: Iterable[tuple[int, int]]) -> str:
    """`text` with the given ranges blanked out, so later patterns cannot read them; offsets are kept."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _spans_not_quantities(heading: str, found: list[_Found]) -> Iterator[tuple[int, int]]:
    """Names, strengths and dates: numbers that are never the quantity."""
    for item in found:
        yield item.mention.span.start, item.end
    for match in STRENGTH_ANYWHERE.finditer(heading):
        if _HAS_STRENGTH_UNIT.search(match.group()):
            yield match.span()
    for match in DATE.finditer(heading):
        yield match.span()


def _number(written: str) -> float:
    return float(written.replace(",", ""))


def _quantity_unit(match: re.Match) -> str | None:
    unit = match.group("unit")
    return QUANTITY_UNIT_OF[name_key(unit)] if unit else None


def _quantity(masked: str) -> tuple[float | None, str | None]:
    """QTY first; then "#60 grams"; then an amount of a measure ("240 grams", "106.32gm"), which says more
    than the bare "#1" that often follows it; then a bare "#60"."""
    qty = QTY_QUANTITY.search(masked)
    if qty:
        return _number(qty.group("number")), _quantity_unit(qty)
    hashes = list(HASH_QUANTITY.finditer(masked))
    with_unit = next((m for m in hashes if m.group("unit")), None)
    if with_unit:
        return _number(with_unit.group("number")), _quantity_unit(with_unit)
    measured = MEASURED_QUANTITY.search(masked)
    if measured:
        return _number(measured.group("number")), _quantity_unit(measured)
    if hashes:
        return _number(hashes[0].group("number")), None
    return None, None


class _NameSpans:
    """Where the drug names of a heading lie, to tell a form word outside a name from one inside it."""

    def __init__(self, found: list[_Found]) -> None:
        self.starts = [item.mention.span.start for item in found]
        self.ends = [item.mention.span.end for item in found]

    def _containing(self, position: int) -> int | None:
        index = bisect_right(self.starts, position) - 1
        return index if index >= 0 and position < self.ends[index] else None

    def is_inside(self, span: Span) -> bool:
        return self._containing(span.start) is not None

    def is_last_word(self, span: Span) -> bool:
        index = self._containing(span.start)
        return index is not None and self.starts[index] < span.start and span.end == self.ends[index]


def _first_word(
    pattern: re.Pattern, heading: str, portion: Span, names: _NameSpans, vocabulary: dict[str, str]
) -> str | None:
    """The first word of `pattern` written outside drug names, else one that ends a name ("Voltaren gel"),
    but never one inside a name ("Gel-One" is no gel)."""
    words = [(match.group(), Span(*match.span())) for match in pattern.finditer(heading, portion.start, portion.end)]
    chosen = [word for word, span in words if not names.is_inside(span)]
    chosen = chosen or [word for word, span in words if names.is_last_word(span)]
    return vocabulary[name_key(chosen[0])] if chosen else None


def _form_label(release: str | None, dosage: str | None) -> str | None:
    """ "extended release tablet", "tablet", "extended release", or None."""
    return " ".join(part for part in (release, dosage) if part) or None


def _is_compound(portion: str, mentions: list[DrugMention], dosage: str | None) -> bool:
    """Said so, a compounded kit of the table, or a topical mix: two drugs or more in a topical form, or with
    % strengths and no form."""
    if COMPOUND_WORD.search(portion) or any(DRUGS[m.generic].compound for m in mentions if m.generic in DRUGS):
        return True
    if len({m.generic for m in mentions}) < 2:
        return False
    if dosage is not None:
        return dosage in TOPICAL_FORMS
    return any(m.strength and m.strength.endswith("%") for m in mentions)


def parse_drug_request(heading: str) -> DrugRequest | None:
    """The drugs an item heading asks for, with form, quantity and unit; None when it names no drug of the
    table (`unknown_product_request` then reads a product the table does not know)."""
    portion = Span(*_disputed_portion(heading))
    found = [item for item in _find(heading) if portion.start <= item.mention.span.start and item.end <= portion.end]
    if not found:
        return None
    return _request(heading, portion, found)


def _request(heading: str, portion: Span, found: list[_Found]) -> DrugRequest:
    mentions = [item.mention for item in found]
    quantity, unit = _quantity(_masked(heading, _spans_not_quantities(heading, found))[portion.start : portion.end])
    names = _NameSpans(found)
    dosage = _first_word(FORM_WORD, heading, portion, names, FORM_OF)
    release = _first_word(RELEASE_WORD, heading, portion, names, RELEASE_OF)
    return DrugRequest(
        drugs=tuple(mentions),
        form=_form_label(release, dosage),
        quantity=quantity,
        quantity_unit=unit,
        compound=_is_compound(portion.of(heading), mentions, dosage),
    )


# --------------------------------------------------------------------------------------------------
# What a drug name means to a search

INGREDIENT, PRODUCT = "drug", "product"  # the index fields a drug filter reads: active ingredients, products


def drug_filter_terms(name: str) -> list[tuple[str, str]]:
    """(field, value) pairs a drug as someone types it stands for, any of which a passage may hold: an
    ingredient finds every product holding it ("hydrocodone", and "Flexeril" is cyclobenzaprine); a
    combination or kit, by name or brand, finds that product ("Norco": hydrocodone/acetaminophen); a name the
    table does not know finds an ingredient or product so written (products the table does not know are
    indexed by their name, lower case)."""
    entry = resolve_drug(name)
    if entry is not None:
        ingredient = ingredient_of(entry)
        return [(INGREDIENT, ingredient)] if ingredient else [(PRODUCT, entry.generic)]
    folded = " ".join(name.split()).casefold()
    return [(INGREDIENT, folded), (PRODUCT, folded)] if folded else []


def drug_names(name: str) -> list[str]:
    """Every name under which the drug a filter or a word stands for may be written in a rationale: all the
    names of every product holding an ingredient, or of the one product a combination names."""
    names: list[str] = []
    for field, value in drug_filter_terms(name):
        products = PRODUCTS_WITH.get(value, ()) if field == INGREDIENT else (value,) if value in DRUGS else ()
        for generic in products:
            entry = DRUGS[generic]
            names += [entry.generic, *entry.brands, *entry.synonyms]
    return list(dict.fromkeys(names)) or [name]


def product_label(generic: str, brand: str | None = None) -> str:
    """"Norco (hydrocodone/acetaminophen)" as asked for by brand, "hydrocodone/acetaminophen (Norco)" as a
    facet value, "cyclobenzaprine" alone."""
    if brand and brand.casefold() != generic.casefold():
        return f"{brand} ({generic})"
    entry = DRUGS.get(generic)
    if entry is not None and len(entry.ingredient_names) > 1 and entry.brands:
        return f"{generic} ({entry.brands[0]})"
    return generic
