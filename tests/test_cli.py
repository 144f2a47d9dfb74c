"""The `kb` command through click's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import main
from tests.badfiles import EXPECTED_ERRORS, write_bad_files
from tests.conftest import FIXTURES

JSONL_KEYS = {
    "source", "ok", "error", "case_number", "decision_date", "date_of_injury", "date_assigned",
    "ur_denial_date", "application_received", "priority", "reviewer", "items",
}
ITEM_KEYS = {"ordinal", "heading", "decision", "drugs", "category", "subcategory", "guidelines", "rationale"}
DRUG_KEYS = {"generic", "class", "brand", "strength", "quantity"}
CITATION_KEYS = {"id", "source", "label"}


def run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_parse_jsonl_has_the_documented_shape(seeds_dir):
    result = run("parse", "--format", "jsonl", str(seeds_dir))
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.output.splitlines()]
    assert len(records) == 2
    for record in records:
        assert JSONL_KEYS <= record.keys() and record["ok"] and record["error"] is None
        assert set(record["reviewer"]) == {"specialties", "states"}
        for item in record["items"]:
            assert ITEM_KEYS <= item.keys()
            assert item["decision"] in ("Upheld", "Overturned")
            for drug in item["drugs"]:
                assert DRUG_KEYS <= drug.keys()
                assert drug["quantity"] is None or isinstance(drug["quantity"], float)
            for side in ("claims_administrator", "reviewer"):
                assert all(CITATION_KEYS <= c.keys() for c in item["guidelines"][side])
    soma = records[0]["items"][1]
    assert soma["heading"] == "Soma 350mg QTY: 120.00"
    expected = {"generic": "carisoprodol", "class": "Muscle Relaxants", "brand": "Soma", "strength": "350mg",
                "quantity": 120.0}
    assert {key: soma["drugs"][0][key] for key in expected} == expected


def test_parse_reports_each_bad_file_and_goes_on(tmp_path: Path, letters_dir):
    bad = write_bad_files(tmp_path / "bad", letters_dir / "CM16-0213037.pdf")
    removed = tmp_path / "bad" / "items-removed.txt"
    removed.write_bytes((FIXTURES / "letters" / "error-items-removed.txt").read_bytes())
    good = letters_dir / "CM16-0213037.pdf"
    result = CliRunner().invoke(main, ["parse", "--format", "jsonl", str(tmp_path / "bad"), str(good)])
    assert result.exit_code == 1
    records = {Path(r["source"]).name: r for r in map(json.loads, result.stdout.splitlines())}
    assert records["CM16-0213037.pdf"]["ok"] and records["CM16-0213037.pdf"]["case_number"] == "CM16-0213037"
    errors = {name: records[name]["error"] for name in bad}
    assert all(not records[name]["ok"] and records[name]["items"] == [] for name in bad)
    assert len(set(errors.values())) == len(errors), "each bad file has its own message"
    phrases = {
        "DamagedPdf": "damaged or truncated PDF",
        "NoTextLayer": "too little text",
        "NotAPdf": "is not a PDF",
        "PasswordProtected": "protected by a password",
        "EmptyFile": "is empty",
        "UnreadableText": "not readable text",
    }
    for name, error in errors.items():
        assert phrases[EXPECTED_ERRORS[name]] in error, (name, error)
    assert "no items section" in records["items-removed.txt"]["error"]
    assert f"{len(bad) + 1} of {len(bad) + 2} files could not be parsed" in result.stderr


def test_parse_text_format_reads_like_a_letter(letters_dir):
    result = run("parse", str(letters_dir / "CM16-0213037.pdf"))
    assert result.exit_code == 0
    assert "CM16-0213037 [posted]" in result.output
    assert "1. MRI of the right shoulder without contrast: Upheld" in result.output
    assert "treatment: Diagnostic Testing / MRI" in result.output
    assert "reviewer cited: MTUS Shoulder Complaints" in result.output


def test_parse_json_is_one_array(seeds_dir):
    result = run("parse", "--format", "json", str(seeds_dir))
    assert [r["items"][0]["heading"] for r in json.loads(result.output)] == [
        "Xanax 1mg QTY: 60.00", "Carisoprodol 350mg #60"
    ]


def test_parse_of_a_folder_without_letters_is_a_clear_error(tmp_path: Path):
    result = CliRunner().invoke(main, ["parse", str(tmp_path)])
    assert result.exit_code == 1
    assert "no .pdf or .txt files found" in result.output


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
def test_parse_reads_text_in_every_accepted_encoding(tmp_path: Path, encoding: str):
    source = (FIXTURES / "letters" / "posted-basic.txt").read_text(encoding="utf-8")
    path = tmp_path / "letter.txt"
    path.write_text(source.replace("lifting a box", "lifting a box \u2019caf\u00e9\u2019"), encoding=encoding)
    result = run("parse", "--format", "jsonl", str(path))
    record = json.loads(result.output)
    assert record["ok"] and record["case_number"] == "CM18-0101234" and len(record["items"]) == 2


def test_the_readme_names_every_option_of_the_indexing_commands():
    """README and --help kept in step: each option of kb index, status and verify is in the README."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    for name in ("index", "status", "verify"):
        command = main.get_command(None, name)
        for option in command.params:
            for flag in getattr(option, "opts", []):
                if flag.startswith("--") and flag != "--help":
                    assert flag in readme, f"kb {name} {flag} is not in the README"
