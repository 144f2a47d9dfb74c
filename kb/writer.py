"""The single writer of a `kb index` run, in a thread of its own, so reading and parsing go on while it
writes and commits.

The deciding thread sends it each letter's change (kb.index.Change) as it is decided, and a `Batch` at
each checkpoint with the ledger rows decided since the previous one. For each batch the writer

    1. starts a generation (hard links to the published one) and streams the batch's changes into the
       engine's writer, one commit;
    2. seals it: facet columns (extended in place where the engine keeps rows), manifest with checksums
       and counts, everything fsynced;
    3. records the batch in the ledger, in one transaction that also checks the ledger's totals against
       the generation's counts (a mismatch rolls back and stops the run: nothing wrong is published);
    4. publishes it (CURRENT replaced) and prunes old generations.

A crash at any point leaves the last published generation whole; the ledger is never behind it (kb.ingest
rolls a committed but unpublished generation forward). A batch with no changes only records its rows.
The queue between the threads is bounded, so a slow writer slows the deciding, never memory.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kb import index as kb_index
from kb.columns import Columns
from kb.integrity import has_manifest, read_manifest
from kb.ledger import Checkpoint, Ledger
from kb.wording_store import WordingStore

QUEUE_LETTERS = 256  # letters decided but not yet written; each holds its documents
WORDING_LETTERS = 256  # letters given to the reused-wording store at once
_STOP = object()


@dataclass(frozen=True)
class Batch:
    """The end of a checkpoint: what the ledger records once its changes are published."""

    number: int
    checkpoint: Checkpoint
    counts: dict
    state: str | None = None  # "finished" or "interrupted" for the run's last batch
    optimize: bool = False


class WriterFailed(RuntimeError):
    """The writer stopped on an error; the run stops, and nothing after the last checkpoint is published."""


@dataclass
class GenerationWriter:
    index_dir: Path
    engine: str
    run_id: int
    started_at: str
    parser: str = ""  # the parser version of this run, recorded with its last batch
    queue_letters: int | None = None  # default QUEUE_LETTERS
    committed: int = 0  # the number of the last batch recorded in the ledger
    published: str | None = None  # the generation published last by this run
    error: BaseException | None = None
    _queue: queue.Queue = field(init=False)
    _thread: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        self._queue = queue.Queue(maxsize=self.queue_letters or QUEUE_LETTERS)
        self._thread = threading.Thread(target=self._run, name="kb-index-writer", daemon=True)
        self._thread.start()

    # the deciding thread

    def add(self, change: kb_index.Change) -> None:
        self._put(change)

    def checkpoint(self, batch: Batch) -> None:
        self._put(batch)

    def finish(self) -> None:
        """Wait for every batch sent to be published; raise WriterFailed if the writer failed."""
        self._put(_STOP)
        while self._thread.is_alive():
            self._thread.join(timeout=0.5)
        self._raise()

    def _put(self, item) -> None:
        while True:
            self._raise()
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def _raise(self) -> None:
        if self.error is not None:
            raise WriterFailed(f"writing the index failed: {type(self.error).__name__}: {self.error}") from self.error

    # the writer thread

    def _run(self) -> None:
        try:
            with Ledger(self.index_dir) as ledger:
                self._write(ledger)
        except BaseException as error:  # noqa: BLE001 - handed to the deciding thread, which stops the run
            self.error = error

    def _write(self, ledger: Ledger) -> None:
        current = kb_index.current_generation(self.index_dir)
        columns = Columns.load(self.index_dir / current) if current else None
        if columns is not None and columns.passage_hash is None:  # made before columns kept passage ids
            columns = kb_index.build_columns(self.index_dir / current)
        manifest = read_manifest(self.index_dir / current) if current and has_manifest(self.index_dir / current) \
            else None
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if isinstance(item, Batch):  # a checkpoint with no changes: only its decisions are recorded
                ledger.record_checkpoint(item.checkpoint, run_id=self.run_id, started_at=self.started_at,
                                         generation=None, counts=item.counts, state=item.state)
                batch = item
            else:
                columns, manifest, batch = self._publish_batch(ledger, item, columns, manifest)
            if batch.state is not None and self.parser:
                ledger.set_meta("parser", self.parser)
            self.committed = batch.number

    def _publish_batch(self, ledger: Ledger, first: kb_index.Change, columns: Columns | None,
                       manifest: dict | None) -> tuple[Columns, dict, Batch]:
        current = kb_index.current_generation(self.index_dir)
        working = kb_index.start_generation(self.index_dir, current, self.engine)
        wording = WordingStore.load(working)
        added: list[dict] = []
        end: list[Batch] = []
        rows = kb_index.apply_changes(working, self._changes(first, added, end, wording),
                                      optimize=False, first_row=columns.rows if columns is not None else 0)
        batch = end[0]
        if batch.optimize:  # merges Whoosh's segments (renumbering it, so its columns are read whole anyway)
            kb_index.apply_changes(working, (), optimize=True)
        passage_rows = [(row, doc) for row, doc in zip(rows or (), added) if doc["kind"] == kb_index.PASSAGE]
        columns = kb_index.build_columns(working, columns if rows is not None else None,
                                         passage_rows if rows is not None else None)
        wording.save(working)
        columns = columns.with_wording(*wording.others())
        letters, passages = kb_index.count_documents(working)
        manifest = kb_index.seal_generation(working, columns, letters=letters, passages=passages, previous=manifest)
        ledger.record_checkpoint(batch.checkpoint, run_id=self.run_id, started_at=self.started_at,
                                 generation=working.name, counts=batch.counts, state=batch.state,
                                 expect=(letters, passages))
        kb_index.publish(self.index_dir, working.name)
        kb_index.prune_generations(self.index_dir)
        self.published = working.name
        return columns, manifest, batch

    def _changes(self, first: kb_index.Change, added: list[dict], end: list[Batch],
                 wording: WordingStore) -> Iterator[kb_index.Change]:
        """The batch's changes as they arrive, up to its Batch (put in `end`); each added document's
        facet fields kept in `added`, in the order the engine adds them, and its rationale's signature
        given to the reused-wording store (the letter's earlier rationales no longer counting)."""
        letters: dict[str, bool] = {}  # letter id -> replaces: the letters whose rationales wait in `rationales`
        rationales: list[tuple[str, str, object]] = []

        def to_wording() -> None:
            # a few hundred letters at once: the store sorts its unsaved keys at every add
            wording.remove_letters(letter for letter, replaces in letters.items() if replaces)
            wording.add(rationales)
            letters.clear()
            rationales.clear()

        item = first
        while True:
            for doc in item.docs:
                added.append({"kind": doc["kind"], "year": doc["year"], "day": doc["day"],
                              "passage_id": doc["passage_id"],
                              **{name: doc.get(name) for name in kb_index.COLUMN_FACETS}})
            if item.letter_id in letters:  # the same letter again: its earlier rationales must not count
                to_wording()
            letters[item.letter_id] = item.replaces
            rationales.extend((passage_id, item.letter_id, signature) for passage_id, signature in item.signatures)
            if len(letters) >= WORDING_LETTERS:
                to_wording()
            yield item
            item = self._queue.get()
            if isinstance(item, Batch):
                to_wording()
                end.append(item)
                return
            if item is _STOP:
                raise RuntimeError("the run stopped in the middle of a checkpoint")
