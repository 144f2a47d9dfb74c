"""The index: the documents of a letter, and how generations are built and published.

An index directory holds:

    CURRENT          the name of the published generation, replaced atomically (os.replace)
    gen-000007/      an engine's index (kb.engines: Whoosh or tantivy): one letter document per letter, one
                     passage document per item; and columns.npz, its facet columns (kb.columns)
    gen-000006/      the previous generation, kept for rollback and for readers that still have it open
    ledger.sqlite3   the ingest ledger (kb.ledger)
    lock             held by the running indexer (kb.ingest)
    originals/       the PDFs letters were indexed from, named by their sha256

Every indexing run writes a new generation and never touches a published one. Neither engine rewrites a
committed file (a commit adds segment files and atomically replaces a table of contents; deletions are new
files), so a new generation starts as hard links to the current one's files, receives the run's deletions
and additions, is verified and fsynced, and only then becomes CURRENT. A crash at any moment leaves
CURRENT pointing at a whole, earlier generation. A generation keeps the engine it was created with; a
rebuild may choose another.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from kb.columns import MULTI as COLUMN_FACETS
from kb.columns import Columns, ColumnsBuilder, facet_totals
from kb.dwc import ItemCheck, filed_under, match_items, treatments_of
from kb.engines import Reader, engine_named, engine_of
from kb.guidelines import citation_ancestry
from kb.integrity import read_manifest, write_manifest
from kb.models import Letter
from kb.records import item_record, letter_record
from kb.why import why_tags
from kb.wording_store import id_hashes

CURRENT = "CURRENT"
# The fields a generation's documents have: 4 with each item's region, time since injury, diagnoses and
# reasons (kb.why), 3 with the DWC's rows (dwc_*), 2 with drugs by ingredient (product, unresolved), 1
# before. A generation of another format is served, but only `kb index --reparse --all` builds on it.
INDEX_FORMAT = 4
GENERATION_PREFIX = "gen-"
KEEP_GENERATIONS = 2  # the published one and the one before it (rollback)

LETTER, PASSAGE = "letter", "passage"


@dataclass(frozen=True)
class Source:
    """Where a letter came from: recorded in the index so the letter page can offer the original."""

    path: str
    sha256: str
    kind: str  # "pdf" | "text"
    size: int
    pages: int | None = None


# --------------------------------------------------------------------------------------------
# Documents


def letter_id_of(letter: Letter) -> str:
    """The case number, or for a letter without one a stable id from its items' content.

    The content id ignores whitespace, so the PDF and the text of the same letter get the same id.
    """
    if letter.case_number:
        return letter.case_number
    content = "\n".join(
        f"{item.heading}\t{item.decision}\t{' '.join(item.rationale.split())}" for item in letter.items
    )
    return "L-" + hashlib.sha256(content.encode("utf-8")).hexdigest()[:12]


# An IMR case number as people write it: any case, spaces, no dash or a typographic one ("cm16 0213037").
# The spaces are matched possessively (*+): "CM12" and 200,000 spaces must not be tried at every split.
CASE_NUMBER = re.compile(r"(?<![A-Za-z0-9])CM\s*+(\d{2})\s*+[-‐‑–—]?\s*+(\d{7})(?!\d)", re.I)


def canonical_case_number(text: str) -> str | None:
    """'cm16 0213037' -> 'CM16-0213037'; None when the text is not a case number."""
    match = CASE_NUMBER.fullmatch(text.strip())
    return f"CM{match.group(1)}-{match.group(2)}" if match else None


def passage_id_of(letter_id: str, ordinal: int) -> str:
    return f"{letter_id}/{ordinal}"


def _keyword(values: Iterable[str | None]) -> str:
    """A comma-separated KEYWORD value: each value once, in order, commas inside values removed."""
    return ",".join(dict.fromkeys(v.replace(",", " ").strip() for v in values if v and v.strip()))


_EPOCH = datetime(1970, 1, 1)


def _decision_datetime(iso: str | None) -> datetime | None:
    return datetime.fromisoformat(iso) if iso else None


def dwc_checks(letter: Letter, dwc: dict | None) -> list[ItemCheck | None]:
    """Each item against the DWC's row for its letter (kb.dwc.match_items); None for every item when there is
    no row, or it is another case's."""
    if not dwc or dwc.get("case_number") != letter.case_number:
        return [None] * len(letter.items)
    checks = match_items([(item.treatment.category, item.decision) for item in letter.items], treatments_of(dwc))
    return checks or [None] * len(letter.items)


def _dwc_fields(check: ItemCheck | None) -> dict:
    if check is None:  # empty, not absent: Whoosh keeps no column for a field no document of a segment has
        return dict.fromkeys(("dwc_category", "dwc_subcategory", "dwc_decision", "dwc_check"), "")
    return {  # the category, and beneath it "Category / Subcategory", as the guideline field holds parts
        "dwc_category": _keyword(v for t in check.treatments for v in (t.category, filed_under(t))),
        "dwc_subcategory": _keyword(t.subcategory for t in check.treatments),
        "dwc_decision": _keyword(t.decision or t.dwc_decision for t in check.treatments),
        "dwc_check": _keyword(check.checks),
    }


def _dwc_item_record(check: ItemCheck | None) -> dict | None:
    if check is None:
        return None
    return {"matched": check.matched, "checks": list(check.checks),
            "treatments": [{"category": t.category, "subcategory": t.subcategory, "decision": t.decision,
                            "dwc_decision": t.dwc_decision, "filed_under": filed_under(t)} for t in check.treatments]}


def documents(letter: Letter, source: Source, dwc: dict | None = None, why: list[dict] | None = None) -> list[dict]:
    """The index documents of one letter: its letter document, then one passage document per item.

    `dwc` is the DWC's search row for the letter (the sidecar kb fetch writes): kept whole with the letter,
    and per item as the matched row's category, subcategory and decision, with how the parser's compare.
    `why` is kb.why.why_tags(letter), when the worker that parsed it has it already: each item's body region
    and side, time since injury, diagnoses and decision reasons (with the sentences that state them). The
    worker's age and sex are not indexed: the site offers no demographic facets (reliability.md).
    Multi-valued facets are comma-separated strings (values never contain commas, see _keyword).
    """
    letter_id = letter_id_of(letter)
    checks = dwc_checks(letter, dwc)
    why = why if why is not None else why_tags(letter)
    when = _decision_datetime(letter.decision_date)
    shared = {
        "letter_id": letter_id,
        "case_number": letter.case_number or "",
        "specialty": _keyword(letter.reviewer.specialties),
        "state": _keyword(letter.reviewer.states),
        "synthetic": letter.synthetic,
        "day": (when - _EPOCH).days if when else -1,
        "year": when.year if when else 0,
        **({"decision_date": when} if when else {}),
    }
    record = letter_record(letter, source=source.path)
    record["letter_id"] = letter_id
    record["source"] = {"path": source.path, "sha256": source.sha256, "kind": source.kind,
                        "size": source.size, "pages": source.pages}
    if any(checks):
        record["dwc"] = dwc
        for item_data, check in zip(record["items"], checks):
            item_data["dwc"] = _dwc_item_record(check)
    docs = [{"kind": LETTER, "passage_id": letter_id, "data": json.dumps(record, ensure_ascii=False), **shared}]
    for item, check, tags in zip(letter.items, checks, why):
        ca = [c.id for c in item.claims_administrator_citations]
        reviewer = [c.id for c in item.reviewer_citations]
        cited = [*ca, *reviewer]
        docs.append({
            "kind": PASSAGE,
            "passage_id": passage_id_of(letter_id, item.ordinal),
            "ordinal": item.ordinal,
            "heading": item.heading,
            "rationale": item.rationale,
            "decision": item.decision,
            # drugs by active ingredient ("hydrocodone" finds Norco); the products as asked for beside them
            "drug": _keyword(i.name for i in item.ingredients),
            "product": _keyword(m.generic for m in item.drugs),
            "drug_class": _keyword([*(m.drug_class for m in item.drugs), *(i.drug_class for i in item.ingredients)]),
            "brand": _keyword(m.brand for m in item.drugs),
            "unresolved": _keyword(" ".join((m.brand or m.text).split()) for m in item.drugs if not m.known),
            "category": item.treatment.category,
            "subcategory": item.treatment.subcategory or "",
            "guideline_ca": _keyword(ca),
            "guideline_reviewer": _keyword(reviewer),
            "guideline": _keyword(a for c in cited for a in citation_ancestry(c)),
            "guideline_source": _keyword(
                c.source for c in (*item.claims_administrator_citations, *item.reviewer_citations)
            ),
            "divergent": "differ" if set(ca) != set(reviewer) else "same",
            **_dwc_fields(check),
            **_why_fields(tags),
            "data": json.dumps({**item_record(item), "dwc": _dwc_item_record(check), "why": _why_record(tags)},
                               ensure_ascii=False),
            **shared,
        })
    return docs


def _why_fields(tags: dict) -> dict:
    """An item's kb.why tags as passage fields (facets, and the days for since_injury:<90d)."""
    return {
        "region": tags["region"],
        "regions": _keyword(tags["regions"] or [tags["region"]]),
        "side": tags["side"],
        "since_injury": tags["since_injury"],
        "injury_phase": tags["injury_phase"],
        "days_since_injury": tags["days_since_injury"] if tags["days_since_injury"] is not None else -1,
        "diagnosis": _keyword(d["id"] for d in tags["diagnoses"]),
        "diagnosis_category": _keyword(tags["diagnosis_categories"]),
        "reason": _keyword(tags["reason_ids"]),
    }


def _why_record(tags: dict) -> dict:
    """What the letter page shows of an item's kb.why tags: all but the worker's age and sex."""
    return {key: value for key, value in tags.items() if key not in ("age_band", "sex", "ordinal")}


# --------------------------------------------------------------------------------------------
# Generations

_GENERATION = re.compile(re.escape(GENERATION_PREFIX) + r"(\d{6})$")


def generation_dirs(index_dir: Path) -> list[Path]:
    """Every generation directory, oldest first."""
    if not index_dir.is_dir():
        return []
    found = [p for p in index_dir.iterdir() if p.is_dir() and _GENERATION.match(p.name)]
    return sorted(found, key=lambda p: p.name)


def current_generation(index_dir: Path) -> str | None:
    """The published generation's name, or None when nothing was published yet (or CURRENT is damaged:
    `current_problem` tells which)."""
    name, _ = _read_current(index_dir)
    return name


def current_problem(index_dir: Path) -> str | None:
    """What is wrong with index/CURRENT, in words, or None when it names a generation that exists (or is
    absent, as before the first publish)."""
    name, problem = _read_current(index_dir)
    if problem is None and name is not None and not (index_dir / name).is_dir():
        return f"names {name}, which does not exist"
    return problem


def _read_current(index_dir: Path) -> tuple[str | None, str | None]:
    try:
        raw = (index_dir / CURRENT).read_bytes()
    except FileNotFoundError:
        return None, None
    except OSError as error:
        return None, f"cannot be read ({error.strerror or error})"
    name = raw.decode("utf-8", "replace").strip()
    if _GENERATION.match(name):
        return name, None
    return None, "does not name a generation (it is damaged)"


def next_generation_name(index_dir: Path) -> str:
    numbers = [int(_GENERATION.match(p.name).group(1)) for p in generation_dirs(index_dir)]
    current = current_generation(index_dir)
    if current:
        numbers.append(int(_GENERATION.match(current).group(1)))
    return f"{GENERATION_PREFIX}{max(numbers, default=0) + 1:06d}"


def start_generation(index_dir: Path, base: str | None, engine: str | None = None) -> Path:
    """A new, unpublished generation: hard links to `base`'s files (same engine), or an empty index of
    `engine` (default: $KB_ENGINE, else whoosh) when base is None."""
    index_dir.mkdir(parents=True, exist_ok=True)
    target = index_dir / next_generation_name(index_dir)
    target.mkdir()
    if base is None:
        engine_named(engine).create(target)
        return target
    source = index_dir / base
    owner = engine_of(source)
    for path in source.iterdir():
        if path.is_file() and not owner.is_lock_file(path.name):
            os.link(path, target / path.name)
    return target


def generation_format(generation: Path) -> int:
    """The INDEX_FORMAT a generation was written in (1: before formats were recorded)."""
    try:
        return int(read_manifest(generation).get("format", 1))
    except ValueError:
        return 1


def generation_engine(generation: Path) -> str:
    """The name of the engine a generation was written with."""
    return engine_of(generation).NAME


def open_generation(path: Path) -> Reader:
    """A generation opened for searching (kb.engines.Reader)."""
    return engine_of(path).open(path)


@dataclass(frozen=True)
class Change:
    """Replace one letter's documents: delete every document of `letter_id`, then add `docs` (if any), whose
    rationales' MinHash signatures (kb.wording) are `signatures`, as (passage id, signature)."""

    letter_id: str
    docs: tuple[dict, ...] = ()
    signatures: tuple = ()


def apply_changes(generation: Path, changes: Iterable[Change], *, optimize: bool = False,
                  first_row: int = 0) -> list[int] | None:
    """Write the changes into an unpublished generation in one commit.

    Deleting by letter id before adding makes re-indexing idempotent: an update by key would leave
    duplicates when one key is written twice in one writer. Returns the row of each added document, in
    order, when the engine keeps rows for good (new rows from `first_row` on), or None when it renumbers
    documents (Whoosh merges segments): then the columns are rebuilt whole.
    """
    return engine_of(generation).apply_changes(generation, changes, optimize=optimize, first_row=first_row)


def count_documents(generation: Path) -> tuple[int, int]:
    """(letters, passages) in a generation, counted from what a reader sees."""
    return engine_of(generation).count_documents(generation, LETTER)


def column_values(doc: dict) -> tuple[int, int, dict[str, list[str]], int]:
    """A passage document's (year, day, facet values, passage id hash) as kb.columns keeps them."""
    values = {name: [v for v in (doc.get(name) or "").split(",") if v] for name in COLUMN_FACETS}
    return doc["year"], doc["day"], values, int(id_hashes([doc["passage_id"]])[0])


def build_columns(generation: Path, base: Columns | None = None,
                  added: list[tuple[int, dict]] | None = None) -> Columns:
    """The facet columns of a written generation, by row.

    With the columns of the generation it was linked from (`base`) and the rows of the passage documents
    it added (`added`: (row, doc)), the base is extended and re-masked by the live passages (rows are never
    reused); otherwise, or once half the rows are dead, every live passage's values are read again."""
    engine = engine_of(generation)
    if base is not None and added is not None:
        live = engine.live_rows(generation, PASSAGE)
        rows = max(base.rows, max((row + 1 for row, _ in added), default=0), int(live.max()) + 1 if len(live) else 0)
        if len(live) * 2 >= rows:
            return base.extended(rows, ((row, *column_values(doc)) for row, doc in added), live)
    rows, passages = engine.passage_values(generation, PASSAGE)
    builder = ColumnsBuilder()
    for row, fields in passages:
        while builder.rows < row:
            builder.add(passage=False)
        year, day, values, passage_hash = column_values(fields)
        builder.add(passage=True, year=year, day=day, values=values, passage_hash=passage_hash)
    while builder.rows < rows:
        builder.add(passage=False)
    return builder.build()


def seal_generation(generation: Path, columns: Columns, *, letters: int, passages: int,
                    previous: dict | None = None) -> dict:
    """Ready a written generation for publishing: save its facet columns and its manifest (checksums and
    counts, `previous`'s hashes reused for unchanged files), and make it all durable. Returns the manifest."""
    columns.save(generation)
    manifest = write_manifest(generation, engine=generation_engine(generation), letters=letters, passages=passages,
                              previous=previous, index_format=INDEX_FORMAT,
                              skip=[p.name for p in generation.iterdir() if engine_of(generation).is_lock_file(p.name)])
    fsync_tree(generation)
    return manifest


def fsync_tree(path: Path) -> None:
    """Make the generation's files and directory entries durable before publishing: Whoosh never fsyncs,
    and the columns are ours."""
    for child in path.iterdir():
        if child.is_file():
            fd = os.open(child, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    _fsync_dir(path)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(index_dir: Path, generation: str) -> None:
    """Make `generation` the one readers open: write CURRENT aside, then rename it over the old one."""
    temporary = index_dir / f"{CURRENT}.tmp"
    with open(temporary, "w", encoding="utf-8") as f:
        f.write(generation + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(temporary, index_dir / CURRENT)
    _fsync_dir(index_dir)


def prune_generations(index_dir: Path, keep: int = KEEP_GENERATIONS) -> list[str]:
    """Remove unpublished leftovers and all but the newest `keep` published generations."""
    current = current_generation(index_dir)
    if current is None:  # nothing published, or CURRENT damaged: nothing can be told a leftover
        return []
    removed = []
    published = [p for p in generation_dirs(index_dir) if p.name <= current]
    keep_names = {p.name for p in published[-keep:]}
    for path in generation_dirs(index_dir):
        if path.name not in keep_names:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
    return removed


def stored_letter_records(generation: Path, batch: int = 500) -> Iterator[dict]:
    """The letter record (the letter page's data, kb.records) of every letter in a generation."""
    engine = engine_of(generation)
    rows = engine.live_rows(generation, LETTER).tolist()
    reader = engine.open(generation)
    for start in range(0, len(rows), batch):
        for fields in reader.stored(rows[start:start + batch]):
            yield json.loads(fields["data"])


def dwc_check_counts(index_dir: Path) -> dict[str, int]:
    """Passages of the published generation per kb.dwc check value (agrees, category differs, ...): how the
    parser's tags compare with the DWC's own rows. Empty when no letter came with the DWC's row."""
    name = current_generation(index_dir)
    try:
        return facet_totals(index_dir / name, "dwc_check") if name else {}
    except (OSError, ValueError, zipfile.BadZipFile):  # damage is kb verify's to name, not this count's
        return {}


def open_published(index_dir: Path) -> tuple[str, Reader]:
    """The published generation's name, opened for searching; FileNotFoundError when there is none."""
    name = current_generation(index_dir)
    if name is None:
        raise FileNotFoundError(f"no published index in {index_dir} (run: kb index PATH --index-dir {index_dir})")
    return name, open_generation(index_dir / name)
