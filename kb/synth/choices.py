"""Random choices: Random.random() only, so the sequence is the same on every Python version; and small text helpers.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from itertools import accumulate


# --------------------------------------------------------------------------------------------
# Random choices: Random.random() only, so the sequence is the same on every Python version


class _Weighted:
    """A fixed weighted choice, drawn with one random() and a binary search."""

    __slots__ = ("values", "cumulative", "total")

    def __init__(self, pairs) -> None:
        pairs = [(value, weight) for value, weight in pairs if weight > 0]
        self.values = [value for value, _ in pairs]
        self.cumulative = list(accumulate(weight for _, weight in pairs))
        self.total = self.cumulative[-1] if pairs else 0.0
        # random() * total may round up to total itself; the repeated last value catches that draw.
        self.values.append(self.values[-1] if pairs else None)

    def pick(self, rng: random.Random):
        return self.values[bisect_right(self.cumulative, rng.random() * self.total)]

    def __bool__(self) -> bool:
        return self.total > 0

    def __contains__(self, value) -> bool:
        return value in self.values


def _pick(rng: random.Random, seq):
    return seq[int(rng.random() * len(seq))]


def _chance(rng: random.Random, probability: float) -> bool:
    return rng.random() < probability


def _between(rng: random.Random, low: int, high: int) -> int:
    """An integer in [low, high]."""
    return low + int(rng.random() * (high - low + 1))


def _distinct(rng: random.Random, seq, count: int) -> list:
    """`count` different elements of `seq` (fewer if it is shorter), by a partial Fisher-Yates shuffle."""
    size = len(seq)
    if count == 1 and size:
        return [seq[int(rng.random() * size)]]
    if count == 2 and size > 1:  # the common case, without copying the pool
        first = int(rng.random() * size)
        second = int(rng.random() * (size - 1))
        return [seq[first], seq[second + (second >= first)]]
    pool = list(seq)
    count = min(count, len(pool))
    for i in range(count):
        j = i + int(rng.random() * (len(pool) - i))
        pool[i], pool[j] = pool[j], pool[i]
    return pool[:count]


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def _squash(text: str) -> str:
    return " ".join(text.split())


def _joined(parts: list[str], conjunction: str = "and") -> str:
    """"a", "a and b", "a, b and c"."""
    if len(parts) < 2:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} {conjunction} {parts[-1]}"
