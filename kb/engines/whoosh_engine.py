"""The Whoosh engine (whoosh-reloaded): pure Python, the default for small and medium collections.

A row is a Whoosh document number. Facet fields are sortable so Whoosh keeps a column of their values,
which `passage_values` reads when a generation is sealed.
"""

from __future__ import annotations

import gc
import itertools
import threading
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
from whoosh import index as whoosh_index
from whoosh import query as wq
from whoosh.analysis import StemmingAnalyzer
from whoosh.fields import BOOLEAN, DATETIME, ID, KEYWORD, NUMERIC, STORED, TEXT, Schema

from kb import budget
from kb.columns import MULTI

NAME = "whoosh"

# kb.engines.analysis gives the same terms (a test holds them equal)
TEXT_ANALYZER = StemmingAnalyzer(stoplist=None, minsize=1)

# Multi-valued facets are comma-separated KEYWORD fields: values never contain commas (kb.index._keyword).
SCHEMA = Schema(
    kind=ID(stored=True, sortable=True),
    passage_id=ID(unique=True, stored=True, sortable=True),
    letter_id=ID(stored=True),
    case_number=ID(stored=True),
    ordinal=NUMERIC(int, stored=True, sortable=True),
    heading=TEXT(analyzer=TEXT_ANALYZER, stored=True),
    rationale=TEXT(analyzer=TEXT_ANALYZER, stored=True),
    decision=ID(stored=True, sortable=True),
    drug=KEYWORD(commas=True, stored=True, sortable=True),  # active ingredients
    product=KEYWORD(commas=True, stored=True, sortable=True),  # products as asked for (their generic names)
    unresolved=KEYWORD(commas=True, stored=True, sortable=True),  # products the drug table does not know
    drug_class=KEYWORD(commas=True, stored=True, sortable=True),
    brand=KEYWORD(commas=True, stored=True),
    category=ID(stored=True, sortable=True),
    subcategory=ID(stored=True, sortable=True),
    guideline_ca=KEYWORD(commas=True, stored=True, sortable=True),
    guideline_reviewer=KEYWORD(commas=True, stored=True, sortable=True),
    guideline=KEYWORD(commas=True, stored=True, sortable=True),
    guideline_source=KEYWORD(commas=True, stored=True, sortable=True),
    divergent=ID(stored=True, sortable=True),
    dwc_category=KEYWORD(commas=True, stored=True, sortable=True),
    dwc_subcategory=KEYWORD(commas=True, stored=True, sortable=True),
    dwc_decision=KEYWORD(commas=True, stored=True, sortable=True),
    dwc_check=KEYWORD(commas=True, stored=True, sortable=True),
    specialty=KEYWORD(commas=True, stored=True, sortable=True),
    state=KEYWORD(commas=True, stored=True, sortable=True),
    decision_date=DATETIME(stored=True),
    day=NUMERIC(int, sortable=True),
    region=ID(stored=True, sortable=True),
    regions=KEYWORD(commas=True, stored=True, sortable=True),
    side=ID(stored=True, sortable=True),
    since_injury=ID(stored=True, sortable=True),
    injury_phase=ID(stored=True, sortable=True),
    days_since_injury=NUMERIC(int, stored=True, signed=True),
    diagnosis=KEYWORD(commas=True, stored=True, sortable=True),
    diagnosis_category=KEYWORD(commas=True, stored=True, sortable=True),
    reason=KEYWORD(commas=True, stored=True, sortable=True),
    year=NUMERIC(int, stored=True, sortable=True),
    synthetic=BOOLEAN(stored=True),
    data=STORED(),
)


# --------------------------------------------------------------------------------------------
# Writing


def owns(path: Path) -> bool:
    return any(path.glob("_MAIN_*.toc"))


def create(path: Path) -> None:
    whoosh_index.create_in(str(path), SCHEMA)


def is_lock_file(name: str) -> bool:
    return name.endswith("_WRITELOCK")


def apply_changes(path: Path, changes: Iterable, *, optimize: bool = False, first_row: int = 0) -> None:
    """Delete each change's letter and add its documents, in one commit. Whoosh numbers documents by
    segment and renumbers them when it merges, so no rows are returned: the columns are read again."""
    index = whoosh_index.open_dir(str(path))
    writer = index.writer(limitmb=256)
    written: set[str] = set()  # letters added by this writer
    try:
        for change in changes:
            if change.letter_id in written:
                # a letter replaced again in the same batch: Whoosh deletes only from committed segments, so
                # commit what is written first (the generation is not published until it is sealed)
                writer.commit(merge=False)
                writer = index.writer(limitmb=256)
                written.clear()
            if change.replaces:
                writer.delete_by_term("letter_id", change.letter_id)
            for doc in change.docs:
                writer.add_document(**doc)
            if change.docs:
                written.add(change.letter_id)
        writer.commit(optimize=optimize)
    except BaseException:
        writer.cancel()
        raise
    finally:
        index.close()


def count_documents(path: Path, letter_kind: str) -> tuple[int, int]:
    index = whoosh_index.open_dir(str(path))
    try:
        with index.searcher() as searcher:
            letters = searcher.search(wq.Term("kind", letter_kind), limit=None, scored=False).scored_length()
            return letters, searcher.doc_count() - letters
    finally:
        index.close()


def live_rows(path: Path, kind: str) -> np.ndarray:
    index = whoosh_index.open_dir(str(path))
    try:
        with index.searcher() as searcher:
            return np.fromiter(searcher.docs_for_query(wq.Term("kind", kind)), dtype=np.int64)
    finally:
        index.close()


def passage_values(path: Path, passage_kind: str) -> tuple[int, Iterator[tuple[int, dict]]]:
    index = whoosh_index.open_dir(str(path))
    try:
        with index.reader() as reader:
            rows = reader.doc_count_all()
            if rows == 0:  # an empty index has no columns to read
                return 0, iter(())
            kinds = list(reader.column_reader("kind"))
            fields = {name: list(reader.column_reader(name)) for name in MULTI}
            years = list(reader.column_reader("year"))
            days = list(reader.column_reader("day"))
            ids = list(reader.column_reader("passage_id"))
            live = set(reader.all_doc_ids())
    finally:
        index.close()

    def passages() -> Iterator[tuple[int, dict]]:
        for row in range(rows):
            if kinds[row] == passage_kind and row in live:
                yield row, {"year": years[row], "day": days[row], "passage_id": ids[row],
                            **{name: column[row] for name, column in fields.items()}}

    return rows, passages()


# --------------------------------------------------------------------------------------------
# Queries

term = wq.Term  # (field, value, boost=1.0)
nothing = wq.NullQuery


def phrase(field: str, words: list[str]):
    return wq.Phrase(field, words)


def prefix(field: str, text: str):
    return wq.Prefix(field, text)


def int_range(field: str, start: int | None, end: int | None):
    return wq.NumericRange(field, start, end)


def all_of(queries: list):
    return wq.And(queries)


def any_of(queries: list):
    return wq.Or(queries)


def but_not(query, excluded):
    return wq.AndNot(query, excluded)


def and_maybe(required, optional):
    """Matches `required`; `optional` only adds to the score."""
    return wq.AndMaybe(required, optional)


def _unphrased(query):
    """A query for ranking: each phrase replaced by its words (scores the same terms, skips positions)."""
    if isinstance(query, wq.Phrase):
        return wq.And([wq.Term(query.fieldname, word, boost=query.boost) for word in query.words])
    return query.apply(_unphrased)


# --------------------------------------------------------------------------------------------
# Reading

BUDGET_CHECKED_EVERY = 4096  # matches: Whoosh finds them in Python, so a long search can stop between them


def _within_budget(docnums: Iterator[int]) -> Iterator[int]:
    for count, docnum in enumerate(docnums):
        if count % BUDGET_CHECKED_EVERY == 0:
            budget.check("searching the text")
        yield docnum


class WhooshUnreadable(RuntimeError):
    """Whoosh could not open a generation (a damaged table of contents or segment, say)."""


def open(path: Path) -> WhooshReader:  # noqa: A001 (the engine interface's name)
    # Whoosh leaves the file it failed on open; it is closed here, with its ResourceWarning, not later
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            return WhooshReader(path)
        except Exception as error:  # noqa: BLE001 - any failure to read a damaged file
            failure = f"{type(error).__name__}: {error}"
        gc.collect()
    raise WhooshUnreadable(f"Whoosh cannot open {path.name} ({failure})")


class WhooshReader:
    """One Whoosh searcher per thread, kept for the life of the generation: opening a searcher copies
    every segment file into memory (whoosh-reloaded's BufferFile), which per request cost as much as the
    search itself. Whoosh searchers are not safe to share between threads."""

    def __init__(self, path: Path):
        self.index = whoosh_index.open_dir(str(path))
        self._local = threading.local()

    @property
    def searcher(self):
        searcher = getattr(self._local, "searcher", None)
        if searcher is None:
            searcher = self._local.searcher = self.index.searcher()
        return searcher

    def doc_count(self) -> int:
        return self.searcher.doc_count()

    def doc_frequency(self, field: str, term: str) -> int:
        return self.searcher.doc_frequency(field, term)

    def prefix_frequency(self, field: str, prefix: str) -> int:
        """The documents of every term starting with `prefix`, summed (what a prefix query reads)."""
        terms = self.searcher.reader().expand_prefix(field, prefix)
        return sum(self.searcher.doc_frequency(field, term) for term in terms)

    def mask(self, query, rows: int, universe=None) -> np.ndarray:
        mask = np.zeros(rows, dtype=bool)
        if universe is not None:
            query = wq.And([query, universe])
        docnums = np.fromiter(_within_budget(self.searcher.docs_for_query(query)), dtype=np.int64)
        mask[docnums[docnums < rows]] = True
        return mask

    def top(self, query, limit: int, *, allowed: np.ndarray | None = None, within=None) -> list[tuple[int, float]]:
        if allowed is not None:
            # `allowed` holds exactly the matches: rank them without re-checking phrase positions, which
            # in Whoosh costs as much as finding them
            results = self.searcher.search(_unphrased(query), filter=set(np.flatnonzero(allowed).tolist()),
                                           limit=max(1, limit))
        else:
            results = self.searcher.search(query if within is None else wq.And([query, within]), limit=max(1, limit))
        return [(hit.docnum, hit.score) for hit in results][:limit]

    def first(self, query, limit: int) -> list[int]:
        """Up to `limit` matching rows, unranked: Whoosh stops reading the postings at the last of them."""
        return list(itertools.islice(_within_budget(self.searcher.docs_for_query(query)), limit))

    def stored(self, rows: list[int]) -> list[dict]:
        return [dict(self.searcher.stored_fields(int(row))) for row in rows]

    def find(self, kind: str, field: str, value: str) -> tuple[int, dict] | None:
        docnum = self.searcher.document_number(kind=kind, **{field: value})
        return None if docnum is None else (docnum, dict(self.searcher.stored_fields(docnum)))
