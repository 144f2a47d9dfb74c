"""The tantivy engine (tantivy-py): a Rust search library, for large collections.

Text fields hold the stems of kb.engines.analysis, separated by spaces, under tantivy's whitespace
tokenizer: the terms and their positions are exactly those the Whoosh engine indexes, so queries mean the
same on both. Facet fields are untokenized ("raw"), one term per value. A document's row in the
generation's columns is its `row` field (a fast field), assigned when it is added; the document itself is
one stored JSON value with the same fields as a Whoosh document.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

import numpy as np
import orjson
import tantivy
from tantivy import FieldType, Occur, Order, Query

from kb.engines.analysis import stems

NAME = "tantivy"
WRITER_HEAP = 256_000_000  # split between the writer's threads; more means fewer, larger segments

_KEYS = ("kind", "passage_id", "letter_id", "case_number", "decision", "category", "subcategory", "divergent",
         "region", "side", "since_injury", "injury_phase")
_MULTI = ("drug", "product", "unresolved", "drug_class", "brand", "guideline_ca", "guideline_reviewer", "guideline",
          "guideline_source", "specialty", "state", "dwc_category", "dwc_subcategory", "dwc_decision", "dwc_check",
          "regions", "diagnosis", "diagnosis_category", "reason")
# comma-separated in the documents: one term per value here
_TEXT = ("heading", "rationale")


def _schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    for name in (*_KEYS, *_MULTI):
        builder.add_text_field(name, tokenizer_name="raw", index_option="basic")
    for name in _TEXT:
        builder.add_text_field(name, tokenizer_name="whitespace", index_option="position")
    builder.add_integer_field("year", indexed=True, fast=True)
    builder.add_integer_field("day", indexed=True, fast=True)
    builder.add_integer_field("days_since_injury", indexed=True, fast=True)
    builder.add_boolean_field("synthetic", indexed=True)
    builder.add_unsigned_field("row", indexed=True, fast=True)
    builder.add_bytes_field("stored", stored=True)
    return builder.build()


SCHEMA = _schema()


# --------------------------------------------------------------------------------------------
# Writing


def owns(path: Path) -> bool:
    return (path / "meta.json").is_file()


def create(path: Path) -> None:
    tantivy.Index(SCHEMA, path=str(path), reuse=False)


def is_lock_file(name: str) -> bool:
    return name.startswith(".tantivy-") and name.endswith(".lock")


def _document(doc: dict, row: int) -> tantivy.Document:
    document = tantivy.Document()
    for name in _KEYS:
        if doc.get(name):
            document.add_text(name, doc[name])
    for name in _MULTI:
        for value in (doc.get(name) or "").split(","):
            if value:
                document.add_text(name, value)
    for name in _TEXT:
        if doc.get(name):
            document.add_text(name, " ".join(stems(doc[name])))
    document.add_integer("year", doc.get("year", 0))
    document.add_integer("day", doc.get("day", -1))
    document.add_integer("days_since_injury", doc.get("days_since_injury", -1))
    document.add_boolean("synthetic", bool(doc.get("synthetic")))
    document.add_unsigned("row", row)
    when = doc.get("decision_date")
    stored = {**doc, "decision_date": when.isoformat()} if when else doc
    document.add_bytes("stored", json.dumps(stored, ensure_ascii=False).encode("utf-8"))
    return document


def apply_changes(path: Path, changes: Iterable, *, optimize: bool = False, first_row: int = 0) -> list[int]:
    """Delete each change's letter, add its documents, commit; returns the added documents' rows.

    Rows are new: from `first_row` (the rows the columns already have), or past the highest row in use,
    whichever is higher, so a row once given is never given again and the columns can grow in place.
    `optimize` is accepted for the interface: tantivy merges segments in the background as it writes.
    """
    index = tantivy.Index.open(str(path))
    row = max(first_row, _rows_in_use(index.searcher()))
    added = []
    writer = index.writer(heap_size=WRITER_HEAP)
    try:
        for change in changes:
            if change.replaces:
                writer.delete_documents_by_term("letter_id", change.letter_id)
            for doc in change.docs:
                writer.add_document(_document(doc, row))
                added.append(row)
                row += 1
        writer.commit()
    except BaseException:
        writer.rollback()
        raise
    writer.wait_merging_threads()
    return added


def _rows_in_use(searcher: tantivy.Searcher) -> int:
    """One more than the highest row of a live document (0 for an empty index)."""
    if searcher.num_docs == 0:
        return 0
    hits = searcher.search(Query.all_query(), limit=1, order_by_field="row", order=Order.Desc).hits
    return int(hits[0][0]) + 1


def count_documents(path: Path, letter_kind: str) -> tuple[int, int]:
    reader = TantivyReader(path)
    letters = reader._count(term("kind", letter_kind))
    return letters, reader.doc_count() - letters


def live_rows(path: Path, kind: str) -> np.ndarray:
    reader = TantivyReader(path)
    query = term("kind", kind)
    return reader._rows(query, reader._count(query), np.iinfo(np.int64).max)


def passage_values(path: Path, passage_kind: str) -> tuple[int, Iterator[tuple[int, dict]]]:
    reader = TantivyReader(path)
    rows = _rows_in_use(reader.searcher)
    query = term("kind", passage_kind)
    addresses = reader._addresses(query, reader._count(query))
    numbers = reader.searcher.fast_field_values("row", addresses) if addresses else []
    ordered = sorted(zip(numbers, range(len(addresses))))

    def passages() -> Iterator[tuple[int, dict]]:
        for row, i in ordered:
            yield row, reader._fields(addresses[i])

    return rows, passages()


# --------------------------------------------------------------------------------------------
# Queries


def term(field: str, value, boost: float = 1.0):
    query = Query.term_query(SCHEMA, field, value)
    return query if boost == 1.0 else Query.boost_query(query, boost)


def nothing():
    return Query.empty_query()


def phrase(field: str, words: list[str]):
    return Query.phrase_query(SCHEMA, field, list(words))


def prefix(field: str, text: str):
    return Query.regex_query(SCHEMA, field, re.escape(text) + ".*")


def int_range(field: str, start: int | None, end: int | None):
    return Query.range_query(SCHEMA, field, FieldType.Integer, start, end)


def all_of(queries: list):
    return Query.boolean_query([(Occur.Must, query) for query in queries])


def any_of(queries: list):
    return Query.boolean_query([(Occur.Should, query) for query in queries])


def but_not(query, excluded):
    return Query.boolean_query([(Occur.Must, query), (Occur.MustNot, excluded)])


def and_maybe(required, optional):
    """Matches `required`; `optional` only adds to the score."""
    return Query.boolean_query([(Occur.Must, required), (Occur.Should, optional)])


# --------------------------------------------------------------------------------------------
# Reading


class TantivyPanic(RuntimeError):
    """tantivy panicked (on a damaged file, say): pyo3 raises a BaseException that no web framework or
    caller catches as an error, so the reader turns it into this."""


def _without_panics(method):
    @functools.wraps(method)
    def call(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except Exception:
            raise
        except BaseException as error:
            if type(error).__name__ == "PanicException":
                raise TantivyPanic(f"tantivy failed: {error}") from None
            raise
    return call


def open(path: Path) -> TantivyReader:  # noqa: A001 (the engine interface's name)
    return TantivyReader(path)


class TantivyReader:
    """A tantivy searcher over one generation; tantivy searchers are safe to share between threads."""

    @_without_panics
    def __init__(self, path: Path):
        self.searcher = tantivy.Index.open(str(path)).searcher()
        self._universes: dict[tuple[str, int], np.ndarray] = {}

    @_without_panics
    def doc_count(self) -> int:
        return self.searcher.num_docs

    @_without_panics
    def doc_frequency(self, field: str, term: str) -> int:
        return self.searcher.doc_freq(field, term)

    @_without_panics
    def prefix_frequency(self, field: str, prefix: str) -> int:
        """At most every document (tantivy-py lists no terms; a prefix query costs tantivy little anyway)."""
        return self.searcher.num_docs

    @_without_panics
    def mask(self, query, rows: int, universe=None) -> np.ndarray:
        """Materializing a match set costs per match (Python objects), so when most documents of the
        universe match, the ones that do not are collected instead."""
        if universe is None:
            universe = Query.all_query()
        else:
            query = all_of([query, universe])
        count = self._count(query)
        everything = self._universe(universe, rows)
        if count * 2 <= np.count_nonzero(everything):
            mask = np.zeros(rows, dtype=bool)
            mask[self._rows(query, count, rows)] = True
        else:
            mask = everything.copy()
            missing = but_not(universe, query)
            mask[self._rows(missing, self._count(missing), rows)] = False
        return mask

    def _count(self, query) -> int:
        return self.searcher.search(query, limit=1, count=True).count

    def _universe(self, universe, rows: int) -> np.ndarray:
        """The rows of every document matching `universe` (read once per reader and universe)."""
        key = (repr(universe), rows)
        if key not in self._universes:
            mask = np.zeros(rows, dtype=bool)
            mask[self._rows(universe, self._count(universe), rows)] = True
            self._universes[key] = mask
        return self._universes[key]

    def _addresses(self, query, count: int) -> list:
        if count == 0:
            return []
        return [address for _, address in self.searcher.search(query, limit=count, count=False).hits]

    def _rows(self, query, count: int, rows: int) -> np.ndarray:
        addresses = self._addresses(query, count)
        found = np.asarray(self.searcher.fast_field_values("row", addresses) if addresses else [], dtype=np.int64)
        return found[found < rows]

    @_without_panics
    def top(self, query, limit: int, *, allowed: np.ndarray | None = None, within=None) -> list[tuple[int, float]]:
        if within is not None:
            query = all_of([query, within])
        wanted = max(1, limit)
        while True:
            hits = self.searcher.search(query, limit=wanted, count=False).hits
            rows = self.searcher.fast_field_values("row", [address for _, address in hits]) if hits else []
            found = [(int(row), score) for row, (score, _) in zip(rows, hits)]
            if allowed is not None:
                found = [(row, score) for row, score in found if row < len(allowed) and allowed[row]]
            # `within` may not say all that `allowed` does (a facet computed for the whole index): read deeper
            if len(found) >= limit or len(hits) < wanted:
                return found[:limit]
            wanted *= 4

    @_without_panics
    def first(self, query, limit: int) -> list[int]:
        """Up to `limit` matching rows (tantivy ranks as fast as it collects)."""
        return [row for row, _ in self.top(query, limit)]

    @_without_panics
    def stored(self, rows: list[int]) -> list[dict]:
        if not rows:
            return []
        wanted = [int(row) for row in rows]
        hits = self.searcher.search(Query.term_set_query(SCHEMA, "row", wanted), limit=len(wanted), count=False).hits
        addresses = [address for _, address in hits]
        by_row = dict(zip(self.searcher.fast_field_values("row", addresses), addresses))
        # read in the store's order (its blocks are decompressed once each), return in the order asked for
        fields = {row: self._fields(address)
                  for row, address in sorted(by_row.items(), key=lambda item: (item[1].segment_ord, item[1].doc))}
        return [fields[row] for row in wanted]

    @_without_panics
    def find(self, kind: str, field: str, value: str) -> tuple[int, dict] | None:
        hits = self.searcher.search(all_of([term("kind", kind), term(field, value)]), limit=1, count=False).hits
        if not hits:
            return None
        address = hits[0][1]
        return int(self.searcher.fast_field_values("row", [address])[0]), self._fields(address)

    def _fields(self, address) -> dict:
        fields = orjson.loads(self.searcher.doc(address).get_first("stored"))  # (2.5 times json's speed)
        if fields.get("decision_date"):
            fields["decision_date"] = datetime.fromisoformat(fields["decision_date"])
        return fields
