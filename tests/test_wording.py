"""kb.wording: near-duplicate groups against exact pairwise Jaccard on the real rationales, incremental indexing
and its saved state, the data's examples, "appears in N other decisions"."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import numpy as np
import pytest

from kb.letters import parse_letter
from kb.wording import (
    DATA,
    NUM_PERM,
    THRESHOLD,
    WordingIndex,
    estimated_jaccard,
    group_near_duplicates,
    jaccard,
    shingle_hashes,
    signature,
    words,
)


@pytest.fixture(scope="module")
def rationales(letters_dir: Path) -> list[tuple[str, str]]:
    found = []
    for path in sorted(letters_dir.glob("*.txt")):
        letter = parse_letter(path.read_text(encoding="utf-8"))
        found += [(f"{letter.case_number}/{item.ordinal}", item.rationale) for item in letter.items]
    return found


@pytest.mark.parametrize(("a", "b"), DATA["examples"]["near"])
def test_near_examples(a, b):
    assert jaccard(a, b) >= THRESHOLD
    assert group_near_duplicates([("A/1", a), ("B/1", b)]) == [["A/1", "B/1"]]


@pytest.mark.parametrize(("a", "b"), DATA["examples"]["far"])
def test_far_examples(a, b):
    assert jaccard(a, b) < THRESHOLD
    assert group_near_duplicates([("A/1", a), ("B/1", b)]) == []


def test_words_fold_case_and_digits():
    assert words("Twelve PT visits, 2x6 (12)") == ["twelve", "pt", "visits", "0x0", "00"]


def test_signatures_estimate_jaccard():
    rng = random.Random(7)
    vocabulary = [f"w{n}" for n in range(400)]
    for _ in range(20):
        base = [rng.choice(vocabulary) for _ in range(120)]
        changed = [w if rng.random() > 0.2 else rng.choice(vocabulary) for w in base]
        a, b = " ".join(base), " ".join(changed)
        assert abs(estimated_jaccard(signature(a), signature(b)) - jaccard(a, b)) < 4.5 * (0.25 / NUM_PERM) ** 0.5


def test_groups_agree_with_exact_pairwise_jaccard(rationales):
    """Pairs clearly above the threshold are grouped; every pair the index links directly is truly similar."""
    index = WordingIndex()
    links = []
    for item_id, text in rationales:
        links += [(item_id, other) for other in index.add(item_id, text)]
    group = {item: n for n, members in enumerate(index.groups()) for item in members}
    shingles = {item: set(shingle_hashes(text).tolist()) for item, text in rationales}

    def exact(a: str, b: str) -> float:
        return len(shingles[a] & shingles[b]) / len(shingles[a] | shingles[b])

    for a, b in itertools.combinations(shingles, 2):
        if exact(a, b) >= THRESHOLD + 0.1:
            assert a in group and group[a] == group.get(b), (a, b)
    for a, b in links:
        assert exact(a, b) >= THRESHOLD - 0.1, (a, b)
    assert 15 <= len(index.groups()) <= 40  # the sample holds templated wording, but most of it is individual


def test_other_decisions_counts_other_letters(rationales):
    index = WordingIndex()
    index.add_many(rationales)
    counts = index.other_decision_counts()
    # the 14 "associated surgical service" one-liners of CM17-0014449 share their words with letters
    # CM16-0247274, CM17-0002892, CM17-0006797 and CM17-0015957
    assert counts["CM17-0014449/2"] == 4 == index.other_decisions("CM17-0014449/2")
    assert counts["CM16-0213037/1"] == 0  # the same wording only within its own letter
    assert "CM16-0213037/2" in index.group_of("CM16-0213037/1")


def test_incremental_indexing_from_saved_state_matches_one_batch(rationales, tmp_path):
    half = len(rationales) // 2
    first = WordingIndex()
    first.add_many(rationales[:half])
    path = tmp_path / "wording.npz"
    np.savez(path, **first.state())
    with np.load(path, allow_pickle=True) as saved:
        resumed = WordingIndex.from_state(dict(saved))
    resumed.add_many(rationales[half:])
    batch = WordingIndex()
    batch.add_many(rationales)
    assert resumed.groups() == batch.groups()
    assert resumed.other_decision_counts() == batch.other_decision_counts()


def test_adding_an_id_twice_is_refused():
    index = WordingIndex()
    index.add("A/1", "some words of a rationale")
    with pytest.raises(ValueError):
        index.add("A/1", "other words")
