"""kb.dwc: the DWC search's form, results pages and rows, and the reference data in kb/data/dwc.json."""

from __future__ import annotations

from datetime import date

import pytest

from kb import dwc
from kb.dwc import PageChanged, normalise_header, parse_results_page

HEADER = ("<tr><th>Case Number</th><th>Decision Date</th><th>Date of Injury</th><th>Received Date</th>"
          "<th>IMRO Reviewer Specialty</th><th>Request Category</th><th>SubCategory/Drug</th>"
          "<th>Request Decision</th></tr>")


def page(rows: str, total: str = "<p>Total: <strong>3</strong> results</p>", header: str = HEADER,
         nextpage: str = "") -> str:
    return (f'<html><body><form name="Case"></form><table class="tabborder">{header}{rows}</table>\n'
            f"{total}{nextpage}</body></html>")


CASE_ROW = ('<tr><td><a href="/dwc/imr/decisions/CM24-0001234.pdf">CM24-0001234</a> <strong>+</strong></td>'
            "<td>01/05/2024</td><td>03/02/2019</td><td>12/20/2023</td><td>Orthopedic Surgery</td>"
            "<td>Pharmaceuticals</td><td>Opioids</td><td>Uphold</td></tr>")
MORE_ROW = '<tr><td colspan="5">&nbsp;</td><td>Rehabilitation</td><td>Acupuncture</td><td>Overturn</td></tr>'


# --------------------------------------------------------------------------------------------
# kb/data/dwc.json: every entry's examples


@pytest.mark.parametrize("column", dwc.COLUMNS, ids=lambda c: c.name)
def test_column_headers_accept_their_examples_and_refuse_their_counterexamples(column):
    for header in column.examples:
        assert column.pattern.fullmatch(normalise_header(header)), header
    for header in column.counterexamples:
        assert not column.pattern.fullmatch(normalise_header(header)), header


def test_decision_words_and_no_results_wording_match_their_examples():
    for written, decision in dwc.DATA["decisions"]["examples"]:
        assert dwc.DECISIONS[written.lower()] == decision
    for text in dwc.DATA["no_results"]["examples"]:
        assert dwc.NO_RESULTS.search(text), text
    for text in dwc.DATA["no_results"]["counterexamples"]:
        assert not dwc.NO_RESULTS.search(text), text


@pytest.mark.parametrize("kind, resolve", [("specialties", dwc.resolve_specialty),
                                           ("categories", dwc.resolve_category)])
def test_choices_resolve_their_examples_and_every_label(kind, resolve):
    for typed, value in dwc.DATA[kind]["examples"]:
        assert resolve(typed) == value
    entries = dwc.DATA[kind]["values"]
    assert len({entry["label"] for entry in entries}) == len(entries), "labels are unique"
    for entry in entries:
        assert resolve(entry["label"]) == entry["value"]
        assert resolve(entry["label"].upper()) == entry["value"]


def test_an_unknown_choice_is_one_sentence_with_suggestions():
    with pytest.raises(dwc.UnknownChoice, match=r"'opioid' is not one of the DWC search's treatment categories; "
                                                r"did you mean 'Pharmaceuticals / Opioids'"):
        dwc.resolve_category("opioid")
    assert dwc.resolve_outcome("Upheld") == "Uphold" and dwc.resolve_outcome("overturned") == "Overturn"


def test_search_form_fields_first_and_later_pages():
    first = dict(dwc.search_form(decided_from=date(2024, 1, 1), decided_to=date(2024, 1, 31),
                                 category="Pharmaceuticals *  * Opioids"))
    assert first["Fname"] == "Tx" and first["DecStart"] == "01/01/2024" and first["DecEnd"] == "01/31/2024"
    assert first["SubCategoryV"] == "Pharmaceuticals *  * Opioids" and first["Submit"] == "Submit"
    assert "newpageno" not in first
    later = dict(dwc.search_form(decided_from=date(2024, 1, 1), decided_to=date(2024, 1, 31), page=3))
    assert later["newpageno"] == "3" and later["Submit"] == "Next" and later["OutcomeV"] == ""


# --------------------------------------------------------------------------------------------
# Results pages


def test_a_page_with_a_case_and_its_further_treatments():
    result = parse_results_page(page(CASE_ROW + MORE_ROW, nextpage='<form name="Nextpage"></form>'))
    assert result.total == 3 and result.has_next and result.cases == 1 and len(result.rows) == 2
    first, more = result.rows
    assert (first.case_number, first.href, first.decision_date, first.date_of_injury, first.received_date) == (
        "CM24-0001234", "/dwc/imr/decisions/CM24-0001234.pdf", "2024-01-05", "2019-03-02", "2023-12-20")
    assert first.reviewer_specialty == "Orthopedic Surgery"
    assert first.treatment == dwc.Treatment("Pharmaceuticals", "Opioids", "Upheld", "Uphold")
    assert more.continues and more.treatment == dwc.Treatment("Rehabilitation", "Acupuncture", "Overturned", "Overturn")
    [case] = dwc.cases_from_rows(result.rows, "https://www.dir.ca.gov/dwc/imr/IMRDecisionSearch.asp")
    assert case.pdf_url == "https://www.dir.ca.gov/dwc/imr/decisions/CM24-0001234.pdf"
    assert case.case_outcome == "Partially overturned"
    record = case.record({}, True)
    assert record["treatments"][1] == {"category": "Rehabilitation", "subcategory": "Acupuncture",
                                       "decision": "Overturned", "dwc_decision": "Overturn"}
    assert dwc.DwcCase.from_record(record) == case


def test_old_html_unclosed_cells_entities_and_a_total_with_a_comma_are_read():
    sloppy = ('<TR><TD><A HREF="/x/CM24-0001234.pdf">CM24-0001234</A><TD>1/5/2024<TD><TD>12/20/2023'
              "<TD>Physical Medicine &amp; Rehabilitation<TD>DMEPOS<TD>DME<TD>Upheld")
    result = parse_results_page(page(sloppy, total="<p>Total <strong>1,201</strong></p>"))
    [row] = result.rows
    assert row.decision_date == "2024-01-05" and row.date_of_injury is None
    assert row.reviewer_specialty == "Physical Medicine & Rehabilitation" and row.treatment.decision == "Upheld"
    assert result.total == 1201 and not result.has_next


def test_an_unknown_decision_word_is_kept_without_a_decision():
    row = CASE_ROW.replace("Uphold", "Withdrawn")
    [parsed] = parse_results_page(page(row)).rows
    assert parsed.treatment.decision is None and parsed.treatment.dwc_decision == "Withdrawn"
    [case] = dwc.cases_from_rows([parsed], "https://x/")
    assert case.case_outcome is None


def test_a_page_saying_nothing_matched_has_no_results():
    result = parse_results_page("<html><body><p>No records found for the selected criteria.</p></body></html>")
    assert result == dwc.ResultsPage(0, (), False)


CHANGED = [
    ("<html><body><h1>Service unavailable</h1></body></html>",
     'the results page has no results table (a table with class "tabborder") and does not say that nothing matched'),
    (page(CASE_ROW, header=HEADER.replace("</tr>", "<th>Priority</th></tr>")),
     "the results table has 9 columns (Case Number, Decision Date, Date of Injury, Received Date, IMRO Reviewer "
     "Specialty, Request Category, SubCategory/Drug, Request Decision, Priority), not the 8 of the case and "
     "treatment search"),
    (page(CASE_ROW, header=HEADER.replace("Request Category", "Treatment Type")),
     "column 6 of the results table is headed 'Treatment Type' where 'Request Category' was expected"),
    (page(CASE_ROW, total="<p>Total: 3 results</p>"),
     "there is no total count (a number in <strong>) after the results table"),
    (page(CASE_ROW.replace("01/05/2024", "2024-01-05")),
     "row 1 of the results table has '2024-01-05' as its decision date, not a date written MM/DD/YYYY"),
    (page(CASE_ROW.replace(">CM24-0001234</a>", ">details</a>")),
     "row 1 of the results table has no link to a case number in its first cell (it reads 'details +')"),
    (page(CASE_ROW.replace("<td>Uphold</td>", "")),
     "row 1 of the results table has 7 cells, neither a case row (8) nor a further treatment"),
]


@pytest.mark.parametrize("html, sentence", CHANGED)
def test_a_changed_page_is_named_in_one_sentence(html, sentence):
    with pytest.raises(PageChanged) as raised:
        parse_results_page(html)
    assert str(raised.value).startswith(sentence)
    assert "\n" not in str(raised.value)


def test_a_walk_adds_up_as_treatment_rows_or_as_cases():
    result = parse_results_page(page(CASE_ROW + MORE_ROW))
    dwc.check_walk([result], 2)  # treatment rows
    dwc.check_walk([result], 1)  # cases
    with pytest.raises(PageChanged, match="the search said 3 results, but its 1 pages held 2 treatment rows for 1 "
                                          "cases"):
        dwc.check_walk([result], 3)


def test_a_full_page_must_hold_a_page_of_rows_when_more_follow():
    result = parse_results_page(page(CASE_ROW + MORE_ROW, nextpage='<form name="Nextpage"></form>'))
    with pytest.raises(PageChanged, match="results page 1 holds 2 rows \\(1 cases\\) and offers a next page"):
        dwc.check_page(result, 1, 60)


def test_further_treatments_continue_the_last_case_of_the_previous_page():
    first = parse_results_page(page(CASE_ROW)).rows
    second = parse_results_page(page(MORE_ROW)).rows
    [case] = dwc.cases_from_rows([*first, *second], "https://x/")
    assert [t.category for t in case.treatments] == ["Pharmaceuticals", "Rehabilitation"]
    with pytest.raises(PageChanged, match="start with a further treatment"):
        dwc.cases_from_rows(second, "https://x/")


# --------------------------------------------------------------------------------------------
# Case lists


def test_a_case_list_takes_case_numbers_and_pdf_addresses():
    text = """# letters for the Smith brief
CM24-0001234
cm23-0000042   # lower case is fine

https://www.dir.ca.gov/dwc/imr/decisions/CM22-0123456.pdf
CM24-0001234
"""
    assert dwc.read_case_list(text, "cases.txt") == [
        dwc.CaseRequest("CM24-0001234"), dwc.CaseRequest("CM23-0000042"),
        dwc.CaseRequest("CM22-0123456", "https://www.dir.ca.gov/dwc/imr/decisions/CM22-0123456.pdf"),
    ]


@pytest.mark.parametrize("line, message", [
    ("CM24-123", "line 1 of cases.txt is neither a case number (CMyy-nnnnnnn) nor a PDF address: CM24-123"),
    ("https://example.org/letter.pdf", "line 1 of cases.txt is an address whose file name is not a case number"),
])
def test_a_bad_case_list_line_is_named(line, message):
    with pytest.raises(dwc.InvalidInput, match=message.replace("(", "\\(").replace(")", "\\)")):
        dwc.read_case_list(line, "cases.txt")
