"""The two engines (kb.engines) behind one interface: the same text analysis, the same answers to the same
requests over the real letters, and an index that keeps its engine.

The rest of the suite runs on whichever engine $KB_ENGINE names (the README's test command runs it on
both); this module builds the real letters with each engine side by side and compares them directly.
"""

from __future__ import annotations

import string
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kb import index as kb_index
from kb.engines import ENGINES, EngineError, engine_named, engine_of
from kb.engines.analysis import stem_spans, stems
from kb.engines.whoosh_engine import TEXT_ANALYZER
from kb.ingest import index_paths
from kb.search import SearchIndex
from kb.search_request import SearchRequest

# --------------------------------------------------------------------------------------------
# One analysis: the tantivy engine indexes kb.engines.analysis's stems, the Whoosh engine its analyzer


def whoosh_terms(text: str) -> list[str]:
    return [token.text for token in TEXT_ANALYZER(text)]


def test_analysis_gives_the_whoosh_analyzers_terms_on_every_real_letter(letters_dir):
    for path in sorted(letters_dir.glob("*.txt")):
        text = path.read_text(encoding="utf-8")
        assert stems(text) == whoosh_terms(text), path.name


TRICKY_CHARACTERS = string.ascii_letters + string.digits + " .-_*/'\n\tÉéßİıǅﬁ١٢"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(TRICKY_CHARACTERS), max_size=80))
def test_analysis_gives_the_whoosh_analyzers_terms_on_any_text(text):
    assert stems(text) == whoosh_terms(text)


def test_stem_spans_point_at_the_words_they_come_from():
    text = "Tapering of Xanax 1.5mg, L4-5 (therapies)"
    spans = stem_spans(text)
    assert [stem for _, _, stem in spans] == stems(text) == ["taper", "of", "xanax", "1.5mg", "l4", "5", "therapi"]
    assert [text[start:end] for start, end, _ in spans][-1] == "therapies"


# --------------------------------------------------------------------------------------------
# The same answers


@pytest.fixture(scope="module")
def both(tmp_path_factory, letters_dir: Path, seeds_dir: Path) -> dict[str, SearchIndex]:
    root = tmp_path_factory.mktemp("engines")
    indexes = {}
    for name in ENGINES:
        index_paths([letters_dir, seeds_dir], root / name, jobs=2, engine=name)
        indexes[name] = SearchIndex(root / name)
    return indexes


REQUESTS = [
    {"q": "tramadol"},
    {"q": "Soma"},
    {"q": '"medically necessary"'},
    {"q": '"not medically necessary"'},
    {"q": "physical therapy"},
    {"q": "taper*"},
    {"q": "therapy* NOT injection"},
    {"q": "(mri OR ct) AND lumbar"},
    {"q": "opioid -tramadol"},
    {"q": "hydrocodone/apap"},
    {"q": "year:2014-2016 guideline"},
    {"q": "decision:overturned"},
    {"q": 'heading:"physical therapy"'},
    {"q": "reviewer_guideline:MTUS"},
    {"q": "case:cm16-0213037"},
    {"q": "nothing-like-this-word"},
    {"drug": "tramadol"},
    {"decision": "Upheld", "year": "2016"},
    {"q": "pain", "category": "Pharmaceuticals", "from": "2015-01", "to": "2016-06"},
    {"q": "guidelines", "class": "Opioids", "decision": "Overturned"},
    {},
]


def ids(hits) -> set[str]:
    """The passage ids of a list of hits, or of a results page."""
    return {hit.passage_id for hit in getattr(hits, "hits", hits)}


@pytest.mark.parametrize("params", REQUESTS, ids=lambda p: "&".join(f"{k}={v}" for k, v in p.items()) or "all")
def test_both_engines_find_and_count_the_same_passages(both, params):
    requests = {"relevance": SearchRequest.from_params({**params, "per_page": "100", "expand": "drug,guideline"}),
                "newest": SearchRequest.from_params({**params, "per_page": "100", "sort": "newest"})}
    answers = {name: {sort: index.search(request) for sort, request in requests.items()}
               for name, index in both.items()}
    whoosh, tantivy = answers["whoosh"], answers["tantivy"]
    assert whoosh["relevance"].total == tantivy["relevance"].total
    assert whoosh["relevance"].facets == tantivy["relevance"].facets
    # the same matches; by date the same order (ranking scores may differ between the engines' BM25)
    assert ids(whoosh["relevance"]) == ids(tantivy["relevance"]) or whoosh["relevance"].total > 100
    assert [hit.passage_id for hit in whoosh["newest"].hits] == [hit.passage_id for hit in tantivy["newest"].hits]
    assert [hit.snippet for hit in whoosh["newest"].hits] == [hit.snippet for hit in tantivy["newest"].hits]


def test_both_engines_give_the_same_passages_letters_and_quotes(both):
    whoosh, tantivy = both["whoosh"], both["tantivy"]
    some = whoosh.search(SearchRequest.from_params({"per_page": "100"})).hits
    for hit in some[:20]:
        assert whoosh.passage(hit.passage_id) == tantivy.passage(hit.passage_id)
        assert whoosh.letter(hit.letter_id) == tantivy.letter(hit.letter_id)
        quote = " ".join(whoosh.passage(hit.passage_id).snippet[0].text.split()[:8])
        # every candidate (the top 20 by score may differ between the engines' BM25)
        assert (sorted(c["passage_id"] for c in whoosh.quote_candidates([quote], limit=1000))
                == sorted(c["passage_id"] for c in tantivy.quote_candidates([quote], limit=1000)))
    assert whoosh.passage("CM00-0000000/1") is tantivy.passage("CM00-0000000/1") is None
    assert whoosh.letter("nope") is tantivy.letter("nope") is None


def test_similar_passages_are_about_the_same_drug_on_both_engines(both):
    whoosh, tantivy = both["whoosh"], both["tantivy"]
    first = whoosh.search(SearchRequest.from_params({"drug": "tramadol", "sort": "oldest"})).hits[0]
    for index in (whoosh, tantivy):
        similar = index.similar(first.passage_id)
        assert similar and first.passage_id not in {hit.passage_id for hit in similar}
        assert "tramadol" in {drug["generic"] for drug in similar[0].drugs}
    # the same key terms; the engines' BM25 differ a little, which reorders the tail
    shared = ids(whoosh.similar(first.passage_id)) & ids(tantivy.similar(first.passage_id))
    assert len(shared) >= 7


def test_a_match_of_most_documents_gives_the_same_mask(both):
    """tantivy collects the documents that do not match when most do: the mask must be the same."""
    masks = []
    for index in both.values():
        generation = index.generation()
        q = generation.engine
        mask = generation.reader.mask(q.phrase("rationale", stems("medically necessary")), generation.columns.rows)
        masks.append(mask & generation.columns.passage)
        assert 0.5 < masks[-1].sum() / generation.columns.passage.sum() <= 1
    request = SearchRequest.from_params({"q": '"medically necessary"'})
    matches = [index.match(request).hits(np.flatnonzero(mask).tolist()) for index, mask in zip(both.values(), masks)]
    assert ids(matches[0]) == ids(matches[1])


# --------------------------------------------------------------------------------------------
# An index keeps its engine


def test_an_index_keeps_its_engine_until_rebuilt(tmp_path, seeds_dir, letters_dir):
    index_dir = tmp_path / "index"
    index_paths([seeds_dir], index_dir, engine="tantivy")
    assert kb_index.generation_engine(index_dir / kb_index.current_generation(index_dir)) == "tantivy"
    index_paths([seeds_dir, letters_dir / "index.csv"], index_dir)  # an update: keeps tantivy
    with pytest.raises(EngineError, match="uses tantivy, not whoosh: rebuild"):
        index_paths([letters_dir], index_dir, engine="whoosh")
    report = index_paths([seeds_dir], index_dir, engine="whoosh", rebuild=True)
    assert engine_of(index_dir / report.generation).NAME == "whoosh"
    assert SearchIndex(index_dir).search(SearchRequest()).total == 4


def test_engine_names_are_checked(monkeypatch):
    with pytest.raises(EngineError, match="unknown engine 'lucene'"):
        engine_named("lucene")
    monkeypatch.setenv("KB_ENGINE", "tantivy")
    assert engine_named().NAME == "tantivy"
    monkeypatch.delenv("KB_ENGINE")
    assert engine_named().NAME == "whoosh"


def test_a_directory_without_an_index_is_refused(tmp_path):
    with pytest.raises(EngineError, match="neither Whoosh nor tantivy"):
        engine_of(tmp_path)
