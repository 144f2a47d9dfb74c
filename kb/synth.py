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

Every phrase, share and weight comes from data/synth.json; this module only assembles them.
"""

from __future__ import annotations

import json
import random
import re
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from itertools import accumulate
from pathlib import Path
from string import Formatter

from kb.drugs import CLASS_OF
from kb.letters import SYNTHETIC_MARK

DATA_PATH = Path(__file__).resolve().parent / "data" / "synth.json"
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


# --------------------------------------------------------------------------------------------
# Random choices: Random.random() only, so the sequence is the same on every Python version


class _Weighted:
    """A fixed weighted choice, drawn with one random() and a binary search."""

    __slots__ = ("values", "cumulative", "total")

    def __init__(self, pairs) -> None:
        pairs = [(value, weight) for value, weight in pairs if weight > 0]
        self.values = [value for value, _ in pairs]
        self.cumulative = list(accumulate(weight for _, weight in pairs))
        self.total = self.cumulative[-1] if pairs else 0.0
        # random() * total may round up to total itself; the repeated last value catches that draw.
        self.values.append(self.values[-1] if pairs else None)

    def pick(self, rng: random.Random):
        return self.values[bisect_right(self.cumulative, rng.random() * self.total)]

    def __bool__(self) -> bool:
        return self.total > 0

    def __contains__(self, value) -> bool:
        return value in self.values


def _pick(rng: random.Random, seq):
    return seq[int(rng.random() * len(seq))]


def _chance(rng: random.Random, probability: float) -> bool:
    return rng.random() < probability


def _between(rng: random.Random, low: int, high: int) -> int:
    """An integer in [low, high]."""
    return low + int(rng.random() * (high - low + 1))


def _distinct(rng: random.Random, seq, count: int) -> list:
    """`count` different elements of `seq` (fewer if it is shorter), by a partial Fisher-Yates shuffle."""
    size = len(seq)
    if count == 1 and size:
        return [seq[int(rng.random() * size)]]
    if count == 2 and size > 1:  # the common case, without copying the pool
        first = int(rng.random() * size)
        second = int(rng.random() * (size - 1))
        return [seq[first], seq[second + (second >= first)]]
    pool = list(seq)
    count = min(count, len(pool))
    for i in range(count):
        j = i + int(rng.random() * (len(pool) - i))
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:count]


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _squash(text: str) -> str:
    return " ".join(text.split())


def _joined(parts: list[str], conjunction: str = "and") -> str:
    """"a", "a and b", "a, b and c"."""
    if len(parts) < 2:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} {conjunction} {parts[-1]}"


# --------------------------------------------------------------------------------------------
# The reference data, prepared once


def _resolve_groups(groups: dict) -> dict[str, dict]:
    """Groups with "extends" take the entries they lack from the group they extend."""
    resolved = {}
    for name, group in groups.items():
        if name == "about":
            continue
        base = groups[group["extends"]] if "extends" in group else {}
        resolved[name] = {**base, **group}
    return resolved


def _template_fields(text: str) -> set[str]:
    return {field for _, field, _, _ in Formatter().parse(text) if field}


_DRUG_FIELD_LISTS = {"strength": "strengths", "qty": "qty", "form": "forms", "size": "sizes", "pair": "pairs"}


def _drug_templates(entry: dict, era: str) -> _Weighted:
    """The heading templates this drug can fill in this era (a template needs every list it names)."""
    pairs = []
    for template in DATA["drug_headings"]["templates"]:
        if era not in template.get("eras", (era,)) or entry["group"] not in template.get("groups", (entry["group"],)):
            continue
        needed = _template_fields(template["text"]) & _DRUG_FIELD_LISTS.keys()
        if all(entry.get(_DRUG_FIELD_LISTS[field]) for field in needed):
            pairs.append((template["text"], template["weight"]))
    return _Weighted(pairs)


ERAS = ("old", "mid", "new")
REGIONS: dict[str, dict] = {name: region for name, region in DATA["regions"].items() if name != "about"}
REGION_SETS: dict[str, list[str]] = {name: value for name, value in DATA["region_sets"].items() if name != "about"}
GROUPS: dict[str, dict] = _resolve_groups(DATA["groups"])
SERVICES: list[dict] = DATA["services"]["entries"]
DRUG_ENTRIES: list[dict] = DATA["drugs"]["entries"]
COMPOUNDS: dict = DATA["compounds"]
NUMBERS: dict = DATA["numbers"]
RATIONALE: dict = DATA["rationale"]
SUMMARY: dict = DATA["summary"]
BOILERPLATE: dict = DATA["boilerplate"]
PARTIAL: dict = DATA["partial_authorization"]
SOURCES: dict = DATA["sources"]

_YEARS = _Weighted((int(year), weight) for year, weight in DATA["decision_years"]["weights"].items())
_ITEM_COUNTS = _Weighted(enumerate(DATA["items_per_letter"]["weights"], start=1))
_STYLES = {layout: _Weighted(DATA["extraction_styles"][layout].items()) for layout in ("posted", "fdl-2014", "body")}
_REGION_WEIGHTS = {name: region["weight"] for name, region in REGIONS.items()}
_REGION_PICK = _Weighted(_REGION_WEIGHTS.items())
_COMPOUND = object()  # marks the compound choice among the drugs
_DRUGS = _Weighted([*((entry, entry["weight"]) for entry in DRUG_ENTRIES), (_COMPOUND, COMPOUNDS["weight"])])
_DRUG_TEMPLATES = {(id(entry), era): _drug_templates(entry, era) for entry in DRUG_ENTRIES for era in ERAS}
_SERVICES = _Weighted((service, service["weight"]) for service in SERVICES)
_SERVICE_REGIONS = {
    id(service): _Weighted(
        (name, _REGION_WEIGHTS[name])
        for name in (REGION_SETS[service["regions"]] if isinstance(service["regions"], str) else service["regions"])
    )
    for service in SERVICES
}
_INGREDIENTS = _Weighted((ingredient, ingredient["weight"]) for ingredient in COMPOUNDS["ingredients"])
_INGREDIENT_COUNTS = _Weighted(enumerate(COMPOUNDS["ingredient_counts"], start=1))
_COMPOUND_TEMPLATES = {
    count: _Weighted(
        (template["text"], template["weight"])
        for template in COMPOUNDS["templates"]
        if count >= template.get("min_ingredients", 1)
    )
    for count in range(1, len(COMPOUNDS["ingredient_counts"]) + 1)
}
_PROFILES = DATA["reviewers"]["profiles"]
_GUIDELINE_FORMS = {era: _Weighted(forms.items()) for era, forms in DATA["guideline_forms"].items() if era != "about"}
_PROFILES_FOR: dict[str, list[dict]] = {}  # kind or region -> the profiles tied to it
for _profile in _PROFILES:
    for _key in (*_profile.get("kinds", ()), *_profile.get("regions", ())):
        _PROFILES_FOR.setdefault(_key, []).append(_profile)
_GENERAL_PROFILES = _Weighted((p, p["weight"]) for p in _PROFILES if "kinds" not in p and "regions" not in p)
_STATE_COUNTS = _Weighted(enumerate(DATA["reviewers"]["state_counts"], start=1))
_OTHER_STATES = _Weighted((s, w) for s, w in DATA["reviewers"]["states"].items() if s != "California")


# --------------------------------------------------------------------------------------------
# The case: one injured worker, one injury, one timeline


@dataclass
class _Case:
    era: str  # "old" (2013-15), "mid" (2016-17) or "new" (2018+)
    layout: str
    injury: date
    ur: date
    received: date
    assigned: date
    decision: date
    visit: date
    since: date
    age: int
    sex: str
    sex_word: str
    region: str
    side: str
    date_style: int
    pain: tuple[int, int, int]  # low, now, high
    work: str
    priority_expedited: bool
    slots: _Slots | None = None  # the letter's own slots: dates, pain scores, pronouns, shared by its items


def _case(rng: random.Random) -> _Case:
    year = _YEARS.pick(rng)
    decision = date(year, 1, 1) + timedelta(days=_between(rng, 0, 364))
    assigned = decision - timedelta(days=_between(rng, 12, 40))
    received = assigned - timedelta(days=_between(rng, 0, 10))
    ur = received - timedelta(days=_between(rng, 2, 40))
    visit = ur - timedelta(days=_between(rng, 3, 45))
    injury = ur - timedelta(days=_injury_lag(rng))
    since = injury + timedelta(days=int((visit - injury).days * rng.random() * 0.8))
    era = "old" if year <= 2015 else "mid" if year <= 2017 else "new"
    layout = "posted" if era != "old" else ("body" if _chance(rng, SHARES["body_of_old"]) else "fdl-2014")
    sex = "male" if _chance(rng, 0.55) else "female"
    years_injured = (decision - injury).days // 365
    age = min(75, max(_between(rng, 18, 75), 18 + years_injured))  # an adult when injured at work
    low = _between(rng, 2, 5)
    high = _between(rng, low + 2, 10)
    return _Case(
        era=era,
        layout=layout,
        injury=injury,
        ur=ur,
        received=received,
        assigned=assigned,
        decision=decision,
        visit=visit,
        since=since,
        age=age,
        sex=sex,
        sex_word=sex if _chance(rng, 0.85) else ("man" if sex == "male" else "woman"),
        region=_REGION_PICK.pick(rng),
        side="right" if _chance(rng, 0.55) else "left",
        date_style=_between(rng, 0, 3),
        pain=(low, _between(rng, low, high), high),
        work=_pick(rng, SUMMARY["work_statuses"]),
        priority_expedited=_chance(rng, SHARES["expedited"]),
    )


def _injury_lag(rng: random.Random) -> int:
    """Days from injury to the UR denial: a quarter recent, half a few years, a quarter long ago."""
    draw = rng.random()
    if draw < 0.25:
        return _between(rng, 20, 180)
    if draw < 0.75:
        return _between(rng, 181, 1825)
    return _between(rng, 1826, 5475)


def _date_text(day: date, style: int) -> str:
    """The ways letters write a date in prose: 10-13-16, 10-13-2016, 10/13/2016, October 13, 2016."""
    if style == 0:
        return f"{day.month}-{day.day}-{day.year % 100:02d}"
    if style == 1:
        return f"{day.month:02d}-{day.day:02d}-{day.year}"
    if style == 2:
        return _slash(day)
    return _long(day)


def _slash(day: date) -> str:
    return f"{day.month:02d}/{day.day:02d}/{day.year}"


def _short_slash(day: date) -> str:
    return f"{day.month}/{day.day}/{day.year}"


def _long(day: date) -> str:
    return f"{MONTHS[day.month - 1]} {day.day}, {day.year}"


# --------------------------------------------------------------------------------------------
# Template slots, computed on first use


@dataclass
class _ItemContext:
    """What an item's slots draw from."""

    region: str
    side: str
    group: dict
    drug: dict | None = None
    short: list[str] | None = None


class _Slots(dict):
    """Values of the {slots} of one item's (or the summary's) templates, each computed when first used.

    A slot whose name starts with a capital letter is the same value capitalised: {Drug}, {He}. A
    resolver may return several related slots at once (a schedule's times, weeks and sessions).
    """

    def __init__(self, rng: random.Random, case: _Case, item: _ItemContext | None) -> None:
        super().__init__()
        self.rng = rng
        self.case = case
        self.item = item
        self.letter = case.slots if item is not None else None

    def __missing__(self, key: str) -> str:
        if key[:1].isupper():
            value = _capitalized(self[key[:1].lower() + key[1:]])
            self[key] = value
            return value
        if self.letter is not None and key in _LETTER_SLOTS:
            value = self[key] = self.letter[key]  # one injury date, one pain score, for the whole letter
            return value
        value = _RESOLVERS[key](self)
        if isinstance(value, dict):
            self.update(value)
            return value[key]
        self[key] = value
        return value

    def fill(self, template: str) -> str:
        return template.format_map(self)

    def pick(self, seq) -> str:
        return self.fill(_pick(self.rng, seq))

    def settle(self, keys) -> None:
        """Resolve these slots now, so that every later fill reuses their values."""
        for key in keys:
            self[key]

    @property
    def region(self) -> dict:
        return REGIONS[self.item.region if self.item else self.case.region]

    @property
    def side(self) -> str:
        return self.item.side if self.item else self.case.side


_RESOLVERS: dict[str, Callable[[_Slots], str | dict[str, str]]] = {}


# Slots that are facts of the case rather than of an item: every item of a letter sees the same value.
_LETTER_SLOTS = frozenset((
    "age", "sex", "he", "his", "work", "p_lo", "p_now", "p_hi", "doi", "doi_long", "doi_slash", "visit",
    "visit_slash", "rfa", "ur", "ur_long", "ur_slash", "dos", "since", "since_slash", "records_from", "records_to",
    "years_post", "tx1", "tx2", "tx3", "tx4",
))


def _slot(*names: str):
    def register(function):
        for name in names:
            _RESOLVERS[name] = function
        return function

    return register


def _list_slot(name: str, values: list) -> None:
    _RESOLVERS[name] = lambda slots: str(_pick(slots.rng, values))


for _name in ("views", "tp", "days", "hours", "days_week", "hours_week", "months", "frp_hours", "frp_weeks",
              "eswt", "pairs", "prior_n", "mme", "percent", "rom"):
    _list_slot(_name, NUMBERS[_name])
_list_slot("refills", DATA["drug_headings"]["refills"])
_list_slot("sig", DATA["drug_headings"]["sigs"])
_list_slot("general_exam", SUMMARY["general_exam"])
_list_slot("mechanism", SUMMARY["mechanisms"])
_list_slot("activity", SUMMARY["activities"])


@_slot("times", "weeks", "n")
def _schedule(slots: _Slots) -> dict[str, str]:
    times, weeks = _pick(slots.rng, NUMBERS["schedules"])
    return {"times": str(times), "weeks": str(weeks), "n": str(times * weeks)}


@_slot("n_word")
def _n_word(slots: _Slots) -> str:
    return NUMBERS["words"][int(slots["n"])].lower()


@_slot("tp_word")
def _tp_word(slots: _Slots) -> str:
    return NUMBERS["words"][int(slots["tp"])].lower()


@_slot("region")
def _region(slots: _Slots) -> str:
    region = slots.region
    name = _pick(slots.rng, region["names"])
    return f"{slots.side} {name}" if region["sided"] else name


@_slot("regions")
def _regions(slots: _Slots) -> str:
    """The item's region and one or two others: "cervical spine, lumbar spine and right shoulder"."""
    names = [slots["region"]]
    keys = {slots.item.region if slots.item else slots.case.region}
    side = "right" if slots.side == "bilateral" else slots.side
    for _ in range(_between(slots.rng, 1, 2)):
        key = _REGION_PICK.pick(slots.rng)
        if key not in keys:  # "neck and cervical spine" would be one region twice
            keys.add(key)
            region = REGIONS[key]
            name = _pick(slots.rng, region["names"])
            names.append(f"{side} {name}" if region["sided"] else name)
    return _joined(names)


@_slot("times_word", "weeks_word")
def _schedule_words(slots: _Slots) -> dict[str, str]:
    """"twice" and "six" for 2 times a week for 6 weeks."""
    return {"times_word": NUMBERS["times_words"][int(slots["times"])], "weeks_word": NUMBERS["words"][int(slots["weeks"])].lower()}


@_slot("region_adj")
def _region_adj(slots: _Slots) -> str:
    region = slots.region
    return f"{slots.side} {region['joint']}" if region["sided"] else region["adjective"]


@_slot("joint")
def _joint(slots: _Slots) -> str:
    return slots.region["joint"] or slots.region["adjective"]


@_slot("side")
def _side(slots: _Slots) -> str:
    return slots.side


@_slot("limbs")
def _limbs(slots: _Slots) -> str:
    return slots.region["limbs"]


@_slot("limb")
def _limb(slots: _Slots) -> str:
    return slots.region["limb"]


@_slot("level")
def _level(slots: _Slots) -> str:
    """A spinal level; levels repeated in the data are the common ones (L4-5, L5-S1)."""
    return _pick(slots.rng, slots.region["levels"] or ("L4-5", "L5-S1"))


@_slot("level_pair")
def _level_pair(slots: _Slots) -> str:
    """Two neighbouring spinal levels, in order: "L4-5 and L5-S1"."""
    levels = list(dict.fromkeys(slots.region["levels"])) or ["L4-5", "L5-S1"]
    first = min(levels.index(_pick(slots.rng, slots.region["levels"] or levels)), len(levels) - 2)
    return f"{levels[first]} and {levels[first + 1]}"


@_slot("muscle")
def _muscle(slots: _Slots) -> str:
    return slots.pick(slots.region["muscles"])


@_slot("symptom")
def _symptom(slots: _Slots) -> str:
    return _pick(slots.rng, slots.region["symptoms"])


@_slot("complaint")
def _complaint(slots: _Slots) -> str:
    return slots.pick(slots.region["complaints"])


@_slot("ex1", "ex2")
def _exams(slots: _Slots) -> dict[str, str]:
    first, second = _distinct(slots.rng, slots.region["exam"], 2)
    return {"ex1": slots.fill(first), "ex2": slots.fill(second)}


@_slot("dx1", "dx2", "dx3")
def _diagnoses(slots: _Slots) -> dict[str, str]:
    first, second = _distinct(slots.rng, slots.region["diagnoses"], 2)
    return {"dx1": slots.fill(first), "dx2": slots.fill(second), "dx3": _pick(slots.rng, SUMMARY["general_diagnoses"])}


@_slot("tx1", "tx2", "tx3", "tx4")
def _treatments(slots: _Slots) -> dict[str, str]:
    return {f"tx{i}": value for i, value in enumerate(_distinct(slots.rng, SUMMARY["treatments"], 4), start=1)}


@_slot("age")
def _age(slots: _Slots) -> str:
    return str(slots.case.age)


@_slot("sex")
def _sex(slots: _Slots) -> str:
    return slots.case.sex_word


@_slot("he")
def _he(slots: _Slots) -> str:
    return "he" if slots.case.sex == "male" else "she"


@_slot("his")
def _his(slots: _Slots) -> str:
    return "his" if slots.case.sex == "male" else "her"


@_slot("work")
def _work(slots: _Slots) -> str:
    return slots.case.work


@_slot("p_lo", "p_now", "p_hi")
def _pain(slots: _Slots) -> dict[str, str]:
    low, now, high = slots.case.pain
    return {"p_lo": str(low), "p_now": str(now), "p_hi": str(high)}


def _date_slot(name: str, when: Callable[[_Case], date], form: Callable[[_Case, date], str]) -> None:
    _RESOLVERS[name] = lambda slots: form(slots.case, when(slots.case))


def _in_letter_style(case: _Case, day: date) -> str:
    return _date_text(day, case.date_style)


_date_slot("doi", lambda case: case.injury, _in_letter_style)
_date_slot("doi_long", lambda case: case.injury, lambda case, day: _long(day))
_date_slot("doi_slash", lambda case: case.injury, lambda case, day: _short_slash(day))
_date_slot("visit", lambda case: case.visit, _in_letter_style)
_date_slot("visit_slash", lambda case: case.visit, lambda case, day: _short_slash(day))
_date_slot("rfa", lambda case: case.visit + timedelta(days=1), _in_letter_style)
_date_slot("ur", lambda case: case.ur, _in_letter_style)
_date_slot("ur_long", lambda case: case.ur, lambda case, day: _long(day))
_date_slot("ur_slash", lambda case: case.ur, lambda case, day: _short_slash(day))
_date_slot("dos", lambda case: case.visit, lambda case, day: f"{day.month}/{day.day}/{day.year % 100:02d}")
_date_slot("since", lambda case: case.since, lambda case, day: f"{MONTHS[day.month - 1]} {day.year}")
_date_slot("since_slash", lambda case: case.since, lambda case, day: _short_slash(day))
_date_slot("records_from", lambda case: case.visit - timedelta(days=180), lambda case, day: f"{day.month}/{day.year}")
_date_slot("records_to", lambda case: case.visit, lambda case, day: f"{day.month}/{day.year}")


@_slot("years_post")
def _years_post(slots: _Slots) -> str:
    days = (slots.case.decision - slots.case.injury).days
    if days < 365:
        months = max(1, days // 30)
        return f"{months} month{'s' if months > 1 else ''}"
    years = days // 365
    return f"{years} year{'s' if years > 1 else ''}"


def _drug_list_slot(name: str, field: str) -> None:
    _RESOLVERS[name] = lambda slots: _pick(slots.rng, slots.item.drug[field])


for _name, _field in (("name", "names"), ("strength", "strengths"), ("qty", "qty"), ("form", "forms"),
                      ("size", "sizes"), ("pair", "pairs")):
    _drug_list_slot(_name, _field)


@_slot("drug")
def _drug(slots: _Slots) -> str:
    return slots["name"] if slots.item.drug else "the compounded cream"


@_slot("generic")
def _generic(slots: _Slots) -> str:
    return slots.item.drug["prose"] if slots.item.drug else "the compound"


@_slot("short")
def _short(slots: _Slots) -> str:
    return _pick(slots.rng, slots.item.short) if slots.item.short else slots["drug"]


@_slot("src")
def _src(slots: _Slots) -> str:
    return _pick(slots.rng, SOURCES[slots.item.group["src"]][slots.case.era])


# --------------------------------------------------------------------------------------------
# Items: what is requested


@dataclass
class _Draft:
    """An item under construction."""

    slots: _Slots
    kind: str
    category: str
    subcategory: str | None
    group: dict
    heading: str
    request: str  # the request in dispute, as the rationale's conclusion names it
    drugs: tuple[str, ...] = ()
    drug_class: str | None = None
    drug: dict | None = None
    service: dict | None = None
    partial: bool = False
    authorized: str | None = None  # the authorized part of a partial authorization, when the letter states it
    original: str | None = None  # the original request of a partial authorization


def _draft(rng: random.Random, case: _Case, used: set[str]) -> _Draft:
    drug_share = SHARES["drug_before_2018"] if case.decision.year < 2018 else SHARES["drug_from_2018"]
    for _ in range(4):  # a letter rarely disputes the very same request twice
        draft = _drug_draft(rng, case) if _chance(rng, drug_share) else _service_draft(rng, case)
        if draft.heading not in used:
            break
    used.add(draft.heading)
    if _chance(rng, SHARES["partial_of_eligible"]):
        _make_partial(draft)
    return draft


def _drug_draft(rng: random.Random, case: _Case) -> _Draft:
    entry = _DRUGS.pick(rng)
    if entry is _COMPOUND:
        return _compound_draft(rng, case)
    group = GROUPS[entry["group"]]
    slots = _Slots(rng, case, _ItemContext(case.region, case.side, group, drug=entry))
    heading = slots.fill(_DRUG_TEMPLATES[id(entry), case.era].pick(rng))
    drug_class = CLASS_OF[entry["generic"]]
    return _Draft(slots, "drug", PHARMACEUTICALS, drug_class, group, heading, heading,
                  drugs=(entry["generic"],), drug_class=drug_class, drug=entry)


def _compound_draft(rng: random.Random, case: _Case) -> _Draft:
    count = _INGREDIENT_COUNTS.pick(rng)
    ingredients: list[dict] = []
    while len(ingredients) < count:
        ingredient = _INGREDIENTS.pick(rng)
        if ingredient not in ingredients:
            ingredients.append(ingredient)
    parts = [f"{ingredient['name']} {_pick(rng, ingredient['strengths'])}" for ingredient in ingredients]
    group = GROUPS["compound"]
    slots = _Slots(rng, case, _ItemContext(case.region, case.side, group))
    slots.update(
        mix="/".join(parts),
        mix_list=", ".join(parts),
        base=_pick(rng, COMPOUNDS["bases"]),
        size=_pick(rng, COMPOUNDS["sizes"]),
        ingredients=_joined([ingredient["name"].lower() for ingredient in ingredients]),
    )
    heading = _squash(slots.fill(_COMPOUND_TEMPLATES[count].pick(rng)))
    return _Draft(slots, "drug", PHARMACEUTICALS, TOPICAL_COMPOUNDS, group, heading, heading,
                  drugs=tuple(ingredient["generic"] for ingredient in ingredients), drug_class=TOPICAL_COMPOUNDS)


def _service_draft(rng: random.Random, case: _Case) -> _Draft:
    service = _SERVICES.pick(rng)
    choices = _SERVICE_REGIONS[id(service)]
    # Most items concern the case's main region, when the treatment applies to it.
    region = case.region if case.region in choices and _chance(rng, 0.75) else choices.pick(rng)
    side = case.side if region == case.region else ("right" if _chance(rng, 0.5) else "left")
    if not REGIONS[region]["sided"] and _chance(rng, 0.15):
        side = "bilateral"
    group = GROUPS[service["group"]]
    slots = _Slots(rng, case, _ItemContext(region, side, group, short=service["short"]))
    by_region = service.get("by_region", {}).get(region)
    templates = by_region if by_region and (not service["headings"] or _chance(rng, 0.3)) else service["headings"]
    heading = slots.pick(templates)
    return _Draft(slots, service["kind"], service["category"], service["subcategory"], group, heading,
                  _as_object(heading), service=service)


def _as_object(heading: str) -> str:
    """A non-drug heading as the object of a sentence: "Physical therapy ..." -> "physical therapy ..."."""
    first = heading.split(" ", 1)[0]
    if len(first) > 1 and first[0].isupper() and first[1:].islower():
        return heading[:1].lower() + heading[1:]
    return heading


def _make_partial(draft: _Draft) -> None:
    """Make the draft a partial authorization, when it has a quantity to split (drugs, sessions)."""
    slots, rng = draft.slots, draft.slots.rng
    if draft.drug and draft.drug["strengths"] and draft.drug["qty"]:
        template = DATA["drug_headings"]["partial"]
        original = int(_pick(rng, [q for q in draft.drug["qty"] if int(q) >= 20] or ["60"]))
        authorized = max(1, round(original * _pick(rng, PARTIAL["authorized_fractions"])))
        counted = ("qty",)
    elif draft.service and draft.service.get("count_headings"):
        template = _pick(rng, draft.service["count_headings"])
        original = _pick(rng, PARTIAL["session_counts"])
        authorized = _pick(rng, [a for a in PARTIAL["authorized_sessions"] if a < original])
        counted = ("n", "n_word", "N_word")
    else:
        return
    slots.settle(sorted(_template_fields(template) - set(counted)))  # the same drug and region in all three parts

    def request(quantity: int) -> str:
        for key in counted:
            slots.pop(key, None)
        slots[counted[0]] = str(quantity)
        return slots.fill(template)

    parts = {"original": request(original), "authorized": request(authorized),
             "remaining": request(original - authorized)}
    if _chance(rng, SHARES["partial_leaving_eligible"]):
        wording = _pick(rng, PARTIAL["leaving_eligible"])
        disputed = parts["original"]
    else:
        wording = PARTIAL["remaining"]
        disputed = parts["remaining"]
    draft.heading = wording.format_map(parts)
    request(original)
    as_object = (lambda text: text) if draft.drug else _as_object
    if wording is PARTIAL["remaining"]:  # the rationale may then speak of the authorized part and the rest
        draft.authorized = as_object(parts["authorized"])
        slots["authorized"] = draft.authorized
    draft.request = as_object(disputed)
    draft.original = as_object(parts["original"])
    draft.partial = True


# --------------------------------------------------------------------------------------------
# Items: the guideline lines each side cited


_NONE_LINE = "The {side} did not cite any medical evidence for its decision."
_OUTSIDE_LINE = ("The {side} based their decision on recommendation(s) outside of the MTUS Guidelines. "
                 "Decision based on Non-MTUS Citation {citation}.")


def _guideline_lines(draft: _Draft) -> tuple[str, str]:
    """(Claims Administrator line, MAXIMUS line): usually the same citation, sometimes different."""
    rng = draft.slots.rng
    if _chance(rng, SHARES["reviewer_none"]):
        reviewer = _NONE_LINE.format(side=EXPERT_REVIEWER)
    else:
        reviewer = _citation_line(draft, EXPERT_REVIEWER)
    same = reviewer.replace(EXPERT_REVIEWER, CLAIMS_ADMINISTRATOR)
    if not _chance(rng, SHARES["guideline_lines_differ"]):
        return same, reviewer
    if _chance(rng, SHARES["claims_administrator_none_of_differing"]) or reviewer.startswith("The Expert Reviewer did"):
        none = _NONE_LINE.format(side=CLAIMS_ADMINISTRATOR)
        if none != same:
            return none, reviewer
    for _ in range(6):
        other = _citation_line(draft, CLAIMS_ADMINISTRATOR)
        if other != same:
            return other, reviewer
    return _NONE_LINE.format(side=CLAIMS_ADMINISTRATOR), reviewer


def _citation_line(draft: _Draft, side: str) -> str:
    """One side's guideline line in the shape of the letter's era: pages before 2016, sections after."""
    era, rng = draft.slots.case.era, draft.slots.rng
    if era == "old":
        entries = [entry for entry in draft.group["cite"]["old"] if _old_applies(draft, entry)]
        render, joiner, forms = _old_part, ", ", _GUIDELINE_FORMS["old"]
    else:
        entries = [entry for entry in draft.group["cite"]["mtus"]
                   if era in entry.get("eras", ERAS) and _mtus_applies(draft, entry)]
        render, joiner, forms = _mtus_part, ", and ", _GUIDELINE_FORMS["posted"]
    form = forms.pick(rng) if entries else "outside"
    if form == "two" and len(entries) > 1:
        return f"Decision based on MTUS {joiner.join(render(draft, entry) for entry in _distinct(rng, entries, 2))}."
    if form == "mtus+odg":
        return (f"Decision based on MTUS {render(draft, _pick(rng, entries))}. "
                f"Decision based on Non-MTUS Citation {_odg(draft)}.")
    if form == "outside":
        if era == "old":
            return f"Decision based on Non-MTUS Citation {_non_mtus(draft)}."
        return _OUTSIDE_LINE.format(side=side, citation=_non_mtus(draft))
    return f"Decision based on MTUS {render(draft, _pick(rng, entries))}."


def _mtus_applies(draft: _Draft, entry: dict) -> bool:
    region = draft.slots.region
    return entry["part"] != "@region" or bool(region["mtus2004"] or (draft.slots.case.era == "new" and region["mtus2017"]))


def _old_applies(draft: _Draft, entry: dict) -> bool:
    return entry["name"] != "@region" or bool(draft.slots.region["acoem"])


def _mtus_part(draft: _Draft, entry: dict) -> str:
    """"Low Back Complaints 2004, Section(s): Special Studies" (2016+)."""
    rng = draft.slots.rng
    region = draft.slots.region
    part = entry["part"]
    if part == "@region":
        names = [name for name in (region["mtus2004"], region["mtus2017"] if draft.slots.case.era == "new" else None)
                 if name]
        part = _pick(rng, names)
    section_sets = entry["sections"]
    if draft.drug and draft.drug.get("sections") and part.startswith("Chronic Pain"):
        section_sets = [*section_sets, *draft.drug["sections"], *draft.drug["sections"]]
    sections = [region["postsurgical"] if name == "@postsurgical" else name for name in _pick(rng, section_sets)]
    return f"{part}, Section(s): {', '.join(sections)}" if sections else part


def _old_part(draft: _Draft, entry: dict) -> str:
    """"Chronic Pain Treatment Guidelines Benzodiazepines Page(s): 24" (2013-15)."""
    rng = draft.slots.rng
    name, pages = entry["name"], entry.get("pages", [])
    if name == "@region":
        region = draft.slots.region
        name, pages = region["acoem"], region["pages"].get(entry["pages"], [])
    topics = entry.get("topics") or []
    text = name
    if topics and _chance(rng, 0.5):
        text += " " + _pick(rng, topics)
    if pages and (_chance(rng, 0.85) or text == name):
        chosen = _distinct(rng, pages, 2 if len(pages) > 2 and _chance(rng, 0.2) else 1)
        text += " Page(s): " + ", ".join(chosen)
    return text


def _non_mtus(draft: _Draft) -> str:
    other = draft.group["cite"].get("other")
    if other and _chance(draft.slots.rng, 0.3):
        return _pick(draft.slots.rng, other)
    return _odg(draft)


def _odg(draft: _Draft) -> str:
    """"Official Disability Guidelines (ODG), Low Back Chapter, MRIs (magnetic resonance imaging)"."""
    rng = draft.slots.rng
    entries = draft.group["cite"]["odg"]
    if not entries or _chance(rng, 0.06):
        return _pick(rng, ("Official Disability Guidelines", "Official Disability Guidelines (ODG)"))
    entry = _pick(rng, entries)
    chapter = _pick(rng, draft.slots.region["odg"]) if entry["chapter"] == "@region" else entry["chapter"]
    topic = _pick(rng, entry["topics"])
    name = "Official Disability Guidelines (ODG)" if _chance(rng, 0.8) else "Official Disability Guidelines"
    separator = ", " if _chance(rng, 0.7) else " "
    return f"{name}{separator}{chapter}" + (f", {topic}" if topic else "")


# --------------------------------------------------------------------------------------------
# Items: the rationale


def _rationale(draft: _Draft, decision: str) -> list[list[str]]:
    """Two to eight sentences, in one or two paragraphs: guideline, record, reasons, conclusion."""
    slots, rng, group = draft.slots, draft.slots.rng, draft.group
    upheld = decision == UPHELD
    slots["req"] = f'"{draft.request}"' if _chance(rng, SHARES["quoted_request"]) else draft.request
    conclusion = slots.pick(RATIONALE["conclusions_upheld" if upheld else "conclusions_overturned"])
    chosen = _distinct(rng, group["rules"], 2 if _chance(rng, 0.35) else 1)
    intros = _distinct(rng, RATIONALE["rule_intros"], len(chosen))
    rules = [_rule_sentence(slots, rule, intro) for rule, intro in zip(chosen, intros)]
    if _chance(rng, 0.05):
        return [[rules[0], conclusion]]
    guideline = ([slots.pick(group["facts"])] if _chance(rng, 0.45) else []) + rules
    record = [slots.pick(group["context"] if group["context"] and _chance(rng, 0.5) else RATIONALE["context"])
              for _ in range(_pick(rng, (0, 1, 1, 2)))]
    if draft.authorized:
        record.append(slots.pick(RATIONALE["partial_context"]))
    reasons = _reasons(slots, group, upheld)
    if _chance(rng, 0.2):
        reasons.append(_pick(rng, RATIONALE["upheld_closers" if upheld else "overturned_closers"]))
    while len(guideline) + len(record) + len(reasons) + 1 > 8:
        (record or guideline).pop()
    record = list(dict.fromkeys(record))  # the same context sentence twice reads like a bug
    if len(guideline) + len(record) + len(reasons) >= 4 and _chance(rng, SHARES["two_paragraph_rationale"]):
        return [guideline, [*record, *reasons, conclusion]]
    return [[*guideline, *record, *reasons, conclusion]]


def _rule_sentence(slots: _Slots, rule: str, intro: str) -> str:
    slots["rule"] = slots.fill(rule)
    slots.pop("Rule", None)
    return slots.fill(intro)


def _reasons(slots: _Slots, group: dict, upheld: bool) -> list[str]:
    pool = group["criteria"] if upheld or not group["findings"] else group["findings"]
    frames = RATIONALE["upheld_frames" if upheld else "overturned_frames"]
    key = "crit" if upheld else "find"
    sentences = []
    for phrase, frame in zip(_distinct(slots.rng, pool, 2 if _chance(slots.rng, 0.45) else 1),
                             _distinct(slots.rng, frames, 2)):
        slots[key] = slots.fill(phrase)
        sentences.append(slots.fill(frame))
    return sentences


def _item(rng: random.Random, case: _Case, used: set[str]) -> tuple[SyntheticItem, _Draft, list[list[str]]]:
    draft = _draft(rng, case, used)
    decision = UPHELD if _chance(rng, SHARES["upheld"]) else OVERTURNED
    claims_administrator, reviewer = _guideline_lines(draft)
    paragraphs = _rationale(draft, decision)
    item = SyntheticItem(
        heading=draft.heading,
        decision=decision,
        drugs=draft.drugs,
        drug_class=draft.drug_class,
        treatment=draft.kind,
        category=draft.category,
        subcategory=draft.subcategory,
        claims_administrator_guideline=claims_administrator,
        reviewer_guideline=reviewer,
        rationale=" ".join(" ".join(paragraph) for paragraph in paragraphs),
        partial=draft.partial,
    )
    return item, draft, paragraphs


# --------------------------------------------------------------------------------------------
# The reviewer and the case summary


def _reviewer(rng: random.Random, case: _Case, first: _Draft) -> tuple[tuple[str, ...], tuple[str, ...], str | None]:
    """(specialties, states, prose wording or None): often a specialty matching the first item."""
    matching = _PROFILES_FOR.get(first.kind) or _PROFILES_FOR.get(first.slots.item.region)
    if matching and _chance(rng, DATA["reviewers"]["kind_affinity"]):
        profile = _pick(rng, matching)
    else:
        profile = _GENERAL_PROFILES.pick(rng)
    count = _STATE_COUNTS.pick(rng)
    states = ["California"] if _chance(rng, SHARES["california_licensed"]) else []
    while len(states) < count:
        state = _OTHER_STATES.pick(rng)
        if state not in states:
            states.append(state)
    states = _distinct(rng, states, len(states))  # California is not always listed first
    return tuple(profile["specialties"]), tuple(states), profile.get("prose")


def _specialties_prose(specialties: tuple[str, ...], prose: str | None) -> str:
    """How 2014-15 letters word a board certification: "Physical Medicine and Rehabilitation"."""
    return prose or _joined([name.replace(" & ", " and ") for name in specialties])


def _medication(draft: _Draft) -> str:
    """The drug as a summary lists it: the brand as written, else the generic in lower case."""
    name, generic = draft.slots["name"], draft.drug["prose"]
    return generic if generic.lower() in name.lower() else name


def _summary(rng: random.Random, case: _Case, drafts: list[_Draft]) -> list[str]:
    """The clinical case summary as one or two paragraphs."""
    slots = case.slots
    requests = [draft.original or draft.request for draft in drafts]  # what the physician asked for
    slots["requests"] = _joined(_distinct(rng, requests, 3) if len(requests) > 3 else requests)
    medications = [_medication(draft) for draft in drafts if draft.drug]
    medications += _distinct(rng, SUMMARY["common_medications"], 3)
    medications = list(dict.fromkeys(medications))
    slots.update(med1=medications[0], med2=medications[1], med3=medications[2])
    era = "old" if case.era == "old" else "posted"
    sentences = [slots.pick(SUMMARY["intro"][era])]
    for kind in ("mechanism", "diagnosis", "complaint", "pain", "exam", "treatment", "medications", "work", "plan"):
        if _chance(rng, SUMMARY[kind]["p"]):
            sentences.append(slots.pick(SUMMARY[kind]["pool"]))
    sentences.append(slots.pick(SUMMARY["ur"][era]))
    if len(sentences) > 5 and _chance(rng, SHARES["summary_two_paragraphs"]):
        middle = len(sentences) // 2
        return [" ".join(sentences[:middle]), " ".join(sentences[middle:])]
    return [" ".join(sentences)]


# --------------------------------------------------------------------------------------------
# Rendering: lines wrapped like a PDF page, then the extraction style


@lru_cache(maxsize=None)
def _line_pattern(width: int) -> re.Pattern[str]:
    # The longest run of at most `width` characters that ends before a space or at the end: greedy, so
    # the engine backs off to the last space that fits, in C rather than in a Python loop.
    return re.compile(r"(\S.{0,%d})(?: |$)" % (width - 1))


def _wrap(text: str, width: int) -> list[str]:
    """Break `text` at spaces into lines of at most `width` characters."""
    if len(text) <= width:
        return [text]
    lines = _line_pattern(width).findall(text)
    if sum(map(len, lines)) + len(lines) - 1 != len(text):  # a word longer than a line: break it alone
        return _wrap_heading(text, width, sentence_ends=True)
    return lines


@lru_cache(maxsize=None)
def _wrapped_boilerplate(text: str, width: int) -> tuple[str, ...]:
    return tuple(_wrap(text, width))


def _wrap_heading(text: str, width: int, sentence_ends: bool) -> list[str]:
    """Break a heading at spaces; with sentence_ends False no line but the last may end a sentence.

    The parser finds a heading by walking back from its decision to the line after the previous
    sentence end, so a heading line ending in "." would cut the heading short.
    """
    lines = []
    while len(text) > width:
        cut = text.rfind(" ", 0, width + 1)
        while not sentence_ends and cut > 0 and text[cut - 1] in ".?!":
            cut = text.rfind(" ", 0, cut)
        if cut <= 0:
            cut = text.find(" ", width + 1)
            while not sentence_ends and cut != -1 and text[cut - 1] in ".?!":
                cut = text.find(" ", cut + 1)
            if cut == -1:
                break
        lines.append(text[:cut])
        text = text[cut + 1 :]
    lines.append(text)
    return lines


class _Page:
    """The letter's lines, as a PDF page lays them out."""

    def __init__(self, width: int, gaps: bool) -> None:
        self.width = width
        self.gaps = gaps  # pdfium drops the blank lines between blocks
        self.lines: list[str] = [SYNTHETIC_MARK]

    def line(self, text: str) -> None:
        self.lines.append(text)

    def para(self, text: str) -> None:
        self.lines.extend(_wrap(text, self.width))

    def boilerplate(self, text: str) -> None:
        self.lines.extend(_wrapped_boilerplate(text, self.width))

    def gap(self) -> None:
        if self.gaps and self.lines[-1]:
            self.lines.append("")

    def render(self, style: str, crlf: bool) -> str:
        if style == "pypdf":  # a space ends every line
            return " \n".join(self.lines) + " \n"
        if style == "doubled":  # and every line is followed by an empty one
            return " \n\n".join(self.lines) + " \n"
        end = "\r\n" if crlf else "\n"
        return end.join(self.lines) + end


def _items_section(page: _Page, rng: random.Random, items, drafts, paragraphs_of) -> None:
    page.boilerplate(BOILERPLATE["items_lead"])
    page.gap()
    for item, draft, paragraphs in zip(items, drafts, paragraphs_of):
        alone = _chance(rng, SHARES["decision_alone"])
        text = f"{draft.heading}:" if alone else f"{draft.heading}: {item.decision}"
        page.lines.extend(_wrap_heading(text, page.width, sentence_ends=draft.partial))
        if alone:
            page.line(item.decision)
        page.gap()
        page.para(f"Claims Administrator guideline: {item.claims_administrator_guideline}")
        page.gap()
        page.para(f"MAXIMUS guideline: {item.reviewer_guideline}")
        page.gap()
        for n, paragraph in enumerate(paragraphs):
            page.para(("Decision rationale: " if n == 0 else "") + " ".join(paragraph))
            page.gap()


def _summary_section(page: _Page, summary: list[str]) -> None:
    page.line("CLINICAL CASE SUMMARY")
    page.boilerplate(BOILERPLATE["summary_lead"])
    page.gap()
    for paragraph in summary:
        page.para(paragraph)
        page.gap()


def _list_credentials(page: _Page, rng: random.Random, specialties, states) -> None:
    separator = ", " if _chance(rng, 0.6) else ","
    lines = [f"State(s) of Licensure: {separator.join(states)}",
             f"Certification(s)/Specialty: {', '.join(specialties)}"]
    page.line(BOILERPLATE["credentials_intro"])
    for line in lines if _chance(rng, 0.8) else reversed(lines):
        page.para(line)


# --------------------------------------------------------------------------------------------
# The layouts


def _posted(page: _Page, rng, case, number, reviewer, summary, items, drafts, paragraphs_of) -> None:
    specialties, states, _ = reviewer
    priority = "Expedited" if case.priority_expedited else "Standard"
    page.line(f"Case Number: {number}")
    page.line(f"Date Assigned: {_slash(case.assigned)} Date of Injury: {_slash(case.injury)}")
    page.line(f"Decision Date: {_slash(case.decision)} UR Denial Date: {_slash(case.ur)}")
    page.line(f"Priority: {priority} Application")
    page.line("Received:")
    page.line(_slash(case.received))
    page.gap()
    page.line("HOW THE IMR FINAL DETERMINATION WAS MADE")
    page.boilerplate(BOILERPLATE["posted_how_made"])
    page.gap()
    _list_credentials(page, rng, specialties, states)
    page.gap()
    _summary_section(page, summary)
    page.line("IMR ISSUES, DECISIONS AND RATIONALES")
    _items_section(page, rng, items, drafts, paragraphs_of)


def _fdl_2014(page: _Page, rng, case, number, reviewer, summary, items, drafts, paragraphs_of) -> None:
    specialties, states, prose = reviewer
    priority = "Expedited" if case.priority_expedited else "Standard"
    for line in BOILERPLATE["letterhead"]:
        page.line(line)
    page.gap()
    page.line(f"Dated: {_short_slash(case.decision)}")
    page.gap()
    page.line(f"IMR Case Number: {number} Date of Injury: {_short_slash(case.injury)}")
    page.line(f"Claims Number: [redacted] UR Denial Date: {_short_slash(case.ur)}")
    page.line(f"Priority: {priority} Application Received: {_short_slash(case.received)}")
    page.line("Employee Name: [redacted]")
    page.line("Provider Name: [redacted]")
    page.para("Treatment(s) in Dispute Listed on IMR Application: "
              + "; ".join(draft.original or draft.request for draft in drafts))
    page.gap()
    page.boilerplate(BOILERPLATE["fdl_intro"])
    page.gap()
    decisions = {item.decision for item in items}
    outcome = "UPHOLD" if decisions == {UPHELD} else "OVERTURN" if decisions == {OVERTURNED} else "PARTIAL OVERTURN"
    page.boilerplate(BOILERPLATE["final_determination"][outcome])
    page.gap()
    page.line("HOW THE IMR FINAL DETERMINATION WAS MADE")
    page.para(BOILERPLATE["prose_how_made"].format(specialties=_specialties_prose(specialties, prose),
                                                   states=_joined(list(states))))
    page.gap()
    _summary_section(page, summary)
    page.line("DOCUMENTS REVIEWED")
    page.para(case.slots.pick(BOILERPLATE["documents"]))
    page.gap()
    page.line("IMR DECISION(S) AND RATIONALE(S)")
    _items_section(page, rng, items, drafts, paragraphs_of)
    if _chance(rng, BOILERPLATE["fdl_trailer_share"]):
        page.line("APPEAL RIGHTS")
        page.boilerplate(BOILERPLATE["appeal"])
        page.gap()
        page.line("cc: [redacted]")


def _body(page: _Page, rng, case, number, reviewer, summary, items, drafts, paragraphs_of) -> None:
    specialties, states, prose = reviewer
    page.line("HOW THE IMR FINAL DETERMINATION WAS MADE")
    if _chance(rng, 0.5):
        page.boilerplate(BOILERPLATE["posted_how_made"])
        page.gap()
        _list_credentials(page, rng, specialties, states)
    else:
        page.para(BOILERPLATE["prose_how_made"].format(specialties=_specialties_prose(specialties, prose),
                                                       states=_joined(list(states))))
    page.gap()
    _summary_section(page, summary)
    page.line("IMR ISSUES, DECISIONS AND RATIONALES")
    _items_section(page, rng, items, drafts, paragraphs_of)


_LAYOUT_WRITERS = {"posted": _posted, "fdl-2014": _fdl_2014, "body": _body}


# --------------------------------------------------------------------------------------------
# Public API


def case_number(seed: int, index: int, year: int) -> str:
    """"CM" + two-digit year + "-" + seven digits, unique among the letters of one run (one seed)."""
    block, offset = divmod(index, SERIAL_BLOCK)
    serial = block * SERIAL_BLOCK + (offset * SERIAL_STEP + seed * 7919) % SERIAL_BLOCK
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
