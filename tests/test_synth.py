"""Tests of kb.synth: the data table, determinism, that generated letters parse back to exactly what
was generated, and that the mix of letters looks like the real one (within tolerance bands)."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from datetime import date
from string import Formatter

import pytest

from kb import drugs, letters, synth
from kb.drugs import find_drugs, parse_drug_request
from kb.letters import SYNTHETIC_MARK, parse_letter
from kb.synth import SyntheticLetter, generate_letters, synthetic_letter, write_letters
from kb.synth.model import MAX_SYNTHETIC_LETTERS

DISTRIBUTION_SEED = 11
DISTRIBUTION_COUNT = 3000
PROPERTY_SEEDS = (0, 1, 2, 3, 4)
PROPERTY_COUNT = 80  # letters per seed


@pytest.fixture(scope="module")
def sample() -> list[SyntheticLetter]:
    return list(generate_letters(DISTRIBUTION_COUNT, DISTRIBUTION_SEED))


@pytest.fixture(scope="module")
def items(sample) -> list[synth.SyntheticItem]:
    return [item for letter in sample for item in letter.items]


def _squash(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------------------------
# The data table


DRUG_ENTRIES = synth.DATA["drugs"]["entries"]


@pytest.mark.parametrize("entry", DRUG_ENTRIES, ids=lambda entry: f"{entry['generic']}:{entry['names'][0]}")
def test_drug_names_resolve_to_their_generic(entry):
    assert entry["generic"] in drugs.DRUGS
    assert entry["group"] in synth.GROUPS
    for name in [*entry["names"], *entry.get("pairs", [])]:
        assert [mention.generic for mention in find_drugs(name)] == [entry["generic"]], name
    for size in entry.get("sizes", []):
        request = parse_drug_request(f"{entry['names'][0]} {size}")
        assert request is not None and [m.generic for m in request.drugs] == [entry["generic"]], size


@pytest.mark.parametrize("ingredient", synth.COMPOUNDS["ingredients"], ids=lambda ingredient: ingredient["generic"])
def test_compound_ingredients_resolve(ingredient):
    for strength in ingredient["strengths"]:
        assert [m.generic for m in find_drugs(f"{ingredient['name']} {strength}")] == [ingredient["generic"]]


def test_opioids_are_about_a_quarter_of_drug_weight():
    weights = Counter()
    for entry in DRUG_ENTRIES:
        weights[drugs.CLASS_OF[entry["generic"]]] += entry["weight"]
    total = sum(weights.values()) + synth.COMPOUNDS["weight"]
    assert 0.2 <= weights["Opioids"] / total <= 0.3


@pytest.mark.parametrize("service", synth.SERVICES, ids=lambda service: f"{service['subcategory']}:{service['group']}")
def test_services_reference_known_groups_and_regions(service):
    assert service["group"] in synth.GROUPS
    regions = synth.REGION_SETS[service["regions"]] if isinstance(service["regions"], str) else service["regions"]
    assert set(regions) <= set(synth.REGIONS)
    if not service["headings"]:  # then every region it may take needs headings of its own
        assert set(regions) <= set(service["by_region"])


def test_groups_have_what_a_rationale_needs():
    for name, group in synth.GROUPS.items():
        assert group["src"] in synth.SOURCES, name
        assert group["rules"] and group["criteria"] and group["findings"], name
        assert set(group["cite"]) <= {"mtus", "old", "odg", "other"}, name


def test_reviewer_profiles_use_canonical_specialties():
    for profile in synth.DATA["reviewers"]["profiles"]:
        assert set(profile["specialties"]) <= letters.SPECIALTIES
    assert set(synth.DATA["reviewers"]["states"]) <= set(letters.US_STATES)


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, inner in value.items():
            if key not in ("about", "_about"):
                yield from _strings(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _strings(inner)


def test_phrases_are_single_spaced():
    # The generator does not squash its phrases: the expected item texts are the phrases as written,
    # and the parser squashes whitespace, so a double space would make them differ.
    for text in _strings(synth.DATA):
        assert text == text.strip() and "  " not in text, text


# Slots the generator sets itself rather than through a resolver.
SET_BY_THE_GENERATOR = {"rule", "crit", "find", "req", "mix", "mix_list", "base", "size", "ingredients", "authorized",
                        "requests", "med1", "med2", "med3", "original", "remaining", "specialties", "states"}


def test_every_slot_a_phrase_uses_is_filled():
    fields = {field for text in _strings(synth.DATA) for _, field, _, _ in Formatter().parse(text) if field}
    unknown = {field for field in fields
               if {field, field[:1].lower() + field[1:]}.isdisjoint({*synth._RESOLVERS, *SET_BY_THE_GENERATOR})}
    assert not unknown


def test_no_phrase_leaves_a_hyphen_before_a_space():
    # "short- and long-term" can wrap after "short-", and the parser rightly joins a line-end hyphen.
    for text in _strings(synth.DATA):
        assert not re.search(r"\w- ", text), text


# --------------------------------------------------------------------------------------------
# Determinism


def test_same_seed_same_letters():
    first = [letter.text for letter in generate_letters(30, seed=7)]
    assert first == [letter.text for letter in generate_letters(30, seed=7)]


def test_different_seeds_differ():
    texts = {seed: [letter.text for letter in generate_letters(20, seed)] for seed in (0, 1)}
    assert all(a != b for a, b in zip(texts[0], texts[1]))


def test_a_letter_is_reproducible_on_its_own():
    run = list(generate_letters(25, seed=3))
    for index in (0, 7, 24):
        assert synthetic_letter(3, index) == run[index]
    assert list(generate_letters(5, seed=3, start=20)) == run[20:]


def test_letters_do_not_depend_on_hash_randomisation():
    digest = hashlib.sha256("".join(letter.text for letter in generate_letters(40, seed=5)).encode()).hexdigest()
    code = (
        "import hashlib; from kb.synth import generate_letters; "
        "print(hashlib.sha256(''.join(l.text for l in generate_letters(40, seed=5)).encode()).hexdigest())"
    )
    for hash_seed in ("1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == digest


def test_case_numbers_are_unique_within_a_run():
    numbers = [synth.case_number(9, index, 2016) for index in range(0, 600_000, 7)]
    assert len(set(numbers)) == len(numbers)
    assert all(re.fullmatch(r"CM16-\d{7}", number) for number in numbers[:100])


def test_case_numbers_are_never_real_ones():
    # the DWC numbers about 200,000 cases a year from 0000001: a synthetic CMyy-8xxxxxx or -9xxxxxx can be
    # neither mistaken for a real decision nor collide with one in an index holding both
    serials = [int(synth.case_number(seed, index, 2016)[5:]) for seed in (1, 2016) for index in
               [*range(0, 5000), *range(1_000_000, 1_000_100), MAX_SYNTHETIC_LETTERS - 1]]
    assert min(serials) >= 8_000_000 and max(serials) < 9_500_000
    with pytest.raises(ValueError):
        synth.case_number(1, MAX_SYNTHETIC_LETTERS, 2016)


# --------------------------------------------------------------------------------------------
# Generated letters parse back to exactly what was generated


@pytest.mark.parametrize("seed", PROPERTY_SEEDS)
def test_letters_parse_back_exactly(seed):
    for letter in generate_letters(PROPERTY_COUNT, seed):
        parsed = parse_letter(letter.text)
        where = f"seed {seed} letter {letter.index}"
        assert parsed.synthetic, where
        assert parsed.layout == letter.layout, where
        assert (parsed.case_number, parsed.decision_date) == (letter.case_number, letter.decision_date), where
        header = (parsed.date_of_injury, parsed.ur_denial_date, parsed.application_received, parsed.date_assigned,
                  parsed.priority)
        assert header == (letter.date_of_injury, letter.ur_denial_date, letter.application_received,
                          letter.date_assigned, letter.priority), where
        assert (parsed.reviewer.specialties, parsed.reviewer.states) == (letter.specialties, letter.states), where
        assert (parsed.age, parsed.sex) == (letter.age, letter.sex), where
        assert len(parsed.items) == len(letter.items), where
        for got, want in zip(parsed.items, letter.items):
            assert got.full_heading == want.heading, where
            assert got.heading == (got.partial.disputed if got.partial else want.heading), where
            assert got.decision == want.decision, where
            assert got.claims_administrator_guideline == want.claims_administrator_guideline, where
            assert got.reviewer_guideline == want.reviewer_guideline, where
            assert _squash(got.rationale) == want.rationale, where
            assert tuple(mention.generic for mention in got.drugs) == want.drugs, where
            assert (got.partial is not None) == want.partial, where


def test_generated_categories_are_what_the_classifier_finds(sample):
    wrong = Counter()
    for letter in sample[:1500]:
        for got, want in zip(parse_letter(letter.text).items, letter.items):
            found = (got.treatment.category, got.treatment.subcategory)
            if found != (want.category, want.subcategory):
                wrong[want.heading, found] += 1
    assert not wrong, wrong.most_common(10)


# --------------------------------------------------------------------------------------------
# Each letter


def test_every_letter_is_marked_synthetic_on_its_first_line(sample):
    assert all(letter.text.splitlines()[0].rstrip() == SYNTHETIC_MARK for letter in sample)


def test_header_dates_are_in_order(sample):
    for letter in sample:
        if letter.layout == "posted":
            injury, ur, received, assigned, decided = (
                date.fromisoformat(value) for value in (letter.date_of_injury, letter.ur_denial_date,
                                                        letter.application_received, letter.date_assigned,
                                                        letter.decision_date))
            assert injury < ur < received <= assigned < decided
            assert (decided - assigned).days <= 60
            assert letter.case_number.startswith(f"CM{assigned.year % 100:02d}-")


def test_layouts_follow_the_decision_year(sample):
    for letter in sample:
        if letter.layout == "posted":
            assert letter.decision_date >= "2016"
        elif letter.layout == "fdl-2014":
            assert "2013" <= letter.decision_date < "2016"
        else:
            assert letter.layout == "body" and letter.case_number is None and letter.decision_date is None
    layouts = Counter(letter.layout for letter in sample)
    assert 0.01 <= layouts["body"] / (layouts["body"] + layouts["fdl-2014"]) <= 0.1


def test_case_numbers_are_unique_in_the_sample(sample):
    numbers = [letter.case_number for letter in sample if letter.case_number]
    assert len(numbers) == len(set(numbers))


def test_rationales_end_with_the_decision(items):
    for item in items:
        conclusion = _SENTENCE_END.split(item.rationale)[-1]
        assert conclusion.endswith(".") and "he request for " in conclusion, conclusion
        assert ("not medically necessary" in conclusion) == (item.decision == "Upheld"), conclusion
        assert "medically necessary" in conclusion


_SENTENCE_END = re.compile(r"(?<=[.?!])\"?\s+(?=[A-Z\"])")


def test_rationales_have_two_to_eight_sentences(items):
    counts = Counter(len(_SENTENCE_END.split(item.rationale)) for item in items)
    assert min(counts) >= 2 and max(counts) <= 8, sorted(counts.items())


def test_drug_items_name_their_drugs(items):
    for item in items:
        if item.treatment == "drug":
            assert item.drugs and item.category == "Pharmaceuticals"
            if item.drug_class != synth.TOPICAL_COMPOUNDS:
                assert item.drug_class == drugs.CLASS_OF[item.drugs[0]]
        else:
            assert not item.drugs and item.drug_class is None


def test_extraction_styles_vary(sample):
    texts = [letter.text for letter in sample]
    styles = Counter()
    for text in texts:
        lines = text.splitlines()
        if all(line.strip() for line in lines):
            styles["pdfium: no blank lines"] += 1
        elif all(line.endswith(" ") for line in lines):
            styles["pypdf: a space ends every line"] += 1
        if "\r\n" in text:
            styles["CRLF"] += 1
        if not any(lines[1::2]):
            styles["doubled, as in the seeds"] += 1
    assert len(styles) == 4 and min(styles.values()) >= 5, styles
    lines = [line.strip() for text in texts for line in text.splitlines()]
    assert "Upheld" in lines and "Overturned" in lines  # the decision alone on its line
    assert any(len(item.heading) > 200 for letter in sample for item in letter.items)  # 3 lines at most widths


def test_write_letters(tmp_path):
    paths = write_letters(tmp_path / "letters", 12, seed=4)
    assert len(paths) == 12 == len(set(paths))
    for path, letter in zip(paths, generate_letters(12, seed=4)):
        assert path.name == letter.filename
        assert path.read_bytes().decode("utf-8") == letter.text
        assert parse_letter(path.read_text(encoding="utf-8")).synthetic
    body = replace(synthetic_letter(4, 3), case_number=None)
    assert body.filename == "synthetic-4-0000003.txt"


# --------------------------------------------------------------------------------------------
# The mix, against the real volumes (letters.md), with tolerance bands


def test_upheld_share(items):
    share = sum(item.decision == "Upheld" for item in items) / len(items)
    assert 0.86 <= share <= 0.92


def test_items_per_letter(sample):
    counts = [len(letter.items) for letter in sample]
    assert 1.5 <= sum(counts) / len(counts) <= 2.5
    assert min(counts) == 1 and max(counts) <= 15
    assert sum(count <= 2 for count in counts) / len(counts) >= 0.7


def test_drug_share_by_era(sample):
    before, after = [], []
    for letter in sample:
        era = before if letter.decision_date is None or letter.decision_date < "2018" else after
        era.extend(item.treatment == "drug" for item in letter.items)
    assert 0.42 <= sum(before) / len(before) <= 0.53
    assert 0.29 <= sum(after) / len(after) <= 0.39


def test_opioid_share_of_drug_items(items):
    drug_items = [item for item in items if item.treatment == "drug"]
    share = sum(item.drug_class == "Opioids" for item in drug_items) / len(drug_items)
    assert 0.15 <= share <= 0.35
    assert any(item.drug_class == synth.TOPICAL_COMPOUNDS for item in drug_items)


def test_decision_years_cover_2013_to_2025(sample):
    years = Counter(int(letter.decision_date[:4]) for letter in sample if letter.decision_date)
    assert set(years) == set(range(2013, 2026))
    peak = sum(years[year] for year in range(2014, 2020))
    assert peak / sum(years.values()) >= 0.5


def test_every_treatment_kind_occurs(items):
    kinds = {service["kind"] for service in synth.SERVICES} | {"drug"}
    assert {item.treatment for item in items} == kinds


def test_guideline_lines_often_differ(items):
    def side_free(line: str) -> str:
        return line.replace("Claims Administrator", "X").replace("Expert Reviewer", "X")

    differ = sum(side_free(i.claims_administrator_guideline) != side_free(i.reviewer_guideline) for i in items)
    assert differ / len(items) >= 0.2


def test_partial_authorizations_are_a_few_percent(items):
    assert 0.01 <= sum(item.partial for item in items) / len(items) <= 0.06


def test_rationales_are_varied(items):
    assert len({item.rationale for item in items}) >= 0.95 * len(items)
    first_sentences = Counter(_SENTENCE_END.split(item.rationale)[0] for item in items)
    assert first_sentences.most_common(1)[0][1] <= 0.05 * len(items)


def test_reviewers_look_like_the_real_ones(sample):
    california = sum("California" in letter.states for letter in sample) / len(sample)
    assert 0.55 <= california <= 0.75
    assert all(1 <= len(letter.states) <= 3 and 1 <= len(letter.specialties) <= 3 for letter in sample)
    specialties = Counter(name for letter in sample for name in letter.specialties)
    assert specialties.most_common(1)[0][0] in {"Occupational Medicine", "Preventive Medicine"}
    assert all(18 <= letter.age <= 75 and letter.sex in ("male", "female") for letter in sample)
