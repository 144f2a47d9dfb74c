"""Bad input files for ingest tests: each one must be rejected with its own `ExtractError`.

`write_bad_files(directory)` writes the set into a directory at test time (nothing binary is kept in
the repository), so the extract, CLI and indexer tests all exercise the same files:

    files = write_bad_files(tmp_path)
    for name, path in files.items():
        with pytest.raises(getattr(extract, EXPECTED_ERRORS[name])):
            extract.extract_text(path)

A letter whose text is fine but whose items section is missing is the parser's concern, not this set's.
A file too large to accept is not written either: pass a small `max_bytes` instead of writing 50 MB.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

from pypdf import PdfWriter

# File name -> the `kb.extract` error class expected for it (by name, so importing this module does not
# import the code under test).
EXPECTED_ERRORS: dict[str, str] = {
    "truncated.pdf": "DamagedPdf",
    "blank-page.pdf": "NoTextLayer",
    "photo-named.pdf": "NotAPdf",
    "error-page.pdf": "NotAPdf",
    "password.pdf": "PasswordProtected",
    "empty.pdf": "EmptyFile",
    "junk.txt": "UnreadableText",
    "short.txt": "NoTextLayer",
}

# The user password of "password.pdf": with it, the file opens and has enough text to pass.
USER_PASSWORD = "open sesame"

# Enough words that the PDF passes the "too little text" check when it is whole and unlocked, so the
# truncated and encrypted copies fail for the reason they are meant to, not for being short.
SAMPLE_LINES = (
    "Case Number: CM16-0000001",
    "Date Assigned: 11/09/2016 Date of Injury: 10/13/2016",
    "Decision Date: 12/09/2016 UR Denial Date: 11/03/2016",
    "IMR ISSUES, DECISIONS AND RATIONALES",
    "MRI of the lumbar spine without contrast: Upheld",
    "Claims Administrator guideline: Decision based on MTUS Low Back Complaints 2004.",
    "MAXIMUS guideline: Decision based on MTUS Low Back Complaints 2004.",
    "Decision rationale: The guidelines support imaging when red flags are present.",
    "None are documented here, so the request is not medically necessary.",
)

# A complete 1x1 grey baseline JPEG built from the JPEG spec: SOI, JFIF APP0, a flat quantisation table,
# a frame header, one-code Huffman tables for DC and AC, a scan holding a single "DC 0, end of block"
# (bits 00, padded with ones: 0x3F), EOI.
TINY_JPEG = b"".join(
    [
        b"\xff\xd8",
        b"\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00",
        b"\xff\xdb\x00\x43\x00" + b"\x01" * 64,
        b"\xff\xc0\x00\x0b\x08\x00\x01\x00\x01\x01\x01\x11\x00",
        b"\xff\xc4\x00\x14\x00\x01" + b"\x00" * 15 + b"\x00",
        b"\xff\xc4\x00\x14\x10\x01" + b"\x00" * 15 + b"\x00",
        b"\xff\xda\x00\x08\x01\x01\x00\x00\x3f\x00",
        b"\x3f",
        b"\xff\xd9",
    ]
)


def text_pdf_bytes(lines: tuple[str, ...] | list[str] = SAMPLE_LINES) -> bytes:
    """A valid one-page PDF whose text layer holds `lines` (ASCII), written by hand with a real xref."""
    escaped = [line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)") for line in lines]
    content = "BT /F1 11 Tf 14 TL 72 740 Td " + " ".join(f"({line}) Tj T*" for line in escaped) + " ET"
    stream = content.encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.writelines(b"%010d 00000 n \n" % offset for offset in offsets)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def _blank_pdf_bytes() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _password_pdf_bytes() -> bytes:
    writer = PdfWriter(clone_from=io.BytesIO(text_pdf_bytes()))
    writer.encrypt(user_password=USER_PASSWORD, owner_password="owner " + USER_PASSWORD, algorithm="AES-256")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _junk_bytes(size: int = 4096) -> bytes:
    # Seeded, so a failure reproduces with the same bytes.
    return random.Random(20170209).randbytes(size)


def write_bad_files(directory: Path, good_pdf: Path | None = None) -> dict[str, Path]:
    """Write every bad file into `directory`; return file name -> path (keys as in `EXPECTED_ERRORS`).

    `good_pdf`, when given (a real letter), is the PDF cut in half for "truncated.pdf"; otherwise a small
    PDF made here is.
    """
    whole = Path(good_pdf).read_bytes() if good_pdf is not None else text_pdf_bytes()
    contents = {
        "truncated.pdf": whole[: len(whole) // 2],
        "blank-page.pdf": _blank_pdf_bytes(),
        "photo-named.pdf": TINY_JPEG,
        "error-page.pdf": b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head>"
        b"<body><h1>Not Found</h1></body></html>\n",
        "password.pdf": _password_pdf_bytes(),
        "empty.pdf": b"",
        "junk.txt": _junk_bytes(),
        "short.txt": "Case Number: CM16-0000001\r\nUpheld\r\n".encode(),
    }
    assert contents.keys() == EXPECTED_ERRORS.keys()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, data in contents.items():
        paths[name] = directory / name
        paths[name].write_bytes(data)
    return paths
