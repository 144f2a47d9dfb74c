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
from kb.health import (
    WHOOSH_SLOW_PASSAGES,
    IndexOutdated,
    index_status,
    rejected_files,
    verify_index,
    whoosh_size_note,
)
from kb.ingest import (
    CHECKPOINT_LETTERS,
    CHECKPOINT_SECONDS,
    IndexLocked,
    RunReport,
    index_paths,
    repair_index,
    reparse_index,
)
from kb.integrity import IndexDamaged
from kb.ledger import INTERRUPTED, OUTCOMES
from kb.letters import ParseError, parse_letter
from kb.models import Letter
from kb.pool import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT
from kb.records import failure_record, letter_record
from kb.writer import WriterFailed


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
    except (IndexLocked, IndexOutdated, EngineError, IndexDamaged, FileNotFoundError, WriterFailed) as error:
        raise click.ClickException(str(error)) from None
    except KeyboardInterrupt:  # before the run began, or a second stop abandoning its last checkpoint
        progress.close()
        click.echo("Stopped: the index is as it was at its last checkpoint; run the same command to go on.",
                   err=True)
        sys.exit(130)
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
    if report.kept_old:
        lines.append("The rebuild found no letters, so the index was left as it was.")
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
    if not state.problems:
        from kb.search import unresolved_products

        unknown = unresolved_products(index_dir)
        if unknown:
            items = sum(count for _, count in unknown)
            named = ", ".join(f"{product} ({count})" for product, count in unknown)
            click.echo(f"drugs:       {items} item{'s' if items != 1 else ''} name a product the drug table does not know: "
                       f"{named}")
        _print_dwc_checks(index_dir)
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


def _print_dwc_checks(index_dir: Path) -> None:
    """How the parser's tags compare with the DWC's own rows, for the letters fetched with them."""
    from kb.dwc import AGREES, CATEGORY_DIFFERS, DECISION_DIFFERS, NO_SINGLE_ROW
    from kb.index import dwc_check_counts

    counts = dwc_check_counts(index_dir)
    if not counts:
        return
    click.echo(f"DWC rows:    {counts.get(AGREES, 0)} items agree with the DWC's row, "
               f"{counts.get(CATEGORY_DIFFERS, 0)} differ in category, {counts.get(DECISION_DIFFERS, 0)} in decision, "
               f"{counts.get(NO_SINGLE_ROW, 0)} match no single row (search: dwc:\"category differs\")")


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


# --------------------------------------------------------------------------------------------
# kb fetch and kb update: letters from the DWC's IMR decision search (kb/fetch.py)

to_option = click.option(
    "--to", "folder", type=click.Path(file_okay=False, path_type=Path), default="letters", envvar="KB_LETTERS_DIR",
    show_default=True, help="The letters folder: YYYY/MM/<case>.pdf with <case>.dwc.json beside, and fetch.sqlite3, "
                            "the fetch ledger (also KB_LETTERS_DIR).")
overlap_option = click.option(
    "--overlap", type=click.IntRange(min=0), default=14, show_default=True,
    help="With --since-last and kb update: days before the last fetched decision date to look again, for "
         "letters the DWC posted late.")


def _politeness_options(command):
    """The options that say how to treat the site, shared by kb fetch and kb update."""
    options = [
        click.option("--base-url", default=None, envvar="KB_DWC_URL",
                     help="The site to fetch from (a mirror, a test server; also KB_DWC_URL). "
                          "[default: https://www.dir.ca.gov]"),
        click.option("--rate", type=click.FloatRange(min=0.001), default=1.0, show_default=True,
                     help="Requests a second at most, retries included."),
        click.option("--timeout", "request_timeout", type=click.FloatRange(min=0.01), default=60.0, show_default=True,
                     help="Seconds one request may take, to its last byte."),
        click.option("--retries", type=click.IntRange(min=0), default=4, show_default=True,
                     help="Further tries of a request that timed out, lost its connection or got a 5xx or 429."),
        click.option("--backoff", type=click.FloatRange(min=0), default=5.0, show_default=True,
                     help="Seconds before the first retry, doubled for each further one (a Retry-After the site "
                          "sends is honoured instead)."),
        click.option("--max-wait", type=click.FloatRange(min=0), default=900.0, show_default=True,
                     help="The longest Retry-After honoured; a site asking for longer stops the run."),
        click.option("--max-failures", type=click.IntRange(min=1), default=5, show_default=True,
                     help="Letters in a row that could not be fetched before the run stops."),
        click.option("--contact", default=None, envvar="KB_FETCH_CONTACT",
                     help="An e-mail address or URL added to the User-Agent, so the site can reach you "
                          "(also KB_FETCH_CONTACT)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _fetch_settings(base_url, rate, request_timeout, retries, backoff, max_wait, max_failures, contact):
    from kb.dwc import DEFAULT_BASE_URL
    from kb.fetch import FetchSettings
    from kb.http_client import Politeness

    politeness = Politeness(rate=rate, timeout=request_timeout, retries=retries, backoff=backoff, max_wait=max_wait)
    return FetchSettings(base_url=base_url or DEFAULT_BASE_URL, politeness=politeness, contact=contact,
                         max_failures=max_failures)


class _FetchProgressLine:
    """One status line on a terminal, redrawn in place; a line now and then in a log."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()
        self.last_key = None
        self.last_logged = 0.0

    def __call__(self, state) -> None:
        if state.phase == "listing":
            of = f" of {state.pages_total:,}" if state.pages_total else ""
            done = f"listing results page {state.pages + 1:,}{of}"
        else:
            done = (f"letters {state.letters:,} of {state.letters_total:,} "
                    f"({state.fetched:,} new, {state.failed:,} failed)")
        line = f"{state.label}: {done} · {state.requests:,} requests, {state.rate:.2f}/s"
        if self.tty:
            click.echo(f"\r\033[K{line}", err=True, nl=False)
            return
        key = (state.phase, state.label)
        if key != self.last_key or time.monotonic() - self.last_logged > 60:
            click.echo(line, err=True)
            self.last_key, self.last_logged = key, time.monotonic()

    def close(self) -> None:
        if self.tty:
            click.echo("\r\033[K", err=True, nl=False)


def _run_fetch(work):
    """Run a fetch with a progress line; user errors become one-sentence ClickExceptions."""
    from kb.dwc import InvalidInput
    from kb.fetch_ledger import FetchLocked

    progress = _FetchProgressLine()
    try:
        return work(progress)
    except (FetchLocked, InvalidInput) as error:
        raise click.ClickException(str(error)) from None
    finally:
        progress.close()


def format_fetch_report(report) -> str:
    minutes, seconds = divmod(int(report.seconds), 60)
    took = f"{minutes} min {seconds} s" if minutes else f"{report.seconds:.1f} s"
    rate = report.requests / report.seconds if report.seconds > 0 else 0.0
    lines = [
        f"Fetched {report.fetched:,} new letters ({report.bytes / 1e6:.1f} MB) into {report.folder} in {took}: "
        f"{report.pages:,} search pages read, {report.listed:,} letters listed, {report.had:,} already there, "
        f"{len(report.failed):,} failed; {report.requests:,} requests ({rate:.2f} a second).",
    ]
    if report.sidecars_updated:
        lines.append(f"{report.sidecars_updated:,} sidecars rewritten: the DWC's rows for them changed.")
    if report.failed:
        lines.append("Failed (the next run tries them again):")
        lines.extend(f"  {case}: {reason}" for case, reason in report.failed[:50])
        if len(report.failed) > 50:
            lines.append(f"  ... and {len(report.failed) - 50:,} more")
    return "\n".join(lines)


@main.command(short_help="Download IMR letters from the DWC's decision search into a folder.")
@click.option("--decided-from", type=click.DateTime(["%Y-%m-%d"]), default=None, metavar="YYYY-MM-DD",
              help="First decision date to fetch.")
@click.option("--decided-to", type=click.DateTime(["%Y-%m-%d"]), default=None, metavar="YYYY-MM-DD",
              help="Last decision date to fetch.")
@to_option
@click.option("--outcome", type=click.Choice(["upheld", "overturned"], case_sensitive=False), default=None,
              help="Only letters with a treatment so decided.")
@click.option("--specialty", default=None, help="Only letters whose reviewer has this board specialty "
                                                "(as the DWC search lists them: 'Orthopedic Surgery').")
@click.option("--category", default=None, help="Only letters with a treatment in this DWC category "
                                               "('Pharmaceuticals', 'Pharmaceuticals / Opioids', "
                                               "'Rehabilitation / Acupuncture').")
@click.option("--cases", "cases_file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Fetch the case numbers (CM24-0001234) or PDF addresses in this file, one a line, "
                   "instead of a date range.")
@click.option("--since-last", is_flag=True,
              help="Fetch what was decided since the last fetch into the folder (less --overlap days), and every "
                   "letter that failed before, instead of a date range.")
@overlap_option
@click.option("--relist", is_flag=True,
              help="List the search results again for ranges listed before (to find letters posted late).")
@_politeness_options
def fetch(decided_from, decided_to, folder, outcome, specialty, category, cases_file, since_last, overlap, relist,
          **politeness) -> None:
    """Download IMR decision letters (PDF) from the DWC's IMR decision search into a folder.

    Walks the DWC's case and treatment search for the decision dates asked, page by page, and downloads
    every letter the folder does not have yet to YYYY/MM/<case number>.pdf, with the DWC's own row for it
    (category, subcategory or drug class and decision of each treatment, dates, reviewer specialty) beside
    it in <case number>.dwc.json. Politely (one request a second by default) and resumably: a rerun, or a
    run after Ctrl-C or a crash, goes on where it stopped and downloads nothing twice. Index the folder
    with kb index, or use kb update.
    """
    from kb.dwc import (
        read_case_list,
        resolve_category,
        resolve_outcome,
        resolve_specialty,
    )
    from kb.fetch import Filters, fetch_cases, fetch_range, fetch_since_last

    ranged = decided_from is not None or decided_to is not None
    if sum((ranged, cases_file is not None, since_last)) != 1:
        raise click.UsageError("give a date range (--decided-from and --decided-to), --cases FILE or --since-last")
    if ranged and (decided_from is None or decided_to is None):
        raise click.UsageError("give both --decided-from and --decided-to")
    if (outcome or specialty or category) and not ranged:
        raise click.UsageError("--outcome, --specialty and --category narrow a date range")
    settings = _fetch_settings(**politeness)

    def work(progress):
        if cases_file is not None:
            requests = read_case_list(cases_file.read_text(encoding="utf-8"), str(cases_file))
            return fetch_cases(folder, requests, settings=settings, progress=progress)
        if since_last:
            return fetch_since_last(folder, _today(), overlap_days=overlap, settings=settings, progress=progress)
        filters = Filters(outcome=resolve_outcome(outcome) if outcome else "",
                          specialty=resolve_specialty(specialty) if specialty else "",
                          category=resolve_category(category) if category else "")
        return fetch_range(folder, decided_from.date(), decided_to.date(), filters=filters, relist=relist,
                           settings=settings, progress=progress)

    report = _run_fetch(work)
    click.echo(format_fetch_report(report))
    if report.stopped:
        raise click.ClickException(f"stopped: {report.stopped}")


def _today():
    from datetime import date

    return date.today()


@main.command(short_help="Fetch what the DWC decided since the last fetch, and index it.")
@to_option
@index_dir_option
@overlap_option
@click.option("--jobs", type=click.IntRange(min=1), default=None, help="Worker processes (default: one per core).")
@_politeness_options
def update(folder, index_dir, overlap, jobs, **politeness) -> None:
    """Fetch what the DWC decided since the last fetch into the folder, then index the folder.

    The one command a site runs nightly (README: Building the corpus). The same as
    kb fetch --since-last followed by kb index FOLDER; the letters fetched are indexed even when the
    fetch stopped early, and the exit status is then 1.
    """
    from kb.fetch import fetch_since_last

    settings = _fetch_settings(**politeness)
    report = _run_fetch(lambda progress: fetch_since_last(folder, _today(), overlap_days=overlap, settings=settings,
                                                          progress=progress))
    click.echo(format_fetch_report(report))
    if folder.is_dir():  # what was fetched is indexed even when the fetch stopped early
        _index_for_demo([folder], index_dir, rebuild=False, jobs=jobs, engine=None)
    if report.stopped:
        raise click.ClickException(f"the fetch stopped: {report.stopped}")
