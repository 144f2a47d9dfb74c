"""kb.bands: the bands' examples, dates read from summaries, and time since injury on the real letters and seeds."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from kb.bands import (
    AGE_BANDS,
    DATA,
    SINCE_INJURY_BANDS,
    _INJURY_DATES,
    _REVIEW_DATES,
    age_band,
    months_between,
    since_injury,
    since_injury_band,
    summary_date,
)
from kb.letters import parse_letter

BAND_EXAMPLES = [tuple(x) for band in SINCE_INJURY_BANDS for x in band["examples"]]


@pytest.mark.parametrize(("injured", "requested", "band"), BAND_EXAMPLES)
def test_since_injury_band_examples(injured, requested, band):
    found, phase = since_injury_band(date.fromisoformat(injured), date.fromisoformat(requested))
    assert found == band
    assert phase == next(b["phase"] for b in SINCE_INJURY_BANDS if b["id"] == band)


def test_bands_are_in_order_and_every_band_has_examples():
    bounds = [b["below_months"] for b in SINCE_INJURY_BANDS]
    assert bounds[:-1] == sorted(bounds[:-1]) and bounds[-1] is None
    assert all(band["examples"] for band in SINCE_INJURY_BANDS)


def test_months_between_counts_whole_calendar_months():
    assert months_between(date(2016, 10, 31), date(2017, 1, 30)) == 2
    assert months_between(date(2016, 10, 31), date(2017, 1, 31)) == 3
    assert months_between(date(2016, 1, 15), date(2016, 1, 20)) == 0


@pytest.mark.parametrize(("age", "band"), [(a, b["id"]) for b in AGE_BANDS for a in b["examples"]] + [(None, "unknown")])
def test_age_band_examples(age, band):
    assert age_band(age) == band


@pytest.mark.parametrize(("text", "iso"), DATA["summary_dates"]["injury_examples"])
def test_injury_dates_in_summaries(text, iso):
    assert summary_date(text, _INJURY_DATES) == iso


@pytest.mark.parametrize(("text", "iso"), DATA["summary_dates"]["review_examples"])
def test_review_dates_in_summaries(text, iso):
    assert summary_date(text, _REVIEW_DATES) == iso


def test_every_real_letter_has_a_time_since_injury(letters_dir: Path):
    for path in sorted(letters_dir.glob("*.txt")):
        letter = parse_letter(path.read_text(encoding="utf-8"))
        since = since_injury(letter)
        assert since.injury_date_source == "header" and since.request_date_source == "ur-denial", path.name
        assert since.days == (date.fromisoformat(letter.ur_denial_date) - date.fromisoformat(letter.date_of_injury)).days
        assert since.band != "unknown"


def test_a_headerless_body_takes_its_injury_date_from_the_summary(seeds_dir: Path):
    letter = parse_letter((seeds_dir / "000_2c01026b184f8305.txt").read_text(encoding="utf-8"))
    since = since_injury(letter)
    assert (since.injury_date, since.injury_date_source) == ("2010-01-06", "summary")
    assert since.days is None and since.band == "unknown"  # the body states no review or decision date


def test_an_injury_after_the_request_has_no_band():
    text = (Path(__file__).parent / "fixtures" / "letters" / "posted-basic.txt").read_text(encoding="utf-8")
    letter = parse_letter(text)
    from dataclasses import replace

    swapped = replace(letter, date_of_injury="2030-01-01")
    assert since_injury(swapped).days is None and since_injury(swapped).band == "unknown"
