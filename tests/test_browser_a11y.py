"""Every kind of page, for a reader who uses a screen reader, a keyboard or a phone: Chromium through
Playwright over the real index (tests/conftest.py `site`), as in tests/test_browser.py.

- axe-core (Deque's accessibility engine, shipped in the axe-playwright-python wheel) finds no violation on
  any kind of page, at desktop and at phone width: every rule it runs by default and four more (AXE_OPTIONS);
  none is turned off.
- At 390 px (a phone held upright) nothing scrolls sideways: the header wraps, the filters sit behind a
  toggle above the results, and a table that is wider than the screen scrolls in its own box.
- From the keyboard: a skip link first, which puts the focus on the content; Copy citation is announced;
  every compare checkbox says which result it picks; one h1 per page.

Run with `pytest -m browser`; skipped, saying why, without Playwright, Chromium or axe-playwright-python.
A failing test leaves a screenshot in tests/artifacts/<test name>.png.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from tests.browserutil import MISSING, PHONE, VIEWPORT, wait_until

CASE = "CM16-0213037"  # a real letter of ../shared/letters with several items
ABSENT_CASE = "CM99-0000001"


def _why_skipped() -> str | None:
    if MISSING is not None:
        return MISSING
    if importlib.util.find_spec("axe_playwright_python") is None:
        return "axe-playwright-python is not installed: pip install -e '.[test]'"
    return None


WHY_SKIPPED = _why_skipped()
pytestmark = [pytest.mark.browser, pytest.mark.skipif(WHY_SKIPPED is not None, reason=WHY_SKIPPED or "")]


# --------------------------------------------------------------------------------------------
# The kinds of page, each opened as a reader gets there


def _first_two_passages(page) -> list[str]:
    page.goto("/search?q=mri")
    return page.locator("ol.hits input[type=checkbox][name=p]").evaluate_all("boxes => boxes.map(b => b.value)")[:2]


def _open_compare(page):
    first, second = _first_two_passages(page)
    return page.goto(f"/compare?p={first}&p={second}")


def _open_cite_check_with_results(page):
    """A brief citing a letter in the index and one that is not, quoting ten words of the first's item 2."""
    letter = page.request.get(f"/api/letters/{CASE}").json()["letter"]
    quote = " ".join(letter["items"][1]["rationale"].split()[:10])
    page.goto("/cite-check")
    page.get_by_label("Brief text").fill(
        f'As the reviewer held in {CASE}, "{quote}". See also {ABSENT_CASE}, and "no reviewer has ever written '
        f'these particular words in any letter at all".')
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Check citations").click()
    return navigation.value


def _open_unnumbered_letter(page):
    """A 2014-era seed letter, which has no case number: found by searching, as a reader finds it."""
    page.goto("/search?q=soma")
    return page.goto(page.locator("ol.hits a.case[href^='/letters/L-']").first.get_attribute("href"))


@dataclass(frozen=True)
class Kind:
    name: str
    open: Callable  # page -> the response of the page's own request
    status: int = 200
    shows: str | None = None  # what makes the page this kind (a CSS selector that must be visible)


def _goto(url: str) -> Callable:
    return lambda page: page.goto(url)


KINDS = [
    Kind("home", _goto("/")),
    Kind("search", _goto("/search?q=mri"), shows="ol.hits mark"),
    Kind("search-no-results", _goto("/search?q=zqxjvkwpf"), shows=".no-results"),
    Kind("search-filtered", _goto("/search?drug=carisoprodol&decision=Upheld"), shows=".active-filters"),
    Kind("search-past-the-end", _goto("/search?q=mri&page=200"), shows=".past-end"),
    Kind("search-misspelling-read", _goto("/search?q=carisoprodal"), shows=".understood"),
    Kind("search-did-you-mean", _goto("/search?q=somma"), shows=".understood.suggestion a"),
    Kind("search-guideline-in-words", _goto("/search?q=MTUS+p.+29"), shows=".understood"),
    Kind("search-case-numbers-among-words", _goto(f"/search?q={CASE}+mri"), shows=".understood"),
    Kind("letter", _goto(f"/letters/{CASE}")),
    Kind("item-permalink", _goto(f"/letters/{CASE}/items/2"), shows="#item-2:target .item-context"),
    Kind("letter-without-case-number", _open_unnumbered_letter, shows=".unnumbered"),
    Kind("precedents", _goto("/precedents")),
    Kind("precedents-drug", _goto("/precedents?drug=carisoprodol")),
    Kind("precedents-ingredient", _goto("/precedents?drug=hydrocodone"), shows=".headline-figures"),
    Kind("precedents-did-you-mean", _goto("/precedents?drug=somma"), shows=".no-results a"),
    Kind("guidelines", _goto("/guidelines")),
    Kind("guideline", _goto("/guidelines/MTUS/CPMTG")),
    Kind("guideline-page", _goto("/guidelines/MTUS/CPMTG/p24")),
    Kind("similar", _goto(f"/letters/{CASE}/items/2/similar")),
    Kind("compare", _open_compare, shows="article.rationale-card"),
    Kind("cite-check", _goto("/cite-check")),
    Kind("cite-check-results", _open_cite_check_with_results, shows=".cite-results"),
    Kind("help", _goto("/help")),
    Kind("error-400", _goto("/search?q=mri&sort=best"), status=400, shows=".error-message"),
    Kind("error-404", _goto(f"/letters/{ABSENT_CASE}"), status=404, shows=".error-message"),
]
KIND_IDS = [kind.name for kind in KINDS]
WIDTHS = {"desktop": VIEWPORT, "phone": PHONE}


def open_kind(page, kind: Kind) -> None:
    response = kind.open(page)
    assert response is not None and response.status == kind.status, \
        (kind.name, page.url, response and response.status)
    page.wait_for_load_state("load")
    if kind.shows:
        assert page.locator(kind.shows).first.is_visible(), f"{kind.name}: {kind.shows} is not shown on {page.url}"


# --------------------------------------------------------------------------------------------
# 1. axe-core


# axe-core runs every rule it turns on by default (WCAG 2.0 and 2.1 A and AA, and its best practices), and
# these it leaves off, which the site passes too: a control's visible words are part of its name, so a
# voice-control user can say them (WCAG 2.5.3, experimental in axe); targets of 24 px at least (WCAG 2.2,
# 2.5.8); the filters' region not nested in another landmark; no bold paragraph posing as a heading.
AXE_OPTIONS = {
    "resultTypes": ["violations"],
    "rules": {rule: {"enabled": True} for rule in
              ("label-content-name-mismatch", "target-size", "landmark-complementary-is-top-level", "p-as-heading")},
}


def axe_report(page) -> tuple[list[dict], str]:
    """axe-core's violations on the page as it stands, and its readable report of them."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options=AXE_OPTIONS)
    return results.response["violations"], results.generate_report()


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_axe_finds_no_violation_and_the_page_has_one_h1(ui, kind, width):
    page = ui.new_page(viewport=WIDTHS[width])
    with ui.guard():
        open_kind(page, kind)
        violations, report = axe_report(page)
        assert violations == [], report
        headings = page.get_by_role("heading", level=1)
        assert headings.count() == 1, headings.all_inner_texts()
        assert headings.first.inner_text().strip()


@pytest.mark.parametrize("width", list(WIDTHS))
def test_axe_finds_no_violation_in_the_states_a_reader_opens(ui, width):
    """What scripts and toggles show: the filters and the search syntax open, a result ticked for comparison
    (the bar then names it, with a remove button), an item's citation copied, a target item highlighted."""
    page = ui.new_page(viewport=WIDTHS[width], permissions=["clipboard-read", "clipboard-write"])
    with ui.guard():
        page.goto("/search?q=mri")
        for details in page.locator("details:not([open])").all():
            if details.locator(":scope > summary").is_visible():
                details.locator(":scope > summary").click()
        page.locator("ol.hits input[name=p]").first.check()
        assert page.locator("#compare-picked").is_visible()
        violations, report = axe_report(page)
        assert violations == [], report

        page.goto(f"/letters/{CASE}/items/2")
        page.locator("#item-2").get_by_role("button", name="Copy citation").click()
        wait_until(page, "document.getElementById('copy-status').textContent.includes('Copied')")
        violations, report = axe_report(page)
        assert violations == [], report


# --------------------------------------------------------------------------------------------
# 2. A phone, 390 px wide

# Every element whose box leaves the window sideways and is not held by a box of its own that fits (a
# .table-scroll, or anything else that scrolls or clips its overflow): what a reader would have to scroll
# the whole page sideways to see.
_STICKING_OUT = """() => {
  const width = document.documentElement.clientWidth;
  const fits = (r) => r.left >= -0.5 && r.right <= width + 0.5;
  const out = [];
  for (const element of document.body.querySelectorAll("*")) {
    const box = element.getBoundingClientRect();
    if (box.width === 0 || box.height === 0 || fits(box)) continue;
    let held = false;
    for (let up = element.parentElement; up && up !== document.body && !held; up = up.parentElement) {
      held = ["auto", "scroll", "hidden", "clip"].includes(getComputedStyle(up).overflowX) && fits(up.getBoundingClientRect());
    }
    if (!held) out.push(`${element.outerHTML.slice(0, 120)} spans ${Math.round(box.left)}-${Math.round(box.right)} px`);
  }
  return out;
}"""

# Each link of the header's navigation: whether it lies wholly inside the window and is what a tap on its
# middle reaches (not clipped, not covered).
_NAV_LINKS = """() => Array.from(document.querySelectorAll(".site-header nav a")).map((a) => {
  const r = a.getBoundingClientRect();
  const hit = document.elementFromPoint((r.left + r.right) / 2, (r.top + r.bottom) / 2);
  return {text: a.textContent.trim(), inside: r.left >= 0 && r.right <= document.documentElement.clientWidth && r.width > 0,
          reachable: hit !== null && (hit === a || a.contains(hit))};
})"""


def assert_fits_the_window(page, state: str) -> None:
    scroll_width, inner_width = page.evaluate("[document.scrollingElement.scrollWidth, innerWidth]")
    assert scroll_width <= inner_width, f"{state}: the page scrolls sideways ({scroll_width} > {inner_width} px)"
    assert page.evaluate(_STICKING_OUT) == [], state


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_a_phone_never_scrolls_sideways_and_the_header_wraps(ui, kind):
    page = ui.new_page(viewport=PHONE)
    with ui.guard():
        open_kind(page, kind)
        assert_fits_the_window(page, "as opened")

        page.evaluate("window.scrollTo(0, 0)")  # an item permalink opens scrolled to its item
        links = page.evaluate(_NAV_LINKS)
        assert "Help" in [link["text"] for link in links], links
        assert all(link["inside"] and link["reachable"] for link in links), links
        assert page.get_by_role("heading", level=1).evaluate(
            "h => h.getBoundingClientRect().right <= document.documentElement.clientWidth")

        # what the toggles hide must fit too: the filters, the search syntax and its table
        for summary in page.locator("details:not([open]) > summary").all():
            if summary.is_visible():
                summary.click()
        assert_fits_the_window(page, "with every toggle open")
        for table in page.locator("main table").all():
            if table.is_visible():
                assert table.evaluate("""t => {
                  const width = document.documentElement.clientWidth;
                  if (t.getBoundingClientRect().right <= width) return true;
                  const box = t.closest('.table-scroll');
                  return box !== null && box.getBoundingClientRect().right <= width && box.scrollWidth > box.clientWidth;
                }"""), "a table wider than the screen scrolls in its own box"


@pytest.mark.parametrize("url", ["/search?q=mri", "/search?drug=carisoprodol"])
def test_on_a_phone_the_filters_are_behind_a_toggle_above_the_results(ui, url):
    page = ui.new_page(viewport=PHONE)
    with ui.guard():
        page.goto(url)
        toggle = page.locator("details.filters-toggle > summary")
        filters = page.get_by_role("complementary", name="Filters")
        first_result = page.locator("ol.hits > li.hit").first
        assert toggle.is_visible() and filters.is_hidden()
        assert toggle.bounding_box()["y"] < PHONE["height"], "the toggle is on the first screen"
        assert toggle.bounding_box()["y"] < first_result.bounding_box()["y"]
        # opened from the keyboard, the filters come before the results
        toggle.focus()
        page.keyboard.press("Enter")
        assert filters.is_visible()
        assert filters.locator("section.facet").first.bounding_box()["y"] < first_result.bounding_box()["y"]
        page.keyboard.press("Enter")
        assert filters.is_hidden()
        ui.assert_no_console_errors()


def test_on_a_wide_screen_the_filters_show_beside_the_results_without_a_click(ui):
    page = ui.new_page()
    with ui.guard():
        page.goto("/search?q=mri")
        filters = page.get_by_role("complementary", name="Filters")
        assert filters.is_visible()
        assert page.locator("details.filters-toggle > summary").is_hidden()
        results = page.locator("#results")
        assert filters.bounding_box()["x"] + filters.bounding_box()["width"] <= results.bounding_box()["x"]
        assert abs(filters.bounding_box()["y"] - results.bounding_box()["y"]) < 40
        ui.assert_no_console_errors()


# --------------------------------------------------------------------------------------------
# 3. The keyboard


def _focused(page) -> dict:
    return page.evaluate("""() => {
      const e = document.activeElement;
      return {tag: e.tagName.toLowerCase(), id: e.id, cls: e.className, text: (e.textContent || '').trim().slice(0, 80),
              href: e.getAttribute('href'), inMain: !!e.closest('main'), inResults: !!e.closest('#results')};
    }""")


_MAIN_HAS_A_TAB_STOP = """() => Array.from(document.querySelectorAll(
  "main a[href], main button, main input:not([type=hidden]), main select, main textarea, main summary, main [tabindex='0']"
)).some((e) => !e.disabled && e.getClientRects().length > 0)"""


@pytest.mark.parametrize("kind", KINDS, ids=KIND_IDS)
def test_the_first_tab_reaches_a_skip_link_that_puts_the_focus_on_the_content(ui, kind):
    page = ui.new_page()
    with ui.guard():
        open_kind(page, kind)
        if page.evaluate("document.activeElement !== document.body"):
            # the home page puts the cursor in the search box: the reader is in the content already
            assert _focused(page)["inMain"], _focused(page)
            return
        page.keyboard.press("Tab")
        if page.evaluate("document.querySelector(':target') !== null"):
            # a permalink to an item: the browser starts Tab from the item, where the reader wants to be
            assert page.evaluate("document.querySelector(':target').contains(document.activeElement)"), _focused(page)
            return
        skip = _focused(page)
        assert skip["cls"] == "skip-link" and skip["href"].startswith("#"), skip
        link = page.locator("a.skip-link")
        box = link.bounding_box()
        assert link.is_visible() and box["y"] >= 0 and box["x"] >= 0, "the focused skip link is on screen"
        page.keyboard.press("Enter")
        target = skip["href"][1:]
        assert _focused(page)["id"] == target, _focused(page)
        assert page.evaluate(f"!!document.getElementById('{target}').closest('main')")
        page.keyboard.press("Tab")
        after = _focused(page)
        assert after["inMain"] or not page.evaluate(_MAIN_HAS_A_TAB_STOP), f"the next Tab goes into the content: {after}"
        assert not page.evaluate("!!document.activeElement.closest('.site-header')"), after


def test_the_skip_link_of_a_search_reaches_the_first_result_without_the_filters(ui):
    page = ui.new_page()
    with ui.guard():
        page.goto("/search?q=mri")
        first_result = page.locator("ol.hits > li.hit .hit-heading a").first.get_attribute("href")
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")
        stops = []
        for _ in range(20):
            page.keyboard.press("Tab")
            stops.append(_focused(page))
            assert stops[-1]["inResults"], stops
            if stops[-1]["href"] == first_result:
                break
        else:
            pytest.fail(f"20 Tabs after the skip link did not reach the first result: {stops}")
        ui.assert_no_console_errors()


# Whether the focused element lies under the sticky compare bar, wholly or in part (WCAG 2.4.11).
_UNDER_THE_BAR = """() => {
  const focused = document.activeElement, bar = document.getElementById("compare-bar");
  if (focused === document.body || bar.contains(focused)) return null;
  const f = focused.getBoundingClientRect(), b = bar.getBoundingClientRect();
  const under = f.top < b.bottom && f.bottom > b.top && f.left < b.right && f.right > b.left;
  return under ? `${focused.outerHTML.slice(0, 100)} at ${Math.round(f.top)}-${Math.round(f.bottom)} px, the bar to ${Math.round(b.bottom)}` : null;
}"""


@pytest.mark.parametrize("width", list(WIDTHS))
def test_the_sticky_compare_bar_never_covers_what_the_keyboard_focuses(ui, width):
    page = ui.new_page(viewport=WIDTHS[width])
    with ui.guard():
        page.goto("/search?q=mri")
        boxes = page.locator("ol.hits input[name=p]")
        boxes.nth(0).check()
        boxes.nth(1).check()  # the bar at its tallest: both picks named in it
        covered = []
        for key in ["Tab"] * 60 + ["Shift+Tab"] * 60:  # down the results, then back up under the bar
            page.keyboard.press(key)
            covered.append(page.evaluate(_UNDER_THE_BAR))
        assert [c for c in covered if c] == []
        ui.assert_no_console_errors()


def test_copy_citation_from_the_keyboard_is_announced(ui):
    page = ui.new_page(permissions=["clipboard-read", "clipboard-write"])
    with ui.guard():
        page.goto(f"/letters/{CASE}/items/2")
        # the live region is in the page, empty, before anything is copied: a screen reader then reads what
        # is written into it later
        status = page.get_by_role("status")
        assert status.count() == 1 and status.inner_text() == ""
        assert status.get_attribute("aria-live") in (None, "polite")
        button = page.locator("#item-2").get_by_role("button", name="Copy citation")
        button.focus()
        page.keyboard.press("Enter")
        wait_until(page, "document.getElementById('copy-status').textContent !== ''")
        said = status.inner_text()
        assert said.startswith("Copied") and "item 2" in said, said
        assert page.evaluate("navigator.clipboard.readText()") == \
            page.locator("#item-2 .citation-text").inner_text().strip()
        ui.assert_no_console_errors()


def test_each_compare_checkbox_names_the_result_it_picks(ui):
    from playwright.sync_api import expect

    page = ui.new_page()
    with ui.guard():
        page.goto("/search?q=mri")
        hits = page.locator("ol.hits > li.hit")
        assert hits.count() >= 2
        for number in range(hits.count()):
            hit = hits.nth(number)
            box = hit.get_by_role("checkbox")
            # the result's own line names it: "CM16-0213037, item 2"
            _, ordinal = box.get_attribute("value").rsplit("/", 1)
            name = hit.locator("a.case").inner_text().strip()
            assert name.endswith(f", item {ordinal}"), name
            expect(box).to_have_accessible_name(f"Compare {name}")
        names = hits.get_by_role("checkbox").evaluate_all("boxes => boxes.map(b => b.getAttribute('aria-label'))")
        assert len(set(names)) == len(names), names
        ui.assert_no_console_errors()
