"""kb.wording_store: reused wording kept with a generation and grown at each checkpoint, against kb.wording's
one-batch groups on the real rationales; letters removed; key files merged; the facets an index gets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kb import index as kb_index
from kb import wording_store
from kb.columns import Columns
from kb.letters import parse_letter
from kb.wording import group_near_duplicates, letter_of, signature
from kb.wording_store import WordingStore, id_hashes


@pytest.fixture(scope="module")
def rationales(letters_dir: Path) -> list[tuple[str, str, np.ndarray]]:
    found = []
    for path in sorted(letters_dir.glob("*.txt")):
        letter = parse_letter(path.read_text(encoding="utf-8"))
        found += [(f"{letter.case_number}/{item.ordinal}", letter.case_number, signature(item.rationale))
                  for item in letter.items]
    return found


def _groups(store: WordingStore, ids: list[str]) -> list[list[str]]:
    """The store's groups of two or more, as lists of passage ids (to compare with kb.wording's)."""
    hashes, roots, _ = store.others()
    by_hash = dict(zip(id_hashes(ids).tolist(), ids))
    members: dict[int, list[str]] = {}
    for passage_hash, root in zip(hashes.tolist(), roots.tolist()):
        members.setdefault(root, []).append(by_hash[passage_hash])
    return sorted((sorted(group) for group in members.values() if len(group) > 1), key=lambda g: (-len(g), g))


def _in_batches(rationales, generation: Path, batches: int) -> WordingStore:
    store = WordingStore.load(generation)
    size = -(-len(rationales) // batches)
    for start in range(0, len(rationales), size):
        store.add(rationales[start:start + size])
        store.save(generation)
        store = WordingStore.load(generation)  # as the next checkpoint finds it
    return store


def test_groups_grown_over_checkpoints_equal_the_groups_of_one_batch(rationales, letters_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(wording_store, "MAX_KEY_FILES", 2)  # the key files are merged along the way too
    store = _in_batches(rationales, tmp_path, batches=5)
    texts = {}
    for path in sorted(letters_dir.glob("*.txt")):
        letter = parse_letter(path.read_text(encoding="utf-8"))
        texts.update({f"{letter.case_number}/{item.ordinal}": item.rationale for item in letter.items})
    expected = sorted((sorted(group) for group in group_near_duplicates(texts.items())), key=lambda g: (-len(g), g))
    assert _groups(store, [passage for passage, _, _ in rationales]) == expected
    assert expected, "the real letters share some wording"
    assert len(list(tmp_path.glob("wording-key-*.npy"))) <= 2


def test_other_letters_count_and_removed_letters_no_longer_count(rationales, tmp_path):
    store = _in_batches(rationales, tmp_path, batches=2)
    hashes, roots, others = store.others()
    letters = {passage: letter for passage, letter, _ in rationales}
    by_hash = dict(zip(id_hashes(letters).tolist(), letters))
    letters_in = {}
    for passage_hash, root in zip(hashes.tolist(), roots.tolist()):
        letters_in.setdefault(root, set()).add(letters[by_hash[passage_hash]])
    for passage_hash, root, count in zip(hashes.tolist(), roots.tolist(), others.tolist()):
        assert count == len(letters_in[root]) - 1  # other letters, not other passages
    before = {by_hash[h]: count for h, count in zip(hashes.tolist(), others.tolist())}
    group_of = {by_hash[h]: root for h, root in zip(hashes.tolist(), roots.tolist())}
    gone = letter_of(next(passage for passage, count in before.items() if count > 0))
    partners = {p for p in before if group_of[p] in {group_of[q] for q in before if letter_of(q) == gone}
                and letter_of(p) != gone}
    store.remove_letters([gone])
    hashes, _, others = store.others()
    after = {by_hash[h]: count for h, count in zip(hashes.tolist(), others.tolist())}
    assert not any(letter_of(passage) == gone for passage in after)
    assert partners and all(after[p] == before[p] - 1 for p in partners)  # the removed letter no longer counts


def test_an_index_marks_templated_and_individual_rationales(real_index):
    columns = Columns.load(real_index / kb_index.current_generation(real_index))
    wording = columns.facets["wording"]
    counts = dict(zip(wording.values.tolist(), wording.counts(columns.passage).tolist()))
    assert counts["templated"] > 0 and counts["individual"] > counts["templated"]
    assert counts["templated"] + counts["individual"] == int(columns.passage.sum())
    templated = columns.facets["wording_group"].rows_with(columns.facets["wording_group"].values.tolist())
    assert np.array_equal(templated, columns.wording_others > 0)


def test_a_letter_indexed_twice_in_one_run_counts_once_in_the_wording(letters_dir, tmp_path, monkeypatch):
    """The writer gives the store a few letters at once; a letter replaced within those still counts once,
    and once in the engine (Whoosh deletes only what an earlier commit wrote)."""
    from kb import writer
    from kb.ingest import index_paths

    monkeypatch.setattr(writer, "WORDING_LETTERS", 3)
    folder = tmp_path / "letters"
    folder.mkdir()
    texts = sorted(letters_dir.glob("*.txt"))[:6]
    for path in texts:
        (folder / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    again = texts[1].read_text(encoding="utf-8").replace("medically necessary", "medically necessary at this time")
    (folder / f"{texts[1].stem}-again.txt").write_text(again, encoding="utf-8")  # sorts right after its first file
    index_dir = tmp_path / "index"
    report = index_paths([folder], index_dir, jobs=1, replace=True)
    assert report.counts["indexed"] == 7  # the second file replaced the first's letter
    store = WordingStore.load(index_dir / kb_index.current_generation(index_dir))
    letters, passages = report.letters, report.passages
    assert letters == 6
    assert int(store.live.sum()) == passages
    assert len(store) == passages + len(parse_letter(again).items)  # the first version's rationales, dead
