"""The production setup of the README, for real: gunicorn with kb/web/gunicorn_conf.py (threaded workers)
behind nginx running deploy/nginx-site.conf (bench.production), on loopback. The fast tests check what
each part does; the slow ones (-m slow) attack it as bench/bench_overload.py does and hold the figures the
issues ask for: a probe answered within 1 s through a slowloris and the quadratic inputs, 503s with
Retry-After and no timeouts at 10 times capacity, the slowest requests answered or refused within 5 s
on both engines, never a 500. nginx is the Debian package (.ci/run installs it); without it, skipped.
"""

from __future__ import annotations

import http.client
import json
import time
from pathlib import Path

import pytest

from bench.attacks import NESTED_JSON, QUADRATIC_BRIEFS, SLOWEST_SEARCHES, brief_of_quotations, cite_check_body, slowloris
from bench.load import QUERY_PATHS
from bench.load import free_port
from bench.production import ask, nginx, nginx_binary, overload, probing, production_site
from kb.ingest import index_paths
from kb.synth import write_letters

pytestmark = pytest.mark.skipif(nginx_binary() is None, reason="nginx is not installed (apt-get install nginx)")

PROBE_SECONDS = 1.0  # what a reader may wait for an ordinary search while the site is attacked
ANSWER_SECONDS = 5.0  # what the costliest request may take to be answered or refused
CAPACITY = 2 * 4  # requests the production setup works on at once: 2 workers x 4 threads
LETTERS = 5291  # about 10,000 passages: the size at which the issues measured the attacks


@pytest.fixture(scope="module")
def site(real_index: Path):
    with production_site(real_index) as (port, app_port):
        yield port, app_port


# --------------------------------------------------------------------------------------------
# What each part does


def test_the_site_answers_through_nginx_with_its_own_address_in_links(site):
    port, _ = site
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/api/search?q=tramadol")
        response = connection.getresponse()
        document = json.loads(response.read())
    finally:
        connection.close()
    assert response.status == 200
    assert document["links"]["html"].startswith(f"http://127.0.0.1:{port}/search")


def test_nginx_tells_the_site_when_it_passed_a_request_on(real_index):
    # with no wait allowed at all, every request that went through nginx has waited too long
    with production_site(real_index, env={"KB_MAX_QUEUE_SECONDS": "0"}) as (port, app_port):
        shed = ask(port, "/search?q=tramadol")
        direct = ask(app_port, "/search?q=tramadol")
    assert shed.status == 503 and shed.retry_after == "1"
    assert direct.status == 200  # no proxy, no X-Request-Start: nothing to measure


def test_nginx_refuses_a_body_larger_than_the_site_accepts(site):
    port, _ = site
    assert ask(port, "/api/cite-check", method="POST", body=b"x" * (2 * 1024 * 1024)).status == 413


def test_a_busy_upstream_is_a_503_with_retry_after(real_index):
    with nginx(free_port()) as port:  # nothing listens there: as when every upstream connection is taken
        answer = ask(port, "/search?q=tramadol")
    assert answer.status == 503 and answer.retry_after == "1"


def test_one_address_is_limited_to_its_share(site):
    port, _ = site
    answers = [ask(port, "/static/site.css", source="127.0.3.1") for _ in range(100)]
    refused = [a for a in answers if a.status == 429]
    assert refused and all(a.retry_after for a in refused)
    assert ask(port, "/static/site.css", source="127.0.3.2").status == 200  # another address is not


def test_the_readme_gives_the_production_commands():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    assert "gunicorn -c python:kb.web.gunicorn_conf 'kb.web:create_app()'" in readme
    assert "deploy/nginx-site.conf" in readme


# --------------------------------------------------------------------------------------------
# Attacks (slow)


@pytest.fixture(scope="module")
def synthetic_indexes(tmp_path_factory) -> dict[str, Path]:
    """Indexes of the same ~10,000 synthetic passages on each engine."""
    folder = tmp_path_factory.mktemp("production")
    letters = write_letters(folder / "letters", LETTERS, seed=11)
    indexes = {}
    for engine in ("whoosh", "tantivy"):
        indexes[engine] = folder / f"index-{engine}"
        index_paths(letters, indexes[engine], jobs=2, engine=engine)
    return indexes


def assert_probe_served_fast(probe) -> None:
    assert probe.answers, "the probe never ran"
    assert set(probe.statuses()) == {200}, probe.statuses()
    assert max(probe.seconds()) < PROBE_SECONDS, probe.seconds()


@pytest.mark.slow
@pytest.mark.parametrize("sockets", [2, 16])
def test_a_slowloris_leaves_a_probe_answered_within_a_second(synthetic_indexes, sockets):
    with production_site(synthetic_indexes["whoosh"]) as (port, _):
        with slowloris("127.0.0.1", port, sockets=sockets) as sent, probing(port) as probe:
            time.sleep(15)
    assert min(sent) > 10  # every attacking connection was trickling all along
    assert_probe_served_fast(probe)


@pytest.mark.slow
def test_the_quadratic_inputs_leave_a_probe_answered_within_a_second(synthetic_indexes):
    bodies = [cite_check_body(text) for text in QUADRATIC_BRIEFS.values()] + [NESTED_JSON]
    with production_site(synthetic_indexes["whoosh"]) as (port, _), probing(port) as probe:
        deadline = time.monotonic() + 15
        answers = []
        while time.monotonic() < deadline:
            for n, body in enumerate(bodies):
                answers.append(ask(port, "/api/cite-check", method="POST", body=body, source=f"127.0.4.{n + 1}"))
    assert_probe_served_fast(probe)
    assert {a.status for a in answers} <= {200, 400, 429}, {a.status for a in answers}
    assert max(a.seconds for a in answers) < PROBE_SECONDS


@pytest.mark.slow
def test_ten_times_capacity_is_shed_with_503_and_retry_after_and_no_timeouts(synthetic_indexes):
    with production_site(synthetic_indexes["whoosh"]) as (port, _), probing(port) as probe:
        load = overload(port, list(QUERY_PATHS), clients=10 * CAPACITY, seconds=20)
    statuses = load.statuses()
    assert not load.unanswered(), load.unanswered()[:5]
    assert set(statuses) <= {200, 400, 429, 503}, statuses
    assert statuses[503] > 0 and statuses[200] > 0
    shed = [a for a in load.answers if a.status in (429, 503)]
    assert all(a.retry_after for a in shed)
    assert load.percentile(95, 503) < PROBE_SECONDS  # told at once to come back later
    assert load.percentile(95, 200) < 2 * PROBE_SECONDS  # those served are served fast
    assert not probe.unanswered() and max(probe.seconds()) < 2 * PROBE_SECONDS


@pytest.mark.slow
@pytest.mark.parametrize("engine", ["whoosh", "tantivy"])
def test_the_slowest_requests_are_answered_or_refused_within_five_seconds(synthetic_indexes, engine):
    requests = [("GET", path, None) for path in SLOWEST_SEARCHES.values()]
    requests.append(("POST", "/api/cite-check", cite_check_body(brief_of_quotations(synthetic_indexes[engine]))))
    requests += [("POST", "/api/cite-check", cite_check_body(text)) for text in QUADRATIC_BRIEFS.values()]
    requests.append(("POST", "/api/cite-check", NESTED_JSON))
    with production_site(synthetic_indexes[engine]) as (port, _):
        answers = [ask(port, path, method=method, body=body) for method, path, body in requests]
    for answer in answers:
        assert answer.status in (200, 400, 503), answer
        assert answer.status != 503 or answer.retry_after, answer
        assert answer.seconds < ANSWER_SECONDS, answer
