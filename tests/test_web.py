"""The site over the real index (tests/conftest.py `real_index`: 130 posted letters and two 2014 seeds).

Pages are read as HTML trees (tests/webutil.py, stdlib html.parser) and compared with the JSON API and
the CSV export, which must describe the same search.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest

from kb.documents import letter_id_of
from kb.extract import extract_text
from kb.letters import parse_letter
from kb.web.search_views import CSV_CHUNK_ROWS, CSV_COLUMNS, CSV_TRAILER, _csv_lines
from tests.webutil import (
    CRAWL_STARTS,
    WEB_FIXTURES,
    active_filter_links,
    build_index,
    crawl_site,
    error_message,
    facet_counts,
    facet_links,
    get_ok,
    hit_passages,
    make_app,
    page,
    query_pairs,
    rel_link,
    shown_total,
)

CASE = "CM16-0213037"
CITATION_2 = ("Cal. DWC IMR Final Determination, Case No. CM16-0213037, item 2 "
              "(MRI of the cervical spine without contrast: Upheld) (Dec. 9, 2016), "
              "http://localhost/letters/CM16-0213037/items/2")


@pytest.fixture(scope="module")
def seed_passages(seeds_dir) -> dict[str, list[str]]:
    """Each seed's letter id -> the passage ids of its carisoprodol (Soma) items, from parsing the seed."""
    found = {}
    for path in sorted(seeds_dir.glob("*.txt")):
        letter = parse_letter(extract_text(path).text)
        assert letter is not None, path
        letter_id = letter_id_of(letter)
        found[letter_id] = [f"{letter_id}/{item.ordinal}" for item in letter.items
                            if item.drug_request and any(d.generic == "carisoprodol" for d in item.drug_request.drugs)]
    assert len(found) == 2 and all(found.values()), found
    return found


def api(client, query: str) -> dict:
    response = get_ok(client, "/api/search" + query)
    assert response.mimetype == "application/json"
    return response.get_json()


def all_api_passages(client, params: dict) -> list[str]:
    """Every passage id the API returns for `params`, walking its pages of 100."""
    passages, number = [], 1
    while True:
        document = api(client, "?" + urlencode({**params, "per_page": 100, "page": number}, doseq=True))
        passages += [hit["passage_id"] for hit in document["hits"]]
        if not document["links"]["next"]:
            assert len(passages) == document["total"]
            return passages
        number += 1


def csv_rows(response) -> list[dict]:
    """The data rows of a whole CSV export: its header first, its trailer last (checked, then left out)."""
    assert response.mimetype == "text/csv"
    header, *rows, trailer = csv.reader(io.StringIO(response.get_data(as_text=True)))
    assert tuple(header) == CSV_COLUMNS
    assert trailer[:3] == [CSV_TRAILER, f"{len(rows)} rows", f"{response.headers['X-Total-Count']} matching"], trailer
    return [dict(zip(header, row)) for row in rows]


# --------------------------------------------------------------------------------------------
# Search: HTML and JSON describe the same results


def test_soma_lists_the_carisoprodol_passages_of_both_seeds(client, seed_passages):
    response = get_ok(client, "/search?q=Soma")
    doc = page(response)
    listed = hit_passages(doc)
    for letter_id, passages in seed_passages.items():
        assert set(passages) <= set(listed), (letter_id, listed)
        assert letter_id in doc.one("ol", "hits").squashed_text


def test_soma_hits_show_their_headings(client):
    doc = page(get_ok(client, "/search?q=Soma"))
    headings = [h.squashed_text for h in doc.find_all("h3", "hit-heading")]
    assert any(h.startswith("Soma 350mg") for h in headings), headings
    assert any(h.startswith("Carisoprodol 350mg") for h in headings), headings


SEARCHES = [
    "",
    "?q=Soma",
    "?q=mri",
    "?q=%22medically+necessary%22",
    "?q=opioid+NOT+tramadol",
    "?q=drug%3Asoma",
    "?decision=Overturned",
    "?q=therapy&sort=oldest",
    "?category=Diagnostic+Testing&sort=newest",
    "?q=mri&page=2",
    "?year=2016&per_page=7&page=3",
    "?from=2016-12&to=2017-01-15",
    "?expand=guideline,drug",
]


@pytest.mark.parametrize("query", SEARCHES)
def test_html_and_json_agree_on_total_and_hit_order(client, query):
    doc = page(get_ok(client, "/search" + query))
    document = api(client, query)
    assert shown_total(doc) == document["total"]
    assert hit_passages(doc) == [hit["passage_id"] for hit in document["hits"]]


@pytest.mark.parametrize("query", SEARCHES)
def test_html_facet_counts_equal_the_api_counts(client, query):
    shown = facet_counts(page(get_ok(client, "/search" + query)))
    document = api(client, query)
    expected = {f["name"]: [(v["label"], v["count"]) for v in f["values"]] for f in document["facets"] if f["values"]}
    assert shown == expected


def test_json_has_a_version_and_its_request(client):
    document = api(client, "?q=mri&decision=Upheld&sort=newest")
    assert document["version"] == 1
    assert document["request"]["q"] == "mri"
    assert document["request"]["filters"] == {"decision": ["Upheld"]}
    assert document["request"]["sort"] == "newest"


# --------------------------------------------------------------------------------------------
# Facet links, active filters, pagination


FACET_PAGES = ["/search", "/search?q=mri", "/search?decision=Overturned&q=therapy",
               "/search?drug=carisoprodol", "/search?drug=cyclobenzaprine&drug=lidocaine&q=cream"]


@pytest.mark.parametrize("start", FACET_PAGES)
def test_every_facet_number_says_what_clicking_it_gives(client, start):
    before = page(get_ok(client, start))
    links = facet_links(before)
    selected_facets = {link.facet for link in links if link.selected}
    checked = 0
    for link in links:
        if link.selected:
            continue  # clicking removes it: test_a_selected_facet_link_removes_its_filter
        # another value of a facet already chosen widens the results (either value): "+N", what it adds
        assert link.adds == (link.facet in selected_facets), link
        target = page(get_ok(client, link.href))
        expected = shown_total(before) + link.count if link.adds else link.count
        assert shown_total(target) == expected, (link, start)
        checked += 1
    assert checked >= 20


@pytest.mark.parametrize("start", FACET_PAGES)
def test_a_selected_facet_link_removes_its_filter(client, start):
    before = page(get_ok(client, start))
    for link in [link for link in facet_links(before) if not link.selected][::5]:
        chosen = page(get_ok(client, link.href))
        again = [other for other in facet_links(chosen) if other.facet == link.facet and other.label == link.label]
        assert len(again) == 1 and again[0].selected, link
        back = page(get_ok(client, again[0].href))
        assert sorted(query_pairs(again[0].href)) == sorted(query_pairs(start))
        assert shown_total(back) == shown_total(before)
        assert hit_passages(back) == hit_passages(before)


def test_removing_an_active_filter_goes_back(client):
    start = "/search?q=therapy"
    before = page(get_ok(client, start))
    links = facet_links(before)
    tried = 0
    for facet in dict.fromkeys(link.facet for link in links):
        link = next(link for link in links if link.facet == facet)
        chosen = page(get_ok(client, link.href))
        heading = chosen.one("h3", id=f"facet-{facet}").squashed_text
        removers = active_filter_links(chosen)
        assert set(removers) == {"Text: therapy", f"{heading}: {link.label}"}
        remove = removers[f"{heading}: {link.label}"]
        assert sorted(query_pairs(remove)) == sorted(query_pairs(start))
        back = page(get_ok(client, remove))
        assert shown_total(back) == shown_total(before)
        assert hit_passages(back) == hit_passages(before)
        tried += 1
    assert tried >= 6


def test_removing_the_text_leaves_the_filters(client):
    doc = page(get_ok(client, "/search?q=mri&decision=Upheld"))
    remove = active_filter_links(doc)["Text: mri"]
    assert query_pairs(remove) == [("decision", "Upheld")]
    assert shown_total(page(get_ok(client, remove))) == api(client, "?decision=Upheld")["total"]


@pytest.mark.parametrize("start", ["/search", "/search?q=medically+necessary", "/search?q=mri&per_page=7"])
def test_pagination_walks_every_result_once(client, start):
    first = page(get_ok(client, start))
    assert rel_link(first, "prev") is None
    total = shown_total(first)
    pages, seen, doc = [start], hit_passages(first), first
    while (url := rel_link(doc, "next")) is not None:
        doc = page(get_ok(client, url))
        assert shown_total(doc) == total
        pages.append(url)
        seen += hit_passages(doc)
        assert len(pages) < 100
    assert len(pages) > 1
    assert len(seen) == len(set(seen)) == total
    # and back again with rel=prev, through the same pages
    back = [pages[-1]]
    while (url := rel_link(doc, "prev")) is not None:
        doc = page(get_ok(client, url))
        back.append(url)
    assert [sorted(query_pairs(u)) for u in reversed(back)] == [sorted(query_pairs(u)) for u in pages]


def test_two_drugs_give_the_union_of_their_passages(client):
    drugs = [v["value"] for v in next(f for f in api(client, "")["facets"] if f["name"] == "drug")["values"]][:4]
    assert len(drugs) >= 2
    for a, b in [(drugs[0], drugs[1]), (drugs[1], drugs[2]), (drugs[0], drugs[3])]:
        union = set(all_api_passages(client, {"drug": a})) | set(all_api_passages(client, {"drug": b}))
        both = all_api_passages(client, {"drug": [a, b]})
        assert set(both) == union and len(both) == len(union)
        assert shown_total(page(get_ok(client, "/search?" + urlencode({"drug": [a, b]}, doseq=True)))) == len(union)


def test_empty_form_fields_redirect_to_the_canonical_url(client):
    response = client.get("/search?q=mri&from=&to=")
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == "/search"
    assert query_pairs(response.headers["Location"]) == [("q", "mri")]


# --------------------------------------------------------------------------------------------
# Letter pages


def test_letter_page_shows_both_items_with_anchors(client):
    doc = page(get_ok(client, f"/letters/{CASE}"))
    items = doc.find_all("section", "item")
    assert [item.get("id") for item in items] == ["item-1", "item-2"]
    assert "MRI of the right shoulder without contrast" in items[0].one("h2").squashed_text
    assert "MRI of the cervical spine without contrast" in items[1].one("h2").squashed_text


@pytest.mark.parametrize("ordinal", [1, 2])
def test_item_permalink_redirects_to_its_anchor(client, ordinal):
    doc = page(get_ok(client, f"/letters/{CASE}"))
    permalink = doc.one("section", id=f"item-{ordinal}").one("a", rel="bookmark").get("href")
    assert permalink == f"http://localhost/letters/{CASE}/items/{ordinal}"
    response = client.get(urlsplit(permalink).path)
    assert response.status_code in (301, 302, 303, 307, 308)
    assert response.headers["Location"].endswith(f"/letters/{CASE}#item-{ordinal}")


@pytest.mark.parametrize("raw", ["cm16-0213037", "CM16%200213037", "cm16%200213037", "CM160213037", "Cm16-0213037",
                                 "cm16%20-%200213037"])
def test_case_number_variants_redirect_permanently_to_the_canonical_url(client, raw):
    response = client.get(f"/letters/{raw}")
    assert response.status_code == 301
    assert urlsplit(response.headers["Location"]).path == f"/letters/{CASE}"
    assert client.get(response.headers["Location"]).status_code == 200


def test_case_number_variant_redirect_keeps_the_query(client):
    response = client.get("/letters/cm16-0213037?q=cervical&drug=soma&drug=xanax")
    assert response.status_code == 301
    assert query_pairs(response.headers["Location"]) == [("q", "cervical"), ("drug", "soma"), ("drug", "xanax")]


def test_item_permalink_of_a_variant_lands_on_the_canonical_anchor_in_one_hop(client):
    response = client.get("/letters/cm16%200213037/items/2")
    assert response.headers["Location"].endswith(f"/letters/{CASE}#item-2")


def test_copy_citation_text(client):
    doc = page(get_ok(client, f"/letters/{CASE}"))
    citation = doc.one("p", id="item-2-citation")
    assert citation.squashed_text == CITATION_2
    button = doc.one("section", id="item-2").one("button", "copy-citation")
    assert button.get("data-copy-target") == "item-2-citation"


def test_arriving_from_a_search_highlights_its_words(client):
    doc = page(get_ok(client, f"/letters/{CASE}?q=cervical"))
    marks = [mark.text.lower() for mark in doc.find_all("mark")]
    assert marks and all("cervical" in mark for mark in marks), marks
    assert doc.find("a", href=f"/letters/{CASE}") is not None  # "Hide highlighting"


def test_a_plain_letter_page_has_no_highlights(client):
    assert page(get_ok(client, f"/letters/{CASE}")).find_all("mark") == []


def test_search_hit_links_carry_the_query_to_the_letter(client):
    doc = page(get_ok(client, "/search?q=cervical"))
    link = doc.find("li", "hit").one("a", "case").get("href")
    assert ("q", "cervical") in query_pairs(link)
    response = client.get(link)
    target = response.headers["Location"]
    assert ("q", "cervical") in query_pairs(target)
    assert page(get_ok(client, target.split("#")[0])).find_all("mark")


def test_original_pdf_is_served_when_the_index_kept_the_pdf(client, letters_dir):
    letter = get_ok(client, f"/api/letters/{CASE}").get_json()["letter"]
    with client.get(f"/letters/{CASE}/original.pdf") as response:
        status, mimetype, body = response.status_code, response.mimetype, response.data
    # each real letter exists as PDF and .txt; the index keeps the first file found for a case number
    if letter["source"]["kind"] == "pdf":
        assert status == 200
        assert mimetype == "application/pdf"
        assert body == (letters_dir / f"{CASE}.pdf").read_bytes()
        assert letter["original_pdf"] == f"http://localhost/letters/{CASE}/original.pdf"
        assert page(get_ok(client, f"/letters/{CASE}")).find("a", href=f"/letters/{CASE}/original.pdf")
    else:
        assert status == 404
        assert letter["original_pdf"] is None


def test_a_letter_indexed_from_text_has_no_original_pdf(client, seed_passages):
    letter_id = next(iter(seed_passages))
    assert client.get(f"/api/letters/{letter_id}").get_json()["letter"]["original_pdf"] is None
    response = client.get(f"/letters/{letter_id}/original.pdf")
    assert response.status_code == 404
    assert not [a for a in page(get_ok(client, f"/letters/{letter_id}")).find_all("a")
                if "original.pdf" in (a.get("href") or "")]


def test_letter_json_shape(client):
    document = get_ok(client, f"/api/letters/{CASE}").get_json()
    assert document["version"] == 1
    letter = document["letter"]
    assert letter["letter_id"] == letter["case_number"] == CASE
    assert letter["url"] == f"http://localhost/letters/{CASE}"
    assert letter["decision_date"] == "2016-12-09"
    assert set(letter["source"]) == {"kind", "sha256", "pages"}
    assert [item["ordinal"] for item in letter["items"]] == [1, 2]
    for item in letter["items"]:
        assert item["url"] == f"http://localhost/letters/{CASE}/items/{item['ordinal']}"
        assert item["citation"].startswith(f"Cal. DWC IMR Final Determination, Case No. {CASE}, item {item['ordinal']} (")
        assert item["decision"] in ("Upheld", "Overturned")
    assert letter["items"][1]["citation"] == CITATION_2


def test_letter_json_of_a_variant_id_answers_for_the_canonical_letter(client):
    response = client.get("/api/letters/cm16-0213037")
    assert response.status_code in (200, 301)
    if response.status_code == 301:
        response = client.get(response.headers["Location"])
    assert response.get_json()["letter"]["letter_id"] == CASE


def test_a_letter_without_case_number_is_found_by_its_content_id(client, seed_passages):
    for letter_id in seed_passages:
        doc = page(get_ok(client, f"/letters/{letter_id}"))
        assert doc.find("article", "letter").get("data-letter") == letter_id
        assert doc.find_all("section", "item")


# --------------------------------------------------------------------------------------------
# CSV export


@pytest.mark.parametrize("params", [{"q": "mri"}, {"decision": "Overturned", "sort": "oldest"}, {},
                                    {"q": "medically necessary", "year": "2016"}])
def test_csv_rows_are_the_api_hits_in_order(client, params):
    response = get_ok(client, "/search.csv?" + urlencode(params))
    rows = csv_rows(response)
    expected = all_api_passages(client, params)
    assert [row["passage_id"] for row in rows] == expected
    assert int(response.headers["X-Total-Count"]) == len(expected)
    assert "attachment" in response.headers["Content-Disposition"]


def test_csv_row_content(client):
    rows = {row["passage_id"]: row for row in csv_rows(get_ok(client, f"/search.csv?q=case%3A{CASE}"))}
    row = rows[f"{CASE}/2"]
    assert row["case_number"] == CASE
    assert row["item"] == "2"
    assert row["decision_date"] == "2016-12-09"
    assert row["heading"] == "MRI of the cervical spine without contrast"
    assert row["decision"] == "Upheld"
    assert row["url"] == f"http://localhost/letters/{CASE}/items/2"


def test_csv_respects_its_row_cap(real_index):
    client = make_app(real_index, CSV_MAX_ROWS=5).test_client()
    response = get_ok(client, "/search.csv?q=mri")
    rows = csv_rows(response)
    expected = all_api_passages(client, {"q": "mri"})
    assert len(expected) > 5
    assert [row["passage_id"] for row in rows] == expected[:5]
    assert response.headers["X-Total-Count"] == str(len(expected))
    assert response.headers["X-Rows-Limit"] == "5"
    trailer = response.get_data(as_text=True).splitlines()[-1]
    assert trailer.endswith("stopped at the limit of 5 rows: narrow the search for the rest")


def test_a_whole_csv_export_says_so_in_its_last_row(client):
    response = get_ok(client, "/search.csv?q=mri")
    last = list(csv.reader(io.StringIO(response.get_data(as_text=True))))[-1]
    assert last == [CSV_TRAILER, f"{len(csv_rows(response))} rows", f"{response.headers['X-Total-Count']} matching",
                    "complete"]


def test_a_csv_export_cut_off_on_the_way_has_no_trailer():
    """The server stops mid-stream (here the rows give out with an error after 600 of 1,000): what was sent
    is whole rows, and no trailer row."""
    def failing_rows():
        for n in range(600):
            yield {column: f"{column} {n}" for column in CSV_COLUMNS} | {"passage_id": f"CM16-{n:07d}/1"}
        raise OSError("the index went away")

    received = []
    with pytest.raises(OSError):
        for chunk in _csv_lines(failing_rows(), "http://localhost/letters/{letter}/items/{ordinal}", 1000, 1000):
            received.append(chunk)
    rows = list(csv.reader(io.StringIO("".join(received))))
    assert rows and all(row[0] != CSV_TRAILER for row in rows)
    assert len(rows) - 1 == CSV_CHUNK_ROWS  # the header and the first chunk of rows made it


@pytest.fixture(scope="module")
def formula_index(tmp_path_factory) -> Path:
    return build_index([WEB_FIXTURES / "formula-posted.txt"], tmp_path_factory.mktemp("formula") / "index")


def test_fixture_letter_with_formulas_parses():
    letter = parse_letter(extract_text(WEB_FIXTURES / "formula-posted.txt").text)
    assert letter is not None
    assert [item.heading[0] for item in letter.items] == ["=", "@", "-"]


def test_csv_neutralizes_formulas(formula_index):
    client = make_app(formula_index).test_client()
    rows = csv_rows(get_ok(client, "/search.csv?sort=oldest"))
    assert len(rows) == 3
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (column, cell)
    by_item = {row["item"]: row for row in rows}
    assert by_item["1"]["heading"] == "'=HYPERLINK(\"http://evil.example/x\",\"Soma 350mg #60\")"
    assert by_item["1"]["rationale"].startswith("'=HYPERLINK(")
    assert by_item["2"]["heading"].startswith("'@SUM(1+1)")
    assert by_item["2"]["rationale"].startswith("'+cmd|")
    assert by_item["3"]["heading"].startswith("'-2+3")
    assert by_item["3"]["rationale"].startswith("'-1+1")
    assert by_item["1"]["reviewer_specialties"].startswith("'=cmd|")


# --------------------------------------------------------------------------------------------
# Refused requests and missing pages


BAD_SEARCHES = [
    ("q=*pain", "wildcard"),
    ("q=" + "pain+" * 120, "limit is 500"),
    ("q=a*", "at least 3 letters"),
    ("q=%22unclosed", "never closed"),
    ("q=" + "(" * 8 + "a" + ")" * 8, "nested"),
    ("from=2016-13-45", "from"),
    ("to=yesterday", "to"),
    ("from=2017&to=2016", "date range"),
    ("page=100000", "page"),
    ("page=501", "too deep"),
    ("page=0", "page"),
    ("per_page=1000", "per_page"),
    ("sort=best", "sort"),
    ("drug=" + "x" * 201, "characters"),
]


@pytest.mark.parametrize(("query", "said"), BAD_SEARCHES)
def test_bad_search_gets_an_error_page_with_its_reason(client, query, said):
    response = client.get("/search?" + query)
    if response.status_code == 200:
        pytest.fail(f"{query} was accepted")
    assert response.status_code == 400
    doc = page(response)
    message = error_message(doc)
    assert message
    if said:
        assert said in message.lower(), message
    assert doc.one("h1").squashed_text
    assert doc.find("a", href="/search") is not None


@pytest.mark.parametrize(("query", "said"), BAD_SEARCHES)
def test_bad_api_search_gets_a_json_error(client, query, said):
    response = client.get("/api/search?" + query)
    assert response.status_code == 400
    assert response.mimetype == "application/json"
    document = response.get_json()
    assert document["version"] == 1
    assert document["error"]["status"] == 400
    assert document["error"]["message"]


@pytest.mark.parametrize(("query", "said"), BAD_SEARCHES[:3])
def test_bad_csv_search_is_refused(client, query, said):
    assert client.get("/search.csv?" + query).status_code == 400


def test_a_page_past_the_last_is_empty_not_an_error(client):
    total = api(client, "?q=mri")["total"]
    response = client.get(f"/search?q=mri&page={total // 20 + 3}")
    assert response.status_code in (200, 404)
    if response.status_code == 200:
        assert hit_passages(page(response)) == []


MISSING_LETTERS = [
    "/letters/../../etc/passwd",
    "/letters/..%2F..%2Fetc%2Fpasswd",
    "/letters/%00",
    "/letters/CM16-0213037%00",
    "/letters/" + "CM16-0213037" * 400,
    "/letters/" + "9" * 5000,
    "/letters/CM16-9999999",
    "/letters/CM1-0213037",
    "/letters/L-000000000000",
    "/letters/L-%3Cscript%3E",
    "/letters/x",
    f"/letters/{CASE}/items/3",
    f"/letters/{CASE}/items/0",
    f"/letters/{CASE}/items/-1",
    f"/letters/{CASE}/items/x",
    f"/letters/{CASE}/items/99999999999999999999999999",
    "/letters/CM16-9999999/items/1",
    "/letters/x/original.pdf",
    "/letters/CM16-9999999/original.pdf",
    f"/letters/{CASE}/original.pdf/x",
    "/nowhere",
]


@pytest.mark.parametrize("url", MISSING_LETTERS)
def test_unknown_and_malformed_letter_urls_are_404_pages(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert error_message(page(response))


@pytest.mark.parametrize("url", ["/api/letters/CM16-9999999", "/api/letters/..%2Fetc", "/api/letters/%00",
                                 "/api/letters/" + "x" * 3000, "/api/nowhere"])
def test_unknown_api_urls_are_json_404s(client, url):
    response = client.get(url)
    assert response.status_code == 404
    assert response.mimetype == "application/json"
    assert response.get_json()["error"]["status"] == 404


@pytest.mark.parametrize(("method", "url"), [("post", "/search"), ("put", f"/letters/{CASE}"),
                                             ("delete", "/search.csv"), ("post", f"/letters/{CASE}/original.pdf")])
def test_wrong_method_is_a_405_page(client, method, url):
    response = getattr(client, method)(url)
    assert response.status_code == 405
    assert "GET" in response.headers.get("Allow", "")
    assert error_message(page(response))


def test_wrong_method_on_the_api_is_a_json_405(client):
    response = client.post("/api/search", data={"q": "mri"})
    assert response.status_code == 405
    assert response.get_json()["error"]["status"] == 405


def test_head_requests_are_answered(client):
    assert client.head("/search?q=mri").status_code == 200
    assert client.head(f"/letters/{CASE}").status_code == 200


def test_no_page_reachable_from_the_search_page_fails(real_index):
    """Follow the site's own links (breadth first, 200 pages): every one answers, none with a 500."""
    visits = crawl_site(real_index, CRAWL_STARTS, 200)
    assert len(visits) == 200
    assert [(v.url, v.status) for v in visits if v.status != 200] == []


# --------------------------------------------------------------------------------------------
# No index yet


@pytest.mark.parametrize("missing", ["empty", "absent"])
def test_no_index_is_a_503_page_with_a_message(tmp_path, missing):
    index_dir = tmp_path / "index"
    if missing == "empty":
        index_dir.mkdir()
    client = make_app(index_dir).test_client()
    for url in ("/", "/search?q=mri", f"/letters/{CASE}", "/search.csv"):
        response = client.get(url)
        assert response.status_code == 503, url
        assert "index" in error_message(page(response)).lower()
    response = client.get("/api/search?q=mri")
    assert response.status_code == 503
    assert response.get_json()["error"]["status"] == 503


def test_a_published_generation_no_engine_can_read_is_a_503_page_that_says_so(tmp_path):
    index_dir = tmp_path / "index"
    (index_dir / "gen-000001").mkdir(parents=True)
    (index_dir / "CURRENT").write_text("gen-000001\n")
    client = make_app(index_dir).test_client()
    response = client.get("/search?q=mri")
    assert response.status_code == 503
    assert "neither Whoosh nor tantivy" in error_message(page(response))
    assert client.get("/api/search?q=mri").get_json()["error"]["title"] == "The index cannot be read"
