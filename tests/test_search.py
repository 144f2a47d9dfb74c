"""Search (kb.search) over the real index on disk: results and facet counts against a ground truth counted
independently from the letters, requests and their refusals, paging and sorting, snippets, CSV rows, the
letter record, and a newly published generation being picked up."""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs

import pytest

from kb.documents import letter_id_of, passage_id_of
from kb.drugs import DRUGS
from kb.extract import extract_text
from kb.guidelines import citation_ancestry
from kb.ingest import index_paths
from kb.letters import parse_letter
from kb.search import SearchIndex, SearchResults, highlight_words
from kb.search_request import (
    FACETS,
    MAX_FILTER_VALUES,
    MAX_PER_PAGE,
    MAX_RESULT_WINDOW,
    MAX_VALUE_CHARS,
    PER_PAGE,
    SearchError,
    SearchRequest,
)
from kb.snippets import snippet
from kb.why import why_tags
from kb.wording import group_near_duplicates, letter_of

FACET_NAMES = tuple(spec.name for spec in FACETS if spec.shown)  # the sidebar's facets, with counts
DWC_FACETS = ("dwc_category", "dwc")  # no real letter here has the DWC's row beside it: tests/test_dwc_rows.py
EVERY_FACET_EXPANDED = {"expand": ",".join(FACET_NAMES)}
REAL_PASSAGES = 307

# --------------------------------------------------------------------------------------------
# Ground truth: every letter parsed from its .txt (the PDF of a letter parses to the same items), and
# each passage's facet values taken straight from the parsed items, without the index or its columns.


@dataclass(frozen=True)
class Passage:
    passage_id: str
    letter_id: str
    heading: str
    rationale: str
    decided: date | None
    facets: dict[str, frozenset[str]]  # facet name (URL parameter) -> the passage's values
    cited: dict[str, frozenset[str]]  # "ca" and "reviewer" -> the citation ids each side gave


def _passages_of(path: Path) -> list[Passage]:
    letter = parse_letter(extract_text(path).text)
    letter_id = letter_id_of(letter)
    decided = date.fromisoformat(letter.decision_date) if letter.decision_date else None
    passages = []
    for item, why in zip(letter.items, why_tags(letter)):
        citations = (*item.claims_administrator_citations, *item.reviewer_citations)
        ca_ids = {c.id for c in item.claims_administrator_citations}
        reviewer_ids = {c.id for c in item.reviewer_citations}
        facets = {
            "decision": {item.decision},
            "drug": {i.name for i in item.ingredients},  # drugs are counted by active ingredient
            "product": {m.generic for m in item.drugs},
            "class": {m.drug_class for m in item.drugs} | {i.drug_class for i in item.ingredients},
            "category": {item.treatment.category},
            "treatment": {item.treatment.subcategory} if item.treatment.subcategory else set(),
            "source": {c.source for c in citations},
            "guideline": {ancestor for c in citations for ancestor in citation_ancestry(c.id)},
            "divergent": {"differ" if ca_ids != reviewer_ids else "same"},
            "specialty": set(letter.reviewer.specialties),
            "year": {str(decided.year)} if decided else set(),
            **{name: set() for name in DWC_FACETS},
            "region": {why["region"]},
            "since_injury": {why["since_injury"]},
            "reason": set(why["reason_ids"]),
            "diagnosis": {d["id"] for d in why["diagnoses"]},
            "wording": set(),  # needs every letter: with_wording below
        }
        passages.append(Passage(passage_id_of(letter_id, item.ordinal), letter_id, item.heading, item.rationale,
                                decided, {name: frozenset(values) for name, values in facets.items()},
                                {"ca": frozenset(ca_ids), "reviewer": frozenset(reviewer_ids)}))
    return passages


def with_wording(passages: list[Passage]) -> list[Passage]:
    """The passages with their `wording` facet: templated where kb.wording groups the rationale with one of
    another letter, else individual."""
    groups = group_near_duplicates((p.passage_id, p.rationale) for p in passages)
    templated = {i for g in groups if len({letter_of(i) for i in g}) > 1 for i in g}
    return [Passage(p.passage_id, p.letter_id, p.heading, p.rationale, p.decided,
                    {**p.facets, "wording": frozenset({"templated" if p.passage_id in templated else "individual"})},
                    p.cited) for p in passages]


def count_values(passages: list[Passage], facet: str) -> dict[str, int]:
    """How many of `passages` hold each value of `facet`, counted one passage at a time."""
    counts: Counter[str] = Counter()
    for passage in passages:
        for value in passage.facets[facet]:
            counts[value] += 1
    return dict(counts)


def having(passages: list[Passage], **wanted: str | tuple[str, ...]) -> list[Passage]:
    """The passages holding, for every facet named, one of the wanted values."""
    chosen = []
    for passage in passages:
        if all(passage.facets[name] & ({values} if isinstance(values, str) else set(values))
               for name, values in wanted.items()):
            chosen.append(passage)
    return chosen


def ids_of(passages) -> set[str]:
    return {p.passage_id for p in passages}


def mentioning(passages: list[Passage], pattern: str) -> set[str]:
    """Passages whose heading or rationale matches the regular expression (case-insensitive)."""
    found = re.compile(pattern, re.IGNORECASE)
    return {p.passage_id for p in passages if found.search(p.heading) or found.search(p.rationale)}


def squashed(text: str) -> str:
    return " ".join(text.split())


# --------------------------------------------------------------------------------------------
# Searching


def request(**params) -> SearchRequest:
    return SearchRequest.from_params(params)


def search(index: SearchIndex, **params) -> SearchResults:
    return index.search(request(**params))


def result_ids(index: SearchIndex, **params) -> list[str]:
    """Every hit's passage id in result order, paging through at the largest page size."""
    params = {**params, "per_page": str(MAX_PER_PAGE)}
    first = search(index, **params)
    found = [hit.passage_id for hit in first.hits]
    for page in range(2, first.pages + 1):
        found += [hit.passage_id for hit in search(index, **params, page=str(page)).hits]
    assert len(found) == first.total
    return found


def result_set(index: SearchIndex, q: str, **params) -> set[str]:
    found = result_ids(index, q=q, **params)
    assert len(found) == len(set(found)), f"{q!r} returned a passage twice"
    return set(found)


def facet_counts(results: SearchResults, name: str) -> dict[str, int]:
    (facet,) = [f for f in results.facets if f["name"] == name]
    assert facet["more"] == 0, f"{name}: not every value is shown; expand it"
    return {v["value"]: v["count"] for v in facet["values"] if v["count"]}


def from_query_string(query_string: str) -> SearchRequest:
    return SearchRequest.from_params(parse_qs(query_string.lstrip("?"), keep_blank_values=True))


def hit_texts(segments) -> list[str]:
    return [s.text for s in segments if s.hit]


# --------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def truth(letters_dir: Path, seeds_dir: Path) -> list[Passage]:
    passages = []
    for path in [*sorted(letters_dir.glob("*.txt")), *sorted(seeds_dir.glob("*.txt"))]:
        passages += _passages_of(path)
    return with_wording(passages)


@pytest.fixture(scope="module")
def by_id(truth) -> dict[str, Passage]:
    return {p.passage_id: p for p in truth}


@pytest.fixture(scope="module")
def everything(index) -> SearchResults:
    return search(index, **EVERY_FACET_EXPANDED)


@pytest.fixture(scope="module")
def seed_letter_ids(seeds_dir: Path) -> list[str]:
    return [letter_id_of(parse_letter(extract_text(path).text)) for path in sorted(seeds_dir.glob("*.txt"))]


# --------------------------------------------------------------------------------------------
# Everything, and facet counts against the ground truth


def test_the_ground_truth_has_every_real_passage_once(truth):
    assert len(truth) == REAL_PASSAGES
    assert len(ids_of(truth)) == REAL_PASSAGES


def test_no_query_finds_every_passage(index, everything, truth):
    assert everything.total == REAL_PASSAGES
    assert result_set(index, "") == ids_of(truth)


@pytest.mark.parametrize("facet", FACET_NAMES)
def test_facet_counts_of_everything_match_the_letters(everything, truth, facet):
    assert facet_counts(everything, facet) == count_values(truth, facet)


def test_two_facets_combine_with_and(index, truth):
    results = search(index, decision="Upheld", category="Pharmaceuticals", **EVERY_FACET_EXPANDED)
    both = having(truth, decision="Upheld", category="Pharmaceuticals")
    assert results.total == len(both) > 0
    assert result_set(index, "", decision="Upheld", category="Pharmaceuticals") == ids_of(both)
    # a third facet is counted over the passages both filters leave
    assert facet_counts(results, "drug") == count_values(both, "drug")
    assert facet_counts(results, "specialty") == count_values(both, "specialty")


def test_a_facets_own_counts_ignore_its_own_filter(index, truth):
    results = search(index, decision="Upheld", category="Pharmaceuticals", **EVERY_FACET_EXPANDED)
    # decision counts: every filter but decision; category counts: every filter but category
    assert facet_counts(results, "decision") == count_values(having(truth, category="Pharmaceuticals"), "decision")
    assert facet_counts(results, "category") == count_values(having(truth, decision="Upheld"), "category")


def test_two_values_of_a_facet_combine_with_or(index, truth):
    results = search(index, category=["Pharmaceuticals", "Injection"], **EVERY_FACET_EXPANDED)
    either = having(truth, category=("Pharmaceuticals", "Injection"))
    assert results.total == len(either) == len(having(truth, category="Pharmaceuticals")) + len(
        having(truth, category="Injection"))
    assert facet_counts(results, "category") == count_values(truth, "category")
    assert facet_counts(results, "decision") == count_values(either, "decision")


def test_two_values_of_a_multi_valued_facet_give_the_union(index, truth):
    # some compounded creams are both NSAIDs and topical analgesics: counted once
    nsaids = ids_of(having(truth, **{"class": "NSAIDs"}))
    topical = ids_of(having(truth, **{"class": "Topical Analgesics"}))
    assert nsaids & topical
    assert result_set(index, "", **{"class": ["NSAIDs", "Topical Analgesics"]}) == nsaids | topical


def test_facet_counts_of_a_text_search_are_counted_over_its_hits(index, by_id):
    results = search(index, q="mri", **EVERY_FACET_EXPANDED)
    hits = [by_id[i] for i in result_ids(index, q="mri")]
    for facet in FACET_NAMES:
        assert facet_counts(results, facet) == count_values(hits, facet), facet


@pytest.mark.parametrize(("name", "side"), [("reviewer_guideline", "reviewer"), ("ca_guideline", "ca")])
@pytest.mark.parametrize("cited", ["MTUS/CPMTG", "ODG", "NONE"])
def test_a_one_side_guideline_filter_finds_that_sides_citations_and_their_parts(index, truth, name, side, cited):
    expected = {p.passage_id for p in truth if any(i == cited or i.startswith(cited + "/") for i in p.cited[side])}
    assert result_set(index, "", **{name: cited}) == expected != set()
    assert result_set(index, f"{name}:{cited}") == expected


def test_facet_filter_values_are_matched_case_insensitively(index, truth):
    assert search(index, category="pharmaceuticals").total == len(having(truth, category="Pharmaceuticals"))
    assert search(index, **{"class": "opioids"}).total == len(having(truth, **{"class": "Opioids"}))


def test_a_drug_filter_accepts_a_brand(index, truth):
    assert search(index, drug="Soma").total == len(having(truth, drug="carisoprodol")) == 2


# --------------------------------------------------------------------------------------------
# Text queries


@pytest.mark.parametrize("q", ["Soma", "soma", "SOMA", "carisoprodol", "Vanadom"])
def test_soma_finds_the_carisoprodol_passages_of_both_seeds(index, truth, seed_letter_ids, q):
    names = [re.escape(n) for n in ("carisoprodol", *DRUGS["carisoprodol"].brands)]
    expected = ids_of(having(truth, drug="carisoprodol")) | mentioning(truth, r"\b(?:" + "|".join(names) + r")\b")
    found = result_set(index, q)
    assert found == expected
    assert {passage_id.split("/")[0] for passage_id in found} == set(seed_letter_ids)


@pytest.mark.parametrize("q", ["drug:soma", "drug:Soma", "brand:soma", "drug:carisoprodol", "generic:CARISOPRODOL"])
def test_a_drug_field_finds_the_passages_about_that_drug(index, truth, q):
    assert result_set(index, q) == ids_of(having(truth, drug="carisoprodol"))


@pytest.mark.parametrize(
    ("brand", "generic"),
    [("Flexeril", "cyclobenzaprine"), ("Lidoderm", "lidocaine"), ("Voltaren", "diclofenac"),
     ("Norco", "hydrocodone/acetaminophen")],
)
def test_a_brand_and_its_generic_find_the_same_passages(index, truth, brand, generic):
    by_brand, by_generic = result_set(index, brand), result_set(index, generic)
    assert by_brand == by_generic
    assert ids_of(having(truth, drug=generic)) <= by_brand  # every passage whose heading asks for it


def test_or_of_two_drugs_is_the_union(index):
    norco, flexeril = result_set(index, "Norco"), result_set(index, "Flexeril")
    assert norco - flexeril and flexeril - norco
    assert result_set(index, "Norco OR Flexeril") == norco | flexeril


def test_or_of_two_words_is_the_union(index, truth):
    assert result_set(index, "acupuncture OR chiropractic") == (
        mentioning(truth, r"\bacupunctures?\b") | mentioning(truth, r"\bchiropractic\b"))


def test_words_side_by_side_are_the_intersection(index):
    assert result_set(index, "mri lumbar") == result_set(index, "mri") & result_set(index, "lumbar")
    assert result_set(index, "mri AND lumbar") == result_set(index, "mri lumbar")


def test_lower_case_and_is_a_word_that_must_be_there(index, truth):
    with_and = result_set(index, "mri and lumbar")
    assert with_and == result_set(index, "mri") & result_set(index, "lumbar") & mentioning(truth, r"\band\b")


@pytest.mark.parametrize("q", ["-mri", "NOT mri"])
def test_not_excludes(index, truth, q):
    mri = result_set(index, "mri")
    assert mri == mentioning(truth, r"\bmris?\b")
    assert result_set(index, q) == ids_of(truth) - mri


def test_not_excludes_from_the_other_terms(index):
    assert result_set(index, "lumbar -mri") == result_set(index, "lumbar") - result_set(index, "mri")


def test_a_phrase_matches_only_adjacent_words(index, truth):
    phrase = result_set(index, '"medically necessary"')
    assert phrase == mentioning(truth, r"\bmedically\W+necessary\b")
    apart = result_set(index, "medically necessary")
    assert phrase < apart  # some passages hold both words, never side by side


def test_grouping(index):
    assert result_set(index, "(acupuncture OR chiropractic) -lumbar") == (
        result_set(index, "acupuncture") | result_set(index, "chiropractic")) - result_set(index, "lumbar")


@pytest.mark.parametrize("q", ["taper", "tapering", "tapered", "tapers"])
def test_stemming_finds_every_form_of_a_word(index, truth, q):
    assert result_set(index, q) == mentioning(truth, r"\btaper(?:s|ed|ing)?\b") != set()


@pytest.mark.parametrize("prefix", ["lumb", "taper", "acupunct"])
def test_a_prefix_finds_every_word_starting_with_it(index, truth, prefix):
    assert result_set(index, prefix + "*") == mentioning(truth, rf"\b{prefix}\w*") != set()


@pytest.mark.parametrize("word", ["taper", "therapy", "necessary"])
def test_a_whole_word_written_as_a_prefix_still_finds_that_word(index, word):
    # "therapy*" must find at least what "therapy" finds: the * only adds words
    assert result_set(index, word + "*") >= result_set(index, word) != set()


def test_heading_field_searches_only_headings(index, truth):
    assert result_set(index, "heading:mri") == {p.passage_id for p in truth if re.search(r"\bmris?\b", p.heading, re.I)}


@pytest.mark.parametrize("q", ["decision:overturned", "decision:OVERTURNED", "decision:Overturned"])
def test_decision_field_is_case_insensitive(index, truth, q):
    assert result_set(index, q) == ids_of(having(truth, decision="Overturned"))


@pytest.mark.parametrize("q", ["case:CM16-0213037", "case:cm16-0213037", "case:CM160213037"])
def test_case_field_finds_the_letters_passages(index, q):
    assert result_set(index, q) == {"CM16-0213037/1", "CM16-0213037/2"}


@pytest.mark.parametrize(("q", "years"), [("year:2016", ["2016"]), ("year:2017", ["2017"]),
                                          ("year:2014-2016", ["2016"]), ("year:2010-2020", ["2016", "2017"])])
def test_year_field_agrees_with_the_year_facet(index, everything, truth, q, years):
    found = result_set(index, q)
    assert found == ids_of(having(truth, year=tuple(years)))
    assert len(found) == sum(facet_counts(everything, "year")[y] for y in years)


def test_year_facet_filter_agrees_with_year_field(index):
    assert result_set(index, "", year="2016") == result_set(index, "year:2016")


@pytest.mark.parametrize(
    ("start", "end", "first", "last"),
    [
        ("2017-01-01", "2017-01-31", date(2017, 1, 1), date(2017, 1, 31)),
        ("2017-01", "2017-01", date(2017, 1, 1), date(2017, 1, 31)),
        ("2016-12", "2016-12", date(2016, 12, 1), date(2016, 12, 31)),
        ("2017", "2017", date(2017, 1, 1), date(2017, 12, 31)),
        ("2017-01-15", "2017-02-10", date(2017, 1, 15), date(2017, 2, 10)),
        ("2017-02", "", date(2017, 2, 1), None),
        ("", "2016", None, date(2016, 12, 31)),
        ("2016-02", "2017-02", date(2016, 2, 1), date(2017, 2, 28)),
    ],
)
def test_date_range_matches_the_decision_dates(index, truth, start, end, first, last):
    expected = {p.passage_id for p in truth if p.decided
                and (first is None or p.decided >= first) and (last is None or p.decided <= last)}
    assert result_set(index, "", **{"from": start, "to": end}) == expected != set()


def test_a_date_range_leaves_out_undated_letters(index, truth):
    undated = {p.passage_id for p in truth if p.decided is None}
    assert len(undated) == 4  # the two seeds
    assert not undated & result_set(index, "", **{"from": "1970"})
    assert not undated & result_set(index, "", to="2100")


# --------------------------------------------------------------------------------------------
# Sorting and paging


def test_newest_first_orders_by_decision_date_with_undated_last(index, by_id):
    dates = [by_id[i].decided for i in result_ids(index, sort="newest")]
    dated = [d for d in dates if d is not None]
    assert dates == dated + [None] * (len(dates) - len(dated))
    assert dated == sorted(dated, reverse=True)


def test_oldest_first_orders_by_decision_date_with_undated_last(index, by_id):
    dates = [by_id[i].decided for i in result_ids(index, sort="oldest")]
    dated = [d for d in dates if d is not None]
    assert dates == dated + [None] * (len(dates) - len(dated))
    assert dated == sorted(dated)


def test_newest_and_oldest_of_a_text_search_hold_the_same_passages(index):
    newest, oldest = result_ids(index, q="mri", sort="newest"), result_ids(index, q="mri", sort="oldest")
    assert set(newest) == set(oldest) == result_set(index, "mri")


def test_relevance_is_ordered_by_score_and_stable(index):
    first = search(index, q="lumbar mri OR acupuncture", per_page="100")
    again = search(index, q="lumbar mri OR acupuncture", per_page="100")
    assert [h.passage_id for h in first.hits] == [h.passage_id for h in again.hits]
    scores = [h.score for h in first.hits]
    assert None not in scores and scores == sorted(scores, reverse=True)


@pytest.mark.parametrize(("q", "sort"), [("", "relevance"), ("", "newest"), ("", "oldest"), ("mri", "relevance"),
                                         ("medic*", "relevance"), ("-mri", "relevance"), ("lumbar", "oldest")])
def test_pages_partition_the_results(index, q, sort):
    whole = result_ids(index, q=q, sort=sort)
    per_page = 7
    first = search(index, q=q, sort=sort, per_page=str(per_page))
    assert first.pages == -(-len(whole) // per_page)
    paged = []
    for page in range(1, first.pages + 1):
        hits = search(index, q=q, sort=sort, per_page=str(per_page), page=str(page)).hits
        assert 0 < len(hits) <= per_page
        paged += [h.passage_id for h in hits]
    assert paged == whole  # the same order, no duplicates, no gaps
    assert len(set(paged)) == len(paged)


def test_per_page_limits_the_page(index):
    assert len(search(index).hits) == PER_PAGE
    assert len(search(index, per_page="3").hits) == 3
    assert len(search(index, per_page=str(MAX_PER_PAGE)).hits) == MAX_PER_PAGE


def test_a_page_past_the_results_is_empty(index):
    results = search(index, page="99")
    assert results.total == REAL_PASSAGES and results.hits == [] and results.next is None


def test_previous_and_next_links(index):
    first = search(index, q="mri", per_page="10")
    assert first.previous is None and from_query_string(first.next).page == 2
    last = search(index, q="mri", per_page="10", page=str(first.pages))
    assert last.next is None and from_query_string(last.previous).page == first.pages - 1


def test_the_deepest_page_allowed_is_accepted(index):
    assert search(index, page=str(MAX_RESULT_WINDOW // PER_PAGE)).hits == []


# --------------------------------------------------------------------------------------------
# Refused requests


@pytest.mark.parametrize(
    "params",
    [
        {"page": str(MAX_RESULT_WINDOW // PER_PAGE + 1)},
        {"page": str(MAX_RESULT_WINDOW // MAX_PER_PAGE + 1), "per_page": str(MAX_PER_PAGE)},
        {"page": "9999999"},
    ],
)
def test_a_page_too_deep_is_refused(params):
    with pytest.raises(SearchError, match="too deep"):
        request(**params)


@pytest.mark.parametrize("per_page", [str(MAX_PER_PAGE + 1), "1000"])
def test_per_page_over_the_limit_is_refused(per_page):
    with pytest.raises(SearchError, match="per_page may be at most"):
        request(per_page=per_page)


@pytest.mark.parametrize("value", ["0", "-1", "abc", "1.5", "2e3", "12345678", "\u00b2"])
@pytest.mark.parametrize("name", ["page", "per_page"])
def test_a_bad_page_number_is_refused(name, value):
    with pytest.raises(SearchError, match=f"{name} must be a whole number"):
        request(**{name: value})


@pytest.mark.parametrize("value", ["2016-13-01", "2017-02-29", "2016-13", "2016-00", "yesterday", "12/09/2016",
                                   "16", "20170101x"])
@pytest.mark.parametrize("name", ["from", "to"])
def test_a_bad_date_is_refused(name, value):
    with pytest.raises(SearchError, match=f"{name} must be a date"):
        request(**{name: value})


def test_a_date_range_that_ends_before_it_starts_is_refused():
    with pytest.raises(SearchError, match="ends before it starts"):
        request(**{"from": "2017-02-01", "to": "2017-01-31"})


def test_a_one_day_date_range_is_accepted():
    assert request(**{"from": "2017-01-31", "to": "2017-01-31"}).date_from == date(2017, 1, 31)


def test_too_many_filter_values_are_refused():
    request(drug=[f"drug{i}" for i in range(MAX_FILTER_VALUES)])
    with pytest.raises(SearchError, match=f"the limit is {MAX_FILTER_VALUES}"):
        request(drug=[f"drug{i}" for i in range(MAX_FILTER_VALUES)], decision="Upheld")


def test_an_overlong_filter_value_is_refused():
    request(specialty="x" * MAX_VALUE_CHARS)
    with pytest.raises(SearchError, match=f"over {MAX_VALUE_CHARS} characters"):
        request(specialty="x" * (MAX_VALUE_CHARS + 1))


@pytest.mark.parametrize("sort", ["random", "Newest", "score", "date"])
def test_an_unknown_sort_is_refused(sort):
    with pytest.raises(SearchError, match="sort must be one of"):
        request(sort=sort)


@pytest.mark.parametrize("sort", ["relevance", "newest", "oldest"])
def test_every_known_sort_is_accepted(sort):
    assert request(sort=sort).sort == sort


@pytest.mark.parametrize("q", ["*aper", "(mri", '"muscle', "x" * 501, "year:2016-"])
def test_a_refused_query_is_a_search_error(q):
    with pytest.raises(SearchError):
        request(q=q)


# --------------------------------------------------------------------------------------------
# Facet toggles and query strings


@pytest.mark.parametrize("facet", [name for name in FACET_NAMES if name not in DWC_FACETS])
def test_toggling_a_facet_value_gives_its_count_and_toggling_again_removes_it(index, everything, facet):
    (shown,) = [f for f in everything.facets if f["name"] == facet]
    assert shown["values"]
    for value in shown["values"]:
        toggled = from_query_string(value["toggle"])
        results = index.search(toggled)
        assert results.total == value["count"], (facet, value["value"])
        (again,) = [v for f in results.facets if f["name"] == facet for v in f["values"]
                    if v["value"] == value["value"]]
        assert again["selected"]
        assert from_query_string(again["toggle"]) == request(**EVERY_FACET_EXPANDED)


def test_toggling_a_second_value_of_a_selected_facet_adds_its_passages(index, truth):
    results = search(index, q="lumbar", decision="Upheld")
    (overturned,) = [v for f in results.facets if f["name"] == "decision" for v in f["values"]
                     if v["value"] == "Overturned"]
    assert not overturned["selected"]
    both = index.search(from_query_string(overturned["toggle"]))
    assert both.total == results.total + overturned["count"] == len(result_set(index, "lumbar"))


def test_toggling_within_a_text_search_gives_each_values_count(index):
    results = search(index, q="mri", decision="Upheld")
    for facet in results.facets:
        if facet["name"] == "decision":
            continue
        for value in facet["values"]:
            assert index.search(from_query_string(value["toggle"])).total == value["count"], value


def test_params_are_in_a_canonical_order_without_defaults():
    given = request(year="2017", page="2", sort="newest", q="mri", decision="Upheld", per_page=str(PER_PAGE))
    assert given.params() == [("q", "mri"), ("decision", "Upheld"), ("year", "2017"), ("sort", "newest"),
                              ("page", "2")]
    assert request(sort="relevance", page="1", per_page=str(PER_PAGE), q="  ").query_string() == "?"


def test_repeated_filter_values_are_kept_once():
    assert request(decision=["Upheld", "Upheld", " Upheld "]).values("decision") == ("Upheld",)


def test_a_query_string_round_trips():
    given = request(q='"muscle relaxant" -tramadol naïve L4-5 #60', decision=["Upheld", "Overturned"],
                    specialty="Physical Medicine & Rehabilitation", guideline="MTUS/CPMTG/p24",
                    **{"from": "2017-01", "to": "2017-02"}, sort="oldest", per_page="50", page="2",
                    expand="drug,guideline,nonsense")
    assert given.expand == ("drug", "guideline")
    assert (given.date_from, given.date_to) == (date(2017, 1, 1), date(2017, 2, 28))
    again = from_query_string(given.query_string())
    assert again == given
    assert again.query_string() == given.query_string()


def test_query_string_changes_leave_the_request_alone():
    given = request(q="mri", page="3")
    assert from_query_string(given.query_string(page=1, sort="newest")) == request(q="mri", sort="newest")
    assert given.page == 3 and given.sort == "relevance"


def test_an_active_filter_can_be_removed(index):
    results = search(index, q="mri", decision="Upheld", **{"from": "2017"})
    removals = {a["label"]: from_query_string(a["remove"]) for a in results.active}
    assert removals["Text: mri"] == request(decision="Upheld", **{"from": "2017"})
    assert removals["Decision: Upheld"] == request(q="mri", **{"from": "2017"})
    assert removals["Decided from 2017-01-01"] == request(q="mri", decision="Upheld")


# --------------------------------------------------------------------------------------------
# Highlighting


def test_highlight_words_of_a_drug_include_its_names():
    words = highlight_words(request(q="Soma"))
    assert {"soma", "carisoprodol"} <= {w.lower() for w in words}


def test_highlight_words_leave_out_negated_terms():
    words = highlight_words(request(q="opioid -tramadol NOT (mri OR ct)"))
    assert "opioid" in words and not {"tramadol", "mri", "ct"} & set(words)


def test_highlight_words_of_a_drug_filter_include_its_names():
    assert {"carisoprodol", "Soma"} <= set(highlight_words(request(drug="soma")))


def test_search_results_carry_the_highlight_words(index):
    assert {"soma", "carisoprodol"} <= {w.lower() for w in search(index, q="soma").highlight}


# --------------------------------------------------------------------------------------------
# Snippets


def test_snippet_marks_words_by_their_stem():
    text = "Tapering is required. The taper was slow, and it tapered off."
    assert hit_texts(snippet(text, ["tapering"], size=None)) == ["Tapering", "taper", "tapered"]


def test_snippet_marks_a_phrase_only_where_its_words_are_adjacent():
    text = "It is medically necessary. Necessary, but not medically; medically it is not necessary."
    assert hit_texts(snippet(text, ["medically necessary"], size=None)) == ["medically necessary"]


def test_snippet_joins_adjacent_marks_into_one():
    segments = snippet("This is not medically necessary at all.", ["not", "medically", "necessary"], size=None)
    assert hit_texts(segments) == ["not medically necessary"]


def test_snippet_marks_every_word_starting_with_a_prefix():
    text = "Lumbar and lumbosacral pain; the lumen is clear."
    assert hit_texts(snippet(text, ["lumb*"], size=None)) == ["Lumbar", "lumbosacral"]


def test_snippet_marks_a_whole_word_written_as_a_prefix():
    # documented: 'a word ending in "*" marks every word starting so' -- "therapy" starts with "therapy"
    text = "Physical therapy and more therapy sessions."
    assert hit_texts(snippet(text, ["therapy*"], size=None)) == ["therapy", "therapy"]


def test_snippet_keeps_html_characters_as_plain_text():
    text = 'Dose <b>10</b> & "twice" daily for <script>x</script> pain'
    segments = snippet(text, ["pain", "twice"], size=None)
    assert "".join(s.text for s in segments) == text
    assert hit_texts(segments) == ["twice", "pain"]
    assert not any("&lt;" in s.text or "&amp;" in s.text for s in segments)


def test_snippet_of_empty_text_is_empty():
    assert snippet("", ["mri"]) == []


@pytest.mark.parametrize("words", [[], ["mri"], ["medically necessary"], ["taper*", "lumbar"],
                                   ["soma", "carisoprodol"]])
def test_a_whole_snippet_rejoins_to_the_rationale(truth, words):
    for passage in truth:
        joined = "".join(s.text for s in snippet(passage.rationale, words, size=None))
        assert joined.strip() == squashed(passage.rationale), passage.passage_id


def test_a_whole_snippet_of_text_without_words_keeps_all_of_it():
    text = "-- !! -- " * 60  # 540 characters, not one word in them
    assert "".join(s.text for s in snippet(text, [], size=None)).strip() == squashed(text)


def test_a_short_snippet_is_a_stretch_of_the_rationale_around_the_hits(truth):
    checked = 0
    for passage in truth:
        segments = snippet(passage.rationale, ["taper"])
        if not any(s.hit for s in segments):
            continue
        checked += 1
        body = [s.text for s in segments if s.text not in ("… ", " …")]
        assert squashed("".join(body)) in squashed(passage.rationale), passage.passage_id
    assert checked == len(mentioning(truth, r"\btaper(?:s|ed|ing)?\b"))


def test_a_short_snippet_marks_where_text_was_cut():
    text = "x " * 200 + "taper " + "y " * 200
    segments = snippet(text, ["taper"])
    assert segments[0].text == "… " and segments[-1].text == " …"
    assert hit_texts(segments) == ["taper"]


def test_every_hit_shows_a_snippet_with_the_query_marked(index):
    hits = search(index, q="tapering", per_page="100").hits
    assert hits
    for hit in hits:
        assert any(s.hit for s in hit.snippet), hit.passage_id


# --------------------------------------------------------------------------------------------
# CSV rows


@pytest.mark.parametrize("params", [{}, {"q": "mri"}, {"q": "lumbar", "sort": "oldest"}, {"decision": "Overturned"}])
def test_rows_are_the_results_in_the_same_order(index, params):
    rows = list(index.rows(request(**params), limit=10_000))
    whole = result_ids(index, **params)
    assert [row["passage_id"] for row in rows] == whole
    first_page = search(index, **params, per_page="100").hits
    for row, hit in zip(rows, first_page):
        assert (row["heading"], row["decision"], row["decision_date"] or None, row["case_number"] or None) == (
            hit.heading, hit.decision, hit.decision_date, hit.case_number)


def test_rows_respect_the_limit(index):
    rows = list(index.rows(request(q="mri", sort="newest"), limit=5))
    assert [row["passage_id"] for row in rows] == result_ids(index, q="mri", sort="newest")[:5]


def test_rows_carry_the_passages_values(index, by_id):
    rows = list(index.rows(request(drug="soma"), limit=10))
    assert len(rows) == 2
    for row in rows:
        passage = by_id[row["passage_id"]]
        assert row["ingredients"] == "carisoprodol"
        assert row["drugs"] in ("carisoprodol", "Soma (carisoprodol)")  # the product as the heading names it
        assert row["decision"] in passage.facets["decision"]
        assert squashed(row["rationale"]) == squashed(passage.rationale)


# --------------------------------------------------------------------------------------------
# The letter record


def test_letter_record_has_the_items_of_index_csv(index, letters_dir):
    with open(letters_dir / "index.csv", newline="", encoding="utf-8") as f:
        row = next(r for r in csv.DictReader(f) if r["case_number"] == "CM16-0213037")
    expected = [tuple(entry.rsplit(" => ", 1)) for entry in row["items"].split(" || ")]
    record = index.letter("CM16-0213037")
    assert record["case_number"] == "CM16-0213037"
    assert record["decision_date"] == "2016-12-09"
    assert len(record["items"]) == int(row["n_items"]) == 2
    assert [(item["heading"], item["decision"]) for item in record["items"]] == expected


@pytest.mark.parametrize("letter_id", ["CM99-9999999", "", "CM16-0213037/1", "cm16-0213037"])
def test_an_unknown_letter_is_none(index, letter_id):
    assert index.letter(letter_id) is None


# --------------------------------------------------------------------------------------------
# A newly published generation


def test_an_open_index_picks_up_a_newly_published_generation(tmp_path, letters_dir):
    index_dir = tmp_path / "index"
    index_paths([letters_dir / "CM16-0213037.txt", letters_dir / "CM16-0219557.txt"], index_dir, jobs=1)
    opened = SearchIndex(index_dir)
    try:
        before = opened.search(SearchRequest())
        assert before.total == 3
        index_paths([letters_dir / "CM16-0224814.txt"], index_dir, jobs=1)
        after = opened.search(SearchRequest())
        assert after.total == 4
        assert after.generation != before.generation
        assert opened.letter("CM16-0224814") is not None
    finally:
        opened.close()


def test_refining_a_search_reuses_its_text_match_and_an_uncached_index_recomputes_it(real_index):
    calls = []
    for cached in (8, 0):
        index = SearchIndex(real_index, cached_queries=cached)
        reader = index.generation().reader
        original = reader.mask
        reader.mask = lambda *args, cached=cached: calls.append(cached) or original(*args)
        first = index.search(SearchRequest.from_params({"q": "guidelines"}))
        refined = index.search(SearchRequest.from_params({"q": "guidelines", "decision": "Overturned"}))
        index.search(SearchRequest.from_params({"q": "guidelines", "sort": "newest"}))
        decisions = {v["value"]: v["count"] for v in first.facets[0]["values"]}
        assert 0 < refined.total == decisions["Overturned"] < first.total
    assert calls.count(8) == 1 and calls.count(0) == 3
