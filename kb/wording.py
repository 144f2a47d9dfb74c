"""Reused wording: near-duplicate rationales across a collection, by MinHash over word shingles (kb/data/wording.json).

A rationale becomes the set of its 5-word shingles (lower case, digits made 0); two rationales whose shingle
sets have a Jaccard similarity of 0.6 or more are near-duplicates, and near-duplicates chain into groups.
`WordingIndex` is built for an index: `add(item_id, text)` compares a new rationale with everything already
added (through locality-sensitive hashing of its MinHash signature, so the cost does not grow with the
collection) and returns the near-duplicates it found; `other_decisions(item_id)` says in how many other
letters the wording appears; `state()` and `WordingIndex.from_state()` keep the signatures between indexing
runs so a letter indexed later is compared with what is already there. `group_near_duplicates(items)` does it
all at once for a batch.

Pure and in memory: numpy for the signatures, zlib's CRC-32 as a stable word hash; no I/O beyond the JSON.

    >>> index = WordingIndex()
    >>> index.add("CM1/1", "There is no evidence of any red flag conditions on examination today.")
    []
    >>> index.add("CM2/1", "There is no evidence of any red flag conditions on examination today.")
    ['CM1/1']
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Iterable
from itertools import islice
from pathlib import Path

import numpy as np

DATA_PATH = Path(__file__).resolve().parent / "data" / "wording.json"
DATA = json.loads(DATA_PATH.read_text(encoding="utf-8"))

SHINGLE_WORDS: int = DATA["shingle_words"]
NUM_PERM: int = DATA["num_perm"]
BANDS: int = DATA["bands"]
ROWS = NUM_PERM // BANDS
THRESHOLD: float = DATA["threshold"]

_rng = np.random.default_rng(DATA["seed"])
# Multiply-shift hashing: h(x) = ((a * x + b) mod 2**64) >> 32 with odd a is a universal family of 32-bit
# hashes; uint64 arithmetic wraps modulo 2**64 by itself, so it needs neither a prime nor big integers.
_A = _rng.integers(1, 1 << 63, size=NUM_PERM, dtype=np.uint64) * np.uint64(2) + np.uint64(1)
_B = _rng.integers(0, 1 << 63, size=NUM_PERM, dtype=np.uint64)
_BAND_MIX = _rng.integers(1, 1 << 63, size=ROWS, dtype=np.uint64) | np.uint64(1)
_WORD = re.compile(r"[a-z0-9]+")
_DIGIT = re.compile(r"[0-9]")
_WORD_HASHES: dict[str, int] = {}
_WORD_CACHE_LIMIT = 200_000


def words(text: str) -> list[str]:
    """Lower-case words, every digit made 0."""
    return _WORD.findall(_DIGIT.sub("0", text.lower()))


def _word_hash(word: str) -> int:
    found = _WORD_HASHES.get(word)
    if found is None:
        found = zlib.crc32(word.encode())
        if len(_WORD_HASHES) < _WORD_CACHE_LIMIT:
            _WORD_HASHES[word] = found
    return found


def shingle_hashes(text: str) -> np.ndarray:
    """The distinct 32-bit hashes of the text's 5-word shingles (one shingle for a shorter text)."""
    tokens = np.fromiter((_word_hash(w) for w in words(text)), dtype=np.uint64)
    if len(tokens) == 0:
        return np.zeros(0, dtype=np.uint64)
    count = max(1, len(tokens) - SHINGLE_WORDS + 1)
    mixed = np.zeros(count, dtype=np.uint64)
    for i in range(min(SHINGLE_WORDS, len(tokens))):
        mixed = mixed * np.uint64(1_000_003) + tokens[i : i + count]  # wraps modulo 2**64, as intended
    return np.unique(mixed & np.uint64(0xFFFFFFFF))


def signature(text: str) -> np.ndarray:
    """The MinHash signature (NUM_PERM uint32) of a text; all ones for a text without words."""
    hashes = shingle_hashes(text)
    if len(hashes) == 0:
        return np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
    permuted = (hashes[:, None] * _A[None, :] + _B[None, :]) >> np.uint64(32)
    return permuted.min(axis=0).astype(np.uint32)


def jaccard(text_a: str, text_b: str) -> float:
    """The exact Jaccard similarity of two texts' shingle sets (what signatures estimate)."""
    a, b = set(shingle_hashes(text_a).tolist()), set(shingle_hashes(text_b).tolist())
    return len(a & b) / len(a | b) if a | b else 1.0


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    return float(np.count_nonzero(sig_a == sig_b)) / NUM_PERM


_BAND_SALT = (np.arange(BANDS, dtype=np.uint64) + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)


def band_keys(signatures: np.ndarray) -> np.ndarray:
    """(n, BANDS) uint64: one key per band of each signature, salted by its band so one table holds all bands."""
    rows = signatures[:, : BANDS * ROWS].astype(np.uint64).reshape(len(signatures), BANDS, ROWS)
    return (rows * _BAND_MIX[None, None, :]).sum(axis=2) ^ _BAND_SALT[None, :]


def letter_of(item_id: str) -> str:
    """"CM16-0213037/1" -> "CM16-0213037" (the index's passage ids are letter id, slash, ordinal)."""
    return item_id.rsplit("/", 1)[0]


class WordingIndex:
    """Near-duplicate rationales of a collection, grown one rationale at a time.

    The LSH table is a few sorted numpy arrays of (band key, row), each at most a quarter of the one before,
    searched with searchsorted for all bands at once, plus a small dict for the last FLUSH_ROWS rows added.
    The dict is flushed into a new array, and arrays merge when one grows past a quarter of the one before
    it, so the table costs O(n log n) to grow and 12 bytes a band per rationale (with 512 bytes of
    signature): a million rationales hold about 900 MB.
    """

    FLUSH_ROWS = 4096

    def __init__(self, threshold: float = THRESHOLD):
        self.threshold = threshold
        self.ids: list[str] = []
        self.letters: list[str] = []
        self._position: dict[str, int] = {}
        self._signatures = np.zeros((0, NUM_PERM), dtype=np.uint32)
        self._count = 0
        self._levels: list[tuple[np.ndarray, np.ndarray]] = []  # (sorted keys, rows), largest first
        self._recent: dict[int, list[int]] = {}
        self._recent_entries = 0
        self._parent: list[int] = []

    def __len__(self) -> int:
        return self._count

    # -- growing ---------------------------------------------------------------------------------

    def _store(self, sig: np.ndarray) -> None:
        if self._count == len(self._signatures):
            grown = np.zeros((max(1024, 2 * len(self._signatures)), NUM_PERM), dtype=np.uint32)
            grown[: self._count] = self._signatures[: self._count]
            self._signatures = grown
        self._signatures[self._count] = sig

    def add_signature(self, item_id: str, sig: np.ndarray, keys: np.ndarray | None = None,
                      letter_id: str | None = None) -> list[str]:
        """Add one rationale by its signature; the ids of the near-duplicates already indexed."""
        if item_id in self._position:
            raise ValueError(f"{item_id} is already indexed")
        keys = band_keys(sig[None, :])[0] if keys is None else keys
        candidates = self._candidates(keys)
        row = self._count
        matched = []
        if candidates:
            rows = np.fromiter(sorted(candidates), dtype=np.int64)
            agree = np.count_nonzero(self._signatures[rows] == sig[None, :], axis=1) / NUM_PERM
            matched = rows[agree >= self.threshold].tolist()
        self._store(sig)
        self.ids.append(item_id)
        self.letters.append(letter_id if letter_id is not None else letter_of(item_id))
        self._position[item_id] = row
        self._parent.append(row)
        self._count += 1
        for key in keys.tolist():
            self._recent.setdefault(key, []).append(row)
        self._recent_entries += BANDS
        if self._recent_entries >= self.FLUSH_ROWS * BANDS:
            self._flush()
        for other in matched:
            self._union(row, other)
        return [self.ids[other] for other in matched]

    def _candidates(self, keys: np.ndarray) -> set[int]:
        found: set[int] = set()
        for level_keys, level_rows in self._levels:
            lo = np.searchsorted(level_keys, keys, side="left")
            hi = np.searchsorted(level_keys, keys, side="right")
            for a, b in zip(lo.tolist(), hi.tolist()):
                if b > a:
                    found.update(level_rows[a:b].tolist())
        recent = self._recent
        for key in keys.tolist():
            rows = recent.get(key)
            if rows:
                found.update(rows)
        return found

    def _flush(self) -> None:
        """Move the recent rows' keys into a sorted array; merge arrays that have grown alike."""
        if not self._recent:
            return
        keys = np.fromiter((k for k, rows in self._recent.items() for _ in rows), dtype=np.uint64,
                           count=self._recent_entries)
        rows = np.fromiter((r for rs in self._recent.values() for r in rs), dtype=np.int32, count=self._recent_entries)
        order = np.argsort(keys, kind="stable")
        self._levels.append((keys[order], rows[order]))
        self._recent = {}
        self._recent_entries = 0
        while len(self._levels) > 1 and 4 * len(self._levels[-1][0]) > len(self._levels[-2][0]):
            (k2, r2), (k1, r1) = self._levels.pop(), self._levels.pop()
            merged_keys = np.concatenate([k1, k2])
            order = np.argsort(merged_keys, kind="stable")
            self._levels.append((merged_keys[order], np.concatenate([r1, r2])[order]))

    def add(self, item_id: str, text: str, letter_id: str | None = None) -> list[str]:
        """Add one rationale; the ids of the near-duplicates already indexed."""
        return self.add_signature(item_id, signature(text), letter_id=letter_id)

    def add_many(self, items: Iterable[tuple[str, str]], chunk: int = 10_000) -> None:
        """Add (item_id, text) pairs; band keys are computed a chunk at a time."""
        pairs = iter(items)
        while batch := list(islice(pairs, chunk)):
            sigs = np.stack([signature(text) for _, text in batch])
            for (item_id, _), sig, key in zip(batch, sigs, band_keys(sigs)):
                self.add_signature(item_id, sig, key)

    # -- groups ----------------------------------------------------------------------------------

    def _find(self, row: int) -> int:
        root = row
        while self._parent[root] != root:
            root = self._parent[root]
        while self._parent[row] != root:  # path compression
            self._parent[row], row = root, self._parent[row]
        return root

    def _union(self, a: int, b: int) -> None:
        ra, rb = self._find(a), self._find(b)
        if ra != rb:
            self._parent[max(ra, rb)] = min(ra, rb)

    def groups(self, min_size: int = 2) -> list[list[str]]:
        """Groups of near-duplicate rationales (connected components), largest first, ids in added order."""
        members: dict[int, list[str]] = {}
        for row, item_id in enumerate(self.ids):
            members.setdefault(self._find(row), []).append(item_id)
        found = [group for group in members.values() if len(group) >= min_size]
        return sorted(found, key=lambda group: (-len(group), group[0]))

    def group_of(self, item_id: str) -> list[str]:
        root = self._find(self._position[item_id])
        return [other for row, other in enumerate(self.ids) if self._find(row) == root]

    def other_decisions(self, item_id: str) -> int:
        """In how many other letters the same wording appears ("this wording appears in N other decisions")."""
        own = self.letters[self._position[item_id]]
        root = self._find(self._position[item_id])
        return len({self.letters[row] for row in range(self._count) if self._find(row) == root} - {own})

    def other_decision_counts(self) -> dict[str, int]:
        """other_decisions for every item at once (one pass): the column an index stores."""
        letters_of_root: dict[int, set[str]] = {}
        roots = [self._find(row) for row in range(self._count)]
        for row, root in enumerate(roots):
            letters_of_root.setdefault(root, set()).add(self.letters[row])
        return {item_id: len(letters_of_root[root] - {self.letters[row]})
                for row, (item_id, root) in enumerate(zip(self.ids, roots))}

    # -- keeping it between runs -----------------------------------------------------------------

    def state(self) -> dict[str, np.ndarray]:
        """What an index saves (e.g. with numpy.savez) to resume: ids, letters, signatures and group roots."""
        return {
            "ids": np.array(self.ids, dtype=object),
            "letters": np.array(self.letters, dtype=object),
            "signatures": self._signatures[: self._count].copy(),
            "roots": np.array([self._find(row) for row in range(self._count)], dtype=np.int64),
        }

    @classmethod
    def from_state(cls, state: dict[str, np.ndarray], threshold: float = THRESHOLD) -> WordingIndex:
        """An index restored from `state()`, ready to take new rationales."""
        index = cls(threshold)
        sigs = np.asarray(state["signatures"], dtype=np.uint32)
        index.ids = [str(i) for i in state["ids"]]
        index.letters = [str(letter) for letter in state["letters"]]
        index._position = {item_id: row for row, item_id in enumerate(index.ids)}
        index._signatures = sigs.copy()
        index._count = len(sigs)
        index._parent = [int(root) for root in state["roots"]]
        if len(sigs):
            keys = band_keys(sigs).ravel()
            order = np.argsort(keys, kind="stable")
            index._levels = [(keys[order], np.repeat(np.arange(len(sigs), dtype=np.int32), BANDS)[order])]
        return index


def group_near_duplicates(items: Iterable[tuple[str, str]], threshold: float = THRESHOLD) -> list[list[str]]:
    """Groups of near-duplicate rationales among (item_id, text) pairs, largest first."""
    index = WordingIndex(threshold)
    index.add_many(items)
    return index.groups()
