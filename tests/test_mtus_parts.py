"""Every MTUS part of ../shared/docs/mtus-parts.md (the IMR organisation's coded list, 2013 to today), with and
without its year, with "MTUS", "MTUS (ACOEM)" or "ACOEM" before it, resolves to one canonical part that keeps
its edition; old and new documents on a topic stay separate ids; a part's other editions are known."""

from __future__ import annotations

import re

import pytest

from kb.guidelines import GUIDELINE_PARTS, citation_editions, parse_guideline_line
from tests.conftest import SHARED

MTUS_PARTS_DOC = SHARED / "docs" / "mtus-parts.md"

# The list's code -> our part. Names of one document in several spellings or editions map to one part.
PART_OF_CODE = {
    "CHP_1": "GA", "CHP_2": "NUBC", "CHP_3": "SC", "CHP_4": "EC", "CHP_5": "FWHC", "CHP_6": "LBC", "CHP_7": "KC",
    "CHP_8": "AFC", "CHP_9": "SRC", "CHP_10": "EYEC", "CHP_11": "AMTG", "CHP_12": "CPMTG", "CHP_13": "PSTG",
    "CHP_14": "CPMTG", "CHP_15": "OTG", "CHP_16": "ACOEM", "CHP_17": "AMTG", "CHP_18": "CPMTG", "CHP_19": "PSTG",
    "CHP_2017_1": "IATN", "CHP_2017_2": "CTSD", "CHP_2017_3": "SD", "CHP_2017_4": "ED", "CHP_2017_5": "HWFD",
    "CHP_2017_6": "LBD", "CHP_2017_7": "KD", "CHP_2017_8": "AFD", "CHP_2017_9": "EYE", "CHP_2017_10": "HGD",
    "CHP_2017_11": "OA", "CHP_2017_12": "OILD", "CHP_2017_13": "CP", "CHP_2017_14": "OP", "CHP_2017_15": "CDPMN",
    "CHP_2017_16": "GAIADN", "CHP_2017_17": "PREVN", "CHP_2017_18": "TBI", "CHP_2017_19": "CTSD", "CHP_2017_20": "ED",
    "CHP_2017_21": "HWFD", "CHP_2017_22": "AFD", "CHP_2017_23": "WMHP", "CHP_2017_24": "LBD", "CHP_2017_25": "WMH",
    "CHP_2017_26": "HGD", "CHP_2017_27": "KD", "CHP_2017_28": "OILD", "CHP_2017_29": "WMHD", "CHP_2017_30": "OA",
    "CHP_2017_31": "AE", "CHP_2017_32": "COVID", "CHP_2017_33": "LBD", "CHP_2017_34": "WMHA", "CHP_2017_35": "CP",
    "CHP_2017_36": "CDPMN", "CHP_2017_37": "GAIADN", "CHP_2017_38": "PREVN", "CHP_2017_39": "ED",
    "CHP_2017_40": "AFD", "CHP_2017_41": "CTSD", "CHP_2017_42": "HWFD", "CHP_2017_43": "IATN", "CHP_2017_44": "KD",
    "CHP_2017_45": "EYE", "CHP_2017_46": "HGD", "CHP_2017_47": "OILD", "CHP_2017_48": "OA", "CHP_2017_49": "TBI",
    "CHP_2017_50": "WMHD", "CHP_2017_51": "WMH", "CHP_2017_52": "WMHA", "CHP_2017_53": "WMHP",
}
# A name two documents share (the 2004 chapter and its 2011+ successor) means the older without a year.
SHARED_NAMES = {"Initial Approaches to Treatment": "IAT", "Prevention": "PREV",
                "Cornerstones of Disability Prevention and Management": "CDPM",
                "General Approach to Initial Assessment and Documentation": "GAIAD"}
PREFIXES = ("MTUS", "MTUS (ACOEM)", "ACOEM")
_ROW = re.compile(r"^\|\s*(CHP_[0-9_]+)\s*\|\s*([^|]+?)\s*\|\s*(\d{4})?\s*\|\s*$")


def _lines(prefix: str, with_year: bool) -> list[tuple[str, str, int | None, str]]:
    """(code, name, year, line) for every listed part; "ACOEM" is not written after an "ACOEM" prefix."""
    return [(code, name, year, f"Decision based on {prefix} {name}{f' {year}' if year and with_year else ''}.")
            for code, name, year in _rows() if not (name == "ACOEM" and "ACOEM" in prefix)]


def _rows() -> list[tuple[str, str, int | None]]:
    if not MTUS_PARTS_DOC.is_file():
        pytest.skip(f"{MTUS_PARTS_DOC} not found (set KB_SHARED to the shared folder)")
    rows = []
    for line in MTUS_PARTS_DOC.read_text(encoding="utf-8").splitlines():
        if found := _ROW.match(line):
            code, name, year = found.groups()
            rows.append((code, name, int(year) if year else None))
    return rows


def test_the_list_is_read_whole():
    rows = _rows()
    assert len(rows) == 72
    assert {code for code, _, _ in rows} == set(PART_OF_CODE)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_every_listed_part_with_its_year_resolves_to_its_part_and_keeps_the_year(prefix):
    wrong = []
    for code, name, year, line in _lines(prefix, with_year=True):
        found = [(c.id, c.year) for c in parse_guideline_line(line)]
        if found != [(f"MTUS/{PART_OF_CODE[code]}", year)]:
            wrong.append((line, found))
    assert wrong == []


@pytest.mark.parametrize("prefix", PREFIXES)
def test_every_listed_name_without_its_year_resolves_to_one_part(prefix):
    wrong = []
    for code, name, _, line in _lines(prefix, with_year=False):
        expected = SHARED_NAMES.get(name, PART_OF_CODE[code])
        found = [(c.id, c.year) for c in parse_guideline_line(line)]
        if found != [(f"MTUS/{expected}", None)]:
            wrong.append((line, found))
    assert wrong == []


@pytest.mark.parametrize(("line", "expected"), [
    ("Decision based on MTUS Opioids 2017, Section(s): Opioids for chronic pain.",
     [("MTUS/OP/s:opioids-for-chronic-pain", 2017)]),
    ("Decision based on MTUS (ACOEM) Low Back Disorders 2019, and Chronic Pain Medical Treatment 2016, Section(s): "
     "Topical analgesics.", [("MTUS/LBD", 2019), ("MTUS/CPMTG/s:topical-analgesics", 2016)]),
    ("Decision based on MTUS Chronic Pain Medical Treatment 2016 Guidelines, Section(s): Opioids, criteria for use.",
     [("MTUS/CPMTG/s:opioids-criteria-for-use", 2016)]),
    ("Decision based on MTUS Low Back Complaints 2004. Decision based on MTUS Low Back Disorders 2020.",
     [("MTUS/LBC", 2004), ("MTUS/LBD", 2020)]),
])
def test_parts_in_lines(line, expected):
    assert [(c.id, c.year) for c in parse_guideline_line(line)] == expected


@pytest.mark.parametrize(("old", "new"), [
    ("Chronic Pain Medical Treatment 2016", "Chronic Pain 2017"), ("Low Back Complaints 2004", "Low Back Disorders 2019"),
    ("Neck and Upper Back Complaints 2004", "Cervical and Thoracic Spine 2019"), ("Opioid Treatment 2016", "Opioids 2017"),
    ("Prevention 2004", "Prevention 2018"), ("Initial Approaches to Treatment 2004", "Initial Approaches to Treatment 2022"),
    ("Eye 2004", "Eye Disorders 2017"), ("Knee Complaints 2004", "Knee Disorders 2020"),
])
def test_old_and_new_documents_on_a_topic_stay_apart_and_show_each_other(old, new):
    (old_citation,) = parse_guideline_line(f"Decision based on MTUS {old}.")
    (new_citation,) = parse_guideline_line(f"Decision based on MTUS {new}.")
    assert old_citation.id != new_citation.id
    assert old_citation.year == int(old.split()[-1]) and new_citation.year == int(new.split()[-1])
    assert new_citation.id in [other["id"] for other in citation_editions(old_citation.id)["others"]]
    assert old_citation.id in [other["id"] for other in citation_editions(new_citation.id)["others"]]


def test_every_part_label_names_it_once():
    labels = [part.label for part in GUIDELINE_PARTS.values()]
    assert len(labels) == len(set(labels))
