"""Facet values of every passage in columnar form, for counts and statistics without reading documents.

A generation's columns are built once when it is published (kb.index) and saved beside it; a search
counts facet values over the set of matching rows with numpy, in time proportional to the matches'
facet entries, never by loading documents. Rows are the index's document numbers; rows that are not live
passages (letter documents, deleted documents) are masked out by `passage`.

Multi-valued facets (drugs, guideline ids, specialties...) are stored as CSR: `indptr[row]` to
`indptr[row + 1]` index into `indices`, which index into the facet's `values`.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path

import numpy as np

COLUMNS_FILE = "columns.npz"

# The multi-valued facets kept in columns, by the index field they come from.
MULTI = ("drug", "product", "unresolved", "drug_class", "category", "subcategory", "decision", "guideline",
         "guideline_ca", "guideline_reviewer", "guideline_source", "specialty", "state", "divergent",
         "dwc_category", "dwc_decision", "dwc_check",
         "region", "regions", "side", "since_injury", "injury_phase", "diagnosis", "diagnosis_category", "reason")
# Facets computed over a whole generation rather than read from each document: reused wording (kb.wording_store).
DERIVED = ("wording", "wording_group")


@dataclass(frozen=True)
class Facet:
    values: np.ndarray  # str, the distinct values
    indptr: np.ndarray  # int64, rows + 1
    indices: np.ndarray  # int32, into values
    entry_rows: np.ndarray  # int32, the row of each entry (for masking entries by row)

    def counts(self, mask: np.ndarray) -> np.ndarray:
        """How many masked rows hold each value."""
        selected = mask[self.entry_rows]
        if np.count_nonzero(selected) * 2 > len(selected):
            # most entries are selected: count the others and subtract (less to allocate and count)
            return self.totals - np.bincount(self.indices[~selected], minlength=len(self.values))
        return np.bincount(self.indices[selected], minlength=len(self.values))

    @cached_property
    def totals(self) -> np.ndarray:
        """How many rows hold each value."""
        return np.bincount(self.indices, minlength=len(self.values))

    @cached_property
    def ids(self) -> dict[str, int]:
        return {value: i for i, value in enumerate(self.values.tolist())}

    def rows_with(self, wanted: Iterable[str], entries: np.ndarray | None = None) -> np.ndarray:
        """A row mask: rows holding any of the wanted values (among the given entries, default all)."""
        ids = [self.ids[w] for w in wanted if w in self.ids]
        mask = np.zeros(len(self.indptr) - 1, dtype=bool)
        if ids:
            table = np.zeros(len(self.values), dtype=bool)
            table[ids] = True
            if entries is None:
                mask[self.entry_rows[table[self.indices]]] = True
            else:
                mask[self.entry_rows[entries[table[self.indices[entries]]]]] = True
        return mask

    def entries_of(self, mask: np.ndarray) -> np.ndarray:
        """The positions of the entries of the masked rows, in order: a smaller domain for repeated
        rows_with. Few rows: their ranges of entries; many: one pass over every entry."""
        rows = np.flatnonzero(mask)
        if len(rows) * 8 > len(mask):
            return np.flatnonzero(mask[self.entry_rows])
        starts = self.indptr[rows]
        lengths = self.indptr[rows + 1] - starts
        ends = np.cumsum(lengths)
        return np.repeat(starts - (ends - lengths), lengths) + np.arange(int(ends[-1]) if len(ends) else 0)

    def values_of(self, row: int) -> list[str]:
        return self.values[self.indices[self.indptr[row] : self.indptr[row + 1]]].tolist()


@dataclass(frozen=True)
class Columns:
    passage: np.ndarray  # bool: a live passage document
    year: np.ndarray  # int16, 0 when unknown
    day: np.ndarray  # int32 days since 1970-01-01, -1 when unknown
    facets: dict[str, Facet]
    passage_hash: np.ndarray | None = None  # int64: the passage id's hash (kb.wording_store.id_hashes), 0 if none
    wording_others: np.ndarray | None = None  # int32: other letters that reuse the rationale's wording; -1 unknown

    @property
    def rows(self) -> int:
        return len(self.passage)

    @cached_property
    def _by_hash(self) -> np.ndarray:
        return np.argsort(self.passage_hash) if self.passage_hash is not None else np.zeros(0, np.int64)

    def rows_of(self, hashes: np.ndarray) -> np.ndarray:
        """The row of each passage id hash (kb.wording_store.id_hashes), -1 where there is none."""
        order = self._by_hash
        if not len(order):
            return np.full(len(hashes), -1, dtype=np.int64)
        found = np.minimum(np.searchsorted(self.passage_hash[order], hashes), len(order) - 1)
        rows = order[found]
        return np.where((self.passage_hash[rows] == hashes) & self.passage[rows], rows, -1)

    def vocabulary(self, facet: str) -> tuple[tuple[str, int], ...]:
        """Every value of `facet` with the live passages holding it, most held first (computed once)."""
        cache = self.__dict__.setdefault("_vocabularies", {})  # frozen: the cache sits beside the fields
        if facet not in cache:
            column = self.facets[facet]
            counts = column.counts(self.passage)
            order = np.lexsort((column.values, -counts))
            cache[facet] = tuple((str(column.values[i]), int(counts[i])) for i in order if counts[i])
        return cache[facet]

    def with_wording(self, hashes: np.ndarray, groups: np.ndarray, others: np.ndarray) -> Columns:
        """These columns with the reused wording of the passages whose hashes are given (kb.wording_store:
        each one's group and how many other letters share its wording): the `wording` facet (templated or
        individual), the `wording_group` facet (a group's id, for templated ones) and `wording_others`."""
        order = np.argsort(hashes)
        found = np.searchsorted(hashes[order], self.passage_hash) if len(hashes) else np.zeros(self.rows, np.int64)
        found = np.minimum(found, max(len(hashes) - 1, 0))
        known = self.passage & (len(hashes) > 0) & (hashes[order][found] == self.passage_hash) if len(hashes) \
            else np.zeros(self.rows, bool)
        row_others = np.full(self.rows, -1, dtype=np.int32)
        row_others[known] = others[order][found[known]]
        row_groups = np.full(self.rows, -1, dtype=np.int64)
        row_groups[known] = groups[order][found[known]]
        templated = row_others > 0
        kind = np.where(templated, 0, 1)[known]
        indptr = np.concatenate([[0], np.cumsum(known)]).astype(np.int64)
        wording = Facet(np.asarray(["templated", "individual"], dtype=str), indptr, kind.astype(np.int32),
                        _entry_rows(indptr))
        values, indices = np.unique(row_groups[templated], return_inverse=True)
        group_indptr = np.concatenate([[0], np.cumsum(templated)]).astype(np.int64)
        group = Facet(values.astype(str), group_indptr, indices.astype(np.int32), _entry_rows(group_indptr))
        return replace(self, facets={**self.facets, "wording": wording, "wording_group": group},
                       wording_others=row_others)

    def save(self, directory: Path) -> None:
        arrays = {"passage": self.passage, "year": self.year, "day": self.day}
        for name in ("passage_hash", "wording_others"):
            if getattr(self, name) is not None:
                arrays[name] = getattr(self, name)
        for name, facet in self.facets.items():
            arrays[f"{name}.values"] = facet.values
            arrays[f"{name}.indptr"] = facet.indptr
            arrays[f"{name}.indices"] = facet.indices
        temporary = directory / f"{COLUMNS_FILE}.tmp.npz"
        np.savez(temporary, **arrays)
        temporary.replace(directory / COLUMNS_FILE)

    def extended(self, rows: int, added: Iterable[tuple[int, int, int, dict[str, Sequence[str]], int]],
                 live: np.ndarray) -> Columns:
        """These columns grown to `rows` rows, with the `added` rows' (row, year, day, values, passage hash)
        (each row new, past the existing ones) and `live` (the rows of every live passage) as the passage
        mask. The reused-wording facets are left out: they are computed for the whole (with_wording)."""
        added = sorted(added, key=lambda entry: entry[0])
        if added and added[0][0] < self.rows:
            raise ValueError(f"row {added[0][0]} is already in the columns ({self.rows} rows)")
        passage = np.zeros(rows, dtype=bool)
        passage[live] = True
        year = np.zeros(rows, dtype=np.int16)
        day = np.full(rows, -1, dtype=np.int32)
        passage_hash = np.zeros(rows, dtype=np.int64)
        year[: self.rows], day[: self.rows] = self.year, self.day
        if self.passage_hash is not None:
            passage_hash[: self.rows] = self.passage_hash
        for row, row_year, row_day, _, row_hash in added:
            year[row], day[row], passage_hash[row] = row_year, row_day, row_hash
        facets = {}
        for name, facet in self.facets.items():
            if name in DERIVED:
                continue
            lookup = dict(facet.ids)
            new_values = list(facet.values.tolist())
            counts = np.zeros(rows - self.rows, dtype=np.int64)
            indices = []
            for row, _, _, values, _ in added:
                for value in values.get(name, ()):
                    if value not in lookup:
                        lookup[value] = len(new_values)
                        new_values.append(value)
                    indices.append(lookup[value])
                counts[row - self.rows] = len(values.get(name, ()))
            indptr = np.concatenate([facet.indptr, facet.indptr[-1] + np.cumsum(counts)])
            all_indices = np.concatenate([facet.indices, np.asarray(indices, dtype=np.int32)])
            facets[name] = Facet(np.asarray(new_values, dtype=str), indptr, all_indices, _entry_rows(indptr))
        return Columns(passage, year, day, facets, passage_hash)

    @classmethod
    def load(cls, directory: Path) -> Columns:
        with np.load(directory / COLUMNS_FILE, allow_pickle=False) as data:
            arrays = {name: data[name] for name in data.files}
        facets = {}
        for name in (*MULTI, *(name for name in DERIVED if f"{name}.indptr" in arrays)):
            if f"{name}.indptr" not in arrays:  # a generation written before the facet existed: no values
                arrays[f"{name}.indptr"] = np.zeros(len(arrays["passage"]) + 1, dtype=np.int64)
                arrays[f"{name}.values"] = np.asarray([], dtype=str)
                arrays[f"{name}.indices"] = np.asarray([], dtype=np.int32)
            indptr = arrays[f"{name}.indptr"]
            facets[name] = Facet(arrays[f"{name}.values"], indptr, arrays[f"{name}.indices"],
                                 _entry_rows(indptr))
        return cls(arrays["passage"], arrays["year"], arrays["day"], facets, arrays.get("passage_hash"),
                   arrays.get("wording_others"))


def facet_totals(directory: Path, name: str) -> dict[str, int]:
    """How many passages hold each value of one facet, read from a saved generation's columns alone."""
    with np.load(directory / COLUMNS_FILE, allow_pickle=False) as data:
        if f"{name}.values" not in data.files:
            return {}
        values, indices = data[f"{name}.values"], data[f"{name}.indices"]
    return dict(zip(values.tolist(), np.bincount(indices, minlength=len(values)).tolist()))


def _entry_rows(indptr: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(indptr) - 1, dtype=np.int32), np.diff(indptr))


class ColumnsBuilder:
    """Collects each row's values in row order (in compact typed arrays: a million rows cost megabytes,
    not the hundreds that lists of Python ints take), then packs them into numpy arrays."""

    def __init__(self) -> None:
        self.passage = array("b")
        self.year = array("h")
        self.day = array("i")
        self.passage_hash = array("q")
        self._lookup: dict[str, dict[str, int]] = {name: {} for name in MULTI}
        self._indices: dict[str, array] = {name: array("i") for name in MULTI}
        self._indptr: dict[str, array] = {name: array("q", [0]) for name in MULTI}

    @property
    def rows(self) -> int:
        return len(self.passage)

    def add(self, *, passage: bool, year: int = 0, day: int = -1, values: dict[str, Sequence[str]] | None = None,
            passage_hash: int = 0):
        self.passage.append(passage)
        self.year.append(year)
        self.day.append(day)
        self.passage_hash.append(passage_hash)
        values = values or {}
        for name in MULTI:
            lookup, indices = self._lookup[name], self._indices[name]
            for value in values.get(name, ()):
                indices.append(lookup.setdefault(value, len(lookup)))
            self._indptr[name].append(len(indices))

    def build(self) -> Columns:
        facets = {}
        for name in MULTI:
            indptr = np.frombuffer(self._indptr[name], dtype=np.int64).copy()
            values = np.asarray(list(self._lookup[name]), dtype=str)
            facets[name] = Facet(values, indptr, np.frombuffer(self._indices[name], dtype=np.int32).copy(),
                                 _entry_rows(indptr))
        return Columns(
            np.frombuffer(self.passage, dtype=np.int8).astype(bool),
            np.frombuffer(self.year, dtype=np.int16).copy(),
            np.frombuffer(self.day, dtype=np.int32).copy(),
            facets,
            np.frombuffer(self.passage_hash, dtype=np.int64).copy(),
        )
