"""kb.extract: real letters, text encodings, and every kind of bad file."""

from __future__ import annotations

import hashlib
import pickle
import re
import time
from pathlib import Path

import pypdfium2 as pdfium
import pytest

from badfiles import EXPECTED_ERRORS, USER_PASSWORD, text_pdf_bytes, write_bad_files
from kb import extract
from kb.extract import (
    MIN_TEXT_CHARS,
    DamagedPdf,
    EmptyFile,
    ExtractError,
    NotAPdf,
    NotFound,
    NoTextLayer,
    PasswordProtected,
    NotAFile,
    TooLarge,
    UnreadableFile,
    UnreadableText,
    extract_bytes,
    extract_text,
)

FAST = 5.0  # seconds of processor time: the most any rejection may take (a hang guard: they take ms)

# A letter-like text whose non-ASCII characters differ between cp1252, Latin-1 and UTF-8, so a wrong
# decoding shows. CRLF line ends are kept as they are: cleaning is the parser's job.
LETTER = (
    "Case Number: CM16-0000001\r\n"
    "Date Assigned: 11/09/2016 Date of Injury: 10/13/2016\r\n"
    "CLINICAL CASE SUMMARY\r\n"
    "The injured worker’s café job – lifting 30° overhead – caused “sharp” pain;\r\n"
    "her résumé was noted.\r\n"
    "Acupuncture 6 sessions: Upheld\r\n"
    "Claims Administrator guideline: Decision based on MTUS Acupuncture Treatment 2007.\r\n"
    "Decision rationale: The guidelines allow 3 to 6 treatments; the request is medically necessary.\r\n"
)


def test_letter_sample_is_long_enough_to_be_accepted():
    assert len("".join(LETTER.split())) >= MIN_TEXT_CHARS


# Real letters


def _pypdf_text(pdf: Path) -> str:
    """The pypdf text stored beside a real letter, without its "# source:" line."""
    first, rest = pdf.with_suffix(".txt").read_text(encoding="utf-8").split("\n", 1)
    assert first.startswith("# source:")
    return rest


def _alnum(text: str) -> str:
    return "".join(ch for ch in text if ch.isalnum())


def _without_space_and_hyphens(text: str) -> str:
    return re.sub(r"[\s\ufffe-]", "", text)


def _lines_as_pypdf_breaks_them(text: str) -> list[str]:
    # PDFium joins a line ending in a hyphen to the next and marks the join with U+FFFE; pypdf keeps the
    # "-" and the break. Blank lines and runs of spaces differ too, and are ignored here.
    text = text.replace("\ufffe", "-\n").replace("\r\n", "\n")
    return [" ".join(line.split()) for line in text.split("\n") if line.strip()]


@pytest.fixture(scope="session")
def real_letters(letters_dir: Path) -> list[tuple[Path, extract.Extracted]]:
    pdfs = sorted(letters_dir.glob("*.pdf"))
    assert len(pdfs) >= 100
    return [(pdf, extract_text(pdf)) for pdf in pdfs]


def test_every_real_letter_extracts(real_letters):
    problems = []
    for pdf, result in real_letters:
        data = pdf.read_bytes()
        if result.kind != "pdf" or result.pages < 2:
            problems.append(f"{pdf.name}: kind {result.kind}, {result.pages} pages")
        for marker in ("Case Number:", "Decision rationale:"):
            if marker not in result.text:
                problems.append(f"{pdf.name}: no {marker!r}")
        if (result.sha256, result.size) != (hashlib.sha256(data).hexdigest(), len(data)):
            problems.append(f"{pdf.name}: wrong sha256 or size")
        if "\x00" in result.text:
            problems.append(f"{pdf.name}: NUL in text")
    assert problems == []


def test_real_letters_keep_pdfium_line_ends_and_hyphen_marks(real_letters):
    # The parser's cleaning pipeline relies on seeing these as PDFium gives them.
    texts = [result.text for _, result in real_letters]
    assert all("\r\n" in text for text in texts)
    assert sum(text.count("\ufffe") for text in texts) > 0


def test_real_letters_have_the_same_words_as_pypdf(real_letters):
    differ = [pdf.name for pdf, result in real_letters if _alnum(result.text) != _alnum(_pypdf_text(pdf))]
    assert differ == []


def test_real_letters_have_the_same_characters_as_pypdf_apart_from_spaces_and_hyphens(real_letters):
    # Measured on the 130 letters: punctuation, symbols (°, ®, ×, –) and order agree exactly.
    differ = [
        pdf.name
        for pdf, result in real_letters
        if _without_space_and_hyphens(result.text) != _without_space_and_hyphens(_pypdf_text(pdf))
    ]
    assert differ == []


def test_real_letters_break_lines_where_pypdf_does(real_letters):
    differ = [
        pdf.name
        for pdf, result in real_letters
        if _lines_as_pypdf_breaks_them(result.text) != _lines_as_pypdf_breaks_them(_pypdf_text(pdf))
    ]
    assert differ == []


def test_truncated_real_letters_are_damaged(letters_dir, tmp_path):
    for pdf in sorted(letters_dir.glob("*.pdf")):
        data = pdf.read_bytes()
        for share in (0.25, 0.5, 0.9, 0.99):
            with pytest.raises(DamagedPdf):
                extract_bytes(data[: int(len(data) * share)], pdf.name)


def test_bad_files_made_from_a_real_letter(letters_dir, tmp_path):
    good = sorted(letters_dir.glob("*.pdf"))[0]
    for name, path in write_bad_files(tmp_path, good_pdf=good).items():
        with pytest.raises(ExtractError) as caught:
            extract_text(path)
        assert type(caught.value).__name__ == EXPECTED_ERRORS[name]


# Text files


ENCODINGS = {
    "utf-8": lambda text: text.encode("utf-8"),
    "utf-8 with BOM": lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"),
    "cp1252": lambda text: text.encode("cp1252"),
    "utf-16-le with BOM": lambda text: b"\xff\xfe" + text.encode("utf-16-le"),
    "utf-16-be with BOM": lambda text: b"\xfe\xff" + text.encode("utf-16-be"),
    "utf-16-le without BOM": lambda text: text.encode("utf-16-le"),
    "utf-16-be without BOM": lambda text: text.encode("utf-16-be"),
}


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_text_encodings_give_identical_text(tmp_path, encoding):
    path = tmp_path / "letter.txt"
    path.write_bytes(ENCODINGS[encoding](LETTER))
    result = extract_text(path)
    assert result.text == LETTER
    assert (result.kind, result.pages) == ("text", None)


def test_the_encodings_really_differ():
    assert len({encode(LETTER) for encode in ENCODINGS.values()}) == len(ENCODINGS)


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_real_letter_text_in_every_encoding(letters_dir, tmp_path, encoding):
    # This letter has "×" and "®" in it.
    text = _pypdf_text(letters_dir / "CM16-0243394.pdf")
    path = tmp_path / "CM16-0243394.txt"
    path.write_bytes(ENCODINGS[encoding](text))
    assert extract_text(path).text == text


def test_nul_bytes_are_removed(tmp_path):
    path = tmp_path / "letter.txt"
    path.write_bytes(b"\x00" + LETTER.replace("\r\n", "\x00\r\n").encode("utf-8") + b"\x00" * 50)
    assert extract_text(path).text == LETTER


def test_a_few_control_characters_do_not_make_a_letter_unreadable(tmp_path):
    # Stripping them is the parser's job; rejecting the letter for them would lose it.
    text = LETTER.replace("Upheld", "Upheld\x07") + "\f"
    assert extract_bytes(text.encode("utf-8"), "letter.txt").text == text


def test_sha256_and_size_are_of_the_file_bytes(tmp_path):
    path = tmp_path / "letter.txt"
    data = b"\xef\xbb\xbf" + LETTER.encode("utf-8")
    path.write_bytes(data)
    result = extract_text(path)
    assert result.sha256 == hashlib.sha256(data).hexdigest()
    assert result.size == len(data)


def test_content_decides_the_kind_not_the_name(tmp_path):
    path = tmp_path / "letter.txt"
    path.write_bytes(text_pdf_bytes())
    result = extract_text(path)
    assert (result.kind, result.pages) == ("pdf", 1)
    assert "Case Number: CM16-0000001" in result.text


def test_extract_bytes_equals_extract_text(tmp_path):
    path = tmp_path / "made.pdf"
    path.write_bytes(text_pdf_bytes())
    assert extract_bytes(path.read_bytes(), str(path)) == extract_text(path)


# Bad files


@pytest.fixture(scope="session")
def bad_files(tmp_path_factory) -> dict[str, Path]:
    return write_bad_files(tmp_path_factory.mktemp("bad"))


@pytest.mark.parametrize("name", EXPECTED_ERRORS)
def test_each_bad_file_has_its_own_error(bad_files, name):
    path = bad_files[name]
    started = time.process_time()
    with pytest.raises(ExtractError) as caught:
        extract_text(path)
    assert time.process_time() - started < FAST
    error = caught.value
    assert type(error).__name__ == EXPECTED_ERRORS[name]
    assert str(path) in error.reason
    assert error.reason == str(error)
    assert error.reason.endswith(".") and "\n" not in error.reason
    assert re.fullmatch(r"[a-z]+(-[a-z]+)*", error.code)


def test_reasons_say_what_a_misnamed_file_is(bad_files):
    with pytest.raises(NotAPdf, match="looks like a JPEG image"):
        extract_text(bad_files["photo-named.pdf"])
    with pytest.raises(NotAPdf, match="looks like an HTML page"):
        extract_text(bad_files["error-page.pdf"])
    with pytest.raises(NotAPdf, match="looks like plain text"):
        extract_bytes(LETTER.encode("utf-8"), "letter.pdf")
    with pytest.raises(UnreadableText, match="looks like a JPEG image"):
        extract_bytes(bad_files["photo-named.pdf"].read_bytes(), "photo.txt")


def test_the_password_file_is_whole_and_locked_only_by_its_password(bad_files):
    with pytest.raises(PasswordProtected):
        extract_text(bad_files["password.pdf"])
    document = pdfium.PdfDocument(bad_files["password.pdf"].read_bytes(), password=USER_PASSWORD)
    try:
        page = document[0]
        try:
            textpage = page.get_textpage()
            try:
                assert "Case Number: CM16-0000001" in textpage.get_text_range()
            finally:
                textpage.close()
        finally:
            page.close()
    finally:
        document.close()


def test_every_bad_file_is_covered():
    classes = {cls.__name__ for cls in ExtractError.__subclasses__()}
    not_written = {"NotFound", "UnreadableFile", "TooLarge", "NotAFile", "BrokenLink", "UnreadableFolder"}  # paths, limits
    assert set(EXPECTED_ERRORS.values()) == classes - not_written


def test_error_codes_are_distinct():
    codes = [cls.code for cls in ExtractError.__subclasses__()]
    assert len(codes) == len(set(codes))


def test_errors_survive_pickling(bad_files):
    # The indexer runs extraction in a child process; errors come back pickled.
    with pytest.raises(ExtractError) as caught:
        extract_text(bad_files["junk.txt"])
    copy = pickle.loads(pickle.dumps(caught.value))
    assert (type(copy), copy.name, copy.reason, copy.code) == (
        UnreadableText,
        caught.value.name,
        caught.value.reason,
        "unreadable-text",
    )


def test_too_large_by_bytes_before_reading(tmp_path):
    path = tmp_path / "letter.txt"
    path.write_bytes(LETTER.encode("utf-8"))
    with pytest.raises(TooLarge, match=r"letter\.txt is \d[\d,]* bytes, over the limit of 100 bytes\."):
        extract_text(path, max_bytes=100)
    with pytest.raises(TooLarge):
        extract_bytes(path.read_bytes(), "letter.txt", max_bytes=100)
    assert extract_text(path, max_bytes=path.stat().st_size).text == LETTER


def test_too_large_by_pages(tmp_path):
    path = tmp_path / "made.pdf"
    path.write_bytes(text_pdf_bytes())
    with pytest.raises(TooLarge, match=r"made\.pdf has 1 pages?, over the limit of 0\."):
        extract_text(path, max_pages=0)


def test_missing_and_unreadable_paths(tmp_path):
    with pytest.raises(NotFound, match="was not found"):
        extract_text(tmp_path / "missing.pdf")
    with pytest.raises(NotAFile, match="is not a regular file"):
        extract_text(tmp_path)
    (tmp_path / "letter.txt").write_bytes(LETTER.encode("utf-8"))
    with pytest.raises(UnreadableFile, match="could not be read"):
        extract_text(tmp_path / "letter.txt" / "inside")  # a path through a file: NotADirectoryError


def test_empty_text_is_never_a_letter():
    for data in (b"\x00" * 1000, b" \r\n" * 1000, "\ufeff".encode("utf-8")):
        with pytest.raises((NoTextLayer, EmptyFile)):
            extract_bytes(data, "blank.txt")
    with pytest.raises(EmptyFile):
        extract_bytes(b"", "empty.txt")


def test_check_pdf_tells_a_whole_pdf_from_a_download_that_is_not_one(tmp_path: Path, letters_dir: Path):
    real = (letters_dir / "CM16-0213037.pdf").read_bytes()
    assert extract.check_pdf(real, "real.pdf") == 2
    files = write_bad_files(tmp_path, letters_dir / "CM16-0213037.pdf")
    assert extract.check_pdf(files["password.pdf"].read_bytes(), "password.pdf") == 0  # whole, if locked
    expected = {"truncated.pdf": extract.DamagedPdf, "error-page.pdf": extract.NotAPdf,
                "photo-named.pdf": extract.NotAPdf, "empty.pdf": extract.EmptyFile}
    for name, error in expected.items():
        with pytest.raises(error):
            extract.check_pdf(files[name].read_bytes(), name)
    with pytest.raises(extract.DamagedPdf, match="does not end with %%EOF"):
        extract.check_pdf(real[: len(real) - 2000], "cut.pdf")
