"""Search: a request from URL parameters -> the data of a results page. No Flask here.

The text query (kb.query) is compiled for the generation's engine (kb.engines) and gives the set of
matching passages; facet filters from the URL, the date range and all counts use the generation's columns
(kb.columns). Several values of one facet combine with OR, different facets with AND. A facet's counts are
computed with every filter but its own, so each value shows how many passages choosing it would give.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from pathlib import Path

import numpy as np
import orjson

from kb import budget
from kb import index as kb_index
from kb.columns import Columns
from kb.documents import canonical_case_number
from kb.drugs import (
    DRUG_CLASSES,
    drug_filter_terms,
    drug_names,
    product_label,
    resolve_drug,
)
from kb.engines import DEFAULT_ENGINE, ENGINES, Reader
from kb.engines.analysis import stems
from kb.guidelines import citation_label
from kb.published import DEEP_CHECK_AT_OPEN, Generation, PublishedIndex
from kb.query import (
    And,
    DaysRange,
    Everything,
    Filter,
    Node,
    Not,
    Or,
    Phrase,
    Word,
    YearRange,
)
from kb.regions import MULTIPLE, UNSTATED
from kb.search_cost import Read, estimate, refuse_if_costly
from kb.search_request import (
    FACET_BY_NAME,
    FACETS,
    MAX_RESULT_WINDOW,
    SORTS,
    FacetSpec,
    SearchRequest,
)
from kb.snippets import SNIPPET_TOKENS, Segment, snippet, stemmed_prefix
from kb.why import resolve_why, why_label
from kb.wording_store import id_hashes

FACET_VALUES_SHOWN = 12
FACET_VALUES_EXPANDED = 300
SIMILAR_TERMS = 12
TYPICAL_SAMPLE = 120  # rationales read to find what is typical of a set
TYPICAL_TERMS = 15
CACHED_TEXT_QUERIES = 32  # per generation: a million-passage mask is 1 MB
QUOTE_RARE_TERMS = 4  # a quotation's rarest words, looked up first
QUOTE_TOKENS = 24  # a phrase query on a quote's first words narrows enough; the exact check follows
QUOTE_CANDIDATES_READ = 50  # passages read for a quotation's exact check
ROWS_READ = 500  # stored documents read at once for an export
EPOCH = date(1970, 1, 1)

_INDEX_FIELD = {"drug": "drug", "product": "product", "class": "drug_class", "category": "category", "subcategory": "subcategory",
                "decision": "decision", "guideline": "guideline", "reviewer_guideline": "guideline_reviewer",
                "ca_guideline": "guideline_ca", "source": "guideline_source",
                "specialty": "specialty", "state": "state", "divergent": "divergent", "case": "case_number",
                "regions": "regions", "side": "side", "since_injury": "since_injury", "injury_phase": "injury_phase",
                "reason": "reason", "diagnosis": "diagnosis",
                "dwc_category": "dwc_category", "dwc_subcategory": "dwc_subcategory", "dwc_decision": "dwc_decision",
                "dwc": "dwc_check"}
_SOURCE_LABELS = {"None": "No evidence cited"}
_DIVERGENT_LABELS = {"differ": "Different guidelines", "same": "The same guidelines"}
_DWC_CHECK_LABELS = {"agrees": "Agree", "category differs": "Category differs", "decision differs": "Decision differs",
                     "no single DWC row": "No single DWC row"}

# --------------------------------------------------------------------------------------------
# Results


@dataclass
class Hit:
    passage_id: str
    letter_id: str
    case_number: str | None
    ordinal: int
    heading: str
    decision: str
    decision_date: str | None
    drugs: list[dict]  # products: {"generic", "class", "label", "ingredients": [{"name", "class"}], "known"}
    category: str
    subcategory: str | None
    guidelines_ca: list[dict]  # {"id", "label"}
    guidelines_reviewer: list[dict]
    snippet: list[Segment]
    synthetic: bool = False
    score: float | None = None
    region: dict | None = None  # {"id", "label"}: the item's body region (kb.why)
    since_injury: dict | None = None  # {"id", "label"}: the time from the injury to the request
    reasons: list[dict] = field(default_factory=list)  # {"id", "label"}: the reasons the reviewer gave


@dataclass
class SearchResults:
    request: SearchRequest
    total: int
    hits: list[Hit]
    # {name, label, values: [{value, label, count, adds, selected, toggle}], more, expand}: `count` is the
    # passages holding the value under every other filter; `adds`, in a facet with a value selected, how many
    # of them the results do not hold yet (what ticking it adds), else None
    facets: list[dict]
    active: list[dict]  # {label, remove}: the filters in words, each with the query string that removes it
    highlight: list[str]  # words to highlight on the letter page
    generation: str
    pages: int = 0
    sorts: list[dict] = field(default_factory=list)
    previous: str | None = None
    next: str | None = None
    synthetic: bool = False


# --------------------------------------------------------------------------------------------
# The index, opened for searching


class SearchIndex:
    """The published index, opened for searching (kb.published: a newly published generation is picked up
    on the next request, a damaged one set aside). Thread-safe: the engines' readers are."""

    def __init__(self, index_dir: Path, *, cached_queries: int = CACHED_TEXT_QUERIES,
                 deep_check_at_open: int = DEEP_CHECK_AT_OPEN):
        self.index_dir = Path(index_dir)
        self.published = PublishedIndex(self.index_dir, cached_queries=cached_queries,
                                        deep_check_at_open=deep_check_at_open)

    def generation(self) -> Generation:
        return self.published.current()

    def close(self) -> None:
        self.published.close()

    def search(self, request: SearchRequest) -> SearchResults:
        return _Search(self.generation(), request).run()

    def match(self, request: SearchRequest) -> Match:
        """The passages matching `request`, as a row mask over the generation's columns (for statistics)."""
        generation = self.generation()
        run = _Search(generation, request)
        return Match(generation, request, run.mask, list(dict.fromkeys(run.highlight_words)))

    def passage(self, passage_id: str, words: list[str] = ()) -> Hit | None:
        """One passage with its whole rationale, or None."""
        found = self.generation().reader.find(kb_index.PASSAGE, "passage_id", passage_id)
        return _hit(found[1], list(words), size=None) if found is not None else None

    def similar(self, passage_id: str, limit: int = 10) -> list[Hit] | None:
        """Passages whose rationales are most like this one's; those about the same drug (or, for an item
        without a drug, the same treatment) come first, each group ranked by the shared key terms of the
        rationale (terms frequent in it and rare in the collection). None when there is no such passage."""
        generation = self.generation()
        reader, q = generation.reader, generation.engine
        found = reader.find(kb_index.PASSAGE, "passage_id", passage_id)
        if found is None:
            return None
        fields = found[1]
        terms = _key_terms(reader, fields.get("rationale", ""), SIMILAR_TERMS)
        text = q.any_of([q.term("rationale", term, boost=weight) for term, weight in terms]) if terms else None
        drugs = _split(fields.get("drug"))
        if drugs:
            same = q.any_of([q.term("drug", drug) for drug in drugs])
        elif fields.get("subcategory"):
            same = q.term("subcategory", fields["subcategory"])
        else:
            same = None
        found: list[tuple[dict, float]] = []
        # same drug or treatment first (ranked by the text when it shares any key term), then the rest
        for query in (same and (q.and_maybe(same, text) if text else same), text):
            if query is None or len(found) >= limit:
                continue
            excluded = [passage_id, *(stored["passage_id"] for stored, _ in found)]
            query = q.but_not(q.all_of([q.term("kind", kb_index.PASSAGE), query]),
                              q.any_of([q.term("passage_id", pid) for pid in excluded]))
            ranked = reader.top(query, limit - len(found))
            found += zip(reader.stored([row for row, _ in ranked]), [score for _, score in ranked])
        words = [term for term, _ in terms]
        return [_hit(stored, words, score) for stored, score in found]

    def quote_candidates(self, fragments: list[str], limit: int = QUOTE_CANDIDATES_READ) -> list[dict]:
        """Passages whose rationale may hold a quotation made of `fragments` (in order), at most `limit`: the
        caller checks the exact wording. Each as {"passage_id", "heading", "decision", "rationale"}.

        The index is asked for the quotation's rarest words first (no positions to read): when at most
        `limit` passages hold them all, those are every passage that can hold the quotation. A quotation of
        common words is looked for as phrases (the first QUOTE_TOKENS words of each fragment), among the
        passages with its rarest words. Neither is ranked: the first `limit` found will do, so an engine
        can stop reading there.
        """
        generation = self.generation()
        q, reader = generation.engine, generation.reader
        tokens = [stems(fragment) for fragment in fragments]
        frequency = {token: reader.doc_frequency("rationale", token) for part in tokens for token in part}
        if not frequency or 0 in frequency.values():
            return []
        rarest = sorted(frequency, key=lambda token: (frequency[token], token))[:QUOTE_RARE_TERMS]
        # (only passages have a rationale: no need to ask for them, which would read every passage's posting)
        query = q.all_of([q.term("rationale", token) for token in rarest])
        rows = reader.first(query, limit + 1)
        phrases = [part[:QUOTE_TOKENS] for part in tokens if len(part) > 1]
        if len(rows) > limit and phrases:
            budget.check("looking for a quotation of common words", needs=estimate(
                [Read("phrase", "rationale", tuple(part)) for part in phrases], reader, generation.columns, q.NAME)[1])
            rows = reader.first(q.all_of([query, *(q.phrase("rationale", part) for part in phrases)]), limit)
        return [{key: fields.get(key, "") for key in ("passage_id", "heading", "decision", "rationale")}
                for fields in reader.stored(rows[:limit])]

    def rows(self, request: SearchRequest, limit: int) -> Iterator[dict]:
        """Every matching passage (up to `limit`) as a flat row, in the request's order: for CSV export. The
        stored documents are read ROWS_READ at a time, as the rows are consumed."""
        generation = self.generation()
        ordered = _Search(generation, request).ordered_rows(limit).tolist()
        for start in range(0, len(ordered), ROWS_READ):
            yield from map(_flat_row, generation.reader.stored(ordered[start:start + ROWS_READ]))

    def wording_of(self, passage_ids: list[str]) -> dict[str, tuple[int, str]]:
        """For each passage whose rationale's wording other letters reuse: (how many other letters, its
        wording group, the value of the wording_group filter that lists them)."""
        columns = self.generation().columns
        if columns.wording_others is None or "wording_group" not in columns.facets:
            return {}
        found = {}
        for passage_id, row in zip(passage_ids, columns.rows_of(id_hashes(passage_ids)).tolist()):
            if row >= 0 and columns.wording_others[row] > 0:
                found[passage_id] = (int(columns.wording_others[row]),
                                     columns.facets["wording_group"].values_of(row)[0])
        return found

    def letter(self, letter_id: str) -> dict | None:
        """The stored letter record (the letter page's data), or None."""
        found = self.generation().reader.find(kb_index.LETTER, "letter_id", letter_id)
        return json.loads(found[1]["data"]) if found is not None else None


def _key_terms(reader: Reader, text: str, count: int) -> list[tuple[str, float]]:
    """The terms of `text` that say most about it: frequent in it, rare in the collection (tf x idf)."""
    frequency = Counter(stems(text))
    documents = reader.doc_count()
    weights = {term: n * math.log(documents / (1 + reader.doc_frequency("rationale", term)))
               for term, n in frequency.items()}
    best = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))[:count]
    return [(term, weight) for term, weight in best if weight > 0]


def _hit(fields: Mapping, words: list[str], score: float | None = None, *, size: int | None = SNIPPET_TOKENS) -> Hit:
    """A passage's stored fields -> a result card's data, its snippet marked with `words`."""
    when = fields.get("decision_date")
    return Hit(
        passage_id=fields["passage_id"],
        letter_id=fields["letter_id"],
        case_number=fields.get("case_number") or None,
        ordinal=fields["ordinal"],
        heading=fields["heading"],
        decision=fields["decision"],
        decision_date=when.date().isoformat() if when else None,
        drugs=_products(fields),
        category=fields.get("category", ""),
        subcategory=fields.get("subcategory") or None,
        guidelines_ca=[{"id": i, "label": citation_label(i)} for i in _split(fields.get("guideline_ca"))],
        guidelines_reviewer=[{"id": i, "label": citation_label(i)} for i in _split(fields.get("guideline_reviewer"))],
        snippet=snippet(fields.get("rationale", ""), words, size=size),
        synthetic=bool(fields.get("synthetic")),
        score=score,
        region=_tag(fields, "region"),
        since_injury=_tag(fields, "since_injury"),
        reasons=[{"id": reason, "label": why_label("reason", reason)} for reason in _split(fields.get("reason"))],
    )


def _tag(fields: Mapping, name: str) -> dict | None:
    value = fields.get(name)
    return {"id": value, "label": why_label(name, value)} if value else None


@dataclass
class Match:
    """The passages that match a request, as a mask over the rows of one generation's columns.

    Statistics are numpy over `columns` and `mask`; the few documents a page shows are read through
    `hits`, and `typical` and `texts` read rationales, always from the same generation as the mask.
    """

    generation: Generation
    request: SearchRequest
    mask: np.ndarray
    words: list[str]
    _entries: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def columns(self) -> Columns:
        return self.generation.columns

    @property
    def total(self) -> int:
        return int(self.mask.sum())

    def rows_where(self, facet: str, values: Iterable[str]) -> np.ndarray:
        """The matching rows that hold any of `values` in `facet` (a kb.columns facet name)."""
        return self.columns.facets[facet].rows_with(values, self.entries_of(facet))

    def counts(self, facet: str, mask: np.ndarray) -> np.ndarray:
        """How many rows of `mask` (matching rows only) hold each value of `facet`."""
        column = self.columns.facets[facet]
        entries = self.entries_of(facet)
        selected = entries[mask[column.entry_rows[entries]]]
        return np.bincount(column.indices[selected], minlength=len(column.values))

    def entries_of(self, facet: str) -> np.ndarray:
        """The positions of the matching rows' entries in `facet` (kb.columns.Facet), computed once:
        statistics ask one facet many questions, and each looks only at these."""
        if facet not in self._entries:
            self._entries[facet] = self.columns.facets[facet].entries_of(self.mask)
        return self._entries[facet]

    def hits(self, rows: Iterable[int], *, whole: bool = False) -> list[Hit]:
        return [_hit(fields, self.words, size=None if whole else SNIPPET_TOKENS)
                for fields in self.generation.reader.stored([int(row) for row in rows])]

    def texts(self, mask: np.ndarray, limit: int) -> list[str]:
        """Rationales of up to `limit` rows of `mask`, spread evenly over them (deterministic)."""
        rows = _spread(np.flatnonzero(mask), limit).tolist()
        return [fields.get("rationale", "") for fields in self.generation.reader.stored(rows)]

    def typical(self, mask: np.ndarray, count: int = 1) -> list[int]:
        """The rows of `mask` whose rationales are most typical of them, most representative first.

        From an even sample of the rows: the key terms are those many sampled rationales use and the
        collection as a whole uses rarely (share in the sample x inverse document frequency); a rationale's
        score is the weight of the key terms it holds. Only the sample is read, so the cost does not grow
        with the number of matches.
        """
        rows = np.flatnonzero(mask)
        if len(rows) <= count:
            return rows.tolist()
        sample = _spread(rows, TYPICAL_SAMPLE).tolist()
        reader = self.generation.reader
        vocabularies = [set(stems(fields.get("rationale", ""))) for fields in reader.stored(sample)]
        in_sample = Counter(term for vocabulary in vocabularies for term in vocabulary)
        documents = reader.doc_count()
        floor = max(2, len(sample) // 10)
        weights = {term: (n / len(sample)) * math.log(documents / (1 + reader.doc_frequency("rationale", term)))
                   for term, n in in_sample.items() if n >= floor}
        key = dict(sorted(weights.items(), key=lambda kv: -kv[1])[:TYPICAL_TERMS])
        scored = sorted(zip(sample, vocabularies),
                        key=lambda rv: (-sum(w for term, w in key.items() if term in rv[1]), len(rv[1]), rv[0]))
        return [row for row, _ in scored[:count]]


def _spread(rows: np.ndarray, limit: int) -> np.ndarray:
    if len(rows) <= limit:
        return rows
    return rows[np.linspace(0, len(rows) - 1, limit).astype(np.int64)]


@lru_cache(maxsize=20_000)
def _citation_labels(ids: str) -> str:
    """"MTUS/CPMTG/p24,ODG" -> their labels, joined: the same few lists recur from row to row."""
    return "; ".join(citation_label(i) for i in ids.split(",") if i)


def _flat_row(fields: Mapping) -> dict:
    """A passage's stored fields as the CSV export's cells: text, every one."""
    when = fields.get("decision_date")
    return {
        "passage_id": fields["passage_id"],
        "case_number": fields.get("case_number") or "",
        "item": str(fields.get("ordinal") or ""),
        "decision_date": when.date().isoformat() if when else "",
        "heading": fields.get("heading") or "",
        "decision": fields.get("decision") or "",
        "drugs": "; ".join(product["label"] for product in _products(fields)),
        "ingredients": (fields.get("drug") or "").replace(",", "; "),
        "drug_classes": (fields.get("drug_class") or "").replace(",", "; "),
        "category": fields.get("category") or "",
        "subcategory": fields.get("subcategory") or "",
        "claims_administrator_guidelines": _citation_labels(fields.get("guideline_ca") or ""),
        "reviewer_guidelines": _citation_labels(fields.get("guideline_reviewer") or ""),
        "reviewer_specialties": (fields.get("specialty") or "").replace(",", "; "),
        "body_region": why_label("region", fields.get("region") or ""),
        "time_since_injury": why_label("since_injury", fields.get("since_injury") or ""),
        "reasons": "; ".join(why_label("reason", reason) for reason in _split(fields.get("reason"))),
        "rationale": " ".join((fields.get("rationale") or "").split()),
    }


# --------------------------------------------------------------------------------------------
# One search


class _Search:
    """One request over one generation: the matching rows as a mask (text query from the engine, facet
    filters and dates from the columns), and the same conditions as an engine query (`filter_query`), so
    an engine can rank within them."""

    def __init__(self, generation: Generation, request: SearchRequest):
        self.generation = generation
        self.columns = generation.columns
        self.reader = generation.reader
        self.q = generation.engine
        self.request = request
        self.compiler = _Compiler(self.q, self._resolve_value, self._refinements, self._drug_terms)
        node = request.query()
        self.text_query = None if isinstance(node, Everything) else self.compiler.compile(node)
        self.highlight_words = self.compiler.words
        if self.text_query is not None and budget.allowed() is not None:
            refuse_if_costly(self.compiler.reads, self.reader, self.columns, self.q.NAME, budget.allowed())
        self.text_mask = self._text_mask()
        wanted = {name: self._wanted(name, values) for name, values in request.filters}
        self.filter_masks = {name: self._facet_mask(name, values) for name, values in wanted.items()}
        self.filter_query = self._filter_query(wanted)
        self.date_mask = self._date_mask()
        self.mask = self.text_mask & self.date_mask
        for mask in self.filter_masks.values():
            self.mask &= mask

    # matching

    def _text_mask(self) -> np.ndarray:
        passage = self.columns.passage
        if self.text_query is None:
            return passage
        passages = self.q.term("kind", kb_index.PASSAGE)
        return self.generation.text_masks.get(
            self.request.q, lambda: self.reader.mask(self.text_query, len(passage), passages) & passage)

    def _date_range(self) -> tuple[int | None, int | None]:
        start = (self.request.date_from - EPOCH).days if self.request.date_from else None
        end = (self.request.date_to - EPOCH).days if self.request.date_to else None
        return start, end

    def _date_mask(self) -> np.ndarray:
        mask = np.ones(self.columns.rows, dtype=bool)
        start, end = self._date_range()
        if start is not None:
            mask &= self.columns.day >= start
        if end is not None:
            mask &= (self.columns.day <= end) & (self.columns.day >= 0)
        return mask

    def _wanted(self, name: str, values: tuple[str, ...]) -> list:
        """A facet filter's values as stored: years as numbers, names resolved, guidelines refined."""
        spec = FACET_BY_NAME[name]
        if spec.column == "year":
            return [int(v) for v in values if v.isdigit()]
        if spec.field == "drug":
            self.highlight_words.extend(w for value in values for w in drug_names(value))
            return [term for value in values for term in self._drug_terms(value)]
        wanted = [self._resolve_value(spec.field, value) for value in values]
        if spec.field in _SIDE_FIELDS:
            wanted = [v for value in wanted for v in self._refinements(spec.column, value)]
        return wanted

    def _drug_terms(self, value: str) -> list[tuple[str, str]]:
        """(column, value) pairs a drug filter's value stands for (kb.drugs.drug_filter_terms), and a product
        the drug table does not know, by its name as written."""
        terms = drug_filter_terms(value)
        if resolve_drug(value) is None:
            folded = " ".join(value.split()).casefold()
            terms += [("unresolved", name) for name in self.columns.facets["unresolved"].values.tolist()
                      if name.casefold() == folded]
        return terms

    def _facet_mask(self, name: str, wanted: list) -> np.ndarray:
        column = FACET_BY_NAME[name].column
        if column == "year":
            return np.isin(self.columns.year, wanted)
        if FACET_BY_NAME[name].field == "drug":
            mask = np.zeros(self.columns.rows, dtype=bool)
            for column_name in dict.fromkeys(name for name, _ in wanted):
                mask |= self.columns.facets[column_name].rows_with([v for c, v in wanted if c == column_name])
            return mask
        return self.columns.facets[column].rows_with(wanted)

    def _filter_query(self, wanted: dict[str, list]):
        """Passages within the facet filters and the date range, as one engine query."""
        q = self.q
        clauses = [q.term("kind", kb_index.PASSAGE)]
        for name, values in wanted.items():
            column = FACET_BY_NAME[name].column
            if not FACET_BY_NAME[name].field:  # computed for the whole index, no engine field: the mask says it
                continue
            if column == "year":
                alternatives = [q.int_range("year", year, year) for year in values]
            elif FACET_BY_NAME[name].field == "drug":
                alternatives = [q.term(column_name, value) for column_name, value in values]
            else:
                alternatives = [q.term(column, value) for value in values]
            clauses.append(q.any_of(alternatives) if alternatives else q.nothing())
        start, end = self._date_range()
        if start is not None or end is not None:
            clauses.append(q.int_range("day", max(start or 0, 0), end))
        return q.all_of(clauses)

    def _refinements(self, column: str, citation_id: str) -> list[str]:
        return refinements(self.columns.facets[column].values.tolist(), citation_id)

    def _resolve_value(self, query_field: str, value: str) -> str:
        """A value as typed ("soma", "opioids", "overturned") -> the value stored in the index."""
        if query_field == "drug":  # the ingredient, product or unknown name it stands for
            terms = self._drug_terms(value)
            return terms[0][1] if terms else value
        if query_field == "product":
            entry = resolve_drug(value)
            return entry.generic if entry else " ".join(value.split()).casefold()
        if query_field == "case":
            return canonical_case_number(value) or value
        facet = self.columns.facets.get(_COLUMN_OF_QUERY_FIELD.get(query_field, ""))
        known = facet.values.tolist() if facet is not None else []
        if query_field == "class":
            known = [*known, *DRUG_CLASSES]
        if value in known:
            return value
        folded = {k.casefold(): k for k in known}
        return folded.get(value.casefold(), value)

    # counting and ordering

    def _facet(self, spec: FacetSpec) -> dict:
        base = self.text_mask & self.date_mask
        for name, mask in self.filter_masks.items():
            if name != spec.name:
                base &= mask
        selected = self.request.values(spec.name)
        if spec.column == "year":
            counts = np.bincount(self.columns.year[base].astype(np.int64), minlength=1)
            pairs = [(str(y), int(c)) for y, c in enumerate(counts) if c and y]
        else:
            facet = self.columns.facets[spec.column]
            counts = facet.counts(base)
            nonzero = np.flatnonzero(counts)
            pairs = [(str(facet.values[i]), int(counts[i])) for i in nonzero]
        resolved = {self._resolve_value(spec.field, v) if spec.column != "year" else v: v for v in selected}
        count_of = dict(pairs)
        # a facet with a value selected: another of its values widens the results (either value), by the
        # passages it holds that the selection does not: what clicking it adds
        adds_of = self._facet_adds(spec, base & ~self.filter_masks[spec.name]) if spec.name in self.filter_masks \
            else None
        for value, typed in resolved.items():
            if value not in count_of:  # a drug filter by product ("Norco") counts in the product column
                terms = self._drug_terms(typed) if spec.field == "drug" else []
                count_of[value] = int(np.count_nonzero(self._facet_mask(spec.name, terms) & base)) if terms else 0
        if spec.column == "year":
            ordered = sorted(count_of.items(), key=lambda kv: kv[0], reverse=True)
        else:
            ordered = sorted(count_of.items(), key=lambda kv: (-kv[1], facet_label(spec, kv[0]).casefold()))
        expanded = spec.name in self.request.expand
        limit = FACET_VALUES_EXPANDED if expanded else FACET_VALUES_SHOWN
        shown = ordered[:limit] + [kv for kv in ordered[limit:] if kv[0] in resolved]
        values = []
        for value, count in shown:
            typed = resolved.get(value, value)
            values.append({
                "value": value,
                "label": facet_label(spec, value),
                "count": count,
                "adds": None if adds_of is None or value in resolved else adds_of.get(value, 0),
                "selected": value in resolved,
                "toggle": self.request.toggled(spec.name, typed).query_string(),
            })
        expand = tuple(n for n in self.request.expand if n != spec.name) if expanded else (*self.request.expand,
                                                                                             spec.name)
        return {
            "name": spec.name,
            "label": spec.label,
            "values": values,
            "more": max(0, len(ordered) - len(shown)),
            "expand": self.request.query_string(expand=expand) if len(ordered) > FACET_VALUES_SHOWN else None,
            "expanded": expanded,
        }

    def _facet_adds(self, spec: FacetSpec, outside: np.ndarray) -> dict[str, int]:
        """value -> how many of the `outside` rows (matching everything but this facet's selection) hold it."""
        if spec.column == "year":
            counts = np.bincount(self.columns.year[outside].astype(np.int64), minlength=1)
            return {str(y): int(c) for y, c in enumerate(counts) if c and y}
        facet = self.columns.facets[spec.column]
        counts = facet.counts(outside)
        return {str(facet.values[i]): int(counts[i]) for i in np.flatnonzero(counts)}

    def ordered_rows(self, limit: int) -> np.ndarray:
        """Matching rows in the requested order, at most `limit` of them."""
        rows = np.flatnonzero(self.mask)
        if self.request.sort == "relevance" and self.text_query is not None:
            ranked = self.reader.top(self.text_query, min(limit, len(rows)), allowed=self.mask,
                                     within=self.filter_query)
            self._scores = dict(ranked)
            return np.asarray([row for row, _ in ranked], dtype=np.int64)
        days = self.columns.day[rows]
        if self.request.sort == "oldest":
            order = np.lexsort((rows, np.where(days < 0, np.iinfo(np.int32).max, days)))
        else:  # newest first, also for relevance without a text query
            order = np.lexsort((rows, -days))
        return rows[order][:limit]

    def run(self) -> SearchResults:
        request = self.request
        total = int(self.mask.sum())
        offset = (request.page - 1) * request.per_page
        self._scores: dict[int, float] = {}
        page_rows = self.ordered_rows(offset + request.per_page)[offset:] if total else np.array([], dtype=np.int64)
        words = list(dict.fromkeys(self.highlight_words))
        hits = [_hit(fields, words, self._scores.get(int(row)))
                for row, fields in zip(page_rows.tolist(), self.reader.stored(page_rows.tolist()))]
        pages = max(1, -(-total // request.per_page))
        pages_reachable = min(pages, MAX_RESULT_WINDOW // request.per_page)
        return SearchResults(
            request=request,
            total=total,
            hits=hits,
            facets=[self._facet(spec) for spec in FACETS if spec.shown],
            active=self._active(),
            highlight=words,
            generation=self.generation.name,
            pages=pages,
            sorts=[{"value": key, "label": label, "selected": key == request.sort,
                    "url": request.query_string(sort=key, page=1)} for key, label in SORTS.items()],
            previous=request.query_string(page=request.page - 1) if request.page > 1 else None,
            next=request.query_string(page=request.page + 1) if request.page < pages_reachable else None,
            synthetic=self.generation.synthetic,
        )

    def _active(self) -> list[dict]:
        request = self.request
        active = []
        if request.q:
            active.append({"label": f"Text: {request.q}", "remove": request.query_string(q="", page=1)})
        for name, values in request.filters:
            spec = FACET_BY_NAME[name]
            for value in values:
                stored = self._resolve_value(spec.field, value) if spec.column != "year" else value
                active.append({"label": f"{spec.label}: {facet_label(spec, stored)}",
                               "remove": request.toggled(name, value).query_string()})
        if request.date_from or request.date_to:
            span = " ".join(part for part in (
                f"from {request.date_from.isoformat()}" if request.date_from else "",
                f"to {request.date_to.isoformat()}" if request.date_to else "") if part)
            active.append({"label": f"Decided {span}",
                           "remove": request.query_string(date_from=None, date_to=None, page=1)})
        return active


_SIDE_FIELDS = ("reviewer_guideline", "ca_guideline")
_WHY_FIELDS = ("regions", "side", "since_injury", "reason", "diagnosis")
_COLUMN_OF_QUERY_FIELD = {spec.field: spec.column for spec in FACETS} | {"state": "state"}


class _Compiler:
    """The query tree -> an engine's query (built with kb.engines' constructors), collecting the words a
    match should show highlighted.

    `resolve(field, value)` maps a typed filter value to the stored one ("overturned" -> "Overturned").
    `reads` lists what the engine will read for it (kb.search_cost estimates the work from it).
    """

    def __init__(self, engine, resolve, refinements=lambda column, value: [value], drug_terms=drug_filter_terms):
        self.q = engine
        self.resolve = resolve
        self.refinements = refinements
        self.drug_terms = drug_terms
        self.words: list[str] = []
        self.reads: list[Read] = []

    def _term(self, field: str, value, shown: str = ""):
        self.reads.append(Read("term", field, (value,), shown))
        return self.q.term(field, value)

    def compile(self, node: Node):
        q = self.q
        if isinstance(node, Word):
            return self._word(node)
        if isinstance(node, Phrase):
            return self._phrase(node.words, node.field)
        if isinstance(node, Filter):
            return self._filter(node)
        if isinstance(node, YearRange):
            self.reads.append(Read("years", "year", (node.start, node.end), f"year:{node.start}-{node.end}"))
            return q.int_range("year", node.start, node.end)
        if isinstance(node, DaysRange):
            self.reads.append(Read("days", "days_since_injury", (node.start, node.end), "since_injury:"))
            return q.int_range("days_since_injury", node.start if node.start is not None else 0, node.end)
        if isinstance(node, Not):
            return q.but_not(self._term("kind", kb_index.PASSAGE, "NOT"), self._excluded(node.child))
        if isinstance(node, And):
            positives = [self.compile(c) for c in node.children if not isinstance(c, Not)]
            negatives = [self._excluded(c.child) for c in node.children if isinstance(c, Not)]
            base = q.all_of(positives) if positives else self._term("kind", kb_index.PASSAGE)
            return q.but_not(base, q.any_of(negatives)) if negatives else base
        if isinstance(node, Or):
            return q.any_of([self.compile(c) for c in node.children])
        return self._term("kind", kb_index.PASSAGE)  # Everything

    def _excluded(self, node: Node):
        """A NOT's operand: compiled, but its words are not highlighted (the reader excluded them)."""
        words = self.words
        self.words = []
        try:
            return self.compile(node)
        finally:
            self.words = words

    @staticmethod
    def _fields(field: str | None) -> tuple[str, ...]:
        return (field,) if field else ("heading", "rationale")

    def _word(self, node: Word):
        q = self.q
        if node.prefix:
            self.words.append(node.text + "*")
            self.reads.extend(Read("prefix", f, (stemmed_prefix(node.text),), node.text + "*")
                              for f in self._fields(node.field))
            return q.any_of([q.prefix(f, stemmed_prefix(node.text)) for f in self._fields(node.field)])
        tokens = stems(node.text)
        if not tokens:
            return q.nothing()
        # a drug typed by brand or generic finds every name of it (also a name the analyzer splits:
        # "hydrocodone/apap"), and an ingredient every product holding it ("hydrocodone": Norco)
        entry = resolve_drug(node.text) if node.field is None else None
        if len(tokens) > 1:
            text = self._phrase(tuple(node.text.split()), node.field)
        else:
            self.words.append(node.text)
            text = q.any_of([self._term(f, tokens[0], node.text) for f in self._fields(node.field)])
        if entry is None:
            return text
        # its heading's drug, and any of its names in the text
        names = drug_names(node.text)
        self.words.extend(names)
        alternatives = [text, *(self._term(field, value, node.text) for field, value in drug_filter_terms(node.text))]
        alternatives += [self._phrase(tuple(name.split()), None, highlight=False) for name in names]
        return q.any_of(alternatives)

    def _phrase(self, words: tuple[str, ...], field: str | None, *, highlight: bool = True):
        q = self.q
        tokens = stems(" ".join(words))
        if highlight:
            self.words.append(" ".join(words))
        if not tokens:
            return q.nothing()
        if len(tokens) == 1:
            return q.any_of([self._term(f, tokens[0], " ".join(words)) for f in self._fields(field)])
        self.reads.extend(Read("phrase", f, tuple(tokens), " ".join(words)) for f in self._fields(field))
        return q.any_of([q.phrase(f, tokens) for f in self._fields(field)])

    def _filter(self, node: Filter):
        q = self.q
        if node.field == "drug":
            self.words.extend(drug_names(node.value))
            terms = self.drug_terms(node.value)
            return q.any_of([self._term(field, value, f"drug:{node.value}") for field, value in terms] or [q.nothing()])
        if node.field in _WHY_FIELDS:  # a region, reason, diagnosis... by id, label or a word of its label
            shown = f"{node.field}:{node.value}"
            field = node.field
            values = resolve_why(field, node.value)
            if field == "since_injury" and not values:  # acute, subacute, chronic
                field, values = "injury_phase", resolve_why("injury_phase", node.value)
            if field == "regions" and set(values) & {MULTIPLE, UNSTATED}:  # not a region of its own: the facet's
                field = "region"
            return q.any_of([self._term(field, value, shown) for value in values] or [q.nothing()])
        value = self.resolve(node.field, node.value)
        if node.field in _SIDE_FIELDS:
            column = _INDEX_FIELD[node.field]
            shown = f"{node.field}:{node.value}"
            return q.any_of([self._term(column, v, shown) for v in self.refinements(column, value)] or [q.nothing()])
        return self._term(_INDEX_FIELD[node.field], value, f"{node.field}:{node.value}")


def highlight_words(request: SearchRequest) -> list[str]:
    """The words a search for `request` highlights, without running it (the letter page uses them)."""
    compiler = _Compiler(ENGINES[DEFAULT_ENGINE], lambda field, value: value)
    node = request.query()
    if not isinstance(node, Everything):
        compiler.compile(node)
    for value in request.values("drug"):
        compiler.words.extend(drug_names(value))
    return list(dict.fromkeys(compiler.words))


def estimated_work(index: SearchIndex, request: SearchRequest) -> tuple[int, float]:
    """The index entries a search for `request` reads, and the seconds that takes on the index's engine
    (kb.search_cost): what a request's budget is checked against."""
    generation = index.generation()
    compiler = _Compiler(generation.engine, lambda field, value: value)
    node = request.query()
    if isinstance(node, Everything):
        return 0, 0.0
    compiler.compile(node)
    return estimate(compiler.reads, generation.reader, generation.columns, generation.engine.NAME)


def unresolved_products(index_dir: Path) -> list[tuple[str, int]]:
    """The products the drug table does not know, as the published index's items name them, with how many
    items name each, most first (`kb status` lists them, so the table can learn them)."""
    name = kb_index.current_generation(Path(index_dir))
    if name is None:
        return []
    columns = Columns.load(Path(index_dir) / name)
    facet = columns.facets["unresolved"]
    counts = facet.counts(columns.passage)
    found = [(str(facet.values[i]), int(counts[i])) for i in np.flatnonzero(counts)]
    return sorted(found, key=lambda pair: (-pair[1], pair[0].casefold()))


def refinements(values: list[str], citation_id: str) -> list[str]:
    """A guideline id and every more specific id of it among `values` ("MTUS/CPMTG" -> "MTUS/CPMTG/p24",
    ...): the `guideline` column holds each citation's ancestors, the one-side columns do not."""
    prefix = citation_id + "/"
    return [v for v in values if v == citation_id or v.startswith(prefix)]


def _split(value: str | None) -> list[str]:
    return [v for v in (value or "").split(",") if v]


def _products(fields: Mapping) -> list[dict]:
    """The products a passage asks for, as its stored item record has them, each with its ingredients."""
    try:
        drugs = orjson.loads(fields["data"])["drugs"]  # (orjson: a CSV export reads 10,000 of these)
    except (KeyError, TypeError, ValueError):
        drugs = [{"generic": g, "class": "", "brand": None, "ingredients": []} for g in _split(fields.get("product"))]
    products = []
    for drug in drugs:
        known = drug.get("resolution", "table") == "table"
        label = product_label(drug["generic"], drug.get("brand"))
        if not known:
            label = f"{drug.get('brand') or drug['generic']} ({drug['generic'] if drug.get('ingredients') else 'unknown product'})"
        products.append({"generic": drug["generic"], "class": drug["class"], "label": label,
                         "ingredients": drug.get("ingredients", []), "known": known})
    return products


def facet_label(spec: FacetSpec, value: str) -> str:
    if spec.name in ("drug", "product"):
        return product_label(value)
    if spec.name == "guideline":
        return citation_label(value)
    if spec.name == "source":
        return _SOURCE_LABELS.get(value, value)
    if spec.name == "divergent":
        return _DIVERGENT_LABELS.get(value, value)
    if spec.name == "dwc":
        return _DWC_CHECK_LABELS.get(value, value)
    if spec.name == "wording_group":
        return f"Wording group {value}"
    return why_label(spec.name, value)
