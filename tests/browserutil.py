"""The browser tests' machinery: the site served for real by werkzeug on 127.0.0.1, the system Chromium driven
through Playwright, and `UI`, one test's pages. The fixtures over these (`site`, `browser`, `ui`) are in
tests/conftest.py; tests/screenshots.py uses the same pieces outside pytest.

Chromium is Debian's package (.ci/run installs it); Playwright's own browser download is not used.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from werkzeug.serving import WSGIRequestHandler, make_server

from kb.web import create_app

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
VIEWPORT = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}  # an iPhone 12 to 15 held upright, in CSS pixels
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 10_000


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


# --------------------------------------------------------------------------------------------
# The site, served for real, and the browser


class _QuietHandler(WSGIRequestHandler):
    """werkzeug's request handler without the access log (a failing test's output stays readable)."""

    def log_request(self, *args, **kwargs) -> None:
        pass


@contextmanager
def serving(index_dir: Path, port: int = 0) -> Iterator[str]:
    """The real Flask app over `index_dir` on 127.0.0.1:`port` (a free one if 0 or taken) in a background thread;
    yields its base URL."""
    app = create_app({"INDEX_DIR": str(index_dir)})
    try:
        server = make_server("127.0.0.1", port, app, threaded=True, request_handler=_QuietHandler)
    except OSError:
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, name="kb-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@contextmanager
def launched_chromium() -> Iterator:
    """The system Chromium, headless, through Playwright."""
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

    def new_page(self, *, js: bool = True, permissions: list[str] | None = None, watch: bool = True,
                 viewport: dict[str, int] | None = None):
        context = self.browser.new_context(viewport=viewport or VIEWPORT, base_url=self.base, java_script_enabled=js)
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


def wait_until(page, expression: str, timeout: float = TIMEOUT_MS / 1000) -> None:
    """Poll a JavaScript expression until it is truthy. (page.wait_for_function compiles its predicate with
    eval, which the site's Content-Security-Policy refuses; page.evaluate goes through DevTools instead.)"""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout:.0f} s: {expression}")
        page.wait_for_timeout(50)
