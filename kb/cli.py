"""The `kb` command: a thin click group over the library."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from kb import __version__
from kb.engines import ENGINES, EngineError, engine_named
from kb.extract import ExtractError, extract_text, find_letter_files, printable_path
from kb.ingest import (
    CHECKPOINT_LETTERS,
    CHECKPOINT_SECONDS,
    WHOOSH_SLOW_PASSAGES,
    IndexLocked,
    Interrupted,
    RunReport,
    index_paths,
    index_status,
    rejected_files,
    reparse_index,
    repair_index,
    verify_index,
    whoosh_size_note,
)
from kb.integrity import IndexDamaged
from kb.writer import WriterFailed
from kb.ledger import INTERRUPTED, OUTCOMES
from kb.letters import ParseError, parse_letter
from kb.models import Letter
from kb.pool import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT
from kb.records import failure_record, letter_record


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="kb")
def main() -> None:
    """imr-kb: search California IMR Final Determination Letters."""


def parse_file(path: Path) -> Letter:
    """Extract and parse one letter file; ExtractError or ParseError say what went wrong."""
    return parse_letter(extract_text(path).text)


def describe_error(error: Exception) -> str:
    if isinstance(error, ExtractError):
        return error.reason
    return f"cannot parse: {error}"


@main.command(short_help="Parse letters and print what was found.")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json", "jsonl"]),
    default="text",
    show_default=True,
    help="text for reading; json: one array; jsonl: one object per input file.",
)
def parse(paths: tuple[Path, ...], output_format: str) -> None:
    """Parse letters (PDF or text files, or folders of them) and print what was found.

    Files that cannot be read or parsed are reported and the run goes on; the exit status is 1
    if any failed.
    """
    files = find_letter_files(paths)
    if not files:
        raise click.ClickException("no .pdf or .txt files found in the given paths")
    failures = 0
    records = []
    for path in files:
        try:
            record = letter_record(parse_file(path), source=str(path))
        except (ExtractError, ParseError) as error:
            failures += 1
            record = failure_record(str(path), describe_error(error))
        if output_format == "jsonl":
            click.echo(json.dumps(record, ensure_ascii=False))
        elif output_format == "json":
            records.append(record)
        else:
            click.echo(format_record(record))
    if output_format == "json":
        click.echo(json.dumps(records, ensure_ascii=False, indent=2))
    if failures:
        click.echo(f"{failures} of {len(files)} files could not be parsed", err=True)
        sys.exit(1)


def format_record(record: dict) -> str:
    """A letter as a person reads it in a terminal."""
    if not record["ok"]:
        return f"{record['source']}: ERROR {record['error']}\n"
    reviewer = record["reviewer"]
    lines = [
        f"{record['source']}: {record['case_number'] or '(no case number)'} [{record['layout']}]"
        f"{' SYNTHETIC' if record.get('synthetic') else ''}",
        f"  decided {record['decision_date'] or '?'}; injury {record['date_of_injury'] or '?'}; "
        f"UR denial {record['ur_denial_date'] or '?'}; priority {record['priority'] or '?'}",
        f"  reviewer: {', '.join(reviewer['specialties']) or '?'}; licensed in {', '.join(reviewer['states']) or '?'}",
    ]
    for item in record["items"]:
        lines.append(f"  {item['ordinal']}. {item['heading']}: {item['decision']}")
        category = item["category"] + (f" / {item['subcategory']}" if item["subcategory"] else "")
        lines.append(f"     treatment: {category}")
        for drug in item["drugs"]:
            details = ", ".join(
                part
                for part in (drug["brand"] and f"brand {drug['brand']}", drug["strength"],
                             drug["quantity"] is not None and f"qty {drug['quantity']:g}")
                if part
            )
            lines.append(f"     drug: {drug['generic']} ({drug['class']}){'; ' + details if details else ''}")
        for side, label in (("claims_administrator", "claims administrator"), ("reviewer", "reviewer")):
            cited = "; ".join(c["label"] for c in item["guidelines"][side]) or "(not stated)"
            lines.append(f"     {label} cited: {cited}")
    return "\n".join(lines) + "\n"


engine_option = click.option(
    "--engine", type=click.Choice(list(ENGINES)), default=None,
    help="Search engine of a new index or a rebuild (default: the index's own; for a new one $KB_ENGINE, else "
         "whoosh). tantivy is for large collections (README: Large collections).")
index_dir_option = click.option(
    "--index-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default="index",
    envvar="KB_INDEX_DIR",
    show_default=True,
    help="Where the index lives (also KB_INDEX_DIR).",
)


class _Progress:
    """Progress of a run on stderr, fed with (done, total): a line redrawn in place on a terminal, a line
    a minute in a log. The rate and the time left count only the files decided so far, from the first."""

    LOG_EVERY = 60.0

    def __init__(self, verb: str = "Indexing") -> None:
        self.verb = verb
        self.first: tuple[float, int] | None = None  # (time, done) when the first file was decided
        self.shown = 0.0
        self.width = 0

    def __call__(self, done: int, total: int) -> None:
        moment = time.monotonic()
        if self.first is None:
            if done == 0:
                if not sys.stderr.isatty() and total:
                    click.echo(f"{self.verb} {total:,} files...", err=True)
                return
            self.first = (moment, done)
            self.shown = moment
        tty = sys.stderr.isatty()
        if done < total and moment - self.shown < (0.25 if tty else self.LOG_EVERY):
            return
        self.shown = moment
        line = self._line(done, total, moment)
        if tty:
            click.echo("\r" + line.ljust(self.width), err=True, nl=False)
            self.width = len(line)
        elif done < total:
            click.echo(line, err=True)

    def _line(self, done: int, total: int, moment: float) -> str:
        line = f"{self.verb} {done:,}/{total:,} files"
        since, at_first = self.first
        if moment - since >= 1 and done > at_first:
            rate = (done - at_first) / (moment - since)
            line += f", {rate:,.0f} files/s"
            if done < total:
                line += f", about {_duration((total - done) / rate)} left"
        return line

    def close(self) -> None:
        if self.width and sys.stderr.isatty():
            click.echo("\r" + " " * self.width + "\r", err=True, nl=False)


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


@main.command("index", short_help="Index letter files (PDF or text, or folders of them).")
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@index_dir_option
@click.option("--rebuild", is_flag=True,
              help="Build a new index from these paths alone, beside the old one, and swap it in when complete. "
                   "An interrupted rebuild goes on where it stopped when run again.")
@click.option("--replace", is_flag=True,
              help="A letter already indexed from another file is replaced by this one instead of a duplicate.")
@click.option("--reparse", is_flag=True,
              help="Parse again, from the texts the index stored, the letters an older version of the parser "
                   "read (no file is read again); with --all, every letter.")
@click.option("--all", "every", is_flag=True, help="With --reparse: every letter, not only the older ones.")
@click.option("--repair", is_flag=True,
              help="Rebuild a damaged index from the letter texts it stored (and a damaged ledger from the index).")
@click.option("--jobs", type=click.IntRange(min=1), default=None, help="Worker processes (default: one per core).")
@click.option("--timeout", type=click.FloatRange(min=1), default=DEFAULT_TIMEOUT, show_default=True,
              help="Seconds of processor time a file may take to read and parse (a busy machine does not count).")
@click.option("--memory-mb", type=click.IntRange(min=256), default=DEFAULT_MEMORY_MB, show_default=True,
              help="Memory a worker may use.")
@click.option("--checkpoint", type=click.IntRange(min=1), default=CHECKPOINT_LETTERS, show_default=True,
              help="Publish after this many changed letters...")
@click.option("--checkpoint-seconds", type=click.FloatRange(min=1), default=CHECKPOINT_SECONDS, show_default=True,
              help="...or this many seconds of work, whichever comes first: the most a crash can lose.")
@click.option("--rejected", "list_rejected", is_flag=True, help="List the files the index has rejected, and stop.")
@engine_option
def index_command(paths, index_dir, rebuild, replace, reparse, every, repair, jobs, timeout, memory_mb, checkpoint,
                  checkpoint_seconds, list_rejected, engine) -> None:
    """Index letter files (PDF or text, or folders of them) into the index.

    Re-running indexes only new or changed files; every file gets one outcome: indexed, unchanged,
    duplicate, rejected (with its reason) or retry (it could not be read this time; the next run reads it
    again). Ctrl-C keeps what was parsed: run the same command to go on.
    """
    if list_rejected:
        _print_rejected(rejected_files(index_dir))
        return
    modes = [name for name, on in (("--rebuild", rebuild), ("--reparse", reparse), ("--repair", repair)) if on]
    if len(modes) > 1:
        raise click.UsageError(f"choose one of {' and '.join(modes)}")
    if every and not reparse:
        raise click.UsageError("--all goes with --reparse")
    if (reparse or repair) and paths:
        raise click.UsageError(f"{modes[0]} reads the texts the index stored: give no paths")
    if not paths and not (reparse or repair):
        raise click.UsageError("give the files or folders to index (or --rejected to list rejected files)")
    progress = _Progress("Parsing again" if reparse or repair else "Indexing")
    common = dict(jobs=jobs, timeout=timeout, memory_mb=memory_mb, checkpoint=checkpoint,
                  checkpoint_seconds=checkpoint_seconds, progress=progress)
    if reparse:
        report = _indexing(lambda: reparse_index(index_dir, every=every, **common), progress, index_dir)
    elif repair:
        report = _indexing(lambda: repair_index(index_dir, engine=engine, **common), progress, index_dir)
    else:
        report = _indexing(lambda: index_paths(paths, index_dir, rebuild=rebuild, replace=replace, engine=engine,
                                               **common), progress, index_dir)
        if report.files == 0:
            raise click.ClickException(f"no letter files (.pdf or .txt) were found in {_paths(paths)}")
    decided = report.files - report.counts["unchanged"]
    if decided and report.counts["rejected"] + report.counts["retry"] == decided:
        raise click.ClickException(f"none of the {decided:,} files read could be indexed (see the reasons above)")


def _indexing(run, progress: _Progress, index_dir: Path) -> RunReport:
    """Run an indexing function, print its report; a refusal is one sentence, an interruption exits 130
    (Ctrl-C) or 143 (SIGTERM) after the report says how to go on."""
    try:
        report = run()
    except (IndexLocked, EngineError, IndexDamaged, FileNotFoundError, WriterFailed) as error:
        raise click.ClickException(str(error)) from None
    except (KeyboardInterrupt, Interrupted) as stop:
        progress.close()
        click.echo(f"Stopped by {'Ctrl-C' if isinstance(stop, KeyboardInterrupt) else 'SIGTERM'}: the index is as "
                   "it was at its last checkpoint; run the same command to go on.", err=True)
        sys.exit(130 if isinstance(stop, KeyboardInterrupt) else 143)
    finally:
        progress.close()
    click.echo(format_report(report, index_dir))
    if report.interrupted:
        sys.exit(130 if report.interrupted == "SIGINT" else 143)
    return report


def _paths(paths) -> str:
    return ", ".join(printable_path(p) for p in paths)


def format_report(report: RunReport, index_dir: Path) -> str:
    tally = report.tally
    counts = report.counts
    rate = f", {report.files / report.seconds:,.0f} files/s" if report.seconds >= 1 and report.files else ""
    if report.interrupted:
        stopped = "Ctrl-C" if report.interrupted == "SIGINT" else "SIGTERM"
        kept = (f"kept {counts['indexed']:,} letters in {report.generation}" if report.generation
                else "nothing new to keep")
        head = (f"Stopped by {stopped} after {report.files:,} files: {kept}; run the same command to go on "
                f"({report.seconds:.1f} s{rate})")
    elif report.changed and report.generation:
        head = f"Published {report.generation} in {index_dir} ({report.files:,} files in {report.seconds:.1f} s{rate})"
    else:
        head = f"Nothing changed in {index_dir} ({report.files:,} files in {report.seconds:.1f} s{rate})"
    lines = []
    if report.recovered:
        lines.append(f"First: {report.recovered}.")
    if report.resumed:
        lines.append("Went on with the interrupted rebuild (files it had read were not read again).")
    lines += [
        head + ":",
        f"  indexed     {counts['indexed']:,}" + (f" ({tally.reparsed:,} parsed again)" if tally.reparsed else ""),
        f"  unchanged   {counts['unchanged']:,}",
        f"  duplicates  {counts['duplicate']:,}",
        f"  rejected    {counts['rejected']:,}",
        f"  retry       {counts['retry']:,}" + (f" (of {tally.retried:,} read again after a passing failure)"
                                                 if tally.retried else ""),
    ]
    if tally.ignored:
        lines.append(f"  ignored     {tally.ignored:,} not letter files (.pdf or .txt): "
                     + ", ".join(tally.ignored_examples) + (", ..." if tally.ignored > len(tally.ignored_examples) else ""))
    lines += [f"  passages    +{tally.passages_added:,} -{tally.passages_removed:,}",
              f"The index holds {report.letters:,} letters and {report.passages:,} passages."]
    if report.engine == "whoosh" and report.passages > WHOOSH_SLOW_PASSAGES:
        lines.append("Note: " + whoosh_size_note(report.passages, index_dir))
    sections = (("Rejected:", tally.rejected, False), ("To retry (the next kb index reads these again):", tally.retry, False),
                ("Kept as they were:", tally.kept_as_they_were, True), ("Notes:", tally.notes, True))
    for title, outcomes, with_path in sections:
        if outcomes:
            lines.append(title)
            lines.extend(f"  {printable_path(o.path) + ': ' if with_path else ''}{o.reason}" for o in outcomes)
    return "\n".join(lines)


def _print_rejected(rows) -> None:
    if not rows:
        click.echo("No rejected files.")
        return
    for row in rows:
        click.echo(f"{printable_path(row.path)}\t{row.code}\t{row.reason}")


@main.command(short_help="Show the published index, the last run and anything wrong.")
@index_dir_option
def status(index_dir: Path) -> None:
    """Show the published generation, its size, the last run, rejected files and files to retry, and
    anything wrong: damage the quick check finds (sizes against the manifest; kb verify reads every byte),
    an interrupted run, letters read by an older parser. Exits 1 when the index is damaged."""
    state = index_status(index_dir)
    if state.generation is None and not state.problems:
        raise click.ClickException(f"no index in {index_dir} yet (run: kb index PATH --index-dir {index_dir})")
    click.echo(f"index:       {index_dir} (generation {state.generation or '?'}, {state.engine or '?'})")
    click.echo(f"letters:     {state.letters:,}")
    click.echo(f"passages:    {state.passages:,}")
    if state.last_run:
        counts = state.last_run["counts"]
        summary = ", ".join(f"{counts.get(name, 0)} {name}" for name in OUTCOMES)
        ended = "was interrupted" if state.last_run.get("state") == INTERRUPTED else "finished"
        click.echo(f"last run:    #{state.last_run['run_id']} {ended} {state.last_run['finished_at']}: {summary}")
    click.echo(f"rejected:    {len(state.rejected)} files" + (" (kb index --rejected lists them)" if state.rejected else ""))
    if state.retry:
        click.echo(f"to retry:    {len(state.retry)} files (the next kb index reads them again)")
    if state.problems:
        click.echo("integrity:   DAMAGED")
        for problem in state.problems:
            click.echo(f"  {problem}")
    else:
        click.echo("integrity:   every file has the size its manifest records (kb verify reads every byte)")
    for note in state.notes:
        click.echo(f"note:        {note}")
    if state.problems:
        raise click.ClickException(f"the index is damaged: run kb verify --index-dir {index_dir} for the whole "
                                   f"check, and kb index --repair --index-dir {index_dir} to rebuild it")


@main.command(short_help="Check every byte of the index against its checksums.")
@index_dir_option
@click.option("--generation", default=None, help="Check this generation (say, a copy on a replica before it is "
                                                  "published) instead of the published one.")
@click.option("--all", "every", is_flag=True, help="Check every generation on disk.")
def verify(index_dir: Path, generation: str | None, every: bool) -> None:
    """Check the published generation's files against the sizes and checksums of its manifest, index/CURRENT,
    and the ledger with SQLite's integrity check: one line per problem; exits 1 if there is any."""
    started = time.monotonic()
    try:
        problems, checked = verify_index(index_dir, generation=generation, every=every)
    except FileNotFoundError as error:
        raise click.ClickException(str(error)) from None
    for problem in problems:
        click.echo(f"DAMAGED: {problem}")
    took = f"{time.monotonic() - started:.1f} s"
    if problems:
        raise click.ClickException(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {index_dir} "
                                   f"({took}); kb index --repair --index-dir {index_dir} rebuilds the index from "
                                   "its stored letter texts")
    what = ", ".join(checked) or "nothing"
    click.echo(f"OK: {what} match{'es its' if len(checked) == 1 else ' their'} checksums ({took}).")


host_option = click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
port_option = click.option("--port", type=click.IntRange(min=0, max=65535), default=5000, show_default=True)
DEMO_LETTERS = 3000
DEMO_SEED = 2016
DEMO_INDEX = Path("index") / "demo"


@main.command(short_help="Build a demo index once, then serve the site on it.")
@click.option("--letters", "count", type=click.IntRange(min=1, max=500_000), default=DEMO_LETTERS, show_default=True,
              help="How many synthetic letters the demo index holds.")
@click.option("--from", "source", type=click.Path(exists=True, path_type=Path),
              help="Index this folder of real letters (PDF or text) instead of generating synthetic ones.")
@click.option("--index-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help=f"Where the index lives (default: {DEMO_INDEX} for synthetic letters, index for --from).")
@click.option("--seed", type=int, default=DEMO_SEED, show_default=True, help="Which synthetic letters.")
@click.option("--jobs", type=click.IntRange(min=1), default=None, help="Worker processes (default: one per core).")
@engine_option
@host_option
@port_option
def demo(count: int, source: Path | None, index_dir: Path | None, seed: int, jobs: int | None, engine: str | None,
         host: str, port: int) -> None:
    """Build a demo index (once; later runs reuse it) and serve the site on it.

    Without --from the letters are synthetic, generated from the seed and marked as such in their text,
    in the index and on every page.
    """
    if source is not None:
        index_dir = index_dir or Path("index")
        _index_for_demo([source], index_dir, rebuild=False, jobs=jobs, engine=engine)
    else:
        index_dir = index_dir or DEMO_INDEX
        _synthetic_demo(index_dir, count, seed, jobs, engine)
    serve_site(index_dir, host, port)


def _synthetic_demo(index_dir: Path, count: int, seed: int, jobs: int | None, engine: str | None) -> None:
    from kb.index import current_generation
    from kb.synth import write_letters

    letters_dir = index_dir / "demo-letters"
    marker = letters_dir / "DEMO.json"
    wanted = {"letters": count, "seed": seed, "engine": engine_named(engine).NAME}
    if current_generation(index_dir) is not None and marker.is_file() and json.loads(marker.read_text()) == wanted:
        click.echo(f"Reusing the demo index in {index_dir} "
                   f"({count} synthetic letters, seed {seed}, {wanted['engine']}).")
        return
    click.echo(f"Generating {count} synthetic letters (seed {seed}) in {letters_dir} ...")
    if letters_dir.exists():
        for old in letters_dir.glob("*.txt"):
            old.unlink()
    write_letters(letters_dir, count, seed=seed)
    _index_for_demo([letters_dir], index_dir, rebuild=True, jobs=jobs, engine=wanted["engine"])
    marker.write_text(json.dumps(wanted))


def _index_for_demo(paths: list[Path], index_dir: Path, *, rebuild: bool, jobs: int | None,
                    engine: str | None) -> None:
    progress = _Progress()
    _indexing(lambda: index_paths(paths, index_dir, rebuild=rebuild, jobs=jobs, progress=progress, engine=engine),
              progress, index_dir)


@main.command(short_help="Serve the site over an index, for local use.")
@index_dir_option
@host_option
@port_option
def serve(index_dir: Path, host: str, port: int) -> None:
    """Serve the site over an index, for local use (production: gunicorn, see the README)."""
    serve_site(index_dir, host, port)


def serve_site(index_dir: Path, host: str, port: int) -> None:
    from kb.index import current_generation
    from kb.web import create_app, local_server

    if current_generation(index_dir) is None:
        raise click.ClickException(f"no index in {index_dir} yet (run: kb index PATH --index-dir {index_dir})")
    app = create_app({"INDEX_DIR": str(index_dir.resolve())})
    try:
        server = local_server(app, host, port)
    except OSError as error:
        raise click.ClickException(f"cannot listen on {host}:{port}: {error.strerror or error} "
                                   f"(is another server using it? try --port {port + 1})") from None
    click.echo(f"Serving {index_dir} at http://{host}:{server.server_port}/  (Ctrl+C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
