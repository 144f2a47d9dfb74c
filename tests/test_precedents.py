"""Precedent statistics, guideline pages, similar rationales, compare and the Atom feed, over the real index.

Every statistic is checked against a brute-force count over the parsed letters: each .txt in
../shared/letters and each seed is parsed with kb.letters.parse_letter, each item's facet values are
derived the way kb/index.py defines them (guideline ids with their ancestors in `guideline`, one side's
ids as cited in guideline_ca / guideline_reviewer, "differ" when the two sides' sets differ), and the
counting is plain Python loops. Every search link attached to a figure is run through
SearchIndex.search and must give that figure ("every number links to its passages").
"""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import kb.web.precedent_views as precedent_views
from kb.documents import letter_id_of
from kb.guidelines import citation_ancestry, citation_label, citation_sort_key
from kb.letters import parse_letter
from kb.precedents import (
    BREAKDOWN_ROWS,
    FEW_DECISIONS,
    OVERTURNED,
    TYPICAL_EACH_WAY,
    UPHELD,
    distinctive_phrases,
    guideline_view,
    precedents,
    wilson_interval,
)
from kb.precedents import guideline_index as build_guideline_index
from kb.search_request import SearchRequest
from kb.web.numbers import unbroken
from kb.web.passage_views import COMPARED_FIELDS, MAX_DIFF_WORDS, word_differences
from kb.web.search_views import FEED_ENTRIES
from tests.webutil import Element, parse_html

LETTERS, PASSAGES = 132, 307
ATOM = "{http://www.w3.org/2005/Atom}"
SIMILAR_SOURCE = "CM16-0213037/2"  # MRI of the cervical spine without contrast: Upheld


# --------------------------------------------------------------------------------------------
# The brute-force model: every item of every letter, with its facet values derived independently


@dataclass(frozen=True)
class Passage:
    id: str
    decision: str
    decision_date: str | None
    year: int  # 0 when unknown
    drugs: frozenset[str]
    category: str
    treatment: str | None
    ca: frozenset[str]  # ids the claims administrator cited (guideline_ca)
    products: frozenset[str]  # the products asked for (product); `drugs` are their active ingredients
    reviewer: frozenset[str]  # ids the reviewer cited (guideline_reviewer)
    cited: frozenset[str]  # both sides' ids and all their ancestors (guideline)
    divergent: str
    specialties: frozenset[str]
    rationale: str


def _passages_of(path: Path) -> list[Passage]:
    letter = parse_letter(path.read_text(encoding="utf-8"))
    letter_id = letter_id_of(letter)
    year = int(letter.decision_date[:4]) if letter.decision_date else 0
    specialties = frozenset(s.replace(",", " ").strip() for s in letter.reviewer.specialties if s.strip())
    found = []
    for item in letter.items:
        ca = frozenset(c.id for c in item.claims_administrator_citations)
        reviewer = frozenset(c.id for c in item.reviewer_citations)
        cited = set()
        for citation_id in ca | reviewer:
            cited.update(citation_ancestry(citation_id))
        found.append(Passage(
            id=f"{letter_id}/{item.ordinal}", decision=item.decision, decision_date=letter.decision_date, year=year,
            drugs=frozenset(i.name for i in item.ingredients), products=frozenset(d.generic for d in item.drugs),
            category=item.treatment.category,
            treatment=item.treatment.subcategory or None, ca=ca, reviewer=reviewer, cited=frozenset(cited),
            divergent="differ" if ca != reviewer else "same", specialties=specialties, rationale=item.rationale))
    return found


@pytest.fixture(scope="module")
def passages(letters_dir, seeds_dir) -> list[Passage]:
    paths = sorted(letters_dir.glob("*.txt")) + sorted(seeds_dir.glob("*.txt"))
    assert len(paths) == LETTERS
    found = [p for path in paths for p in _passages_of(path)]
    assert len(found) == PASSAGES
    return found


@pytest.fixture(scope="module")
def by_id(passages) -> dict[str, Passage]:
    return {p.id: p for p in passages}


@pytest.fixture(scope="module")
def seed_ids(seeds_dir) -> list[str]:
    """The carisoprodol (Soma) passages of the two seeds, from parsing them."""
    found = [p.id for path in sorted(seeds_dir.glob("*.txt")) for p in _passages_of(path) if "carisoprodol" in p.drugs]
    assert len(found) == 2
    return found


def _pct(part: int, total: int) -> float | None:
    return round(100.0 * part / total, 1) if total else None


def outcomes(ps: list[Passage]) -> dict:
    total = len(ps)
    upheld = sum(1 for p in ps if p.decision == UPHELD)
    overturned = sum(1 for p in ps if p.decision == OVERTURNED)
    return {"total": total, "upheld": upheld, "overturned": overturned,
            "upheld_pct": _pct(upheld, total), "overturned_pct": _pct(overturned, total),
            "upheld_ci": wilson_interval(upheld, total), "overturned_ci": wilson_interval(overturned, total),
            "few": 0 < total < FEW_DECISIONS}


def expected_by_year(ps: list[Passage]) -> list[dict]:
    years = sorted({p.year for p in ps if p.year})
    return [{"year": year, **outcomes([p for p in ps if p.year == year])} for year in years]


# breakdown name in precedents() -> the values one passage holds
VALUES_OF = {
    "reviewer_guidelines": lambda p: p.reviewer,
    "ca_guidelines": lambda p: p.ca,
    "drugs": lambda p: p.drugs,
    "products": lambda p: p.products,
    "treatments": lambda p: {p.treatment} if p.treatment else set(),
    "specialties": lambda p: p.specialties,
}
SIDE_BREAKDOWNS = ("reviewer_guidelines", "ca_guidelines")


def expected_breakdown(ps: list[Passage], values_of, limit: int | None = BREAKDOWN_ROWS) -> list[dict]:
    """The values held, most frequent first (then by value), each with the outcomes of its passages."""
    counts: Counter = Counter()
    for p in ps:
        for value in values_of(p):
            counts[value] += 1
    order = sorted(counts, key=lambda value: (-counts[value], value))
    return [{"value": value, **outcomes([p for p in ps if value in values_of(p)])} for value in order[:limit]]


def expected_side_breakdown(ps: list[Passage], side, limit: int | None = BREAKDOWN_ROWS) -> list[dict]:
    """The ids one side cited, each counting the passages where that side cited it or a refinement of it
    (p. 24 of a part counts for the part, as the links' reviewer_guideline / ca_guideline filters do), most
    cited first (then by id)."""
    cited = {c for p in ps for c in side(p)}
    rows = [{"value": c, **outcomes([p for p in ps if refines(c, side(p))])} for c in cited]
    rows.sort(key=lambda row: (-row["total"], row["value"]))
    return rows[:limit]


def expected_divergence(ps: list[Passage]) -> dict:
    return {"differ": outcomes([p for p in ps if p.divergent == "differ"]),
            "same": outcomes([p for p in ps if p.divergent == "same"])}


def refines(citation_id: str, ids) -> bool:
    """Whether one side cited `citation_id` or something more specific under it."""
    return any(c == citation_id or c.startswith(citation_id + "/") for c in ids)


FIGURES = ("total", "upheld", "overturned", "upheld_pct", "overturned_pct", "upheld_ci", "overturned_ci", "few")


def figures(row: dict, *keys: str) -> dict:
    return {key: row[key] for key in (*keys, *FIGURES)}


# --------------------------------------------------------------------------------------------
# The index, the statistics and the site


# name -> (URL parameters, the same selection as a predicate on the brute-force model)
SELECTIONS = {
    "drug=carisoprodol": ({"drug": "carisoprodol"}, lambda p: "carisoprodol" in p.drugs),
    "category=Diagnostic Testing": ({"category": "Diagnostic Testing"}, lambda p: p.category == "Diagnostic Testing"),
    "guideline=MTUS/CPMTG": ({"guideline": "MTUS/CPMTG"}, lambda p: "MTUS/CPMTG" in p.cited),
    "all passages": ({}, lambda p: True),
}


@pytest.fixture(scope="module")
def statistics(index):
    """URL parameters -> precedents() of that search, computed once per module."""
    cache: dict = {}

    def get(params: dict) -> dict:
        key = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in params.items()))
        if key not in cache:
            cache[key] = precedents(index.match(SearchRequest.from_params(params)))
        return cache[key]

    return get


@pytest.fixture(params=list(SELECTIONS), ids=list(SELECTIONS))
def selection(request, passages, statistics):
    """(precedents() data, the brute-force passages) of one selection."""
    params, wanted = SELECTIONS[request.param]
    return statistics(params), [p for p in passages if wanted(p)]


# --------------------------------------------------------------------------------------------
# precedents(): every figure against the brute-force count


def test_summary_counts_and_shares(selection):
    data, ps = selection
    assert figures(data["summary"]) == outcomes(ps)


def test_upheld_and_overturned_add_up_to_the_total(selection):
    data, ps = selection
    assert data["summary"]["upheld"] + data["summary"]["overturned"] == len(ps)


def test_by_year_series(selection):
    data, ps = selection
    assert [figures(row, "year") for row in data["by_year"]] == expected_by_year(ps)


@pytest.mark.parametrize("name", ["drugs", "products", "treatments", "specialties"])
def test_breakdown(selection, name):
    data, ps = selection
    assert [figures(row, "value") for row in data[name]] == expected_breakdown(ps, VALUES_OF[name])


@pytest.mark.parametrize("name", SIDE_BREAKDOWNS)
def test_guideline_breakdown_figures_count_each_citation_with_its_refinements(selection, name):
    data, ps = selection
    expected = {row["value"]: row for row in expected_side_breakdown(ps, VALUES_OF[name], limit=None)}
    assert {row["value"]: figures(row, "value") for row in data[name]} == \
        {row["value"]: expected[row["value"]] for row in data[name]}


@pytest.mark.parametrize("name", SIDE_BREAKDOWNS)
def test_guideline_breakdown_rows_are_the_most_cited_by_their_figures(selection, name):
    data, ps = selection
    expected = expected_side_breakdown(ps, VALUES_OF[name])
    assert [(row["value"], row["total"]) for row in data[name]] == [(row["value"], row["total"]) for row in expected]


@pytest.mark.parametrize("name", ["reviewer_guidelines", "ca_guidelines"])
def test_guideline_breakdowns_are_labelled_by_citation(selection, name):
    data, _ = selection
    assert [row["label"] for row in data[name]] == [citation_label(row["value"]) for row in data[name]]


def test_divergence_counts(selection):
    data, ps = selection
    divergence = data["divergence"]
    assert {side: figures(divergence[side]) for side in ("differ", "same")} == expected_divergence(ps)


def test_typical_rationales_are_matching_passages_of_their_outcome(selection, index):
    data, ps = selection
    match = index.match(data["summary"]["links"]["total"])
    for decision, rows in data["typical"].items():
        hits = match.hits(rows)
        assert [hit.decision for hit in hits] == [decision] * len(hits)
        assert {hit.passage_id for hit in hits} <= {p.id for p in ps}
        assert len(hits) == min(TYPICAL_EACH_WAY, sum(1 for p in ps if p.decision == decision))


# --------------------------------------------------------------------------------------------
# Every number links to its passages


def search_links(data, path: str = "") -> list[tuple[str, int, object]]:
    """(where, figure, link) for every search link in statistics data (SearchRequests or URLs)."""
    found = []
    if isinstance(data, dict):
        for key, link in (data.get("links") or {}).items():
            figure = data[key]["total"] if isinstance(data[key], dict) else data[key]
            found.append((f"{path}.links.{key}", figure, link))
        if "link" in data:  # a row's figure is its total (outcomes) or its count (a reason's decisions)
            found.append((f"{path}.link", data["total"] if "total" in data else data["count"], data["link"]))
        for key, value in data.items():
            if key not in ("links", "link"):
                found += search_links(value, f"{path}.{key}")
    elif isinstance(data, list):
        for n, value in enumerate(data):
            found += search_links(value, f"{path}[{n}]")
    return found


def count_requests(data) -> int:
    if isinstance(data, SearchRequest):
        return 1
    if isinstance(data, dict):
        return sum(count_requests(v) for v in data.values())
    if isinstance(data, list):
        return sum(count_requests(v) for v in data)
    return 0


@pytest.fixture(scope="module")
def search_total(index):
    """A search's total through SearchIndex.search, each distinct request run once per module."""
    totals: dict[SearchRequest, int] = {}

    def get(request: SearchRequest) -> int:
        if request not in totals:
            totals[request] = index.search(request).total
        return totals[request]

    return get


def wrong_links(search_total, data) -> list[str]:
    wrong = []
    for where, figure, link in search_links(data):
        total = search_total(link)
        if total != figure:
            wrong.append(f"{where}: figure {figure}, its search gives {total} "
                         f"(q={link.q!r}, filters={link.filters})")
    return wrong


# The four selections, then requests that already filter a facet with values its links narrow by another
LINK_REQUESTS = {
    **{name: params for name, (params, _) in SELECTIONS.items()},
    "two drugs": {"drug": ["cyclobenzaprine", "lidocaine"]},
    "decision=Upheld": {"decision": "Upheld"},
    "two years": {"year": ["2016", "2017"]},
    "two reviewer guidelines": {"reviewer_guideline": ["MTUS/CPMTG", "ODG"]},
    "text and two treatments": {"q": "mri OR x-ray", "treatment": ["MRI", "X-ray"]},
}
SECTIONS = ("summary", "by_year", "divergence", "specialties", "drugs", "products", "treatments",
            "reviewer_guidelines", "ca_guidelines", "regions", "since_injury", "why", "wording")


@pytest.mark.parametrize("params", list(LINK_REQUESTS.values()), ids=list(LINK_REQUESTS))
def test_every_search_link_is_attached_to_a_figure(statistics, params):
    data = statistics(params)
    assert len(search_links(data)) == count_requests(data)
    assert set(data) - {"typical"} == set(SECTIONS)


@pytest.mark.parametrize("section", SECTIONS)
@pytest.mark.parametrize("params", list(LINK_REQUESTS.values()), ids=list(LINK_REQUESTS))
def test_every_precedent_figure_links_to_as_many_passages(search_total, statistics, params, section):
    assert wrong_links(search_total, statistics(params)[section]) == []


@pytest.mark.parametrize("params, facet", [
    ({"drug": ["cyclobenzaprine", "lidocaine"]}, "drug"),
    ({"decision": "Upheld"}, "decision"),
    ({"reviewer_guideline": ["MTUS/CPMTG", "ODG"]}, "reviewer_guideline"),
])
def test_links_narrow_a_facet_already_filtered_with_another_value(statistics, params, facet):
    """A value the request does not hold is ANDed as a query condition, so the link never widens."""
    links = [link for _, _, link in search_links(statistics(params))]
    added = [link for link in links if f'{facet}:"' in link.q]
    assert added, f"no link narrows {facet} by another value; the test would not cover narrowing"
    for link in added:
        assert set(link.values(facet)) == set(SearchRequest.from_params(params).values(facet))


# --------------------------------------------------------------------------------------------
# The guideline index and the guideline pages


@pytest.fixture(scope="module")
def guideline_rows(index) -> list[dict]:
    return build_guideline_index(index.match(SearchRequest()))


@pytest.fixture(scope="module")
def cited_ids(index) -> list[str]:
    return index.generation().columns.facets["guideline"].values.tolist()


@pytest.fixture(scope="module")
def views(index, cited_ids) -> dict[str, dict]:
    """guideline_view() of every cited id, computed once (the slow part: phrases read rationales)."""
    return {citation_id: guideline_view(index.match(SearchRequest(filters=(("guideline", (citation_id,)),))),
                                        citation_id)
            for citation_id in cited_ids}


def test_cited_ids_are_the_brute_force_ids(cited_ids, passages):
    assert set(cited_ids) == {c for p in passages for c in p.cited}


def test_guideline_index_has_a_row_for_every_cited_id(guideline_rows, cited_ids):
    assert sorted(row["id"] for row in guideline_rows) == sorted(cited_ids)


def test_guideline_index_totals_and_side_counts(guideline_rows, passages):
    expected = {}
    for citation_id in {c for p in passages for c in p.cited}:
        ps = [p for p in passages if citation_id in p.cited]
        upheld = sum(1 for p in ps if p.decision == UPHELD)
        expected[citation_id] = {
            "id": citation_id, "label": citation_label(citation_id), "depth": citation_id.count("/"),
            "total": len(ps), "upheld_pct": _pct(upheld, len(ps)), "upheld_ci": wilson_interval(upheld, len(ps)),
            "few": len(ps) < FEW_DECISIONS,
            "claims_administrator": sum(1 for p in ps if refines(citation_id, p.ca)),
            "reviewer": sum(1 for p in ps if refines(citation_id, p.reviewer)),
        }
    assert {row["id"]: row for row in guideline_rows} == expected


def test_guideline_index_is_in_guideline_order(guideline_rows):
    ids = [row["id"] for row in guideline_rows]
    assert ids == sorted(ids, key=citation_sort_key)


def test_every_cited_passage_is_counted_on_at_least_one_side(guideline_rows):
    for row in guideline_rows:
        assert max(row["reviewer"], row["claims_administrator"]) <= row["total"]
        assert row["reviewer"] + row["claims_administrator"] >= row["total"], row


def test_guideline_view_exists_for_every_cited_id(views, cited_ids):
    for citation_id in cited_ids:
        view = views[citation_id]
        assert view["id"] == citation_id
        assert view["label"] == citation_label(citation_id)
        assert view["summary"]["total"] > 0
        assert sum(len(rows) for rows in view["typical"].values()) > 0, citation_id


def test_guideline_view_summary_and_sides_equal_brute_force(views, passages):
    wrong = {}
    for citation_id, view in views.items():
        ps = [p for p in passages if citation_id in p.cited]
        expected = {
            "summary": outcomes(ps),
            "reviewer": outcomes([p for p in ps if refines(citation_id, p.reviewer)]),
            "claims_administrator": outcomes([p for p in ps if refines(citation_id, p.ca)]),
        }
        got = {"summary": figures(view["summary"]),
               "reviewer": figures(view["sides"]["reviewer"]),
               "claims_administrator": figures(view["sides"]["claims_administrator"])}
        if got != expected:
            wrong[citation_id] = (got, expected)
    assert wrong == {}


def test_guideline_view_breakdowns_equal_brute_force(views, passages):
    wrong = {}
    for citation_id, view in views.items():
        ps = [p for p in passages if citation_id in p.cited]
        got = {"drugs": [figures(r, "value") for r in view["drugs"]],
               "treatments": [figures(r, "value") for r in view["treatments"]],
               "by_year": [figures(r, "year") for r in view["by_year"]],
               "divergence": {side: figures(view["divergence"][side]) for side in ("differ", "same")}}
        expected = {"drugs": expected_breakdown(ps, VALUES_OF["drugs"]),
                    "treatments": expected_breakdown(ps, VALUES_OF["treatments"]),
                    "by_year": expected_by_year(ps),
                    "divergence": expected_divergence(ps)}
        if got != expected:
            wrong[citation_id] = {key: (got[key], expected[key]) for key in got if got[key] != expected[key]}
    assert wrong == {}


@pytest.mark.parametrize("citation_id", ["MTUS", "MTUS/CPMTG", "MTUS/CPMTG/p29", "ODG", "MTUS/CPMTG/s:carisoprodol"])
def test_every_guideline_view_figure_links_to_as_many_passages(search_total, views, citation_id):
    view = {key: value for key, value in views[citation_id].items() if key != "phrases"}
    assert len(search_links(view)) == count_requests(view)
    assert wrong_links(search_total, view) == []


def test_guideline_phrases_are_from_its_rationales(views):
    view = views["MTUS/CPMTG"]
    assert view["phrases"], "the most cited guideline part has no distinctive phrases"
    for phrase in view["phrases"]:
        assert phrase["rationales"] >= 2
        assert 0 < phrase["share_pct"] <= 100


@pytest.fixture
def cached_views(monkeypatch, views):
    """The guideline pages served from the views computed above (the same index and generation): the pages'
    routing, id checks, ancestors and templates are what the page tests exercise, not the phrase counting
    again."""
    real = precedent_views.guideline_view
    monkeypatch.setattr(precedent_views, "guideline_view",
                        lambda match, citation_id: copy.deepcopy(views[citation_id]) if citation_id in views
                        else real(match, citation_id))


def test_every_guideline_page_returns_200(client, cited_ids, cached_views):
    failed = {}
    for citation_id in cited_ids:
        response = client.get(f"/guidelines/{citation_id}")
        if response.status_code != 200:
            failed[citation_id] = response.status_code
        elif f"<code>{citation_id}</code>" not in response.get_data(as_text=True):
            failed[citation_id] = "page does not name its id"
    assert failed == {}


def test_guidelines_page_links_every_cited_id(client, cited_ids):
    doc = parse_html(client.get("/guidelines").get_data(as_text=True))
    linked_ids = {href.removeprefix("/guidelines/") for href in hrefs(doc) if href.startswith("/guidelines/")}
    assert linked_ids == set(cited_ids)


@pytest.mark.parametrize("url", ["/guidelines/NOPE", "/guidelines/MTUS/CPMTG/p99999", "/guidelines/MTUS/<b>",
                                 "/guidelines/" + "M" * 300])
def test_unknown_guideline_page_is_404(client, url):
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("url", ["/api/guidelines/NOPE", "/api/guidelines/MTUS/CPMTG/p99999"])
def test_unknown_guideline_api_is_a_json_404(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert response.get_json()["error"]["status"] == 404


@pytest.mark.parametrize("citation_id", ["MTUS/CPMTG", "MTUS/CPMTG/p29", "ODG"])
def test_guideline_api_equals_brute_force(client, passages, citation_id):
    data = client.get(f"/api/guidelines/{citation_id}").get_json()["guideline"]
    ps = [p for p in passages if citation_id in p.cited]
    assert data["id"] == citation_id
    assert figures(data["summary"]) == outcomes(ps)
    assert figures(data["sides"]["reviewer"]) == outcomes([p for p in ps if refines(citation_id, p.reviewer)])
    assert figures(data["sides"]["claims_administrator"]) == outcomes([p for p in ps if refines(citation_id, p.ca)])
    assert [figures(r, "value") for r in data["drugs"]] == expected_breakdown(ps, VALUES_OF["drugs"])
    assert set(data["typical"][UPHELD] + data["typical"][OVERTURNED]) <= {p.id for p in ps}


def test_guidelines_api_lists_the_guideline_index(client, guideline_rows):
    rows = client.get("/api/guidelines").get_json()["guidelines"]
    assert [{k: v for k, v in row.items() if k != "url"} for row in rows] == guideline_rows
    assert all(row["url"] == f"http://localhost/api/guidelines/{row['id']}" for row in rows)


# --------------------------------------------------------------------------------------------
# The carisoprodol precedents page


def hrefs(doc: Element) -> list[str]:
    return [n.attrs["href"] for n in doc.iter() if n.tag in ("a", "link") and n.attrs.get("href")]


_ITEM = re.compile(r"/letters/([^/?#]+)/items/(\d+)")


def item_links(nodes) -> list[str]:
    """Passage ids ("CM16-0213037/2") of the item permalinks among the hrefs of `nodes`, in order, once each."""
    found = []
    for node in nodes:
        for href in hrefs(node):
            match = _ITEM.search(href)
            if match and f"{match.group(1)}/{match.group(2)}" not in found:
                found.append(f"{match.group(1)}/{match.group(2)}")
    return found


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


CARISOPRODOL_PAGES = ["/precedents?drug=carisoprodol", "/precedents?drug=soma"]


@pytest.fixture(scope="module", params=CARISOPRODOL_PAGES, ids=["carisoprodol", "soma"])
def carisoprodol_page(request, app) -> Element:
    response = app.test_client().get(request.param)
    assert response.status_code == 200
    return parse_html(response.get_data(as_text=True))


def test_carisoprodol_typical_upheld_rationale_is_a_seed(carisoprodol_page, seed_ids):
    cards = carisoprodol_page.find_all("article", "decision-upheld-card")
    assert len(cards) == 1
    assert item_links(cards) and set(item_links(cards)) <= set(seed_ids)


def test_carisoprodol_page_has_no_overturned_rationale(carisoprodol_page):
    assert carisoprodol_page.find_all("article", "decision-overturned-card") == []


def test_carisoprodol_page_links_a_search_listing_both_seeds(carisoprodol_page, client, seed_ids):
    search = [a.attrs["href"] for a in carisoprodol_page.find_all("a") if a.squashed_text.startswith("All 2 decisions")]
    assert len(search) == 1
    results = parse_html(client.get(search[0]).get_data(as_text=True))
    assert sorted(item_links(results.find_all("li", "hit"))) == sorted(seed_ids)


def test_carisoprodol_page_shows_100_percent_upheld(carisoprodol_page):
    headline = carisoprodol_page.find_all("div", "headline-figures")[0]
    figure_texts = [a.squashed_text for a in headline.find_all("a", "figure")]
    assert figure_texts[:3] == ["2", "100 %", "0 %"]


def _table(doc: Element, caption: str) -> Element:
    tables = [t for t in doc.find_all("table") if t.find_all("caption") and t.find_all("caption")[0].squashed_text == caption]
    assert len(tables) == 1, caption
    return tables[0]


def shown_label(citation_id: str) -> str:
    """A citation's label as a page shows it: page numbers and ranges kept on one line (kb.web.numbers)."""
    return " ".join(unbroken(citation_label(citation_id)).split())


def test_carisoprodol_page_shows_the_guidelines_the_seeds_rely_on(carisoprodol_page, by_id, seed_ids):
    relied_on = {c for pid in seed_ids for c in by_id[pid].reviewer}
    rows = _table(carisoprodol_page, "Most relied on by reviewers").find_all("tr")[1:]
    shown = {row.find_all("th")[0].squashed_text for row in rows}
    assert shown == {shown_label(c) for c in relied_on}
    cited_by_both = {row.find_all("th")[0].squashed_text for row in rows if row.find_all("td")[0].squashed_text == "2"}
    assert cited_by_both == {shown_label(c) for c in relied_on
                             if all(c in by_id[pid].reviewer for pid in seed_ids)}


def test_soma_and_carisoprodol_pages_show_the_same_figures(client):
    pages = [parse_html(client.get(url).get_data(as_text=True)) for url in CARISOPRODOL_PAGES]
    numbers = [[td.squashed_text for td in doc.find_all("td", "num")] for doc in pages]
    assert numbers[0] == numbers[1] and numbers[0]


def test_every_link_on_the_carisoprodol_page_resolves(carisoprodol_page, client):
    failed = {}
    for href in dict.fromkeys(hrefs(carisoprodol_page)):
        if href.startswith("data:"):  # an inline resource (the empty favicon), not a link to follow
            continue
        assert not urlsplit(href).netloc or urlsplit(href).netloc == "localhost", href
        response = client.get(path_of(href), follow_redirects=True)
        if response.status_code != 200:
            failed[href] = response.status_code
        response.close()  # static files are streamed from an open file
    assert failed == {}


# --------------------------------------------------------------------------------------------
# /api/precedents


@pytest.mark.parametrize("name", ["drug=carisoprodol", "category=Diagnostic Testing"])
def test_precedents_api_equals_brute_force(client, passages, name):
    params, wanted = SELECTIONS[name]
    ps = [p for p in passages if wanted(p)]
    data = client.get("/api/precedents", query_string=params).get_json()
    assert data["version"] == 1
    assert figures(data["summary"]) == outcomes(ps)
    assert [figures(row, "year") for row in data["by_year"]] == expected_by_year(ps)
    for key in ("drugs", "treatments", "specialties"):
        assert [figures(row, "value") for row in data[key]] == expected_breakdown(ps, VALUES_OF[key]), key
    for key in SIDE_BREAKDOWNS:
        expected = {row["value"]: row for row in expected_side_breakdown(ps, VALUES_OF[key], limit=None)}
        assert [figures(row, "value") for row in data[key]] == [expected[row["value"]] for row in data[key]], key
    assert {side: figures(data["divergence"][side]) for side in ("differ", "same")} == expected_divergence(ps)


def test_precedents_api_equals_the_page_data(client, statistics):
    api = client.get("/api/precedents?drug=carisoprodol").get_json()
    data = statistics({"drug": "carisoprodol"})

    def numbers(value):
        if isinstance(value, dict):
            return {k: numbers(v) for k, v in value.items() if k not in ("links", "link", "typical")}
        if isinstance(value, list):
            return [numbers(v) for v in value]
        return value

    assert numbers(api) == {"version": 1, "generation": api["generation"], "request": api["request"],
                            **numbers(data)}


def test_precedents_api_links_are_absolute_searches_giving_their_figure(client):
    data = client.get("/api/precedents?drug=carisoprodol").get_json()
    wrong = []
    for where, figure, url in search_links({k: v for k, v in data.items() if k != "typical"}):
        assert url.startswith("http://localhost/search"), url
        total = client.get("/api/search" + path_of(url).removeprefix("/search")).get_json()["total"]
        if total != figure:
            wrong.append((where, figure, total))
    assert wrong == []


def test_precedents_api_names_the_typical_seed(client, seed_ids):
    data = client.get("/api/precedents?drug=soma").get_json()
    assert data["typical"][UPHELD] and set(data["typical"][UPHELD]) <= set(seed_ids)
    assert data["typical"][OVERTURNED] == []


# --------------------------------------------------------------------------------------------
# distinctive_phrases()


BACKGROUND = [
    "The request for physical therapy is not medically necessary at this time.",
    "Physical therapy was requested for the lumbar spine and the patient improved.",
    "The patient has chronic pain and the request is not medically necessary.",
    "There is no documentation of objective functional improvement with therapy.",
]


def phrases_of(result: list[dict]) -> list[str]:
    return [row["phrase"] for row in result]


def test_phrases_common_here_and_rare_in_background_rank_first():
    texts = [
        "Weaning is recommended for carisoprodol; the request is not medically necessary.",
        "Carisoprodol is not recommended and weaning is recommended before it is stopped.",
        "Weaning is recommended. Physical therapy is not medically necessary.",
        "A withdrawal syndrome is possible, so weaning is recommended here.",
    ]
    result = distinctive_phrases(texts, BACKGROUND)
    assert phrases_of(result)[0] == "weaning is recommended"
    assert result[0]["rationales"] == 4 and result[0]["share_pct"] == 100.0
    assert "medically necessary" not in phrases_of(result)  # as common in the background


def test_phrases_never_start_or_end_with_a_glue_word():
    texts = ["The trial of opioids failed in the patient.", "A trial of opioids failed in the end.",
             "After the trial of opioids failed in the clinic, weaning began."]
    result = phrases_of(distinctive_phrases(texts, BACKGROUND))
    assert "trial of opioids failed" in result  # glue words inside a phrase are kept
    for phrase in result:
        words = phrase.split()
        assert words[0] not in {"the", "of", "in", "a"} and words[-1] not in {"the", "of", "in", "a"}, phrase


def test_a_phrase_counts_once_per_text():
    texts = ["Lumbar fusion surgery, lumbar fusion surgery, lumbar fusion surgery again.",
             "The lumbar fusion surgery was denied."]
    result = distinctive_phrases(texts, BACKGROUND)
    assert {row["phrase"]: row["rationales"] for row in result}["lumbar fusion surgery"] == 2


def test_a_phrase_in_one_text_only_is_left_out():
    texts = ["Lumbar fusion surgery was denied.", "The lumbar fusion surgery was denied.",
             "An unrepeated zebra phrase appears once."]
    assert "unrepeated zebra" not in phrases_of(distinctive_phrases(texts, BACKGROUND))


def test_a_shorter_phrase_with_the_same_count_gives_way_to_the_longer():
    texts = ["Lumbar fusion surgery was denied.", "The lumbar fusion surgery was denied."]
    result = phrases_of(distinctive_phrases(texts, BACKGROUND))
    assert "lumbar fusion surgery was denied" not in result  # 5 words: longer than any phrase
    assert "lumbar fusion surgery" in result or "fusion surgery was denied" in result
    assert "lumbar fusion" not in result and "fusion surgery" not in result


def test_phrases_naming_a_guideline_are_left_out():
    texts = ["The MTUS chronic pain guidelines apply.", "MTUS chronic pain guidelines apply here."]
    assert all("mtus" not in phrase for phrase in phrases_of(distinctive_phrases(texts, BACKGROUND)))


def test_phrases_against_an_empty_background_are_ranked_by_count():
    """With no background every phrase is rare elsewhere: the ones used most rank first."""
    texts = ["Home health aide twice weekly.", "Home health aide requested.", "A home health visit."]
    result = distinctive_phrases(texts, [])
    assert result and phrases_of(result)[0] == "home health"
    assert result[0]["rationales"] == 3


@pytest.mark.parametrize("texts, background", [([], []), ([], BACKGROUND)])
def test_no_texts_give_no_phrases(texts, background):
    assert distinctive_phrases(texts, background) == []


def test_phrases_are_limited():
    texts = [f"alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu {n}" for n in range(3)]
    assert len(distinctive_phrases(texts, BACKGROUND, limit=4)) == 4


# --------------------------------------------------------------------------------------------
# Similar rationales and compare


@pytest.fixture(scope="module")
def similar_lists(index, passages) -> dict[str, list[str]]:
    return {p.id: [hit.passage_id for hit in index.similar(p.id)] for p in passages}


def test_similar_page_lists_other_passages(client):
    doc = parse_html(client.get(f"/letters/{SIMILAR_SOURCE.replace('/', '/items/')}/similar").get_data(as_text=True))
    listed = item_links(doc.find_all("li", "hit"))
    assert listed and SIMILAR_SOURCE not in listed


def test_similar_api_lists_other_passages_best_first(client):
    data = client.get(f"/api/letters/{SIMILAR_SOURCE.replace('/', '/items/')}/similar").get_json()
    assert data["passage_id"] == SIMILAR_SOURCE
    ids = [row["passage_id"] for row in data["similar"]]
    assert ids and SIMILAR_SOURCE not in ids and len(ids) == len(set(ids)) <= 10
    scores = [row["score"] for row in data["similar"]]
    assert scores == sorted(scores, reverse=True)


def test_similar_api_equals_the_page(client):
    base = f"/letters/{SIMILAR_SOURCE.replace('/', '/items/')}/similar"
    page_ids = item_links(parse_html(client.get(base).get_data(as_text=True)).find_all("li", "hit"))
    api_ids = [row["passage_id"] for row in client.get("/api" + base).get_json()["similar"]]
    assert page_ids == api_ids


def test_no_passage_is_similar_to_itself(similar_lists):
    assert [pid for pid, similar in similar_lists.items() if pid in similar] == []


def test_similar_to_the_mri_passage_are_mostly_mris(similar_lists, by_id):
    treatment = by_id[SIMILAR_SOURCE].treatment
    assert treatment == "MRI"
    shown = [by_id[pid].treatment for pid in similar_lists[SIMILAR_SOURCE]]
    assert shown[0] == treatment and shown.count(treatment) > len(shown) // 2


def test_the_first_similar_passage_shares_a_drug_when_one_does(similar_lists, by_id):
    """The same drug weighs most: when another passage is about one of its drugs, the best match is."""
    wrong = {}
    for pid, similar in similar_lists.items():
        drugs = by_id[pid].drugs
        if not drugs or not any(q != pid and by_id[q].drugs & drugs for q in by_id):
            continue
        if not similar or not by_id[similar[0]].drugs & drugs:
            wrong[pid] = (sorted(drugs), similar[:1], sorted(by_id[similar[0]].drugs) if similar else [])
    assert wrong == {}


def test_the_first_similar_passage_shares_the_treatment_when_one_does(similar_lists, by_id):
    """Passages without a drug: when another passage has its treatment, the best match has it."""
    wrong = {}
    for pid, similar in similar_lists.items():
        treatment = by_id[pid].treatment
        if by_id[pid].drugs or not treatment:
            continue
        if not any(q != pid and by_id[q].treatment == treatment for q in by_id):
            continue
        if not similar or by_id[similar[0]].treatment != treatment:
            wrong[pid] = (treatment, similar[:1], by_id[similar[0]].treatment if similar else None)
    assert wrong == {}


@pytest.mark.parametrize("url", ["/letters/CM99-0000001/items/1/similar", "/letters/CM16-0213037/items/9/similar",
                                 "/api/letters/CM99-0000001/items/1/similar", "/letters/nonsense/items/1/similar"])
def test_similar_of_an_unknown_passage_is_404(client, url):
    assert client.get(url).status_code == 404


def test_compare_shows_both_rationales(client, by_id):
    first, second = "CM16-0213037/1", "CM16-0219557/1"
    response = client.get(f"/compare?p={first}&p={second}")
    assert response.status_code == 200
    doc = parse_html(response.get_data(as_text=True))
    cards = doc.find_all("article", "rationale-card")
    assert item_links(cards) == [first, second]
    for card, pid in zip(cards, (first, second)):
        assert card.find_all("div", "rationale")[0].squashed_text == " ".join(by_id[pid].rationale.split())


def test_compare_accepts_oddly_written_ids(client):
    response = client.get("/compare", query_string=[("p", "cm16 0213037/1"), ("p", "CM160213037/2")])
    assert response.status_code == 200
    assert item_links(parse_html(response.get_data(as_text=True)).find_all("article")) == \
        ["CM16-0213037/1", "CM16-0213037/2"]


@pytest.mark.parametrize("query", ["", "?p=CM16-0213037/1", "?p=CM16-0213037/1&p=CM16-0213037/2&p=CM16-0219557/1"])
def test_compare_needs_exactly_two_passages(client, query):
    response = client.get("/compare" + query)
    assert response.status_code == 400
    assert "exactly two" in parse_html(response.get_data(as_text=True)).find_all("p", "error-message")[0].squashed_text


def test_compare_of_a_malformed_id_is_400(client):
    assert client.get("/compare?p=CM16-0213037&p=CM16-0213037/2").status_code == 400


@pytest.mark.parametrize("query", ["?p=CM16-0213037/1&p=CM99-0000001/1", "?p=CM16-0213037/1&p=CM16-0213037/9"])
def test_compare_of_an_unknown_passage_is_404(client, query):
    assert client.get("/compare" + query).status_code == 404


def _segments(text: str) -> list[dict]:
    return [{"text": text, "hit": False}]


def _marked(segments: list[dict]) -> list[str]:
    return [" ".join(s["text"].split()) for s in segments if s["hit"]]


def test_word_differences_mark_only_the_words_the_other_lacks():
    left = "The request for Norco is not medically necessary because there is no documented functional improvement."
    right = "The request for Norco is medically necessary because the worker returned to full duty with less pain."
    a, b = word_differences(_segments(left), _segments(right))
    assert "".join(s["text"] for s in a) == left and "".join(s["text"] for s in b) == right
    assert _marked(a) == ["not", "there is no documented functional improvement."]
    assert _marked(b) == ["the worker returned to full duty with less pain."]


def test_word_differences_ignore_case_punctuation_and_chance_words():
    same = "Weaning is recommended, per the MTUS."
    assert _marked(word_differences(_segments(same), _segments(same.upper().replace(",", "")))[0]) == []
    # "the" and "for" alone in common are chance, not shared wording
    a, _ = word_differences(_segments("the cream for pain"), _segments("the knee brace for walking"))
    assert _marked(a) == ["the cream for pain"]


def test_word_differences_of_a_huge_rationale_leave_it_unmarked():
    huge = "word " * (MAX_DIFF_WORDS + 1)
    a, b = word_differences(_segments(huge), _segments("word word word"))
    assert a == _segments(huge) and b == _segments("word word word")


def test_compare_marks_what_differs(client, by_id):
    first, second = "CM16-0213037/1", "CM16-0219557/1"
    doc = parse_html(client.get(f"/compare?p={first}&p={second}").get_data(as_text=True))
    rows = {row.find_all("th")[0].squashed_text: row for row in doc.find_all("tr") if row.find_all("th")
            and row.find_all("td")}
    assert {"Decision", "Treatment", "Drugs", "Reviewer cited"} <= set(rows)
    differing = sorted(label for label, row in rows.items() if "differs" in row.attrs.get("class", ""))
    summary = doc.find_all("p", "compare-summary")[0].squashed_text
    assert summary == "They differ in " + ", ".join(label.lower() for label in
                                                    [lbl for lbl, _ in COMPARED_FIELDS if lbl in differing]) + "."
    # every word marked on one side is a word the other rationale does not hold at all, or out of place
    cards = doc.find_all("article", "rationale-card")
    for card, pid in zip(cards, (first, second)):
        assert card.find_all("div", "rationale")[0].squashed_text == " ".join(by_id[pid].rationale.split())
    assert any(card.find_all("mark", "diff") for card in cards)


def test_compare_of_a_passage_with_itself_marks_nothing(client):
    doc = parse_html(client.get("/compare?p=CM16-0213037/1&p=cm16 0213037/1").get_data(as_text=True))
    assert [m for card in doc.find_all("article", "rationale-card") for m in card.find_all("mark", "diff")] == []
    assert doc.find_all("p", "compare-summary")[0].squashed_text.startswith("They agree in every field")


# --------------------------------------------------------------------------------------------
# The Atom feed


def feed(client, query: str) -> ET.Element:
    response = client.get("/feeds/search.atom" + query)
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    return ET.fromstring(response.get_data())


def entry_dates(root: ET.Element) -> list[str]:
    return [entry.findtext(f"{ATOM}updated")[:10] for entry in root.findall(f"{ATOM}entry")]


@pytest.mark.parametrize("query, wanted", [
    ("?drug=cyclobenzaprine", lambda p: "cyclobenzaprine" in p.drugs),
    ("?drug=soma", lambda p: "carisoprodol" in p.drugs),
    ("?category=Diagnostic+Testing", lambda p: p.category == "Diagnostic Testing"),
])
def test_feed_holds_the_newest_matches_newest_first(client, passages, query, wanted):
    root = feed(client, query)
    ps = [p for p in passages if wanted(p)]
    dates = entry_dates(root)
    assert len(dates) == min(len(ps), FEED_ENTRIES)
    assert dates == sorted(dates, reverse=True)
    newest = sorted((p.decision_date or "1970-01-01" for p in ps), reverse=True)[:FEED_ENTRIES]
    assert dates == newest


def test_feed_entries_are_the_matching_passages(client, passages):
    root = feed(client, "?drug=cyclobenzaprine")
    ids = []
    for entry in root.findall(f"{ATOM}entry"):
        match = _ITEM.search(entry.find(f"{ATOM}link").get("href"))
        ids.append(f"{match.group(1)}/{match.group(2)}")
        assert entry.findtext(f"{ATOM}id") == entry.find(f"{ATOM}link").get("href")
    assert sorted(ids) == sorted(p.id for p in passages if "cyclobenzaprine" in p.drugs)


def test_feed_entry_links_resolve(client):
    root = feed(client, "?drug=cyclobenzaprine")
    links = [entry.find(f"{ATOM}link").get("href") for entry in root.findall(f"{ATOM}entry")]
    links += [link.get("href") for link in root.findall(f"{ATOM}link")]
    assert links
    for link in links:
        assert urlsplit(link).netloc == "localhost", link
        assert client.get(path_of(link), follow_redirects=True).status_code == 200, link


def test_feed_of_no_match_is_an_empty_valid_feed(client):
    root = feed(client, "?drug=nosuchdrugatall")
    assert root.findall(f"{ATOM}entry") == []
    assert root.findtext(f"{ATOM}title")


# --------------------------------------------------------------------------------------------
# wilson_interval(): the 95 % interval shown beside every rate


# (successes, trials) -> the interval in percent: Newcombe (1998), "Two-sided confidence intervals for the
# single proportion", Statistics in Medicine 17, table I, method 3 (Wilson score, no continuity correction)
NEWCOMBE_WILSON = [
    ((81, 263), [25.5, 36.6]),
    ((15, 148), [6.2, 16.0]),
    ((0, 20), [0.0, 16.1]),
    ((1, 29), [0.6, 17.2]),
    ((29, 29), [88.3, 100.0]),
    ((0, 1), [0.0, 79.3]),
]


@pytest.mark.parametrize(("counts", "expected"), NEWCOMBE_WILSON)
def test_wilson_interval_matches_the_published_values(counts, expected):
    assert wilson_interval(*counts) == expected


def test_wilson_interval_of_no_trials_is_none_and_stays_within_0_and_100():
    assert wilson_interval(0, 0) is None
    for total in range(1, 60):
        for successes in range(total + 1):
            low, high = wilson_interval(successes, total)
            assert 0 <= low <= 100 * successes / total <= high <= 100
