"""Shared fixtures. Real letters and seeds are read from ../shared (never copied into the project)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("KB_SHARED", ROOT.parent / "shared")).resolve()
LETTERS_DIR = SHARED / "letters"
SEEDS_DIR = SHARED / "seeds"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def require_shared() -> None:
    """Skip, saying why, when the real letters beside the project are absent."""
    if not (LETTERS_DIR / "index.csv").is_file():
        pytest.skip(f"real letters not found at {LETTERS_DIR} (set KB_SHARED to the shared folder)")


@pytest.fixture(scope="session")
def letters_dir() -> Path:
    require_shared()
    return LETTERS_DIR


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    require_shared()
    return SEEDS_DIR


def pytest_report_header() -> str:
    from kb.engines import engine_named

    return f"imr-kb engine of the test indexes: {engine_named().NAME} (set KB_ENGINE to change)"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="rewrite the golden files under tests/fixtures from the current output instead of comparing",
    )


@pytest.fixture
def update_golden(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-golden"))


@pytest.fixture(scope="session")
def real_index(tmp_path_factory: pytest.TempPathFactory, letters_dir: Path, seeds_dir: Path) -> Path:
    """A real index on disk built from ../shared/letters and ../shared/seeds, shared by the session."""
    from kb.ingest import index_paths

    index_dir = tmp_path_factory.mktemp("real") / "index"
    index_paths([letters_dir, seeds_dir], index_dir, jobs=2)
    return index_dir


@pytest.fixture(scope="module")
def index(real_index: Path):
    """The real index opened for searching (kb.search.SearchIndex)."""
    from kb.search import SearchIndex

    search_index = SearchIndex(real_index)
    yield search_index
    search_index.close()


@pytest.fixture(scope="module")
def app(real_index: Path):
    """The site over the real index."""
    from tests.webutil import make_app

    return make_app(real_index)


@pytest.fixture
def client(app):
    return app.test_client()


# --------------------------------------------------------------------------------------------
# The browser tests (tests/test_browser*.py): the site over the real index, Chromium, one test's pages


@pytest.fixture(scope="module")
def site(real_index: Path):
    """The real Flask app over the real index, served on 127.0.0.1:<free port>; its base URL."""
    from tests.browserutil import serving

    with serving(real_index) as base:
        yield base


@pytest.fixture(scope="module")
def browser():
    from tests.browserutil import launched_chromium

    with launched_chromium() as chromium:
        yield chromium


@pytest.fixture
def ui(browser, site, request):
    from tests.browserutil import UI

    session = UI(browser, site, request.node.name)
    yield session
    session.close()
