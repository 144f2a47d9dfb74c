"""The site in a real browser: Chromium driven through Playwright, over the real index (tests/conftest.py
`real_index`: the posted letters and the two seeds), served for real by werkzeug on 127.0.0.1.

Each test is a user's flow: typing a search and pressing Enter, clicking facets, chips, sorts and pages,
following a permalink, copying a citation, ticking two results to compare, reading with JavaScript off, and
printing. Every page opened with JavaScript on is watched for console errors and uncaught exceptions (the
Content-Security-Policy forbids inline script and style, so a violation shows up there).

Run with `pytest -m browser`; the tests skip when Playwright or a Chromium binary is missing. A failing test
leaves a screenshot in tests/artifacts/<test name>.png. With KB_SCREENSHOTS=1 the search page for "mri" is
also saved as docs/screenshot-search.png (the README's picture).
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from kb.documents import letter_id_of
from kb.extract import extract_text
from kb.letters import parse_letter
from kb.web import create_app

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
DOCS_SCREENSHOT = ROOT / "docs" / "screenshot-search.png"
VIEWPORT = {"width": 1280, "height": 900}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 10_000
CASE = "CM16-0213037"


def chromium_binary() -> str | None:
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as error:
        return f"playwright cannot be imported ({error}): pip install playwright"
    if chromium_binary() is None:
        return ("no Chromium binary: neither /usr/bin/chromium nor chromium/chromium-browser on PATH "
                "(apt-get install chromium)")
    return None


# Decided before any fixture runs, so a machine without a browser does not build the real index for nothing.
MISSING = _missing()
pytestmark = pytest.mark.skipif(MISSING is not None, reason=MISSING or "")


# --------------------------------------------------------------------------------------------
# The site, served for real, and the browser


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's request handler without the access log (a failing test's output stays readable)."""

    def log_request(self, *args, **kwargs) -> None:
        pass


@pytest.fixture(scope="module")
def site(real_index: Path) -> Iterator[str]:
    """The real Flask app on 127.0.0.1:<free port> in a background thread; yields its base URL."""
    app = create_app({"INDEX_DIR": str(real_index)})
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="kb-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=chromium_binary(), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


class UI:
    """One test's browser contexts: opens pages (watching those with JavaScript on for console errors) and
    screenshots the last page opened when the test body fails."""

    def __init__(self, browser, base: str, name: str) -> None:
        self.browser = browser
        self.base = base
        self.name = re.sub(r"[^\w.-]+", "_", name).strip("_")
        self.contexts: list = []
        self.pages: list = []
        self.errors: list[str] = []
        self.pages_watched = 0

    def new_page(self, *, js: bool = True, permissions: list[str] | None = None, watch: bool = True):
        context = self.browser.new_context(viewport=VIEWPORT, base_url=self.base, java_script_enabled=js)
        context.set_default_timeout(TIMEOUT_MS)
        if permissions:
            context.grant_permissions(permissions, origin=self.base)
        self.contexts.append(context)
        page = context.new_page()
        if js and watch:
            self.watch(page, self.errors)
        self.pages.append(page)
        return page

    def watch(self, page, errors: list[str]) -> None:
        self.pages_watched += 1

        def on_console(message) -> None:
            if message.type != "error":
                return
            where = (message.location or {}).get("url", "")
            errors.append(f"console error on {page.url}: {message.text} ({where})")

        page.on("console", on_console)
        page.on("pageerror", lambda error: errors.append(f"uncaught exception on {page.url}: {error}"))

    def assert_no_console_errors(self) -> None:
        assert self.pages_watched, "no page was watched"
        assert self.errors == [], "\n".join(self.errors)

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Run a test body; on a failure save the last open page to tests/artifacts/<test name>.png."""
        try:
            yield
        except (Exception, pytest.fail.Exception):
            self.screenshot_failure()
            raise

    def screenshot_failure(self) -> None:
        for page in reversed(self.pages):
            if page.is_closed():
                continue
            try:
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / f"{self.name}.png"), full_page=True, timeout=5_000)
            except Exception:  # the screenshot is a courtesy: never hide the test's own failure
                pass
            return

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def ui(browser, site, request) -> Iterator[UI]:
    session = UI(browser, site, request.node.name)
    yield session
    session.close()


# --------------------------------------------------------------------------------------------
# Reading pages (the markup of templates/search.html, letter.html, precedents.html, compare.html)


def wait_until(page, expression: str, timeout: float = TIMEOUT_MS / 1000) -> None:
    """Poll a JavaScript expression until it is truthy. (page.wait_for_function compiles its predicate with
    eval, which the site's Content-Security-Policy refuses; page.evaluate goes through DevTools instead.)"""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout:.0f} s: {expression}")
        page.wait_for_timeout(50)


def path_and_query(url: str) -> tuple[str, list[tuple[str, str]]]:
    parts = urlsplit(url)
    return parts.path, parse_qsl(parts.query, keep_blank_values=True)


def shown_total(page) -> int:
    return int(page.locator(".results-bar .total strong").inner_text().replace(",", ""))


def listed_passages(page) -> list[str]:
    """The passage ids of the results on the page, in order (each result's Compare checkbox carries it)."""
    return page.locator("ol.hits > li.hit input[type=checkbox][name=p]").evaluate_all(
        "boxes => boxes.map(box => box.value)")


def hit_dates(page) -> list[str | None]:
    """Each result's decision date as shown (ISO), None for a result without one."""
    return page.locator("ol.hits > li.hit .hit-meta").evaluate_all(
        "metas => metas.map(m => { const t = m.querySelector('time'); return t ? t.getAttribute('datetime') : null; })")


def facet_link(page, facet: str, value: str):
    """The sidebar link of one facet value: the facet section is a region named by its heading."""
    sidebar = page.get_by_role("complementary", name="Filters")
    section = sidebar.locator("section.facet").filter(
        has=page.locator("h3", has_text=re.compile(rf"^\s*{re.escape(facet)}\s*$", re.I)))
    label = page.locator(".facet-label", has_text=re.compile(rf"^\s*{re.escape(value)}\s*$"))
    return section.locator("li > a").filter(has=label)


def facet_count(link) -> int:
    return int(link.locator(".count").inner_text().replace(",", ""))


def active_chips(page) -> list[str]:
    chips = page.get_by_role("list", name="Active filters").locator("li:not(.clear) a")
    return [re.sub(r"\s*×.*$", "", text, flags=re.S).strip() for text in chips.all_inner_texts()]


def search_from_box(page, words: str) -> None:
    """Type into the search box and press Enter, as a reader does (the form's empty date fields make the
    site redirect to the canonical URL, which is waited for)."""
    box = page.get_by_role("searchbox", name="Search the rationales")
    box.fill(words)
    with page.expect_navigation():
        box.press("Enter")
    page.wait_for_url(re.compile(r"/search\?"))


@pytest.fixture(scope="module")
def seed_carisoprodol_passages(seeds_dir: Path) -> list[str]:
    """The passage ids of the seeds' carisoprodol (Soma) items, from parsing the seeds themselves."""
    found = []
    for path in sorted(seeds_dir.glob("*.txt")):
        letter = parse_letter(extract_text(path).text)
        assert letter is not None, path
        letter_id = letter_id_of(letter)
        found += [f"{letter_id}/{item.ordinal}" for item in letter.items
                  if item.drug_request and any(d.generic == "carisoprodol" for d in item.drug_request.drugs)]
    assert len({p.split("/")[0] for p in found}) == 2, found
    return found


# --------------------------------------------------------------------------------------------
# 1. The search page


@pytest.mark.browser
def test_typing_soma_and_pressing_enter_lists_both_seed_carisoprodol_passages(ui, seed_carisoprodol_passages):
    page = ui.new_page()
    with ui.guard():
        page.goto("/")
        search_from_box(page, "soma")
        path, query = path_and_query(page.url)
        assert (path, query) == ("/search", [("q", "soma")])
        listed = listed_passages(page)
        assert set(seed_carisoprodol_passages) <= set(listed), listed
        assert shown_total(page) == len(listed)
        assert page.get_by_role("searchbox", name="Search the rationales").input_value() == "soma"
        ui.assert_no_console_errors()


@pytest.mark.browser
def test_facet_link_adds_a_chip_and_removing_it_restores_the_total(ui):
    page = ui.new_page()
    with ui.guard():
        page.goto("/")
        search_from_box(page, "mri")
        total = shown_total(page)
        upheld = facet_link(page, "Decision", "Upheld")
        expected = facet_count(upheld)
        assert 0 < expected < total, (expected, total)
        assert active_chips(page) == ["Text: mri"]

        with page.expect_navigation():
            upheld.click()
        path, query = path_and_query(page.url)
        assert path == "/search" and ("decision", "Upheld") in query and ("q", "mri") in query, page.url
        assert shown_total(page) == expected
        assert "Decision: Upheld" in active_chips(page)
        selected = facet_link(page, "Decision", "Upheld")
        assert selected.get_attribute("aria-current") == "true"
        assert all(badge == "UPHELD" for badge in page.locator("ol.hits .hit-heading .badge").all_inner_texts())

        chip = page.get_by_role("list", name="Active filters").get_by_role("link", name=re.compile("^Decision: Upheld"))
        with page.expect_navigation():
            chip.click()
        path, query = path_and_query(page.url)
        assert (path, query) == ("/search", [("q", "mri")])
        assert shown_total(page) == total
        assert active_chips(page) == ["Text: mri"]
        ui.assert_no_console_errors()


@pytest.mark.browser
def test_sort_newest_first_and_pagination(ui):
    page = ui.new_page()
    with ui.guard():
        page.goto("/")
        search_from_box(page, "mri")
        total = shown_total(page)
        assert total > 20, "the flow needs a search with more than one page of results"
        first_page = listed_passages(page)
        assert len(first_page) == 20

        if os.environ.get("KB_SCREENSHOTS") == "1":
            DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
            page.locator("body").evaluate("() => document.activeElement && document.activeElement.blur()")
            page.screenshot(path=str(DOCS_SCREENSHOT), animations="disabled")

        sorts = page.locator(".results-bar .sorts")
        assert sorts.locator("[aria-current=true]").inner_text() == "Relevance"
        with page.expect_navigation():
            sorts.get_by_role("link", name="Newest first").click()
        path, query = path_and_query(page.url)
        assert path == "/search" and ("sort", "newest") in query and ("q", "mri") in query, page.url
        assert sorts.locator("[aria-current=true]").inner_text() == "Newest first"
        assert shown_total(page) == total
        dates = hit_dates(page)
        dated = [d for d in dates if d]
        assert dated == sorted(dated, reverse=True), dates
        assert dates == dated + [None] * (len(dates) - len(dated)), "undated results come last"

        pages = page.get_by_role("navigation", name="Pages")
        assert f"Page 1 of {-(-total // 20)}" in pages.inner_text()
        newest_first = listed_passages(page)
        with page.expect_navigation():
            pages.get_by_role("link", name=re.compile("Next")).click()
        path, query = path_and_query(page.url)
        assert ("page", "2") in query and ("sort", "newest") in query, page.url
        second = listed_passages(page)
        assert second and not set(second) & set(newest_first)
        assert page.locator("ol.hits").get_attribute("start") == "21"
        assert f"Page 2 of {-(-total // 20)}" in pages.inner_text()
        later = [d for d in hit_dates(page) if d]
        if later and dated and len(dated) == len(dates):
            assert later[0] <= dated[-1], "page 2 continues the newest-first order"
        with page.expect_navigation():
            pages.get_by_role("link", name=re.compile("Previous")).click()
        assert listed_passages(page) == newest_first
        ui.assert_no_console_errors()


# --------------------------------------------------------------------------------------------
# 2. A letter's item permalink and its citation


@pytest.mark.browser
def test_item_permalink_lands_on_the_item_and_copy_citation_copies_it(ui, site):
    page = ui.new_page(permissions=["clipboard-read", "clipboard-write"])
    with ui.guard():
        page.goto(f"/letters/{CASE}/items/2")
        assert page.url == f"{site}/letters/{CASE}#item-2"
        assert page.evaluate("document.querySelector(':target') && document.querySelector(':target').id") == "item-2"
        item = page.locator("#item-2")
        wait_until(page, "window.scrollY > 0")
        assert item.evaluate("e => { const r = e.getBoundingClientRect(); return r.top >= -1 && r.top < innerHeight; }"), \
            "the item's section starts inside the viewport"

        button = item.get_by_role("button", name="Copy citation")
        assert button.is_visible(), "app.js shows the button in a secure context (127.0.0.1 is one)"
        expected = (f"Cal. DWC IMR Final Determination, Case No. {CASE}, item 2 (MRI of the cervical spine without "
                    f"contrast: Upheld) (Dec. 9, 2016), {site}/letters/{CASE}/items/2")
        assert item.locator(".citation-text").inner_text().strip() == expected
        page.evaluate("navigator.clipboard.writeText('something else')")
        button.click()
        wait_until(page, "document.querySelector('#item-2 .copy-citation').textContent === 'Copied'")
        assert page.evaluate("navigator.clipboard.readText()") == expected
        # the other items' buttons copy their own citation
        assert page.locator("button.copy-citation:visible").count() == page.locator("section.item").count()
        ui.assert_no_console_errors()


# --------------------------------------------------------------------------------------------
# 3. Highlighting carried from a search to the letter


@pytest.mark.browser
def test_clicking_a_result_highlights_the_search_words_on_the_letter(ui):
    page = ui.new_page()
    with ui.guard():
        page.goto("/")
        search_from_box(page, "cervical")
        first = page.locator("ol.hits > li.hit").first
        passage = first.locator("input[name=p]").get_attribute("value")
        letter_id, ordinal = passage.split("/")
        with page.expect_navigation():
            first.locator(".hit-heading a").click()
        page.wait_for_url(re.compile(rf"/letters/{re.escape(letter_id)}\?q=cervical#item-{ordinal}$"))
        marks = page.locator("main mark")
        assert marks.count() > 0
        words = {text.lower() for text in marks.all_inner_texts()}
        assert "cervical" in words, words
        assert all(word.startswith("cervic") for word in words), words
        assert page.locator(f"#item-{ordinal} mark").count() > 0, "the item the result pointed at is highlighted"

        with page.expect_navigation():
            page.get_by_role("link", name="Hide highlighting").click()
        assert page.locator("main mark").count() == 0
        ui.assert_no_console_errors()


# --------------------------------------------------------------------------------------------
# 4. Precedents: every number is a link; two rationales compared


@pytest.mark.browser
def test_precedent_figures_link_to_their_passages(ui):
    page = ui.new_page()
    with ui.guard():
        page.goto("/precedents?drug=carisoprodol")
        figures = page.locator(".headline-figures")
        upheld = figures.locator("p", has_text="upheld").locator("a.figure")
        assert re.fullmatch(r"100\s%", upheld.inner_text().strip()), upheld.inner_text()
        decisions = figures.locator("p", has_text="decisions").first.locator("a.figure")
        count = int(decisions.inner_text().replace(",", ""))
        assert count >= 2
        with page.expect_navigation():
            decisions.click()
        path, query = path_and_query(page.url)
        assert path == "/search" and ("drug", "carisoprodol") in query, page.url
        assert shown_total(page) == count
        assert len(listed_passages(page)) == count
        ui.assert_no_console_errors()


@pytest.mark.browser
def test_ticking_two_results_compares_them_side_by_side(ui):
    page = ui.new_page()
    with ui.guard():
        page.goto("/")
        search_from_box(page, "mri")
        boxes = page.locator("ol.hits input[type=checkbox][name=p]")
        assert boxes.count() >= 3
        bar = page.locator("#compare-bar")
        submit = bar.locator("button.compare-submit")
        status = page.locator("#compare-status")
        assert bar.bounding_box()["y"] < page.locator("ol.hits li.hit").first.bounding_box()["y"], \
            "the compare bar sits above the results"
        assert submit.is_disabled() and "Tick two results" in status.inner_text()
        boxes.nth(0).check()
        assert submit.is_disabled() and boxes.nth(2).is_enabled()
        assert "1 of 2" in status.inner_text()
        chosen = [boxes.nth(0).get_attribute("value")]
        # the tick survives a new search and coming back (the next page of results works the same way)
        page.reload()
        boxes = page.locator("ol.hits input[type=checkbox][name=p]")
        assert boxes.nth(0).is_checked() and "1 of 2" in status.inner_text()
        assert page.locator("#compare-picked").is_visible()
        boxes.nth(1).check()
        chosen.append(boxes.nth(1).get_attribute("value"))
        assert submit.is_enabled() and submit.inner_text() == "Compare the two selected passages"
        assert boxes.nth(2).is_disabled(), "a third passage cannot be ticked"
        assert boxes.nth(0).is_enabled() and boxes.nth(1).is_enabled()
        with page.expect_navigation():
            submit.click()
        path, query = path_and_query(page.url)
        assert path == "/compare" and query == [("p", chosen[0]), ("p", chosen[1])], page.url

        cards = page.locator(".side-by-side > article.rationale-card")
        assert cards.count() == 2
        for number, passage in enumerate(chosen):
            card = cards.nth(number)
            letter_id, ordinal = passage.split("/")
            assert card.is_visible()
            assert card.locator(".rationale").is_visible()
            assert f"{letter_id}, item {ordinal}" in card.locator(".hit-meta").inner_text()
        left, right = cards.nth(0).bounding_box(), cards.nth(1).bounding_box()
        assert abs(left["y"] - right["y"]) < 2, (left, right)
        assert right["x"] >= left["x"] + left["width"], (left, right)
        assert right["x"] + right["width"] <= VIEWPORT["width"], "both fit in the 1280px window"
        assert page.locator("table.compare-table").is_visible()
        assert page.locator(".compare-summary").inner_text().startswith("They ")
        ui.assert_no_console_errors()


# --------------------------------------------------------------------------------------------
# 5. JavaScript off; no console errors with it on


@pytest.mark.browser
def test_search_facets_and_letters_work_without_javascript(ui):
    page = ui.new_page(js=False)
    with ui.guard():
        page.goto("/")
        search_from_box(page, "norco")
        assert shown_total(page) == len(listed_passages(page)) >= 2
        # app.js did not run: it would have disabled the compare button until two results are ticked
        assert page.get_by_role("button", name="Compare the two selected passages").is_enabled()

        link = facet_link(page, "Decision", "Upheld")
        expected = facet_count(link)
        with page.expect_navigation():
            link.click()
        assert ("decision", "Upheld") in path_and_query(page.url)[1]
        assert shown_total(page) == expected
        assert "Decision: Upheld" in active_chips(page)

        # a letter with a case number (a 2014-era body without one offers no citation)
        first = page.locator("ol.hits > li.hit .hit-heading a[href^='/letters/CM']").first
        with page.expect_navigation():
            first.click()
        path, _ = path_and_query(page.url)
        assert path.startswith("/letters/CM"), page.url
        assert page.locator("section.item").count() >= 1
        assert page.locator("section.item .rationale").first.is_visible()
        assert page.locator(".citation-text").first.is_visible(), "the citation is there to select by hand"
        assert page.locator("button.copy-citation").first.is_hidden(), "no working button without JavaScript"

        page.goto(f"/letters/{CASE}/items/2")
        assert page.url.endswith(f"/letters/{CASE}#item-2")
        assert page.locator("#item-2 .citation-text").is_visible()


@pytest.mark.browser
def test_no_console_errors_or_csp_violations_with_javascript_on(ui):
    """Every kind of page once, with app.js running: no console error, no uncaught exception, no CSP report."""
    from playwright.sync_api import Error as PlaywrightError

    errors: list[str] = []
    page = ui.new_page(watch=False)
    ui.watch(page, errors)
    with ui.guard():
        # the watcher does see a CSP violation: an inline script is refused and reported on the console
        page.goto("/search?q=soma")
        with pytest.raises(PlaywrightError, match="Content Security Policy"):
            page.add_script_tag(content="window.inlineRan = true;")
        assert page.evaluate("window.inlineRan === undefined"), "the CSP let an inline script run"
        assert any("Content Security Policy" in e for e in errors), errors
        errors.clear()

        compare = None
        for url in ["/", "/search?q=mri", "/search?q=mri&decision=Upheld&sort=newest", "/search?q=mri&page=2",
                    f"/letters/{CASE}/items/2", f"/letters/{CASE}?q=cervical", "/precedents",
                    "/precedents?drug=carisoprodol", "/guidelines", "/cite-check",
                    f"/letters/{CASE}/items/2/similar"]:
            response = page.goto(url)
            assert response is not None and response.ok, (url, response and response.status)
            page.wait_for_load_state("load")
            if url == "/search?q=mri":
                compare = listed_passages(page)[:2]
        page.goto(f"/compare?p={compare[0]}&p={compare[1]}")
        assert page.locator("article.rationale-card").count() == 2
        assert errors == [], "\n".join(errors)


# --------------------------------------------------------------------------------------------
# 6. Printing


@pytest.mark.browser
def test_print_stylesheet_keeps_the_text_and_drops_the_navigation(ui):
    page = ui.new_page()
    with ui.guard():
        page.goto(f"/letters/{CASE}/items/2")
        chrome = [".site-header nav", ".letter-links", ".item-toc", "#item-2 .copy-citation", ".site-footer .coverage"]
        for selector in chrome:
            assert page.locator(selector).first.is_visible(), f"{selector} is shown on screen"
        assert page.locator(".site-footer .retrieved").is_hidden()
        page.emulate_media(media="print")
        for selector in chrome:
            assert page.locator(selector).first.is_hidden(), f"{selector} is printed"
        # a printout says where and when it was retrieved, as a citation to a web page needs
        retrieved = page.locator(".site-footer .retrieved")
        assert retrieved.is_visible() and f"/letters/{CASE}" in retrieved.inner_text()
        assert page.locator("#item-2 .rationale").is_visible()
        assert page.locator("#item-2 .citation-text").is_visible()
        assert page.locator(".letter-header h1").is_visible()

        page.emulate_media(media="screen")
        page.goto("/search?q=mri")
        assert page.locator("form.search-form").is_visible()
        page.emulate_media(media="print")
        for selector in ["form.search-form", ".site-header nav", "aside.facets", ".pagination", ".hit-links"]:
            assert page.locator(selector).first.is_hidden(), f"{selector} is printed"
        assert page.locator("ol.hits .snippet").first.is_visible()
        ui.assert_no_console_errors()


# --------------------------------------------------------------------------------------------
# 7. What the search box understands; precedents for an ingredient; an item in context


@pytest.mark.browser
def test_a_case_number_typed_in_the_box_opens_its_letter(ui, site):
    page = ui.new_page()
    with ui.guard():
        page.goto("/")
        box = page.get_by_role("searchbox", name="Search the rationales")
        box.fill("cm16 0213037")
        with page.expect_navigation():
            box.press("Enter")
        page.wait_for_url(f"{site}/letters/{CASE}")
        assert CASE in page.locator("h1").inner_text()
        ui.assert_no_console_errors()


@pytest.mark.browser
def test_case_numbers_among_words_filter_to_their_letters_and_say_so(ui):
    page = ui.new_page()
    with ui.guard():
        page.goto("/")
        search_from_box(page, f"{CASE} CM16-0219557")
        assert ("q", f"(case:{CASE} OR case:CM16-0219557)") in path_and_query(page.url)[1]
        assert page.locator("p.understood").inner_text().startswith(f"{CASE} and CM16-0219557 are case numbers")
        assert {p.split("/")[0] for p in listed_passages(page)} == {CASE, "CM16-0219557"}
        ui.assert_no_console_errors()


@pytest.mark.browser
def test_a_guideline_typed_in_words_shows_the_decisions_citing_it(ui):
    page = ui.new_page()
    with ui.guard():
        page.goto("/")
        search_from_box(page, "Chronic Pain Guidelines page 24")
        assert ("q", "guideline:MTUS/CPMTG/p24") in path_and_query(page.url)[1]
        notice = page.locator("p.understood").first
        assert notice.is_visible()
        assert "MTUS Chronic Pain Medical Treatment Guidelines, p. 24" in notice.inner_text()
        assert shown_total(page) == len(listed_passages(page)) > 0
        # the box shows what is searched now, which can be edited further
        assert page.get_by_role("searchbox", name="Search the rationales").input_value() == "guideline:MTUS/CPMTG/p24"
        ui.assert_no_console_errors()


@pytest.mark.browser
def test_a_misspelled_drug_offers_its_spelling_and_one_the_table_knows_is_read(ui):
    page = ui.new_page()
    with ui.guard():
        page.goto("/")
        search_from_box(page, "meloxicom")
        assert shown_total(page) == 0
        offer = page.locator("p.understood.suggestion")
        assert offer.inner_text().startswith("Did you mean: meloxicam")
        with page.expect_navigation():
            offer.get_by_role("link", name="meloxicam").click()
        assert ("q", "meloxicam") in path_and_query(page.url)[1]
        assert shown_total(page) > 0

        search_from_box(page, "carisoprodal")
        assert shown_total(page) > 0
        assert "Read “carisoprodal” as carisoprodol" in page.locator("p.understood").inner_text()
        ui.assert_no_console_errors()


@pytest.mark.browser
def test_precedents_for_an_ingredient_count_every_product_holding_it(ui):
    page = ui.new_page()
    with ui.guard():
        page.goto("/precedents")
        drug = page.get_by_role("combobox", name="Drug")  # an input with a list
        assert drug.get_attribute("list") == "suggest-drug"
        assert page.locator("#suggest-drug option[value='hydrocodone']").count() == 1, "offered without typing"
        # as one types, app.js refills the list from /api/suggest with the values matching what is typed
        drug.press_sequentially("hydro")
        wait_until(page, "[...document.querySelectorAll('#suggest-drug option')].length > 0 && "
                         "[...document.querySelectorAll('#suggest-drug option')].every("
                         "o => /hydro/i.test(o.value + ' ' + o.textContent))")
        drug.fill("hydrocodone")
        with page.expect_navigation():
            page.get_by_role("button", name="Show").click()
        assert ("drug", "hydrocodone") in path_and_query(page.url)[1]
        assert "hydrocodone" in page.locator("h1").inner_text()
        decisions = page.locator(".headline-figures a.figure").first
        count = int(decisions.inner_text().replace(",", ""))
        assert count > 0
        products = page.locator("table", has=page.locator("caption", has_text=re.compile("product", re.I)))
        assert "Norco" in products.inner_text() or "hydrocodone/acetaminophen" in products.inner_text()
        with page.expect_navigation():
            decisions.click()
        assert shown_total(page) == count
        ui.assert_no_console_errors()


@pytest.mark.browser
def test_an_item_permalink_from_the_results_shows_its_context_and_the_way_back(ui):
    page = ui.new_page()
    with ui.guard():
        page.goto("/search?q=cervical")
        results_url = page.url
        first = page.locator("ol.hits > li.hit").first
        letter_id, ordinal = first.locator("input[name=p]").get_attribute("value").split("/")
        with page.expect_navigation():
            first.locator(".hit-heading a").click()
        item = page.locator(f"#item-{ordinal}")
        context = item.locator(".item-context")
        assert context.is_visible()
        line = context.inner_text()
        assert letter_id in line and "decided" in line and "reviewer" in line, line
        box = context.bounding_box()
        assert 0 <= box["y"] < VIEWPORT["height"], "the context line is on the first screen"
        # the target is marked, not only scrolled to
        assert item.evaluate("e => getComputedStyle(e).boxShadow !== 'none' || "
                             "getComputedStyle(e).backgroundColor !== 'rgba(0, 0, 0, 0)'")
        back = page.get_by_role("link", name=re.compile("Back to the results"))
        with page.expect_navigation():
            back.click()
        assert path_and_query(page.url) == path_and_query(results_url)
        ui.assert_no_console_errors()


@pytest.mark.browser
def test_compare_two_results_ticked_on_two_pages(ui):
    page = ui.new_page()
    with ui.guard():
        page.goto("/search?q=mri&per_page=5")
        first = listed_passages(page)[0]
        page.locator("ol.hits input[name=p]").first.check()
        with page.expect_navigation():
            page.get_by_role("link", name=re.compile("Next")).first.click()
        assert "1 of 2" in page.locator("#compare-status").inner_text(), "the tick survives paging"
        second = listed_passages(page)[0]
        assert second != first
        page.locator("ol.hits input[name=p]").first.check()
        submit = page.locator("#compare-bar button.compare-submit")
        assert submit.is_enabled()
        with page.expect_navigation():
            submit.click()
        path, query = path_and_query(page.url)
        assert path == "/compare" and query == [("p", first), ("p", second)], page.url
        assert page.locator(".side-by-side > article.rationale-card").count() == 2
        ui.assert_no_console_errors()


@pytest.mark.browser
def test_why_upheld_leads_to_decisions_whose_rationale_marks_that_reason(ui):
    page = ui.new_page()
    with ui.guard():
        page.goto("/precedents")
        table = page.locator("table.reasons", has=page.locator("caption", has_text="Why upheld"))
        row = table.locator("tbody tr").first
        reason = row.locator("th").inner_text().strip()
        link = row.locator("a").first
        count = int(link.inner_text().replace(",", ""))
        with page.expect_navigation():
            link.click()
        assert shown_total(page) == count > 0
        chips = active_chips(page)
        assert "Decision: Upheld" in chips and any(reason in chip for chip in chips), chips
        first = page.locator("ol.hits > li.hit").first
        ordinal = first.locator("input[name=p]").get_attribute("value").split("/")[1]
        with page.expect_navigation():
            first.locator(".hit-heading a").click()
        item = page.locator(f"#item-{ordinal}")
        assert reason in item.locator(".item-why").inner_text()
        marked = item.locator(".rationale .reason-sentence", has_text=reason)
        assert marked.count() >= 1 and marked.first.is_visible(), "the sentence stating the reason is marked"
        assert marked.first.evaluate("e => getComputedStyle(e).backgroundColor !== 'rgba(0, 0, 0, 0)' || "
                                     "getComputedStyle(e).textDecorationLine !== 'none' || "
                                     "getComputedStyle(e).borderBottomStyle !== 'none'")
        ui.assert_no_console_errors()
