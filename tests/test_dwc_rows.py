"""The DWC's own rows beside fetched letters: read by kb.extract, matched to the items and stored by kb.index,
offered as facets and query fields, shown on the letter page and counted by kb status.

The letters are our own, fetched from the fake DWC search (tests/dwc_server.py) whose rows disagree with
some of them on purpose, plus the real letters with rows of the fake's own making.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb import dwc, extract
from kb.cli import main
from kb.dwc import AGREES, CATEGORY_DIFFERS, DECISION_DIFFERS, NO_SINGLE_ROW, Treatment, match_items
from kb.fetch import FetchSettings, fetch_range
from kb.http_client import Politeness
from kb.index import dwc_check_counts
from kb.search import SearchIndex
from kb.search_request import SearchRequest
from tests.dwc_server import OWN_ITEMS, FakeDwc, own_letter, shared_letters
from tests.webutil import build_index, make_app, page

NORCO, MRI, PT, ACUPUNCTURE = OWN_ITEMS

# (case, items, the DWC's rows: None for rows that agree with the items)
PLANTED = [
    ("CM24-0000001", [NORCO], [("Injection", "", "Uphold")]),  # the DWC files Norco otherwise
    ("CM24-0000002", [NORCO, MRI], [("Pharmaceuticals", "Opioids", "Overturn"),  # and decides it otherwise
                                    ("Diagnostic Testing", "Imaging Radiology", "Overturn")]),
    ("CM24-0000003", [NORCO, MRI], [("Pharmaceuticals", "Opioids", "Uphold"),  # three rows for two items
                                    ("Diagnostic Testing", "Imaging Radiology", "Overturn"),
                                    ("DMEPOS", "DME", "Uphold")]),
    ("CM24-0000004", [NORCO, NORCO], [("Pharmaceuticals", "Opioids", "Uphold")]),  # one row for two items
    ("CM24-0000005", [MRI, PT, ACUPUNCTURE], None),
]


@pytest.fixture(scope="module")
def fetched(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("dwc") / "letters"
    letters = [own_letter(case, date(2024, 1, 5), items, treatments=rows) for case, items, rows in PLANTED]
    with FakeDwc(letters) as site:
        settings = FetchSettings(base_url=site.base_url, politeness=Politeness(rate=1000, backoff=0.01),
                                 sleep=lambda seconds: None)
        report = fetch_range(folder, date(2024, 1, 1), date(2024, 1, 31), settings=settings)
    assert report.fetched == len(PLANTED)
    (folder / "2024" / "01" / "CM24-0000005.dwc.json").unlink()  # a letter without the DWC's row
    (folder / "2024" / "01" / "CM24-0000005.pdf").rename(folder / "2024" / "01" / "renamed.pdf")
    return folder


@pytest.fixture(scope="module")
def dwc_index(fetched: Path, tmp_path_factory) -> Path:
    return build_index([fetched], tmp_path_factory.mktemp("dwc-index") / "index")


@pytest.fixture(scope="module")
def search_index(dwc_index: Path):
    opened = SearchIndex(dwc_index)
    yield opened
    opened.close()


def rows(*specs: tuple[str, str, str | None]) -> list[Treatment]:
    return [Treatment(category, subcategory, decision, decision or "?") for category, subcategory, decision in specs]


# --------------------------------------------------------------------------------------------
# Matching items to rows (kb.dwc.match_items)

MATCHES = [
    # one item, one row: matched whatever they say
    ([("Pharmaceuticals", "Upheld")], rows(("Injection", "", "Upheld")), [(True, (CATEGORY_DIFFERS,))]),
    ([("Pharmaceuticals", "Upheld")], rows(("Pharmaceuticals", "Opioids", "Overturned")),
     [(True, (DECISION_DIFFERS,))]),
    ([("Pharmaceuticals", "Upheld")], rows(("injection", "", "Overturned")),
     [(True, (CATEGORY_DIFFERS, DECISION_DIFFERS))]),
    # as many items as rows, in order, each pair agreeing on one of the two
    ([("Pharmaceuticals", "Upheld"), ("Surgery", "Overturned")],
     rows(("Pharmaceuticals", "Opioids", "Upheld"), ("Injection", "", "Overturned")),
     [(True, (AGREES,)), (True, (CATEGORY_DIFFERS,))]),
    # the same rows in another order: matched by category and decision where that is unique
    ([("Pharmaceuticals", "Upheld"), ("Surgery", "Overturned")],
     rows(("Surgery", "Spine", "Overturned"), ("Pharmaceuticals", "Opioids", "Upheld")),
     [(True, (AGREES,)), (True, (AGREES,))]),
    # more rows than items; two items that one row could answer
    ([("Surgery", "Upheld"), ("Surgery", "Upheld")], rows(("Surgery", "Spine", "Upheld")),
     [(True, (AGREES,)), (True, (AGREES,))]),
    ([("Surgery", "Upheld")], rows(("Surgery", "Spine", "Upheld"), ("Surgery", "Arthroscopic", "Upheld")),
     [(False, (NO_SINGLE_ROW,))]),
    # a decision word the DWC wrote otherwise is not counted as a difference
    ([("Surgery", "Upheld")], rows(("Surgery", "Spine", None)), [(True, (AGREES,))]),
    ([("Surgery", "Upheld")], [], []),
]


@pytest.mark.parametrize("items, treatments, expected", MATCHES)
def test_items_are_matched_to_the_dwcs_rows_only_where_that_is_plain(items, treatments, expected):
    checks = match_items(items, treatments)
    assert [(check.matched, check.checks) for check in checks] == expected
    for check in checks:
        assert check.treatments == (tuple(treatments) if not check.matched else check.treatments)


# --------------------------------------------------------------------------------------------
# Reading the sidecar (kb.extract.read_dwc_record)


def test_the_sidecar_beside_a_letter_is_read_and_a_bad_one_left_out(tmp_path: Path, fetched: Path):
    letter = fetched / "2024" / "01" / "CM24-0000001.pdf"
    record = extract.read_dwc_record(letter)
    assert record["case_number"] == "CM24-0000001" and record["treatments"][0]["category"] == "Injection"
    assert extract.read_dwc_record(fetched / "2024" / "01" / "renamed.pdf") is None
    copy = tmp_path / "CM24-0000001.pdf"
    for bad in ("not json", json.dumps({**record, "version": 2}), json.dumps({**record, "treatments": "x"}),
                json.dumps({**record, "treatments": [{"category": "X", "decision": "Maybe"}]})):
        (tmp_path / "CM24-0000001.dwc.json").write_text(bad, encoding="utf-8")
        assert extract.read_dwc_record(copy) is None, bad


# --------------------------------------------------------------------------------------------
# In the index


def _passages(search_index: SearchIndex, **params) -> set[str]:
    query = {name: [value] for name, value in params.items()} | {"per_page": ["100"]}
    results = search_index.search(SearchRequest.from_params(query))
    return {hit.passage_id for hit in results.hits}


def test_each_item_is_stored_with_its_dwc_row_and_the_letter_with_the_whole_record(search_index):
    letter = search_index.letter("CM24-0000002")
    assert letter["dwc"]["case_number"] == "CM24-0000002" and len(letter["dwc"]["treatments"]) == 2
    first, second = (item["dwc"] for item in letter["items"])
    assert first["matched"] and first["checks"] == [DECISION_DIFFERS]
    assert first["treatments"] == [{"category": "Pharmaceuticals", "subcategory": "Opioids", "decision": "Overturned",
                                    "dwc_decision": "Overturn", "filed_under": "Pharmaceuticals / Opioids"}]
    assert second["checks"] == [AGREES]
    assert "dwc" not in search_index.letter("CM24-0000005")


def test_the_dwc_category_is_a_facet_and_disagreements_are_searchable(search_index):
    results = search_index.search(SearchRequest.from_params({}))
    facets = {facet["name"]: {v["value"]: v["count"] for v in facet["values"]} for facet in results.facets}
    assert facets["dwc_category"]["Pharmaceuticals"] == 4  # Norco in letters 2, 3 and twice in 4
    assert facets["dwc_category"]["Pharmaceuticals / Opioids"] == 4
    assert "DMEPOS" not in facets["dwc_category"]  # letter 3's third row answers neither of its items
    assert facets["dwc_category"]["Injection"] == 1
    assert facets["dwc"] == {AGREES: 5, CATEGORY_DIFFERS: 1, DECISION_DIFFERS: 1}
    assert _passages(search_index, dwc=CATEGORY_DIFFERS) == {"CM24-0000001/1"}
    assert _passages(search_index, q='dwc:"decision differs"') == {"CM24-0000002/1"}
    assert _passages(search_index, q="dwc_category:Injection category:Pharmaceuticals") == {"CM24-0000001/1"}
    assert _passages(search_index, q="dwc_decision:Overturned") == {"CM24-0000002/1", "CM24-0000002/2",
                                                                    "CM24-0000003/2"}
    assert _passages(search_index, q="dwc_subcategory:Opioids") == {"CM24-0000002/1", "CM24-0000003/1",
                                                                   "CM24-0000004/1", "CM24-0000004/2"}


def test_kb_status_counts_where_the_tags_and_the_dwc_differ(dwc_index):
    assert dwc_check_counts(dwc_index) == {AGREES: 5, CATEGORY_DIFFERS: 1, DECISION_DIFFERS: 1}
    result = CliRunner().invoke(main, ["status", "--index-dir", str(dwc_index)])
    assert result.exit_code == 0
    assert ("DWC rows:    5 items agree with the DWC's row, 1 differ in category, 1 in decision, 0 match no single "
            'row (search: dwc:"category differs")') in result.output


def test_an_index_without_dwc_rows_says_nothing_of_them(real_index):
    assert dwc_check_counts(real_index) == {}
    assert "DWC rows" not in CliRunner().invoke(main, ["status", "--index-dir", str(real_index)]).output


# --------------------------------------------------------------------------------------------
# On the letter page


def test_the_letter_page_says_where_the_dwc_filed_each_item(dwc_index):
    client = make_app(dwc_index).test_client()
    one = page(client.get("/letters/CM24-0000001")).squashed_text
    assert "The DWC filed this item under Injection, Upheld. The tags here differ: category differs." in one
    two = page(client.get("/letters/CM24-0000002")).squashed_text
    assert "The DWC filed this item under Pharmaceuticals / Opioids, Overturned. The tags here differ: decision " \
           "differs." in two
    assert "The DWC filed this item under Diagnostic Testing / Imaging Radiology, Overturned." in two
    plain = page(client.get("/letters/CM24-0000005")).squashed_text
    assert "The DWC" not in plain
    api = client.get("/api/letters/CM24-0000001").get_json()["letter"]
    assert api["dwc"]["case_outcome"] == "Upheld" and api["items"][0]["dwc"]["checks"] == [CATEGORY_DIFFERS]


def test_real_letters_fetched_with_their_rows_index_with_them(tmp_path: Path, letters_dir: Path):
    letters = [letter for letter in shared_letters(letters_dir) if letter.decision_date.month == 12]
    with FakeDwc(letters) as site:
        settings = FetchSettings(base_url=site.base_url, politeness=Politeness(rate=1000, backoff=0.01),
                                 sleep=lambda seconds: None)
        fetch_range(tmp_path / "letters", date(2016, 12, 1), date(2016, 12, 31), settings=settings)
    index_dir = build_index([tmp_path / "letters"], tmp_path / "index")
    counts = dwc_check_counts(index_dir)
    items = sum(len(letter.treatments) for letter in letters)
    assert sum(counts.get(check, 0) for check in (AGREES, CATEGORY_DIFFERS, NO_SINGLE_ROW)) >= items
    assert counts.get(DECISION_DIFFERS, 0) == 0  # the fake takes its decisions from the letters' own
    assert dwc.CHECKS == (AGREES, CATEGORY_DIFFERS, DECISION_DIFFERS, NO_SINGLE_ROW)


def test_the_dwc_rows_survive_a_repair_without_the_letter_files(fetched: Path, tmp_path: Path):
    """The index keeps each letter's DWC row with its text (kb.store): parsing again from what it stored
    needs neither the letters nor their sidecars."""
    import shutil

    from kb.ingest import repair_index

    letters = tmp_path / "letters"
    shutil.copytree(fetched, letters)
    index_dir = build_index([letters], tmp_path / "index")
    before = dwc_check_counts(index_dir)
    shutil.rmtree(letters)
    repair_index(index_dir, jobs=1)
    assert dwc_check_counts(index_dir) == before and sum(before.values()) > 0
