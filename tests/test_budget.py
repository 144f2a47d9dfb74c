"""Every request within a budget (kb.budget, kb.search_cost): a search estimated past the budget is refused
beforehand with the words that make it costly (400), a request that runs out of time part-way stops with
a 503 and Retry-After, a request that waited too long behind the proxy is shed at once (503), and request
bodies are parsed with limits. Against the real index, through the real app (test client)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from kb import budget
from kb.search import SearchIndex, estimated_work
from kb.search_cost import POSTINGS_PER_SECOND
from kb.search_request import SearchRequest
from kb.web.cite_views import MAX_JSON_DEPTH
from tests.webutil import make_app

BRIEF = ('The reviewer wrote that "the request is not medically necessary for this injured worker at this time" '
         "in CM16-0213037, and again that \"physical therapy is not medically necessary in this case\".")


@pytest.fixture(scope="module")
def pinched(real_index: Path):
    """The site with a budget too small for any text search or any quotation."""
    return make_app(real_index, REQUEST_SECONDS=1e-9).test_client()


def error_of(response) -> str:
    return response.get_json()["error"]["message"]


# --------------------------------------------------------------------------------------------
# The estimate


def work(index: SearchIndex, q: str) -> int:
    return estimated_work(index, SearchRequest.from_params({"q": q}))[0]


def test_an_estimate_counts_the_postings_read(index):
    assert work(index, "tramadol") < work(index, "tramadol OR necessary") < work(index, "tramadol OR necessary OR the")


def test_a_repeated_word_in_a_phrase_is_read_each_time(index):
    assert work(index, '"the the the the"') > 1.5 * work(index, '"the the"')


def test_a_phrase_costs_more_than_its_words(index):
    assert work(index, '"medically necessary"') > work(index, "medically necessary")


def test_an_estimate_in_seconds_uses_the_engine_s_measured_rate(index):
    postings, seconds = estimated_work(index, SearchRequest.from_params({"q": "necessary"}))
    assert seconds == pytest.approx(postings / POSTINGS_PER_SECOND[index.generation().engine.NAME])


def test_no_budget_no_refusal(index):
    budget.stop()
    assert index.search(SearchRequest.from_params({"q": '"medically necessary"'})).total > 0


# --------------------------------------------------------------------------------------------
# Through the site


@pytest.mark.parametrize("url", ["/api/search?q=%22medically+necessary%22", "/search?q=%22medically+necessary%22",
                                 "/api/precedents?q=%22medically+necessary%22"])
def test_a_search_estimated_past_the_budget_is_refused_naming_its_costly_words(pinched, url):
    response = pinched.get(url)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "medically necessary" in text and "common words" in text


def test_a_search_without_text_has_nothing_to_estimate(pinched):
    assert pinched.get("/api/search?decision=Upheld").status_code == 200


def test_a_cite_check_out_of_time_is_a_503_with_retry_after(pinched):
    response = pinched.post("/api/cite-check", json={"text": BRIEF})
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    assert "ran out of time" in error_of(response) and "check the brief in parts" in error_of(response)


def test_a_cite_check_within_the_budget_is_answered(client):
    response = client.post("/api/cite-check", json={"text": BRIEF})
    assert response.status_code == 200 and response.get_json()["summary"]["quotations"] == 2


# --------------------------------------------------------------------------------------------
# Shedding what waited too long behind the proxy (nginx sends X-Request-Start: t=${msec})


@pytest.mark.parametrize("started", [
    lambda now: f"t={now - 5:.3f}",  # seconds, as nginx's ${msec}
    lambda now: f"t={int((now - 5) * 1000)}",  # milliseconds
    lambda now: f"{int((now - 5) * 1_000_000)}",  # microseconds, no "t="
])
def test_a_request_that_waited_too_long_is_shed_with_retry_after(client, started):
    response = client.get("/api/search?q=mri", headers={"X-Request-Start": started(time.time())})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert "waited" in error_of(response)


@pytest.mark.parametrize("header", ["t=%.3f", "garbage", "t=", "t=nan", "t=-1e308"])
def test_a_fresh_or_unreadable_start_time_is_served(client, header):
    value = header % time.time() if "%" in header else header
    assert client.get("/api/search?q=mri", headers={"X-Request-Start": value}).status_code == 200


def test_the_wait_allowed_is_configurable(real_index):
    relaxed = make_app(real_index, MAX_QUEUE_SECONDS=60).test_client()
    assert relaxed.get("/search?q=mri", headers={"X-Request-Start": f"t={time.time() - 5:.3f}"}).status_code == 200


# --------------------------------------------------------------------------------------------
# Request bodies, parsed with limits


@pytest.mark.parametrize("body", [b"[" * 100_000, b'{"text": ' + b"[" * 10_000, b'{"a": ' * 5_000])
def test_deeply_nested_json_is_a_400(client, body):
    response = client.post("/api/cite-check", data=body, content_type="application/json")
    assert response.status_code == 400
    assert f"nested more than {MAX_JSON_DEPTH} deep" in error_of(response)


@pytest.mark.parametrize("body", [
    '{"text": "a brief quoting [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[ brackets"}',
    '{"text": "an escaped quote \\" then [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}',
    '{"text": "a backslash \\\\", "more": [[[[[1]]]]]}',
])
def test_brackets_inside_strings_do_not_count_as_nesting(client, body):
    assert client.post("/api/cite-check", data=body, content_type="application/json").status_code == 200


def test_an_oversized_body_is_a_413_with_a_sentence(client):
    response = client.post("/api/cite-check", data=b"x" * (2 * 1024 * 1024), content_type="text/plain")
    assert response.status_code == 413
    assert "at most" in error_of(response)
