"""Template slots, computed on first use: the {name}s phrases hold, filled from the case and the item.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from kb.synth.case import _Case, _date_text, _long, _short_slash
from kb.synth.choices import _between, _capitalized, _distinct, _joined, _pick
from kb.synth.model import DATA, MONTHS
from kb.synth.tables import NUMBERS, REGIONS, SOURCES, SUMMARY, _REGION_PICK

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
