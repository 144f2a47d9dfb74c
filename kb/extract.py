"""Letter file -> text: the only module that reads letter files.

`extract_text(path)` returns an `Extracted` (the text, what kind of file it was, its page count, the
SHA-256 and size of its bytes) or raises an `ExtractError` subclass whose `.reason` is one sentence
naming the file and whose `.code` is a short stable slug for the ingest ledger. `read_dwc_record(path)`
reads the DWC's search row that `kb fetch` keeps beside a letter (`CM24-0001234.dwc.json`), if any, and
`check_pdf(data)` tells the fetcher whether a download is a whole PDF.

PDFs go through PDFium (pypdfium2). The DWC's PDFs are AES-encrypted with an empty user password and
forbid text extraction by a permission flag; PDFium opens them as they are. Its text is kept as it
comes: "\\r\\n" line ends inside a page, "\\n" between pages, and U+FFFE where a line ended in a hyphen
(PDFium joins the two lines there, and the hyphen is a real "-" on the page: "x\\uffferay" where the
page shows "x-" at a line end and "ray" on the next line). Normalising that is the job of the parser's
cleaning pipeline, not of this module.

Text files may be UTF-8 (with or without a BOM), UTF-16 (with a BOM, or without one when the NUL bytes
show which byte order it is) or cp1252. The text is kept as decoded, except that a leading BOM and every
NUL character are removed, so NULs never reach the parser or the index.

Every accepted letter has at least `MIN_TEXT_CHARS` non-whitespace characters: a scanned page or a
nearly empty file is a rejection, never an empty letter.

Limits here are cheap checks (size by stat before reading, page count before loading pages). A PDF that
makes PDFium hang or swell cannot be stopped from inside the process; callers that must survive one run
extraction in a child process with time and memory limits. PDFium is not thread-safe, so PDF work is
serialised by a lock.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import stat
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

DEFAULT_MAX_BYTES = 50 * 1024 * 1024  # the real letters are 21-101 KB; 50 MB leaves room for odd exports
MAX_TEXT_FILE_BYTES = 4 * 1024 * 1024  # a text letter (UTF-16 doubles the bytes)
MAX_TEXT_CHARS = 1_000_000  # a letter's text; the longest real one has 17,000 characters
DEFAULT_MAX_PAGES = 300  # real letters have 2-10 pages
MIN_TEXT_CHARS = 200  # non-whitespace; the shortest of the 130 real letters has 2,573
MAX_JUNK_SHARE = 0.02  # decoded text with more control/undefined characters than this is not text
JUNK_SAMPLE_CHARS = 64 * 1024  # checked before the whole text, to reject a large binary file quickly

PDF_MAGIC = b"%PDF-"
PDF_MAGIC_WINDOW = 1024  # the PDF spec lets a header follow up to 1 KB of junk, and PDFium accepts that

# Byte-order marks, longest first. UTF-32 is not accepted: nobody saves letters in it.
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)

# Characters that do not occur in a letter's text: C0 controls other than tab, line feed, carriage
# return and form feed (pdftotext separates pages with it), DEL, C1 controls, lone surrogates, private
# use, U+FFFD (what an undecodable byte becomes) and U+FFFF. U+FFFE is allowed: it is PDFium's hyphen mark,
# which a text file saved from PDFium output carries.
_JUNK = re.compile("[\x01-\x08\x0b\x0e-\x1f\x7f-\x9f\ud800-\udfff\ue000-\uf8ff\ufffd\uffff]")

# Leading bytes of formats that turn up where a letter is expected, and what to call them in a reason.
_SIGNATURES = (
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
    (b"PK\x03\x04", "a ZIP archive (a Word .docx file is one)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Microsoft Office document (.doc or .xls)"),
    (b"{\\rtf", "an RTF document"),
    (b"\x1f\x8b", "a gzip archive"),
)
_HTML_START = re.compile(rb"\s*(<!doctype html|<html)", re.IGNORECASE)

_PDFIUM_LOCK = threading.Lock()

LETTER_SUFFIXES = (".pdf", ".txt")

Kind = Literal["pdf", "text"]


@dataclass(frozen=True)
class Extracted:
    """A letter file's text and the facts about the file the ingest ledger records."""

    text: str
    kind: Kind
    pages: int | None  # PDF pages; None for a text file
    sha256: str  # hex digest of the file's bytes
    size: int  # bytes


class ExtractError(Exception):
    """A file that cannot be turned into letter text. `reason` is one sentence naming the file."""

    code = "extract-error"

    def __init__(self, name: str, reason: str):
        # Both go to Exception.args so the error pickles whole across a process boundary.
        super().__init__(name, reason)
        self.name = name
        self.reason = reason

    def __str__(self) -> str:
        return self.reason


class NotFound(ExtractError):
    """The path does not exist."""

    code = "not-found"


class UnreadableFile(ExtractError):
    """The file exists but cannot be read now: no permission, an I/O error. This can pass."""

    code = "unreadable-file"


class NotAFile(ExtractError):
    """Named like a letter but not a regular file: a pipe, a socket, a device, a folder."""

    code = "not-a-file"


class BrokenLink(ExtractError):
    """A symbolic link that leads nowhere (its target is missing) or in a circle."""

    code = "broken-link"


class UnreadableFolder(ExtractError):
    """A folder that cannot be listed, so the letters in it cannot be found. This can pass."""

    code = "unreadable-folder"


class EmptyFile(ExtractError):
    """The file has zero bytes."""

    code = "empty-file"


class TooLarge(ExtractError):
    """Over `max_bytes` bytes, or a PDF with more than `max_pages` pages."""

    code = "too-large"


class NotAPdf(ExtractError):
    """Named .pdf, but its bytes are something else (an image, an HTML error page, ...)."""

    code = "not-a-pdf"


class DamagedPdf(ExtractError):
    """A PDF that PDFium cannot open or whose pages it cannot load: truncated or corrupt."""

    code = "damaged-pdf"


class PasswordProtected(ExtractError):
    """A PDF locked with a real user password (or an encryption scheme PDFium does not support)."""

    code = "password-protected"


class NoTextLayer(ExtractError):
    """Fewer than `MIN_TEXT_CHARS` non-whitespace characters: a scanned PDF, or a nearly empty text file."""

    code = "too-little-text"


class UnreadableText(ExtractError):
    """A text file whose bytes are not text in any accepted encoding."""

    code = "unreadable-text"


@dataclass(frozen=True)
class Entry:
    """One entry found under the paths given to `walk_letter_files`."""

    path: str  # absolute, symbolic links resolved
    problem: ExtractError | None = None  # why it cannot be read as a letter, found without reading it
    ignored: bool = False  # a file that is not a letter file (not .pdf or .txt): counted, never read


def walk_letter_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[Entry]:
    """Every entry under `paths`, each file once, in a stable order (by name, depth first).

    Files given by name are taken whatever their suffix; folders are searched recursively for .pdf and
    .txt files, hidden entries skipped, other files reported as ignored. Symbolic links are followed
    and resolved, so a file reachable by two paths (a link, or a folder given twice) is listed once, by its
    real path; a link that leads nowhere or in a circle, a pipe or device named like a letter, a folder
    that cannot be listed: each is an entry with its problem, never silently dropped.
    """
    roots: list[str] = []
    seen: set[str] = set()  # files listed by name or through a link from outside the folders
    for given in map(os.fspath, paths):
        path = os.path.abspath(given)
        resolved, problem = _resolve(path)
        if problem is not None:
            yield Entry(path, problem)
        elif os.path.isdir(resolved):
            roots.append(resolved)
        elif resolved not in seen:
            seen.add(resolved)
            yield _file_entry(resolved, explicit=True)
    roots = [root for root in sorted(set(roots)) if not any(_inside(root, other) for other in roots if other != root)]
    visited: set[tuple[int, int]] = set()
    for root in roots:
        yield from _walk(root, roots, seen, visited)


def _walk(folder: str, roots: list[str], seen: set[str], visited: set[tuple[int, int]]) -> Iterator[Entry]:
    try:
        info = os.stat(folder)
        if (info.st_dev, info.st_ino) in visited:
            return
        visited.add((info.st_dev, info.st_ino))
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError as error:
        shown = printable_path(folder)
        yield Entry(folder, UnreadableFolder(shown, f"{shown} is a folder that cannot be listed "
                                                    f"({error.strerror or error}), so the letters in it were not read."))
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = entry.path
        if entry.is_symlink():
            target, problem = _resolve(path)
            if problem is not None:
                yield Entry(path, problem)
            elif os.path.isdir(target):
                if not _reached(target, roots):  # a folder inside is walked as itself
                    yield from _walk(target, roots, seen, visited)
            elif not _looks_like_letter(entry.name):
                yield Entry(path, ignored=True)
            elif target not in seen and not _reached(target, roots):
                seen.add(target)
                yield _file_entry(target, explicit=True)
            # a link to a file the walk reaches anyway is that file, listed as itself
        elif entry.is_dir(follow_symlinks=False):
            if _looks_like_letter(entry.name):
                shown = printable_path(path)
                yield Entry(path, NotAFile(shown, f"{shown} is a folder, not a letter file; the letters inside "
                                                  "it are read as those of any folder."))
            yield from _walk(path, roots, seen, visited)
        elif _looks_like_letter(entry.name):
            if path not in seen:
                yield _file_entry(path)
        elif not entry.name.endswith(DWC_SIDECAR_SUFFIX):  # a letter's DWC row is part of the letter
            yield Entry(path, ignored=True)


def _file_entry(path: str, *, explicit: bool = False) -> Entry:
    """A file found by name or in a folder: a letter file to read, or what is wrong with it."""
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        shown = printable_path(path)
        return Entry(path, UnreadableFile(shown, f"{shown} could not be read: {error.strerror or error}."))
    if stat.S_ISDIR(mode):
        return Entry(path, ignored=True)
    if not stat.S_ISREG(mode):
        shown = printable_path(path)
        return Entry(path, NotAFile(shown, f"{shown} is not a regular file (a pipe, socket or device)."))
    return Entry(path) if explicit or _looks_like_letter(path) else Entry(path, ignored=True)


def _resolve(path: str) -> tuple[str, ExtractError | None]:
    """The real path behind `path`, or the problem with the links on the way."""
    try:
        return os.path.realpath(path, strict=True), None
    except FileNotFoundError:
        shown = printable_path(path)
        if os.path.islink(path) or os.path.lexists(path):
            return path, BrokenLink(shown, f"{shown} is a symbolic link to something that does not exist.")
        return path, NotFound(shown, f"{shown} was not found.")
    except OSError as error:
        shown = printable_path(path)
        if error.errno == errno.ELOOP:
            return path, BrokenLink(shown, f"{shown} is a symbolic link that leads back to itself (a loop).")
        return path, UnreadableFile(shown, f"{shown} could not be read: {error.strerror or error}.")


def _reached(path: str, roots: list[str]) -> bool:
    """Whether walking `roots` reaches `path` by itself (inside one, through no hidden folder)."""
    for root in roots:
        if _inside(path, root):
            return not any(part.startswith(".") for part in os.path.relpath(path, root).split(os.sep))
    return False


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _looks_like_letter(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in LETTER_SUFFIXES


def find_letter_files(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The readable letter files under `paths` (see walk_letter_files), for a command that reads them."""
    return [Path(entry.path) for entry in walk_letter_files(paths) if not entry.problem and not entry.ignored]


def printable_path(path: str | os.PathLike[str]) -> str:
    """A path as text that can be printed and stored: a file name that is not valid UTF-8 shows its odd
    bytes escaped ("x\\xff.txt"), as `ls --quoting-style=escape` would."""
    name = os.fspath(path)
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        return os.fsencode(name).decode("utf-8", "backslashreplace")


def extract_text(
    path: str | os.PathLike[str],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> Extracted:
    """Read the letter file at `path` once and return its text, or raise an `ExtractError`."""
    name = os.fspath(path)
    data = read_letter_file(name, max_bytes)
    return extract_bytes(data, name, max_bytes=max_bytes, max_pages=max_pages)


def extract_bytes(
    data: bytes,
    name: str,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_pages: int = DEFAULT_MAX_PAGES,
) -> Extracted:
    """Extract from a file's bytes already in memory; `name` is the file name used in reasons."""
    name = printable_path(name)
    if not data:
        raise EmptyFile(name, f"{name} is empty (0 bytes).")
    if len(data) > max_bytes:
        raise TooLarge(name, f"{name} is {_size(len(data))}, over the limit of {_size(max_bytes)}.")
    sha256 = hashlib.sha256(data).hexdigest()
    if PDF_MAGIC in data[:PDF_MAGIC_WINDOW]:
        text, pages = _pdf_text(data, name, max_pages)
        kind: Kind = "pdf"
    elif name.lower().endswith(".pdf"):
        raise NotAPdf(name, f"{name} is named .pdf but is not a PDF: it looks like {_describe(data)}.")
    else:
        if len(data) > MAX_TEXT_FILE_BYTES:
            raise TooLarge(name, f"{name} is {_size(len(data))}, over the limit of {_size(MAX_TEXT_FILE_BYTES)} "
                                 "for a text letter.")
        text, pages, kind = _text_file_text(data, name), None, "text"
    if len(text) > MAX_TEXT_CHARS:
        raise TooLarge(name, f"{name} holds {len(text):,} characters of text, over the limit of {MAX_TEXT_CHARS:,} "
                             "for a letter.")
    _require_enough_text(text, name, pages)
    return Extracted(text=text, kind=kind, pages=pages, sha256=sha256, size=len(data))


def read_letter_file(path: str, max_bytes: int = DEFAULT_MAX_BYTES) -> bytes:
    """A letter file's bytes, read once, or an ExtractError (not found, not a regular file, too large)."""
    name = printable_path(path)
    try:
        info = os.stat(path)
        # A FIFO or device named like a letter would block or never end; only regular files are read.
        if not stat.S_ISREG(info.st_mode):
            raise NotAFile(name, f"{name} is not a regular file.")
        # Checked before reading so a huge file costs nothing.
        if info.st_size > max_bytes:
            raise TooLarge(name, f"{name} is {_size(info.st_size)}, over the limit of {_size(max_bytes)}.")
        with open(path, "rb") as file:
            # One byte more than allowed, so a file that grew since the stat is still caught.
            return file.read(max_bytes + 1)
    except FileNotFoundError as error:
        raise NotFound(name, f"{name} was not found.") from error
    except OSError as error:
        raise UnreadableFile(name, f"{name} could not be read: {error.strerror or error}.") from error


# The DWC's row beside a letter


DWC_SIDECAR_SUFFIX = ".dwc.json"  # CM24-0001234.pdf -> CM24-0001234.dwc.json (written by kb fetch)
MAX_SIDECAR_BYTES = 1024 * 1024


def dwc_sidecar_path(letter_path: str | os.PathLike[str]) -> Path:
    path = Path(letter_path)
    return path.with_name(path.stem + DWC_SIDECAR_SUFFIX)


def read_dwc_record(letter_path: str | os.PathLike[str]) -> dict | None:
    """The DWC's search row kept beside a letter file (README: "The DWC's own rows"), or None when there is
    none or it is not one: not JSON, another version, no case number or treatments of the known shape.
    It is what the DWC says, never needed to read the letter, so a bad one is left out rather than refused."""
    path = dwc_sidecar_path(letter_path)
    try:
        if path.stat().st_size > MAX_SIDECAR_BYTES:
            return None
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    if not (isinstance(record, dict) and record.get("version") == 1 and isinstance(record.get("case_number"), str)
            and isinstance(record.get("treatments"), list)):
        return None
    for treatment in record["treatments"]:
        if not (isinstance(treatment, dict) and isinstance(treatment.get("category"), str)
                and isinstance(treatment.get("subcategory", ""), str)
                and treatment.get("decision") in (None, "Upheld", "Overturned")):
            return None
    return record


# PDF


def _pdf_text(data: bytes, name: str, max_pages: int) -> tuple[str, int]:
    """All pages' text joined by "\\n", and the page count."""
    with _PDFIUM_LOCK:
        document = _open_pdf(data, name)
        try:
            pages = len(document)
            if pages > max_pages:
                raise TooLarge(name, f"{name} has {pages} pages, over the limit of {max_pages}.")
            text = "\n".join(_page_text(document, index, name) for index in range(pages))
        finally:
            document.close()
    return text.replace("\x00", ""), pages


PDF_TRAILER = b"%%EOF"
PDF_TRAILER_WINDOW = 1024  # writers may pad after the last %%EOF; PDFium looks this far back too


def check_pdf(data: bytes, name: str) -> int:
    """That `data` is a whole PDF PDFium can open (a download, before it is kept as a letter): its page count,
    or NotAPdf, EmptyFile or DamagedPdf (no %%EOF at its end: truncated). A PDF locked with a password is
    whole, so it passes; the indexer rejects it with its reason."""
    if not data:
        raise EmptyFile(name, f"{name} is empty (0 bytes).")
    if PDF_MAGIC not in data[:PDF_MAGIC_WINDOW]:
        raise NotAPdf(name, f"{name} is not a PDF: it looks like {_describe(data)}.")
    if PDF_TRAILER not in data[-PDF_TRAILER_WINDOW:]:
        raise DamagedPdf(name, f"{name} is a truncated PDF: it does not end with %%EOF ({_size(len(data))}).")
    with _PDFIUM_LOCK:
        try:
            document = _open_pdf(data, name)
        except PasswordProtected:
            return 0
        try:
            return len(document)
        finally:
            document.close()


def _open_pdf(data: bytes, name: str) -> pdfium.PdfDocument:
    try:
        # No password: PDFium tries the empty one, which unlocks the DWC's permissions-only encryption.
        return pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        if error.err_code == pdfium_c.FPDF_ERR_PASSWORD:
            reason = f"{name} is protected by a password, so its text cannot be read."
            raise PasswordProtected(name, reason) from error
        if error.err_code == pdfium_c.FPDF_ERR_SECURITY:
            raise PasswordProtected(name, f"{name} is encrypted in a way PDFium does not support.") from error
        raise DamagedPdf(name, f"{name} is a damaged or truncated PDF ({_pdfium_message(error)}).") from error


def _page_text(document: pdfium.PdfDocument, index: int, name: str) -> str:
    # Closed explicitly, innermost first: finalizers would free them eventually, but across thousands of
    # files "eventually" is memory held by the C library.
    try:
        page = document[index]
    except pdfium.PdfiumError as error:
        raise DamagedPdf(name, f"{name} has a page PDFium cannot load (page {index + 1}).") from error
    try:
        textpage = page.get_textpage()
        try:
            return textpage.get_text_range()
        finally:
            textpage.close()
    finally:
        page.close()


def _pdfium_message(error: pdfium.PdfiumError) -> str:
    # "Failed to load document (PDFium: Data format error)." -> "PDFium: Data format error"
    match = re.search(r"\((PDFium: [^)]*)\)", str(error))
    return match.group(1) if match else f"PDFium: {error}"


# Text files


def _text_file_text(data: bytes, name: str) -> str:
    binary = _binary_format(data)
    if binary:
        raise UnreadableText(name, f"{name} is not a text file: it looks like {binary}.")
    text = _decode(data).replace("\x00", "")
    # The start first, so a large binary file is turned away without scanning all of it.
    for part in (text[:JUNK_SAMPLE_CHARS], text):
        share = _junk_share(part)
        if share > MAX_JUNK_SHARE:
            raise UnreadableText(
                name,
                f"{name} is not readable text in UTF-8, UTF-16 or cp1252: "
                f"{share:.0%} of its characters are control or undefined characters.",
            )
    return text


def _junk_share(text: str) -> float:
    if not text:
        return 0.0
    # Counted as what a substitution removes: no list of millions of matches for a binary file.
    return (len(text) - len(_JUNK.sub("", text))) / len(text)


def _decode(data: bytes) -> str:
    """Bytes -> str by BOM, then by NUL pattern (BOM-less UTF-16), then UTF-8, then cp1252."""
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(encoding, errors="replace")
    utf16 = _bomless_utf16(data)
    if utf16:
        return data.decode(utf16, errors="replace")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # cp1252 leaves five bytes undefined; they become U+FFFD and count as junk.
        return data.decode("cp1252", errors="replace")


def _bomless_utf16(data: bytes) -> str | None:
    """'utf-16-le' or 'utf-16-be' when the NUL bytes fall on one side of the byte pairs, as in mostly-ASCII
    UTF-16; None otherwise."""
    sample = data[:4096]
    pairs = len(sample) // 2
    if pairs < 8:
        return None
    even_nuls = sample[0::2].count(0)
    odd_nuls = sample[1::2].count(0)
    if odd_nuls > 0.4 * pairs and even_nuls < 0.05 * pairs:
        return "utf-16-le"
    if even_nuls > 0.4 * pairs and odd_nuls < 0.05 * pairs:
        return "utf-16-be"
    return None


def _binary_format(data: bytes) -> str | None:
    for signature, label in _SIGNATURES:
        if data.startswith(signature):
            return label
    return None


def _describe(data: bytes) -> str:
    """What a file that is not a PDF looks like, for a reason: "a JPEG image", "an HTML page", ..."""
    binary = _binary_format(data)
    if binary:
        return binary
    if _HTML_START.match(data[:512]):
        return "an HTML page (often a download's error page)"
    sample = _decode(data[:4096]).replace("\x00", "")
    if sample and _junk_share(sample) <= MAX_JUNK_SHARE:
        return "plain text"
    return "binary data of an unknown kind"


# Both kinds


def _require_enough_text(text: str, name: str, pages: int | None) -> None:
    chars = len("".join(text.split()))
    if chars >= MIN_TEXT_CHARS:
        return
    if pages is None:
        where, hint = "", ""
    else:
        where = f" on {pages} page{'s' if pages != 1 else ''}"
        hint = "; it may be a scanned image with no text layer"
    raise NoTextLayer(
        name,
        f"{name} has too little text to be a letter: {chars} non-space characters{where} "
        f"(at least {MIN_TEXT_CHARS} needed){hint}.",
    )


def _size(count: int) -> str:
    if count < 1024 * 1024:
        return f"{count:,} bytes"
    return f"{count / (1024 * 1024):.1f} MB"
