"""The site's defences: security headers, no inline code, escaping of hostile letter text and URL parameters,
random queries that never crash the server, and no debug output.

Hostile letters live in tests/fixtures/web/ (xss-*.txt: payloads in headings, guideline lines, rationale,
case summary, reviewer specialty and states); they are indexed into a temporary index per module.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from urllib.parse import urlsplit

import pytest

from kb.extract import extract_text
from kb.letters import parse_letter
from kb.search_request import FACETS
from tests.webutil import (
    CRAWL_STARTS,
    WEB_FIXTURES,
    build_index,
    crawl_site,
    error_message,
    foreign_elements,
    inline_code,
    make_app,
    page,
    parse_html,
)

CASE = "CM16-0213037"
XSS_CASE = "CM18-0900001"

# Markup that must never reach a page unescaped (each is in a fixture letter or a URL below).
RAW_MARKUP = [
    "<script>alert",
    "<img src=x",
    "<svg onload",
    "<svg/onload",
    "<iframe",
    "<b onmouseover",
    "<style>",
    "<body onload",
    '<a href="javascript:',
    "</textarea><script",
    "</p><script>",
]


def assert_safe_html(response) -> None:
    body = response.get_data(as_text=True)
    for raw in RAW_MARKUP:
        assert raw not in body, f"{raw!r} reached {response.request.path} unescaped"
    doc = parse_html(body)
    assert inline_code(doc) == []
    assert foreign_elements(doc) == []


@pytest.fixture(scope="module")
def client(real_index):
    return make_app(real_index).test_client()


@pytest.fixture(scope="module")
def xss_letters() -> dict[str, object]:
    letters = {}
    for path in sorted(WEB_FIXTURES.glob("xss-*.txt")):
        letters[path.name] = parse_letter(extract_text(path).text)
    return letters


@pytest.fixture(scope="module")
def xss_client(tmp_path_factory, xss_letters):
    index_dir = build_index(sorted(WEB_FIXTURES.glob("xss-*.txt")), tmp_path_factory.mktemp("xss") / "index")
    return make_app(index_dir).test_client()


def body_letter_id(xss_client) -> str:
    hits = xss_client.get("/api/search?q=carisoprodol").get_json()["hits"]
    return hits[0]["letter_id"]


# --------------------------------------------------------------------------------------------
# Headers


def _responses(client, real_index, tmp_path) -> dict[str, object]:
    """One response of every kind the site gives."""
    def fetch(url, method="get", some_client=client):
        with getattr(some_client, method)(url) as response:
            response.get_data()
            return response

    failing = make_app(real_index, TESTING=False)
    failing.add_url_rule("/boom", "boom", _boom)
    return {
        "html search": fetch("/search?q=mri"),
        "html letter": fetch(f"/letters/{CASE}"),
        "json search": fetch("/api/search?q=mri"),
        "json letter": fetch(f"/api/letters/{CASE}"),
        "csv": fetch("/search.csv?q=mri"),
        "pdf": fetch(f"/letters/{CASE}/original.pdf"),
        "static js": fetch("/static/app.js"),
        "static css": fetch("/static/site.css"),
        "404 html": fetch("/letters/CM16-9999999"),
        "404 json": fetch("/api/letters/CM16-9999999"),
        "400 html": fetch("/search?q=*x"),
        "400 json": fetch("/api/search?q=*x"),
        "301 redirect": fetch("/letters/cm16-0213037"),
        "302 redirect": fetch(f"/letters/{CASE}/items/1"),
        "405": fetch("/search", method="post"),
        "503": fetch("/search", some_client=make_app(tmp_path / "none").test_client()),
        "500": fetch("/boom", some_client=failing.test_client()),
    }


def _boom():
    raise RuntimeError("secret detail: /etc/shadow")


@pytest.fixture(scope="module")
def responses(client, real_index, tmp_path_factory):
    return _responses(client, real_index, tmp_path_factory.mktemp("headers"))


RESPONSE_KINDS = ["html search", "html letter", "json search", "json letter", "csv", "pdf", "static js", "static css",
                  "404 html", "404 json", "400 html", "400 json", "301 redirect", "302 redirect", "405", "503", "500"]


def test_every_kind_of_response_is_covered(responses):
    assert sorted(responses) == sorted(RESPONSE_KINDS)
    assert responses["pdf"].status_code == 200 and responses["pdf"].mimetype == "application/pdf"
    assert responses["csv"].mimetype == "text/csv"
    assert responses["500"].status_code == 500


@pytest.mark.parametrize("kind", RESPONSE_KINDS)
def test_content_security_policy_allows_no_inline_code(responses, kind):
    policy = responses[kind].headers.get("Content-Security-Policy")
    assert policy, f"no CSP on {kind}"
    directives = {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    scripts = directives.get("script-src", directives.get("default-src"))
    assert scripts is not None
    assert not {"*", "data:", "http:", "https:"} & set(scripts)
    assert directives.get("object-src") == ["'none'"]
    assert "frame-ancestors" in directives


@pytest.mark.parametrize("kind", RESPONSE_KINDS)
def test_nosniff_and_referrer_policy_on_every_response(responses, kind):
    headers = responses[kind].headers
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert headers.get("Referrer-Policy") in ("no-referrer", "same-origin", "strict-origin",
                                              "strict-origin-when-cross-origin")


def test_csv_is_a_download(responses):
    assert responses["csv"].headers["Content-Disposition"].startswith("attachment")


# --------------------------------------------------------------------------------------------
# No inline script or style in any page


HTML_PAGES = [
    "/",
    "/search?q=Soma",
    "/search?q=mri&decision=Upheld&expand=guideline,drug",
    "/search?q=therapy&page=2",
    f"/letters/{CASE}",
    f"/letters/{CASE}?q=cervical",
    "/letters/CM16-9999999",
    "/search?q=*x",
    "/search?page=0",
]


@pytest.mark.parametrize("url", HTML_PAGES)
def test_no_inline_script_or_style_in_pages(client, url):
    response = client.get(url)
    assert response.mimetype == "text/html"
    doc = page(response)
    assert inline_code(doc) == []
    assert [s.get("src") for s in doc.find_all("script")] == ["/static/app.js"]


def test_no_inline_code_and_all_headers_in_every_page_the_site_links_to(real_index):
    """Every page reachable from the search page (the crawl the site tests share, 200 pages)."""
    problems = []
    for visit in crawl_site(real_index, CRAWL_STARTS, 200):
        policy = visit.headers.get("Content-Security-Policy", "")
        if not policy or "unsafe-inline" in policy or visit.headers.get("X-Content-Type-Options") != "nosniff":
            problems.append((visit.url, "headers"))
        if visit.mimetype == "text/html":
            problems += [(visit.url, problem) for problem in inline_code(parse_html(visit.body.decode("utf-8")))]
    assert problems == []


def test_no_inline_code_in_the_503_and_500_pages(real_index, tmp_path):
    assert inline_code(page(make_app(tmp_path / "none").test_client().get("/search"))) == []
    failing = make_app(real_index, TESTING=False)
    failing.add_url_rule("/boom", "boom", _boom)
    assert inline_code(page(failing.test_client().get("/boom"))) == []


def test_every_static_file_the_pages_load_is_served(client):
    doc = page(client.get(f"/letters/{CASE}"))
    urls = [s.get("src") for s in doc.find_all("script")] + [link.get("href") for link in doc.find_all("link")
                                                             if link.get("rel") == "stylesheet"]
    assert urls
    for url in urls:
        with client.get(url) as response:
            assert response.status_code == 200, url


# --------------------------------------------------------------------------------------------
# Hostile letter text


def test_hostile_fixture_letters_parse_with_their_payloads(xss_letters):
    posted = xss_letters["xss-posted.txt"]
    assert posted.items[0].heading.startswith("<script>alert(1)</script>")
    assert posted.items[1].heading.startswith('"><img src=x onerror=alert(6)>')
    assert '"><img src=x onerror=alert(1)>' in posted.reviewer.specialties
    assert "<svg onload=alert(3)>" in posted.items[0].reviewer_guideline
    assert posted.items[0].rationale.startswith("</p><script>alert(4)</script>")
    body = xss_letters["xss-body.txt"]
    assert body.case_number is None
    assert body.reviewer.specialties == ("javascript:alert(document.cookie)",)
    assert body.items[0].heading.startswith("javascript:alert(1)//")


@pytest.mark.parametrize("url", [
    "/search",
    "/search?q=alert",
    "/search?q=script",
    "/search?q=lumbar+OR+norco+OR+soma",
    "/search?expand=guideline,specialty,drug,treatment",
    "/search?specialty=%22%3E%3Cimg+src%3Dx+onerror%3Dalert(1)%3E",
    "/search?specialty=javascript%3Aalert(document.cookie)",
    f"/letters/{XSS_CASE}",
    f"/letters/{XSS_CASE}?q=alert+script+img",
    f"/letters/{XSS_CASE}?q=%3Cscript%3Ealert(1)%3C/script%3E",
])
def test_hostile_letter_text_is_escaped(xss_client, url):
    response = xss_client.get(url)
    assert response.status_code == 200
    assert_safe_html(response)


def test_hostile_letter_without_case_number_is_escaped(xss_client):
    response = xss_client.get(f"/letters/{body_letter_id(xss_client)}")
    assert response.status_code == 200
    assert_safe_html(response)


def test_hostile_text_is_shown_as_text(xss_client):
    """The payloads reach the page as visible text, so the tests above checked something."""
    doc = page(xss_client.get(f"/letters/{XSS_CASE}"))
    headings = [h.squashed_text for h in doc.find_all("section", "item")[0].find_all("h2")]
    assert any("<script>alert(1)</script> Norco 10/325mg #90" in h for h in headings)
    text = doc.one("article", "letter").squashed_text
    assert '"><img src=x onerror=alert(1)>' in text  # the specialty
    assert "<svg onload=alert(3)>" in text  # the reviewer's guideline line
    assert "</p><script>alert(4)</script>" in text  # the rationale
    assert "{{ 7*7 }}" in text  # no template evaluation either
    search = page(xss_client.get("/search?q=norco"))
    assert "<script>alert(1)</script> Norco" in search.one("ol", "hits").squashed_text


def test_hostile_specialty_links_stay_on_the_site(xss_client):
    doc = page(xss_client.get(f"/letters/{body_letter_id(xss_client)}"))
    for anchor in doc.find_all("a"):
        href = anchor.get("href") or ""
        assert urlsplit(href).scheme in ("", "http"), href
        assert urlsplit(href).netloc in ("", "localhost"), href


@pytest.mark.parametrize("url", ["/api/search?q=alert", "/api/search?expand=specialty", f"/api/letters/{XSS_CASE}"])
def test_hostile_text_in_json_is_data(xss_client, xss_letters, url):
    response = xss_client.get(url)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    document = response.get_json()
    headings = [h["heading"] for h in document.get("hits", [])] + [i["heading"] for i in
                                                                   document.get("letter", {}).get("items", [])]
    # the strings come back exactly as the letter has them: escaping is the reader's job, never mangling
    expected = {item.heading for letter in xss_letters.values() for item in letter.items}
    assert headings and set(headings) <= expected


# --------------------------------------------------------------------------------------------
# Hostile URL parameters


PAYLOADS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "'\"><svg/onload=alert(1)>",
    "javascript:alert(1)",
    "</textarea><script>alert(1)</script>",
    "{{7*7}}{% raw %}",
    "\x00",
    "%00%3Cscript%3E",
    "../../etc/passwd",
    "\r\nSet-Cookie: x=1",
    "\u202e<b>",
    "x" * 3000,
]
PARAMETERS = ["q", *(spec.name for spec in FACETS), "from", "to", "sort", "page", "per_page", "expand"]


@pytest.mark.parametrize("name", PARAMETERS)
def test_hostile_parameter_values_are_refused_or_escaped(client, name):
    for payload in PAYLOADS:
        response = client.get("/search", query_string={name: payload})
        assert response.status_code in (200, 400), (name, payload, response.status_code)
        assert_safe_html(response)
        if response.status_code == 400:
            assert error_message(page(response))
        api = client.get("/api/search", query_string={name: payload})
        assert api.status_code in (200, 400), (name, payload, api.status_code)
        assert api.mimetype == "application/json"
        with client.get("/search.csv", query_string={name: payload}) as export:
            assert export.status_code in (200, 400), (name, payload, export.status_code)


@pytest.mark.parametrize("name", ["q", "drug"])
def test_hostile_highlight_parameters_on_a_letter_page_are_escaped(client, name):
    for payload in PAYLOADS:
        response = client.get(f"/letters/{CASE}", query_string={name: payload})
        assert response.status_code == 200, (name, payload)
        assert_safe_html(response)


@pytest.mark.parametrize("url", [
    "/letters/cm16-0213037?letter_id=CM16-9999999",
    f"/letters/{CASE}/items/2?letter_id=CM16-9999999",
    f"/letters/{CASE}/items/2?_method=POST",
    "/letters/cm16-0213037?_method=POST",
])
def test_query_parameters_named_like_url_for_arguments_do_not_break_redirects(client, url):
    response = client.get(url)
    assert response.status_code in (301, 302), response.status_code
    assert urlsplit(response.headers["Location"]).path == f"/letters/{CASE}"


@pytest.mark.parametrize("url", [
    f"/letters/{CASE}/items/2?_anchor=evil",
    "/letters/cm16-0213037/items/2?_anchor=evil",
    "/letters/cm16-0213037?_anchor=evil",
])
def test_query_parameters_cannot_change_the_redirect_anchor(client, url):
    location = client.get(url).headers["Location"]
    expected = "item-2" if "/items/" in url else ""
    assert urlsplit(location).fragment == expected, location


@pytest.mark.parametrize("url", [
    "/letters/cm16-0213037?_external=1&_scheme=javascript",
    f"/letters/{CASE}/items/2?_external=1&_scheme=javascript",
    "/letters/cm16-0213037?_external=1&_scheme=https",
])
def test_query_parameters_cannot_change_the_redirect_scheme_or_host(client, url):
    location = client.get(url).headers["Location"]
    parts = urlsplit(location)
    assert parts.scheme in ("", "http") and parts.netloc in ("", "localhost"), location


def test_letter_json_does_not_reveal_server_paths(client, real_index):
    response = client.get(f"/api/letters/{CASE}")
    assert "path" not in response.get_json()["letter"]["source"]
    text = response.get_data(as_text=True)
    assert str(real_index) not in text and "/work/" not in text


# --------------------------------------------------------------------------------------------
# Random queries


@pytest.fixture(scope="module")
def vocabulary(letters_dir) -> list[str]:
    words = set()
    for path in sorted(letters_dir.glob("*.txt"))[:30]:
        words.update(re.findall(r"[A-Za-z][A-Za-z'/-]{1,20}", path.read_text(encoding="utf-8", errors="replace")))
    return sorted(words)


OPERATORS = ["AND", "OR", "NOT", "and", "or", "not", "-", "+", "&&", "||", "!", "~", "^2"]
PUNCTUATION = ['"', "'", "(", ")", "((", "))", "()", '""', ":", "\\", "/", "%", "#", "&", "=", ";", "<", ">", "{", "}",
               "[", "]", "|", ",", ".", "..", "?", "@"]
FIELDS = ["drug:", "brand:", "generic:", "class:", "category:", "subcategory:", "decision:", "guideline:", "source:",
          "specialty:", "state:", "year:", "case:", "heading:", "rationale:", "nosuchfield:", "DRUG:", "Drug:"]
FIELD_VALUES = ["soma", "opioids", "overturned", "upheld", "MTUS/CPMTG/p24", "ODG", '"pain medicine"', "2016",
                "2014-2016", "1900-2100", "2016..2014", "0", "99999", "CM16-0213037", "cm16 0213037", "mri*", "*",
                '""', "()", "x" * 250]
WILDCARDS = ["*", "**", "tap*", "*ing", "ta*", "a*b", "?", "opi?id", "mri*", "med*ical", "necess*"]
UNICODE = ["é", "naïve", "Straße", "İstanbul", "中文", "日本語", "😀", "👩‍⚕️", "\u202e", "\u200b", "e\u0301", "\ufeff",
           "\x00", "\t", "\n", "\r", "\x1b[31m", "ﬁ", "Ⅻ", "٣", "ｓｏｍａ", "\U0010fffd"]
DATES = ["2016", "2016-12", "2016-12-09", "2016-13", "2016-02-30", "0000", "9999-12-31", "0001-01-01", "abc", "",
         "2016/12/09", "12/09/2016", "-1", "1e3"]


def random_query(rng: random.Random, words: list[str]) -> str:
    roll = rng.random()
    if roll < 0.04:  # very long
        return " ".join(rng.choice(words) for _ in range(rng.randint(60, 400)))
    if roll < 0.08:  # random characters
        return "".join(chr(rng.randint(1, 0xD7FF)) for _ in range(rng.randint(1, 60)))
    if roll < 0.12:  # deep or unbalanced grouping
        depth = rng.randint(1, 12)
        return "(" * depth + rng.choice(words) + ")" * rng.randint(0, depth + 1)
    parts = []
    for _ in range(rng.randint(1, 8)):
        kind = rng.random()
        if kind < 0.40:
            parts.append(rng.choice(words))
        elif kind < 0.52:
            parts.append(rng.choice(OPERATORS))
        elif kind < 0.64:
            parts.append(rng.choice(FIELDS) + rng.choice(FIELD_VALUES + words[:50]))
        elif kind < 0.74:
            parts.append(rng.choice(PUNCTUATION))
        elif kind < 0.84:
            parts.append(rng.choice(WILDCARDS))
        elif kind < 0.92:
            parts.append(rng.choice(UNICODE))
        else:
            parts.append('"' + " ".join(rng.choice(words) for _ in range(rng.randint(0, 4))) + rng.choice(['"', '']))
    return rng.choice([" ", "", "  "]).join(parts)


def random_params(rng: random.Random, words: list[str]) -> dict:
    params = {"q": random_query(rng, words)}
    if rng.random() < 0.3:
        facet = rng.choice(FACETS).name
        params[facet] = rng.choice([rng.choice(words), rng.choice(FIELD_VALUES), rng.choice(UNICODE)])
    if rng.random() < 0.15:
        params["from"] = rng.choice(DATES)
    if rng.random() < 0.15:
        params["to"] = rng.choice(DATES)
    if rng.random() < 0.1:
        params["page"] = rng.choice(["1", "2", "50", "0", "-1", "x", "999999", "1.5"])
    if rng.random() < 0.1:
        params["sort"] = rng.choice(["newest", "oldest", "relevance", "best", ""])
    return params


def run_random_queries(real_index, vocabulary, count: int, seed: int) -> tuple[list[tuple], Counter]:
    client = make_app(real_index, TESTING=False).test_client()  # a crash becomes a 500 to record, not a raise
    rng = random.Random(seed)
    failures, statuses = [], Counter()
    for _ in range(count):
        params = random_params(rng, vocabulary)
        for url in ("/search", "/api/search"):
            response = client.get(url, query_string=params)
            statuses[response.status_code] += 1
            if response.status_code == 302:  # the form's empty fields: the canonical URL must answer
                url = response.headers["Location"]
                response = client.get(url)
            if response.status_code not in (200, 400):
                failures.append((url, params, response.status_code))
    return failures, statuses


def test_random_queries_never_fail(real_index, vocabulary):
    """2000 seeded random queries (about 15 s): only 200 or 400, never a 500."""
    failures, statuses = run_random_queries(real_index, vocabulary, 2000, seed=20161209)
    assert failures == [], failures[:10]
    # the generator reaches both the searches that run and the ones refused
    assert statuses[200] > 400 and statuses[400] > 400, statuses


# --------------------------------------------------------------------------------------------
# Debug


def test_debug_is_off_by_default(real_index, monkeypatch):
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    monkeypatch.delenv("KB_DEBUG", raising=False)
    app = make_app(real_index, TESTING=False)
    assert app.debug is False
    assert not app.config["PROPAGATE_EXCEPTIONS"]


@pytest.mark.parametrize("url", ["/boom", "/api/boom"])
def test_an_unexpected_error_is_a_generic_500_without_traceback(real_index, url):
    app = make_app(real_index, TESTING=False)
    app.add_url_rule(url, url.strip("/").replace("/", "-"), _boom)
    response = app.test_client().get(url)
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    for leak in ("Traceback", "RuntimeError", "secret detail", "/etc/shadow", 'File "', "werkzeug"):
        assert leak not in body, leak
    if url.startswith("/api/"):
        assert response.get_json()["error"]["status"] == 500
    else:
        assert "could not answer" in error_message(page(response))
