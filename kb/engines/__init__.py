"""The full-text engines, behind one small interface: kb.index writes generations through them, kb.search
reads them. Nothing else in imr-kb knows which engine an index uses.

    whoosh   pure Python; the default, and right for collections up to some tens of thousands of passages
    tantivy  Rust (tantivy-py); for large collections: millions of passages, built and searched in
             milliseconds (see the README's "Large collections")

Both index the same documents (kb.index.documents) with the same text analysis (kb.engines.analysis), and
both number documents by row: the row of a document in the generation's columns (kb.columns). An engine
module provides

    NAME
    owns(path)                                   is the generation at `path` this engine's?
    create(path)                                 an empty index
    is_lock_file(name)                           a file not to copy into the next generation
    apply_changes(path, changes, optimize, first_row)
                                                 delete letters and add documents, in one commit; the
                                                 added documents' rows, or None if rows change on merges
    count_documents(path, letter_kind)           (letters, passages), as a reader sees them
    live_rows(path, kind)                        the rows of every live document of a kind
    passage_values(path, passage_kind)           (rows, every live passage's (row, fields)), for columns
    open(path) -> reader                         for searching (see Reader below)

and query constructors: term, phrase, prefix, int_range, all_of, any_of, but_not, and_maybe, nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

import numpy as np

from kb.engines import tantivy_engine, whoosh_engine

ENGINES = {whoosh_engine.NAME: whoosh_engine, tantivy_engine.NAME: tantivy_engine}
DEFAULT_ENGINE = whoosh_engine.NAME
ENGINE_VARIABLE = "KB_ENGINE"


class EngineError(ValueError):
    """An engine name that does not exist, or an index directory no engine recognises."""


class Reader(Protocol):
    """A generation opened for searching. Safe to share between threads."""

    def doc_count(self) -> int: ...  # every document, letters included (for inverse document frequencies)

    def doc_frequency(self, field: str, term: str) -> int: ...

    def prefix_frequency(self, field: str, prefix: str) -> int: ...  # the documents of the terms so starting

    def mask(self, query, rows: int, universe=None) -> np.ndarray: ...  # bool, one per row: the rows
    # matching `query` (and `universe`, a query for the documents that count: passages)

    def top(self, query, limit: int, *, allowed: np.ndarray | None = None,
            within=None) -> list[tuple[int, float]]: ...  # (row, score), best first, only allowed rows

    def first(self, query, limit: int) -> list[int]: ...  # up to `limit` matching rows, in no promised order

    def stored(self, rows: list[int]) -> list[dict]: ...  # the documents' fields, in the order of `rows`

    def find(self, kind: str, field: str, value: str) -> tuple[int, dict] | None: ...


def engine_named(name: str | None = None):
    """The engine called `name`; without one, $KB_ENGINE or the default (whoosh)."""
    name = name or os.environ.get(ENGINE_VARIABLE) or DEFAULT_ENGINE
    try:
        return ENGINES[name]
    except KeyError:
        raise EngineError(f"unknown engine {name!r}: choose one of {', '.join(ENGINES)}") from None


def engine_of(generation: Path):
    """The engine that wrote the generation at `generation`."""
    for engine in ENGINES.values():
        if engine.owns(generation):
            return engine
    raise EngineError(f"{generation} holds no index that imr-kb knows (neither Whoosh nor tantivy)")
