"""Reused wording across an index: which rationales are near-duplicates of others (kb.wording's MinHash
signatures and bands), kept with each generation and grown at every checkpoint.

Everything is numpy arrays in files of the generation, so `kb index` holds a few bytes per rationale
(not the signatures: those are memory-mapped) and the cost of a checkpoint does not grow with the index:

    wording.npz              per rationale: its passage and letter (64-bit hashes of their ids), its
                             parent in the union-find of near-duplicate groups, whether it is still indexed
    wording-sig-000000012000.npy  the signatures of the rationales a checkpoint added, named by the
                             first one's row (written once, then hard-linked into every later generation
                             as the engines' segments are)
    wording-key-000000012000.npy  their LSH band keys, sorted, and in wording-row-....npy the row of each
                             (both memory-mapped); merged into one pair when there are more than
                             MAX_KEY_FILES

A rationale replaced or removed (its letter parsed again, or indexed from another file) stays in the groups it
joined, marked dead: it no longer counts, and no longer matches new ones.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import xxhash

from kb.wording import BANDS, NUM_PERM, THRESHOLD, band_keys

STATE = "wording.npz"
CANDIDATES_PER_KEY = 16  # a template shared by thousands: its oldest members are enough to join its group
PAIRS_AT_ONCE = 50_000  # candidate pairs whose signatures are compared in one go (a megabyte or two each)
_SIGNATURES = re.compile(r"wording-sig-(\d{12})\.npy$")
_KEYS = re.compile(r"wording-key-(\d{12})\.npy$")
MAX_KEY_FILES = 12


def id_hashes(values: Iterable[str]) -> np.ndarray:
    """64-bit hashes of ids (passage or letter ids), as numpy int64."""
    return np.fromiter((xxhash.xxh3_64_intdigest(v.encode("utf-8")) for v in values), dtype=np.uint64
                       ).astype(np.int64)


@dataclass
class WordingStore:
    """The reused-wording state of one generation; `add` and `remove_letters`, then `save` into the next."""

    passage: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    letter: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    parent: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    live: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    signature_files: list[tuple[int, Path]] = field(default_factory=list)  # (first row, file), in row order
    key_files: list[Path] = field(default_factory=list)
    _new_signatures: list[np.ndarray] = field(default_factory=list)
    _new_keys: list[np.ndarray] = field(default_factory=list)
    _saved_rows: int = 0

    @classmethod
    def load(cls, generation: Path | None) -> WordingStore:
        if generation is None or not (generation / STATE).is_file():
            return cls()
        with np.load(generation / STATE) as data:
            store = cls(data["passage"], data["letter"], data["parent"], data["live"])
        store.signature_files = sorted((int(m.group(1)), generation / m.group(0)) for m in
                                       (_SIGNATURES.match(p.name) for p in generation.iterdir()) if m)
        store.key_files = sorted(p for p in generation.iterdir() if _KEYS.match(p.name))
        store._saved_rows = len(store.passage)
        return store

    def __len__(self) -> int:
        return len(self.passage)

    # growing

    def remove_letters(self, letter_ids: Iterable[str]) -> None:
        """Every rationale of these letters no longer counts (the letters were replaced or removed)."""
        gone = id_hashes(letter_ids)
        if len(gone) and len(self.letter):
            self.live &= ~np.isin(self.letter, gone)

    def add(self, rationales: list[tuple[str, str, np.ndarray]]) -> None:
        """Add (passage id, letter id, signature) rationales, joining each to the groups it is near to."""
        if not rationales:
            return
        first = len(self.passage)
        signatures = np.stack([sig for _, _, sig in rationales]).astype(np.uint32)
        keys = band_keys(signatures)
        rows = np.arange(first, first + len(rationales), dtype=np.int32)
        self.passage = np.concatenate([self.passage, id_hashes(p for p, _, _ in rationales)])
        self.letter = np.concatenate([self.letter, id_hashes(letter for _, letter, _ in rationales)])
        self.parent = np.concatenate([self.parent, rows])
        self.live = np.concatenate([self.live, np.ones(len(rationales), bool)])
        self._new_signatures.append(signatures)
        self._new_keys.append(keys)
        pairs = self._candidate_pairs(keys.ravel(), np.repeat(rows, BANDS))
        for start in range(0, len(pairs), PAIRS_AT_ONCE):
            chunk = pairs[start:start + PAIRS_AT_ONCE]
            near = self._agreement(chunk[:, 0], chunk[:, 1]) >= THRESHOLD
            for a, b in chunk[near].tolist():
                self._union(a, b)

    def _candidate_pairs(self, keys: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """(new row, other row) pairs sharing a band key: with what was indexed before, and within the batch."""
        found = []
        for path in self.key_files:
            old_keys, old_rows = np.load(path, mmap_mode="r"), np.load(_rows_path(path), mmap_mode="r")
            lo = np.searchsorted(old_keys, keys, side="left")
            hi = np.searchsorted(old_keys, keys, side="right")
            hits = hi > lo
            for new, a, b in zip(rows[hits].tolist(), lo[hits].tolist(), hi[hits].tolist()):
                found.extend((new, other) for other in old_rows[a:min(b, a + CANDIDATES_PER_KEY)].tolist())
        found.extend(self._unsaved_pairs(keys, rows))
        if not found:
            return np.zeros((0, 2), dtype=np.int64)
        pairs = np.unique(np.asarray(found, dtype=np.int64), axis=0)
        pairs = pairs[pairs[:, 0] != pairs[:, 1]]
        return pairs[self.live[pairs[:, 1]]]

    def _unsaved_pairs(self, keys: np.ndarray, rows: np.ndarray) -> list[tuple[int, int]]:
        """Pairs among the rows added since the last save (this batch and the ones before it in this run)."""
        start = self._saved_rows
        all_keys = np.concatenate([k.ravel() for k in self._new_keys])
        all_rows = np.repeat(np.arange(start, start + len(all_keys) // BANDS, dtype=np.int64), BANDS)
        order = np.argsort(all_keys, kind="stable")
        sorted_keys, sorted_rows = all_keys[order], all_rows[order]
        lo = np.searchsorted(sorted_keys, keys, side="left")
        hi = np.searchsorted(sorted_keys, keys, side="right")
        pairs = []
        for new, a, b in zip(rows.tolist(), lo.tolist(), hi.tolist()):
            if b - a > 1:
                pairs.extend((new, other) for other in sorted_rows[a:min(b, a + CANDIDATES_PER_KEY)].tolist()
                             if other < new)
        return pairs

    def _signatures_of(self, rows: np.ndarray) -> np.ndarray:
        """The signatures of `rows`, from the memory-mapped files and the batch in memory."""
        found = np.zeros((len(rows), NUM_PERM), dtype=np.uint32)
        starts = [first for first, _ in self.signature_files] + [self._saved_rows]
        sources = [np.load(path, mmap_mode="r") for _, path in self.signature_files]
        sources.append(np.concatenate(self._new_signatures) if self._new_signatures else
                       np.zeros((0, NUM_PERM), np.uint32))
        which = np.searchsorted(np.asarray(starts), rows, side="right") - 1
        for index in np.unique(which).tolist():
            chosen = which == index
            found[chosen] = sources[index][rows[chosen] - starts[index]]
        return found

    def _agreement(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        return np.count_nonzero(self._signatures_of(a) == self._signatures_of(b), axis=1) / NUM_PERM

    def _find(self, row: int) -> int:
        parent = self.parent
        root = row
        while parent[root] != root:
            root = parent[root]
        while parent[row] != root:
            parent[row], row = root, parent[row]
        return root

    def _union(self, a: int, b: int) -> None:
        ra, rb = self._find(a), self._find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)

    # reading

    def roots(self) -> np.ndarray:
        """Every rationale's group (the row of its oldest member), all at once."""
        roots = self.parent.copy()
        while True:
            following = roots[roots]
            if np.array_equal(following, roots):
                return roots
            roots = following

    def others(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(passage hash, group, other letters) of every live rationale: the group is its oldest member's
        row, and `other letters` how many other letters have a live rationale in the group."""
        roots = self.roots()
        live = np.flatnonzero(self.live)
        pairs = np.unique(np.stack([roots[live].astype(np.int64), self.letter[live]], axis=1), axis=0)
        groups, letters = np.unique(pairs[:, 0], return_counts=True)
        letters_of = np.zeros(len(self.parent), dtype=np.int32)
        letters_of[groups] = letters
        return self.passage[live], roots[live], letters_of[roots[live]] - 1

    # keeping

    def save(self, generation: Path) -> None:
        """Write this batch's signatures and keys as new files, merge the key files when there are many, and
        the per-rationale arrays."""
        if self._new_signatures:
            signatures = np.concatenate(self._new_signatures)
            keys = np.concatenate(self._new_keys).ravel()
            rows = np.repeat(np.arange(self._saved_rows, self._saved_rows + len(signatures), dtype=np.int32), BANDS)
            sig_path = generation / f"wording-sig-{self._saved_rows:012d}.npy"
            _save(sig_path, lambda out: np.save(out, signatures))
            order = np.argsort(keys, kind="stable")
            key_path = generation / f"wording-key-{self._saved_rows:012d}.npy"
            _save(_rows_path(key_path), lambda out: np.save(out, rows[order]))
            _save(key_path, lambda out: np.save(out, keys[order]))
            self.signature_files.append((self._saved_rows, sig_path))
            self.key_files.append(key_path)
            self._new_signatures, self._new_keys = [], []
            self._saved_rows = len(self.passage)
        if len(self.key_files) > MAX_KEY_FILES:
            self._merge_keys(generation)
        _save(generation / STATE, lambda out: np.savez(out, passage=self.passage, letter=self.letter,
                                                       parent=self.parent, live=self.live))

    def _merge_keys(self, generation: Path) -> None:
        keys = np.concatenate([np.load(path, mmap_mode="r") for path in self.key_files])
        rows = np.concatenate([np.load(_rows_path(path), mmap_mode="r") for path in self.key_files])
        order = np.argsort(keys, kind="stable")
        for path in self.key_files:
            if path.parent == generation:  # a hard link: the older generation keeps its own
                path.unlink(missing_ok=True)
                _rows_path(path).unlink(missing_ok=True)
        target = generation / f"wording-key-{0:012d}.npy"
        _save(_rows_path(target), lambda out: np.save(out, rows[order]))
        _save(target, lambda out: np.save(out, keys[order]))
        self.key_files = [target]


def _rows_path(key_path: Path) -> Path:
    return key_path.with_name(key_path.name.replace("wording-key-", "wording-row-"))


def _save(path: Path, write) -> None:
    temporary = path.with_name(f"{path.name}.tmp")
    with open(temporary, "wb") as out:
        write(out)
    os.replace(temporary, path)
