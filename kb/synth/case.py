"""The case: one injured worker, one injury, one timeline, and the ways a letter writes its dates.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from kb.synth.choices import _between, _chance, _pick
from kb.synth.model import MONTHS, SHARES
from kb.synth.tables import SUMMARY, _REGION_PICK, _YEARS

if TYPE_CHECKING:  # a case holds its letter's slots; the slots read the case
    from kb.synth.slots import _Slots

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
