"""Cite-check in a real browser (Chromium through Playwright, over the real index; the fixtures are
tests/conftest.py's, tests/browserutil.py's): an attorney pastes a brief that cites a quotation of CM16-0219557 to
CM16-0213037, submits it, sees the misattribution flagged, follows it to its place in the brief and back,
and on to the item that holds the words. At phone width the result fits the screen.
"""

from __future__ import annotations

import re

import pytest

from tests.browserutil import MISSING, PHONE, wait_until

pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")

CASE = "CM16-0213037"
OTHER = "CM16-0219557"  # its item 1 holds the words the brief cites to CASE


def words_of(rationale: str, first: str, last: str) -> str:
    """The rationale's words from `first` to the end of `last`, spacing squashed."""
    squashed = " ".join(rationale.split())
    start = squashed.index(first)
    return squashed[start:squashed.index(last, start) + len(last)]


@pytest.fixture(scope="module")
def brief(index) -> dict:
    facet = words_of(index.letter(OTHER)["items"][0]["rationale"], "no more than one set", "is suspected")
    cervical = words_of(index.letter(CASE)["items"][1]["rationale"], "there is no documentation of a willingness",
                        "surgical intervention")
    padding = "".join(f"Paragraph {n} of the argument sets out the facts of the injury and the treatment "
                      f"requested, at some length, as briefs do.\n\n" for n in range(1, 13))
    text = (f"PETITIONER'S BRIEF\n\n"
            f"The reviewer explained that \"{facet}\" ({CASE}, item 1).\n\n"
            f"{padding}"
            f"The same reviewer found that \u201c{cervical}\u201d ({CASE}, item 2). See also {CASE}.\n")
    return {"text": text, "facet": facet, "cervical": cervical}


def in_viewport(locator) -> bool:
    return locator.evaluate("e => { const r = e.getBoundingClientRect(); return r.bottom > 0 && r.top < innerHeight; }")


def check_brief(page, text: str) -> None:
    page.goto("/cite-check")
    page.get_by_label("Brief text").fill(text)
    with page.expect_navigation():
        page.get_by_role("button", name="Check citations").click()


@pytest.mark.browser
def test_a_misattributed_quotation_is_flagged_and_leads_to_its_place_and_its_item(ui, site, brief):
    page = ui.new_page()
    with ui.guard():
        check_brief(page, brief["text"])
        flagged = page.locator("#result-q1")
        assert flagged.locator(".status").inner_text().lower() == "in another decision"
        verdict = flagged.locator(".verdict")
        assert verdict.inner_text() == f"Not in {CASE}; these words are in {OTHER}, item 1."
        assert flagged.locator(".attribution").inner_text() == f"Cited to {CASE}, item 1 (cited in the same sentence)."
        confirmed = page.locator("#result-q2")
        assert confirmed.locator(".status").inner_text().lower() == "confirmed"
        assert confirmed.locator(".verdict").inner_text() == f"In {CASE}, item 2, as cited."

        # the case cited three times is one row with its three places
        group = page.locator(f"#case-{CASE}")
        assert page.locator(".case-results > li").count() == 1
        places = group.locator("ul.places > li")
        assert places.count() == 3
        assert re.search(r"cited 3 times$", group.locator(".result-head").inner_text())
        assert "Quotation 1 (in another decision); Quotation 2 (confirmed)" in group.inner_text()

        # to the quotation's place in the brief (far below), and back to its result
        mark = page.locator("mark#q1")
        assert not in_viewport(mark), "the brief is below the results"
        flagged.get_by_role("link", name="Quotation 1, line 3").click()
        page.wait_for_url(re.compile(r"/cite-check#q1$"))
        assert page.evaluate("document.querySelector(':target').id") == "q1"
        wait_until(page, "(() => { const r = document.getElementById('q1').getBoundingClientRect();"
                         " return r.top >= 0 && r.top < innerHeight; })()")
        assert brief["facet"] in mark.inner_text()
        assert mark.evaluate("e => getComputedStyle(e).outlineStyle") == "solid", "the place is outlined"
        mark.locator("a.mark-label").click()  # "Q1", named "Q1, quotation 1: its result"
        page.wait_for_url(re.compile(r"#result-q1$"))
        assert in_viewport(flagged)

        # a case number's third place
        places.nth(2).get_by_role("link").click()
        page.wait_for_url(re.compile(r"#c3$"))
        third = page.locator("mark#c3")
        assert in_viewport(third) and third.inner_text().endswith(CASE)
        assert "See also" in places.nth(2).inner_text()

        # on to the item that holds the words
        with page.expect_navigation():
            verdict.get_by_role("link", name=f"{OTHER}, item 1").click()
        assert page.url == f"{site}/letters/{OTHER}#item-1"
        assert page.evaluate("document.querySelector(':target').id") == "item-1"
        rationale = " ".join(page.locator("#item-1 .rationale").inner_text().split())
        assert brief["facet"] in rationale
        ui.assert_no_console_errors()


@pytest.mark.browser
def test_the_result_fits_a_phone(ui, brief):
    page = ui.new_page()
    with ui.guard():
        page.set_viewport_size(PHONE)
        check_brief(page, brief["text"] + f"A long unbroken citation: https://example.org/{'x' * 300}\n")
        assert page.locator("#result-q1 .verdict").is_visible()
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the page is {width}px wide at {PHONE['width']}px"
        ui.assert_no_console_errors()
