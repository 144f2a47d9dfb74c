"""What a `kb index` run decides for each file, and for each letter: the outcomes of kb.ingest.

    indexed     its letter was added, or replaced an older parse of the same file
    unchanged   same path, size and modification time as when last seen: not read again
    duplicate   the same bytes as another file, or a case number already indexed from another file
                (with a note when its parse differs), unless `replace` asks for it to replace that one
    rejected    it cannot be a letter: damaged, not a letter, a broken link, crashed the reader twice...;
                the reason says why, and it is not read again until it changes
    retry       it could not be read this time for a reason that can pass (unreadable now, a folder that
                cannot be listed, the machine too busy to finish it); the next run reads it again, and
                after MAX_RETRY_RUNS such runs in a row it is rejected

Decisions read the ledger as committed (kb.ledger, one lookup per file: memory does not grow with the
collection) and what this run decided since its last recorded checkpoint (kept here until the writer
has recorded it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from kb import index as kb_index
from kb.extract import Entry, printable_path
from kb.ledger import (
    DUPLICATE,
    INDEXED,
    OUTCOMES,
    REJECTED,
    RETRY,
    UNCHANGED,
    Checkpoint,
    FileRow,
    Ledger,
    LetterRow,
    Outcome,
)
from kb.pool import Parsed, StoredLetter
from kb.wording import signature

# rejection codes whose cause can pass: the file is read again by the next run
PASSING = frozenset({"not-found", "unreadable-file", "unreadable-folder", "retry"})
MAX_RETRY_RUNS = 3


@dataclass
class Tally:
    """What a run decided, for its report."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    passages_added: int = 0
    passages_removed: int = 0
    rejected: list[Outcome] = field(default_factory=list)
    retry: list[Outcome] = field(default_factory=list)
    notes: list[Outcome] = field(default_factory=list)  # duplicates whose parse differs, replacements
    ignored: int = 0  # files that are not letter files
    ignored_examples: list[str] = field(default_factory=list)
    retried: int = 0  # files read again because their last outcome was retry
    reparsed: int = 0
    kept_as_they_were: list[Outcome] = field(default_factory=list)  # letters a new parse could not replace


def items_signature(letter) -> str:
    return "\n".join(f"{item.heading}\t{item.decision}" for item in letter.items)


@dataclass
class Slot:
    """One entry in the order it was found: decided at once, or when its parse arrives."""

    entry: Entry | StoredLetter
    stat: os.stat_result | None = None
    parsed: Parsed | None = None
    immediate: Outcome | None = None  # decided without reading the file
    ignored: bool = False
    letter_id: str | None = None  # a stored letter's id (reparse)

    @property
    def waiting(self) -> bool:
        return self.immediate is None and not self.ignored and self.parsed is None


class Decisions:
    def __init__(self, ledger: Ledger, *, replace: bool = False, parser: str = "", repairing: bool = False):
        self.ledger = ledger
        self.replace = replace
        self.parser = parser
        self.repairing = repairing  # a letter that cannot be parsed again is then missing: its file is read again
        self.new_parser = bool(parser) and ledger.meta("parser") not in (None, parser)
        self.tally = Tally()
        self.batch = 1  # the number of the checkpoint being decided
        # what this run decided but the ledger has not recorded yet: key -> (batch, value)
        self._files: dict[str, tuple[int, FileRow]] = {}
        self._letters: dict[str, tuple[int, LetterRow | None]] = {}  # None: removed
        self._sha: dict[str, tuple[int, str]] = {}
        self._reset_pending()

    def _reset_pending(self) -> None:
        self.changes = 0
        self.outcomes: list[Outcome] = []
        self.files: list[FileRow] = []
        self.added: dict[str, LetterRow] = {}
        self.removed: set[str] = set()

    @property
    def pending(self) -> bool:
        return bool(self.outcomes)

    def take_checkpoint(self, committed: int) -> tuple[int, Checkpoint]:
        """The rows decided since the last checkpoint, as one; `committed` is the last batch the writer has
        recorded, whose lookups the ledger now answers."""
        checkpoint = Checkpoint(tuple(self.outcomes), tuple(self.files), tuple(self.added.values()),
                                tuple(self.removed))
        number = self.batch
        self.batch += 1
        self._reset_pending()
        for overlay in (self._files, self._letters, self._sha):
            for key in [key for key, (batch, _) in overlay.items() if batch <= committed]:
                del overlay[key]
        return number, checkpoint

    # lookups: this run's decisions first, then the ledger

    def known_file(self, path: str) -> FileRow | None:
        found = self._files.get(path)
        return found[1] if found else self.ledger.file(path)

    def letter(self, letter_id: str) -> LetterRow | None:
        found = self._letters.get(letter_id)
        return found[1] if found else self.ledger.letter(letter_id)

    def path_with_sha256(self, sha256: str) -> str | None:
        found = self._sha.get(sha256)
        return found[1] if found else self.ledger.path_with_sha256(sha256)

    # entries found by the walk

    def slot(self, entry: Entry) -> Slot:
        """An entry's slot: decided at once (ignored, a problem found by the walk, unchanged) or to be read."""
        if entry.ignored:
            return Slot(entry, ignored=True)
        if entry.problem is not None:
            return Slot(entry, immediate=self._rejection(entry.path, entry.problem.code, entry.problem.reason))
        try:
            stat = os.stat(entry.path)
        except OSError as error:
            shown = printable_path(entry.path)
            code = "not-found" if isinstance(error, FileNotFoundError) else "unreadable-file"
            return Slot(entry, immediate=self._rejection(entry.path, code,
                                                         f"{shown} could not be read: {error.strerror or error}."))
        row = self.known_file(entry.path)
        # a file no earlier parser could read is read again by a new one
        unparsed = row is not None and row.code == "parse-error" and self.new_parser
        if row is not None and row.outcome != RETRY and not unparsed and \
                (row.size, row.mtime_ns) == (stat.st_size, stat.st_mtime_ns):
            return Slot(entry, stat, immediate=Outcome(entry.path, UNCHANGED, row.code, row.reason, row.letter_id))
        if row is not None and row.outcome == RETRY:
            self.tally.retried += 1
        return Slot(entry, stat)

    def decide(self, slot: Slot) -> list[kb_index.Change]:
        """Record a slot's outcome; the changes to write, if any."""
        if slot.ignored:
            self.tally.ignored += 1
            if len(self.tally.ignored_examples) < 3:
                self.tally.ignored_examples.append(printable_path(slot.entry.path))
            return []
        if isinstance(slot.entry, StoredLetter):
            return self._decide_reparsed(slot)
        if slot.immediate is not None:
            if slot.immediate.outcome in (REJECTED, RETRY):
                self._file_row(slot.entry.path, slot.stat, None, slot.immediate)
            else:
                self._outcome(slot.immediate)
            return []
        parsed, stat = slot.parsed, slot.stat
        if parsed.letter is None:
            self._file_row(parsed.path, stat, None, self._rejection(parsed.path, parsed.code, parsed.reason))
            return []
        previous = self.known_file(parsed.path)
        if previous and previous.sha256 == parsed.sha256 and previous.outcome != RETRY:  # touched, not changed
            self._file_row(parsed.path, stat, parsed.sha256,
                           Outcome(parsed.path, UNCHANGED, previous.code, previous.reason, previous.letter_id),
                           kept=previous.outcome)
            return []
        letter_id = kb_index.letter_id_of(parsed.letter)
        same_bytes = self.path_with_sha256(parsed.sha256)
        if same_bytes and same_bytes != parsed.path:
            self._file_row(parsed.path, stat, parsed.sha256,
                           Outcome(parsed.path, DUPLICATE, "same-file",
                                   f"the same file as {printable_path(same_bytes)}", letter_id))
            return []
        holder = self.letter(letter_id)
        if holder and holder.path != parsed.path and not self.replace:
            self._duplicate_letter(parsed, stat, letter_id, holder)
            return []
        changes = []
        if previous and previous.outcome == INDEXED and previous.letter_id and previous.letter_id != letter_id:
            changes += self._remove_letter(previous.letter_id)  # this file now holds another letter
        note = f"replaces the parse from {printable_path(holder.path)}" if holder and holder.path != parsed.path \
            else None
        changes.append(self._index(parsed, letter_id))
        outcome = Outcome(parsed.path, INDEXED, "replaced" if note else None, note, letter_id)
        self._file_row(parsed.path, stat, parsed.sha256, outcome)
        if note:
            self.tally.notes.append(outcome)
        return changes

    def _rejection(self, path: str, code: str | None, reason: str | None) -> Outcome:
        """A failure as an outcome: retry when its cause can pass (rejected after MAX_RETRY_RUNS in a row)."""
        if code in PASSING:
            runs = self._retry_runs(path)
            if runs < MAX_RETRY_RUNS:
                return Outcome(path, RETRY, code, reason)
            reason = f"{reason} (the same in {runs} runs in a row)"
        return Outcome(path, REJECTED, code, reason)

    def _duplicate_letter(self, parsed: Parsed, stat, letter_id: str, holder: LetterRow) -> None:
        reason = f"{letter_id} is already indexed from {printable_path(holder.path)}"
        new_items = len(parsed.letter.items)
        if items_signature(parsed.letter) != holder.items_signature:
            reason += (f"; this file's parse differs ({new_items} items against {holder.passages})"
                       if new_items != holder.passages else "; this file's parse differs in its items")
            reason += "; use --replace to index this file instead"
        outcome = Outcome(parsed.path, DUPLICATE, "same-case-number", reason, letter_id)
        self._file_row(parsed.path, stat, parsed.sha256, outcome)
        if "differs" in reason:
            self.tally.notes.append(outcome)

    def _index(self, parsed: Parsed, letter_id: str) -> kb_index.Change:
        old = self.letter(letter_id)
        if old:
            self.tally.passages_removed += old.passages
        source = kb_index.Source(printable_path(parsed.path), parsed.sha256, parsed.kind, parsed.size, parsed.pages)
        docs = kb_index.documents(parsed.letter, source, parsed.dwc, parsed.why)
        row = LetterRow(letter_id, len(docs) - 1, parsed.path, parsed.sha256, items_signature(parsed.letter),
                        parsed.kind, parsed.size, parsed.pages, self.parser)
        self._letters[letter_id] = (self.batch, row)
        self.added[letter_id] = row
        self.removed.discard(letter_id)
        self.changes += 1
        self.tally.passages_added += row.passages
        self._sha[parsed.sha256] = (self.batch, parsed.path)
        signatures = parsed.signatures or tuple(signature(item.rationale) for item in parsed.letter.items)
        passages = [doc["passage_id"] for doc in docs if doc["kind"] == kb_index.PASSAGE]
        return kb_index.Change(letter_id, tuple(docs), tuple(zip(passages, signatures)))

    def _remove_letter(self, letter_id: str) -> list[kb_index.Change]:
        old = self.letter(letter_id)
        if not old:
            return []
        self.tally.passages_removed += old.passages
        self._letters[letter_id] = (self.batch, None)
        self.added.pop(letter_id, None)
        self.removed.add(letter_id)
        self.changes += 1
        return [kb_index.Change(letter_id)]

    def _file_row(self, path: str, stat, sha256: str | None, outcome: Outcome, *, kept: str | None = None) -> None:
        """Record a file's outcome in this run and its row in the ledger (`kept`: the outcome its row keeps,
        for a file touched but not changed)."""
        attempts = self._retry_runs(path) if outcome.outcome == RETRY else 0
        self._remember_file(FileRow(path, stat.st_size if stat else 0, stat.st_mtime_ns if stat else 0, sha256,
                                    kept or outcome.outcome, outcome.code, outcome.reason, outcome.letter_id,
                                    attempts))
        self._outcome(outcome)

    def _retry_runs(self, path: str) -> int:
        """The runs in a row, this one included, in which the file ended in retry."""
        previous = self.known_file(path)
        return (previous.attempts if previous and previous.outcome == RETRY else 0) + 1

    def _outcome(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        self.tally.counts[outcome.outcome] += 1
        if outcome.outcome == REJECTED:
            self.tally.rejected.append(outcome)
        elif outcome.outcome == RETRY:
            self.tally.retry.append(outcome)

    # letters parsed again from what the index stored (kb index --reparse, --repair)

    def stored_slot(self, stored: StoredLetter, letter_id: str) -> Slot:
        return Slot(stored, letter_id=letter_id)

    def _decide_reparsed(self, slot: Slot) -> list[kb_index.Change]:
        stored, parsed, old_id = slot.entry, slot.parsed, slot.letter_id
        if parsed.letter is None and self.repairing:
            outcome = Outcome(stored.path, RETRY, parsed.code, f"{parsed.reason} The next kb index reads the file.")
            self._remember_file(FileRow(stored.path, stored.size, 0, None, RETRY, outcome.code, outcome.reason, None, 1))
            self._outcome(outcome)
            return []
        if parsed.letter is None:
            outcome = Outcome(stored.path, UNCHANGED, parsed.code,
                              f"{parsed.reason} The letter {old_id} was kept as it was.", old_id)
            self._outcome(outcome)
            self.tally.kept_as_they_were.append(outcome)
            return []
        letter_id = kb_index.letter_id_of(parsed.letter)
        holder = self.letter(letter_id)
        if letter_id != old_id and holder is not None:
            outcome = Outcome(stored.path, UNCHANGED, "same-case-number",
                              f"parsed again, it reads as {letter_id}, which is indexed from "
                              f"{printable_path(holder.path)}; the letter {old_id} was kept as it was.", old_id)
            self._outcome(outcome)
            self.tally.kept_as_they_were.append(outcome)
            return []
        changes = self._remove_letter(old_id) if letter_id != old_id else []
        changes.append(self._index(parsed, letter_id))
        self.tally.reparsed += 1
        outcome = Outcome(stored.path, INDEXED, "reparsed", "parsed again from its stored text", letter_id)
        self._outcome(outcome)
        if letter_id != old_id:
            row = self.known_file(stored.path)
            if row is not None:
                self._remember_file(FileRow(row.path, row.size, row.mtime_ns, row.sha256, INDEXED, None, None,
                                            letter_id))
        return changes

    def _remember_file(self, row: FileRow) -> None:
        self.files.append(row)
        self._files[row.path] = (self.batch, row)
