"""Why and for whom in the index (issue 15): the body region, time since injury, decision reason and diagnosis
facets, the query words (region:, since_injury:, reason:, diagnosis:), the precedents' breakdowns and "why
upheld / why overturned", the letter page's reason sentences and reused wording, the CSV's columns: each
against brute force over the real letters parsed and tagged here, without the index."""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from pathlib import Path

import pytest

from kb.documents import letter_id_of
from kb.letters import parse_letter
from kb.precedents import precedents
from kb.search_request import SearchRequest
from kb.why import why_tags
from tests.webutil import make_app


@pytest.fixture(scope="module")
def truth(letters_dir: Path, seeds_dir: Path) -> dict[str, dict]:
    """Every indexed passage's decision and kb.why tags, by passage id (the .txt of each real letter parses
    as its PDF does)."""
    found = {}
    for path in [*sorted(letters_dir.glob("*.txt")), *sorted(seeds_dir.glob("*.txt"))]:
        letter = parse_letter(path.read_text(encoding="utf-8"))
        for item, tags in zip(letter.items, why_tags(letter)):
            found[f"{letter_id_of(letter)}/{item.ordinal}"] = {**tags, "decision": item.decision}
    return found


def _facet_counts(index, name: str) -> dict[str, int]:
    results = index.search(SearchRequest.from_params({"expand": name}))
    facet = next(f for f in results.facets if f["name"] == name)
    return {value["value"]: value["count"] for value in facet["values"]}


@pytest.mark.parametrize("facet, key", [("region", "region"), ("since_injury", "since_injury")])
def test_single_valued_facets_count_as_the_tags_say(index, truth, facet, key):
    assert _facet_counts(index, facet) == dict(Counter(tags[key] for tags in truth.values()))


@pytest.mark.parametrize("facet, key", [("reason", "reason_ids"), ("diagnosis", "diagnoses")])
def test_many_valued_facets_count_each_passage_once_per_value(index, truth, facet, key):
    expected = Counter()
    for tags in truth.values():
        values = tags[key] if key == "reason_ids" else [d["id"] for d in tags[key]]
        expected.update(set(values))
    assert _facet_counts(index, facet) == dict(expected)


def _found(index, q: str) -> set[str]:
    return {row["passage_id"] for row in index.rows(SearchRequest.from_params({"q": q}), 10_000)}


@pytest.mark.parametrize("q, wanted", [
    ("region:knee", lambda t: "knee" in t["regions"] or t["region"] == "knee"),
    ('region:"lumbar spine"', lambda t: "lumbar" in t["regions"] or t["region"] == "lumbar"),
    ("side:left", lambda t: t["side"] == "left"),
    ("since_injury:3-6m", lambda t: t["since_injury"] == "3-6m"),
    ("since_injury:>60d", lambda t: t["days_since_injury"] is not None and t["days_since_injury"] > 60),
    ("since_injury:<=6w", lambda t: t["days_since_injury"] is not None and t["days_since_injury"] <= 42),
    ("since_injury:subacute", lambda t: t["injury_phase"] == "subacute"),
    ('reason:"functional improvement"', lambda t: "no-functional-improvement" in t["reason_ids"]),
    ("reason:weaning", lambda t: "weaning-advised" in t["reason_ids"]),
    ('diagnosis:"carpal tunnel"', lambda t: any(d["id"] == "carpal-tunnel-syndrome" for d in t["diagnoses"])),
])
def test_query_words_find_what_the_tags_hold(index, truth, q, wanted):
    expected = {passage for passage, tags in truth.items() if wanted(tags)}
    assert expected, f"the real letters hold no example for {q}"
    assert _found(index, q) == expected


def test_why_upheld_and_why_overturned_count_the_reasons_of_each_side(index, truth):
    stats = precedents(index.match(SearchRequest()))
    for decision in ("Upheld", "Overturned"):
        side = [tags for tags in truth.values() if tags["decision"] == decision]
        expected = Counter(reason for tags in side for reason in set(tags["reason_ids"]))
        why = stats["why"][decision]
        assert why["decisions"] == len(side)
        assert {row["value"]: row["count"] for row in why["reasons"]} == dict(expected)
        for row in why["reasons"][:3]:  # each count is a link to exactly those passages
            listed = index.search(row["link"])
            assert listed.total == row["count"]


def test_the_breakdowns_by_region_and_time_since_injury_add_up(index, truth):
    stats = precedents(index.match(SearchRequest.from_params({"category": "Diagnostic Testing"})))
    tested = {p: t for p, t in truth.items()}
    by_region = {row["value"]: row["total"] for row in stats["regions"]}
    assert sum(by_region.values()) == stats["summary"]["total"]
    bands = [row["value"] for row in stats["since_injury"]]
    assert bands == sorted(bands, key=["0-3m", "3-6m", "6-12m", "1-2y", "2-5y", "5y+", "unknown"].index)
    assert tested


def test_the_letter_page_marks_each_reason_sentence_and_links_its_tags(real_index, truth):
    client = make_app(real_index).test_client()
    passage, tags = next((p, t) for p, t in truth.items() if len(t["reasons"]) >= 2)
    letter_id, ordinal = passage.rsplit("/", 1)
    page = client.get(f"/letters/{letter_id}").get_data(as_text=True)
    item = page[page.index(f'id="item-{ordinal}"'):]
    item = item[:item.index("</section>")]
    marked = re.findall(r'class="reason-sentence" title="([^"]+)"', item)
    assert {label for title in marked for label in title.split("; ")} == {r["label"] for r in tags["reasons"]}
    for reason in tags["reasons"]:
        assert f'href="/search?reason={reason["id"]}"' in item


def test_a_reused_rationale_says_in_how_many_other_decisions_and_links_them(real_index, index):
    client = make_app(real_index).test_client()
    templated = index.search(SearchRequest.from_params({"wording": "templated", "per_page": "1"}))
    assert templated.total > 0
    hit = templated.hits[0]
    page = client.get(f"/letters/{hit.letter_id}").get_data(as_text=True)
    link, others = re.search(r'<a href="(/search\?wording_group=[^"]+)">This wording appears in (\d+) other', page).groups()
    listed = client.get(link + "&per_page=100").get_data(as_text=True)
    letters = set(re.findall(r'href="/letters/(CM\d\d-\d{7})/items/', listed))
    assert hit.letter_id in letters and len(letters) - 1 == int(others)


def test_the_csv_export_has_the_region_the_time_and_the_reasons(real_index, truth):
    client = make_app(real_index).test_client()
    rows = list(csv.DictReader(io.StringIO(client.get("/search.csv?q=mri").get_data(as_text=True))))[:-1]
    assert rows
    for row in rows:
        tags = truth[row["passage_id"]]
        assert row["body_region"] and row["time_since_injury"]
        assert len(row["reasons"].split("; ")) == len(tags["reason_ids"]) if tags["reason_ids"] else not row["reasons"]
