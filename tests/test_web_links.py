"""Every URL the site builds encodes its values: a facet value with "&", "#", "%", "+", "=", "?" or "/"
("Physical Medicine & Rehabilitation", "Evaluation & Management", and a fixture letter's made-up
specialties) links to the search that finds it, from the facets, the letter page and the result cards.
Over the real letters and tests/fixtures/web/odd-values.txt."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import LETTERS_DIR, SEEDS_DIR, require_shared
from tests.webutil import WEB_FIXTURES, build_index, facet_links, make_app, page, shown_total

ODD_LETTER = "CM18-0900002"
ODD_SPECIALTIES = ("Physical Medicine & Rehabilitation", "Pain Medicine #2", "Spine Care 100%", "Sports Medicine+",
                   "A=B?c/d")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    require_shared()
    index_dir = build_index([LETTERS_DIR, SEEDS_DIR, WEB_FIXTURES / "odd-values.txt"],
                            tmp_path_factory.mktemp("links") / "index")
    return make_app(index_dir).test_client()


def get_ok(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response


def search_links(doc) -> list[tuple[str, str]]:
    """(text, href) of every link to the search page in `doc`."""
    return [(anchor.squashed_text, anchor.get("href")) for anchor in doc.find_all("a")
            if urlsplit(anchor.get("href") or "").path == "/search" and urlsplit(anchor.get("href")).query]


def test_the_fixture_letter_has_the_odd_values(client):
    letter = client.get(f"/api/letters/{ODD_LETTER}").get_json()["letter"]
    assert tuple(letter["reviewer"]["specialties"]) == ODD_SPECIALTIES
    assert "Evaluation & Management" in [item["category"] for item in letter["items"]]


def test_every_value_of_every_facet_links_to_a_search_with_as_many_passages_as_its_count(client):
    expanded = "/search?expand=" + ",".join(("decision", "drug", "class", "category", "treatment", "source",
                                             "guideline", "divergent", "specialty", "year"))
    links = facet_links(page(get_ok(client, expanded)))
    labels = {link.label for link in links}
    assert set(ODD_SPECIALTIES) <= labels and "Evaluation & Management" in labels
    for link in links:
        assert shown_total(page(get_ok(client, link.href))) == link.count, link


@pytest.mark.parametrize("value", ODD_SPECIALTIES)
def test_a_specialty_link_on_a_letter_page_carries_the_value_whole(client, value):
    links = dict(search_links(page(get_ok(client, f"/letters/{ODD_LETTER}"))))
    query = urlsplit(links[value]).query
    assert parse_qs(query) == {"specialty": [value]}
    found = client.get(f"/api/search?{query}&per_page=100").get_json()
    assert f"{ODD_LETTER}/1" in {hit["passage_id"] for hit in found["hits"]}
    facet = next(f for f in found["facets"] if f["name"] == "specialty")
    assert [v["count"] for v in facet["values"] if v["value"] == value] == [found["total"]]


def test_every_search_link_on_every_letter_page_finds_that_letter(client):
    """The specialty, category, drug and guideline links of each letter lead to searches holding it."""
    letter_ids = [hit["letter_id"] for hit in
                  client.get("/api/search?per_page=100&sort=newest").get_json()["hits"]]
    assert ODD_LETTER in letter_ids
    checked = 0
    for letter_id in dict.fromkeys(letter_ids):
        for text, href in search_links(page(get_ok(client, f"/letters/{letter_id}"))):
            query = urlsplit(href).query
            (name, values), = parse_qs(query).items()  # one filter, its value whole
            assert len(values) == 1
            found = client.get(f"/api/search?{query}&per_page=100").get_json()
            assert letter_id in {hit["letter_id"] for hit in found["hits"]} or found["total"] > 100, (letter_id, href)
            checked += 1
    assert checked > 100


def test_result_cards_link_drugs_and_guidelines_with_one_value_each(client):
    doc = page(get_ok(client, "/search?specialty=Physical+Medicine+%26+Rehabilitation&per_page=100"))
    assert shown_total(doc) > 2
    links = [link for hit in doc.find_all("li", "hit") for link in search_links(hit)]
    assert len(links) > 20
    for text, href in links:
        (name, values), = parse_qs(urlsplit(href).query).items()
        assert name in ("drug", "guideline") and len(values) == 1, href
        assert get_ok(client, href) and client.get("/api/search?" + urlsplit(href).query).get_json()["total"] > 0


def test_no_view_builds_a_query_string_by_hand():
    """A value pasted into "?name={value}" is not encoded: every search link goes through filter_url or
    SearchRequest.query_string (which encode), every other URL through url_for."""
    web = Path(__file__).resolve().parents[1] / "kb" / "web"
    by_hand = [(path.name, n, line.strip()) for path in sorted(web.glob("*.py"))
               for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
               if re.search(r"""f["'][^"']*[?&][a-z_]+=\{""", line)]
    assert by_hand == []
