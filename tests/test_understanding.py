"""What the search box understands (kb.understanding) and what the site does with it (kb.web.understood):
case numbers, guideline citations typed in words, misspelled names; value suggestions (kb.suggest)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from kb.guidelines import citation_label
from kb.understanding import MAX_CASE_NUMBERS, case_numbers, guess_citation, letter_typed, spelling
from tests.webutil import parse_html

# Citations an index might hold, with the decisions citing each: parts, sections, pages and page ranges
CITATIONS = tuple((citation_id, count) for citation_id, count in {
    "MTUS": 245, "MTUS/CPMTG": 124, "MTUS/CPMTG/p24": 2, "MTUS/CPMTG/p24-25": 3, "MTUS/CPMTG/p66": 4,
    "MTUS/CPMTG/s:weaning-of-medications": 9, "MTUS/CPMTG/s:muscle-relaxants": 30, "MTUS/PSTG/p24-27": 5,
    "MTUS/LBC": 58, "MTUS/LBC/s:special-studies": 24, "MTUS/NUBC": 20, "MTUS/OTG/s:3.3.9": 7, "ODG": 171,
    "ODG/low-back": 54, "ODG/pain": 40, "ODG/knee-and-leg": 12, "ACOEM": 3, "ACOEM/low-back-disorders": 2,
    "OTHER/mdguidelines": 1, "NONE": 60,
}.items())


@pytest.mark.parametrize(("typed", "expected", "rest"), [
    ("MTUS p. 24", "MTUS/CPMTG/p24", ""),  # exactly the page typed before a range holding it
    ("mtus page 66", "MTUS/CPMTG/p66", ""),
    ("Chronic Pain Guidelines page 24", "MTUS/CPMTG/p24", ""),
    ("chronic pain medical treatment guidelines pp. 24-25", "MTUS/CPMTG/p24-25", ""),
    ("cpmtg p 66", "MTUS/CPMTG/p66", ""),
    ("ODG low back", "ODG/low-back", ""),
    ("Official Disability Guidelines, Pain", "ODG/pain", ""),
    ("ODG knee & leg", "ODG/knee-and-leg", ""),
    ("ACOEM ch. 12", "MTUS/LBC", ""),  # the part, not one of its sections: its search finds them too
    ("ACOEM chapter 12 mri", "MTUS/LBC", "mri"),
    ("MTUS Chronic Pain Guidelines weaning of medications", "MTUS/CPMTG/s:weaning-of-medications", ""),
    ("MTUS opioid treatment 3.3.9", "MTUS/OTG/s:3.3.9", ""),
    ("MTUS", "MTUS", ""),
    ("ODG Tramadol", "ODG", "Tramadol"),
])
def test_a_citation_typed_in_words_is_the_citation_it_names(typed, expected, rest):
    guess = guess_citation(typed, CITATIONS)
    assert guess is not None and (guess.citation_id, guess.rest) == (expected, rest), guess
    assert guess.label == citation_label(expected)
    assert guess.query == f"guideline:{expected} {rest}".strip()


def test_other_citations_as_good_are_offered_but_not_the_sections_of_the_one_chosen():
    assert guess_citation("MTUS p. 24", CITATIONS).alternatives == ("MTUS/PSTG/p24-27", "MTUS/CPMTG/p24-25")
    assert guess_citation("ACOEM ch. 12", CITATIONS).alternatives == ()


@pytest.mark.parametrize("typed", ["low back", "mri lumbar", "guideline", "guidelines for mri", "page",
                                   "weaning of medications", "ODG p. 999", "ACOEM ch. 40", "tramadol 2016"])
def test_words_that_name_no_source_page_or_chapter_or_no_citation_held_are_not_a_citation(typed):
    assert guess_citation(typed, CITATIONS) is None


@pytest.mark.parametrize(("typed", "numbers", "rest", "query"), [
    ("CM16-0213037", ("CM16-0213037",), "", "case:CM16-0213037"),
    ("cm16 0213037", ("CM16-0213037",), "", "case:CM16-0213037"),
    ("CM160213037", ("CM16-0213037",), "", "case:CM16-0213037"),
    ("CM16–0213037 norco", ("CM16-0213037",), "norco", "case:CM16-0213037 norco"),
    ("CM16-0213037, CM16-0219557 and CM16-0213037", ("CM16-0213037", "CM16-0219557"), "and",
     "(case:CM16-0213037 OR case:CM16-0219557) and"),
    ("CM16-0213037 OR CM16-0219557", ("CM16-0213037", "CM16-0219557"), "",
     "(case:CM16-0213037 OR case:CM16-0219557)"),
])
def test_case_numbers_however_written_become_case_filters(typed, numbers, rest, query):
    cases = case_numbers(typed)
    assert (cases.numbers, cases.rest, cases.query) == (numbers, rest, query)
    assert cases.alone == (len(numbers) == 1 and not rest)


def test_case_numbers_written_as_filters_or_too_many_are_left_alone():
    assert case_numbers("case:CM16-0213037 norco") is None
    assert case_numbers('case:"CM16 0213037" norco') is None
    assert case_numbers("norco weaning") is None
    many = " ".join(f"CM16-{n:07d}" for n in range(MAX_CASE_NUMBERS + 1))
    assert case_numbers(many) is None


@pytest.mark.parametrize(("typed", "letter"), [
    ("CM16-0213037", "CM16-0213037"), (" cm16 0213037 ", "CM16-0213037"), ("L-A05B1FEA508A", "L-a05b1fea508a"),
    ("CM16-0213037 norco", None), ("L-a05b1fea508a x", None), ("norco", None),
])
def test_a_letter_alone_in_the_box(typed, letter):
    assert letter_typed(typed) == letter


def test_case_numbers_explained():
    assert case_numbers("CM16-0213037").explained() == "CM16-0213037 is a case number: showing its decisions."
    assert case_numbers("CM16-0213037 CM16-0219557 norco").explained(("CM16-0219557",)) == (
        "CM16-0213037 and CM16-0219557 are case numbers: searching their decisions for “norco”. "
        "This index has no letter CM16-0219557.")
    assert case_numbers("CM99-0000001").explained(("CM99-0000001",)) == \
        "CM99-0000001 is a case number, and this index has no letter with it."


@pytest.mark.parametrize(("typed", "corrected"), [
    ("meloxicom", "meloxicam"),
    ("duloxetin taper", "duloxetine taper"),
    ("acupunture knee", "acupuncture knee"),  # a treatment tag
    ("Chiroprctic", "chiropractic"),
])
def test_a_misspelled_name_is_corrected_from_the_drug_table_and_the_tags(typed, corrected):
    found = spelling(typed, ("Acupuncture", "Chiropractic", "Physical Medicine & Rehabilitation"))
    assert found is not None and found.query == corrected


@pytest.mark.parametrize("typed", ["carisoprodal", "norco weaning", "drug:meloxicom", "mri", "the AND"])
def test_known_names_misspellings_the_table_knows_and_fields_are_not_corrected(typed):
    assert spelling(typed, ("Acupuncture",)) is None


# --------------------------------------------------------------------------------------------
# The site: the real letters' index


def follow(client, url: str) -> tuple[list[str], object]:
    """(the redirects taken, the final response)."""
    hops = []
    response = client.get(url)
    while response.status_code in (301, 302):
        hops.append(response.headers["Location"])
        response = client.get(hops[-1])
    return hops, response


def notices(response) -> list[str]:
    return [p.squashed_text for p in parse_html(response.get_data(as_text=True)).find_all("p", "understood")]


def total(response) -> int:
    doc = parse_html(response.get_data(as_text=True))
    return int(doc.find_all("p", "total")[0].find_all("strong")[0].text.replace(",", ""))


@pytest.mark.parametrize("typed", ["CM16-0213037", "CM16 0213037", "CM160213037", "cm16-0213037"])
def test_a_case_number_alone_goes_to_its_letter(client, typed):
    hops, response = follow(client, f"/search?q={typed}")
    assert hops == ["/letters/CM16-0213037"] and response.status_code == 200


def test_case_numbers_among_words_filter_to_their_letters_and_say_so(client):
    hops, response = follow(client, "/search?q=CM16-0213037 CM16-0219557")
    query = parse_qs(urlsplit(hops[0]).query)
    assert query["q"] == ["(case:CM16-0213037 OR case:CM16-0219557)"]
    assert query["typed"] == ["CM16-0213037 CM16-0219557"]
    assert notices(response) == ["CM16-0213037 and CM16-0219557 are case numbers: showing their decisions."]
    assert total(response) == 3  # two items and one


def test_an_unknown_case_number_says_the_index_has_no_such_letter(client):
    hops, response = follow(client, "/search?q=CM99-0000001")
    assert len(hops) == 1 and total(response) == 0
    assert notices(response) == ["CM99-0000001 is a case number, and this index has no letter with it."]


def test_a_citation_in_words_finding_nothing_as_words_is_searched_as_the_citation(client, index):
    hops, response = follow(client, "/search?q=Chronic Pain Guidelines page 24")
    assert parse_qs(urlsplit(hops[0]).query)["q"] == ["guideline:MTUS/CPMTG/p24"]
    citing = index.search(index_request(q="guideline:MTUS/CPMTG/p24")).total
    assert total(response) == citing > 0
    assert notices(response)[0].startswith("No decision has the words “Chronic Pain Guidelines page 24”: "
                                           "showing the decisions citing MTUS Chronic Pain Medical Treatment "
                                           "Guidelines, p. 24")


def test_a_citation_in_words_that_find_decisions_is_offered_beside_them(client, index):
    hops, response = follow(client, "/search?q=ODG low back")
    assert hops == [] and total(response) == index.search(index_request(q="ODG low back")).total > 0
    (said,) = notices(response)
    citing = index.search(index_request(q="guideline:ODG/low-back")).total
    assert said == f"Looking for a guideline? Decisions citing ODG Low Back ({citing} decisions)"


def test_a_misspelling_the_drug_table_knows_is_read_and_said(client, index):
    hops, response = follow(client, "/search?q=carisoprodal")
    assert hops == [] and total(response) == index.search(index_request(q="carisoprodol")).total > 0
    assert notices(response) == ["Read “carisoprodal” as carisoprodol, as the drug table knows the misspelling."]


def test_a_search_finding_nothing_offers_the_spelling_that_finds_something(client, index):
    _, response = follow(client, "/search?q=acupunture")
    doc = parse_html(response.get_data(as_text=True))
    (offer,) = [p for p in doc.find_all("p", "understood") if "suggestion" in p.classes]
    (link,) = offer.find_all("a")
    assert link.squashed_text == "acupuncture"
    count = index.search(index_request(q="acupuncture")).total
    assert offer.squashed_text == f"Did you mean: acupuncture ({count} decisions)?"
    assert total(client.get(link.attrs["href"])) == count > 0


def test_a_rewritten_search_is_a_url_and_its_notice_goes_with_the_next_click(client):
    hops, response = follow(client, "/search?q=MTUS p. 24")
    again = client.get(hops[0])
    assert notices(again) == notices(response) != []
    # facet links and paging do not carry what was typed
    doc = parse_html(response.get_data(as_text=True))
    links = [a.attrs["href"] for section in doc.find_all("section", "facet") for a in section.find_all("a")]
    assert links and not any("typed=" in href for href in links)


def test_the_json_api_takes_the_query_as_written(client):
    data = client.get("/api/search?q=CM16-0213037").get_json()
    assert data["total"] == 0 and data["request"]["q"] == "CM16-0213037"


def index_request(**params):
    from kb.search_request import SearchRequest
    return SearchRequest.from_params(params)


# --------------------------------------------------------------------------------------------
# Suggestions and the precedents form


def test_suggestions_of_a_drug_include_brands_and_ingredients_most_held_first(client):
    data = client.get("/api/suggest?field=drug&q=hydro").get_json()
    values = [s["value"] for s in data["suggestions"]]
    assert "hydrocodone" in values and "hydrocodone/acetaminophen" in values
    # those the typed letters begin come first, most held first; then those with a word they begin
    starting = [s for s in data["suggestions"]
                if s["value"].casefold().startswith("hydro") or s["label"].casefold().startswith("hydro")]
    assert data["suggestions"][:len(starting)] == starting
    counts = [s["count"] for s in starting]
    assert counts == sorted(counts, reverse=True)
    norco = client.get("/api/suggest?field=drug&q=norc").get_json()["suggestions"]
    assert norco[0]["value"] == "Norco" and norco[0]["label"] == "Norco (hydrocodone/acetaminophen)"


def test_suggestions_of_a_guideline_match_a_word_of_its_label(client):
    found = client.get("/api/suggest?field=guideline&q=low back").get_json()["suggestions"]
    assert {"MTUS/LBC", "ODG/low-back"} <= {s["value"] for s in found}


@pytest.mark.parametrize("query", ["field=nope&q=x", "q=x", "field=drug&limit=many"])
def test_a_bad_suggestion_request_is_a_400_saying_why(client, query):
    response = client.get("/api/suggest?" + query)
    assert response.status_code == 400 and response.get_json()["error"]["message"]


def test_the_precedents_form_lists_the_index_values_without_javascript(client):
    doc = parse_html(client.get("/precedents?drug=carisoprodol").get_data(as_text=True))
    for name in ("drug", "treatment", "guideline"):
        (field,) = [i for i in doc.find_all("input") if i.attrs.get("name") == name]
        (options,) = [d for d in doc.find_all("datalist") if d.attrs.get("id") == field.attrs["list"]]
        assert options.find_all("option")
    drug_options = [o.attrs["value"] for o in [d for d in doc.find_all("datalist")
                                                if d.attrs.get("id") == "suggest-drug"][0].find_all("option")]
    assert "carisoprodol" in drug_options and "Norco" in drug_options


def test_precedents_for_a_guideline_in_words_go_to_the_citation(client):
    hops, response = follow(client, "/precedents?guideline=MTUS p. 24&decision=Upheld")
    assert parse_qs(urlsplit(hops[0]).query) == {"guideline": ["MTUS/CPMTG/p24"], "decision": ["Upheld"]}
    assert "MTUS Chronic Pain Medical Treatment Guidelines, p. 24" in \
        parse_html(response.get_data(as_text=True)).find_all("h1")[0].squashed_text


def test_precedents_finding_nothing_offer_the_spelling_that_does(client):
    doc = parse_html(client.get("/precedents?treatment=acupunture").get_data(as_text=True))
    (empty,) = doc.find_all("p", "no-results")
    assert "Did you mean acupuncture?" in empty.squashed_text
    link = [a for a in empty.find_all("a") if a.squashed_text == "acupuncture"][0]
    assert "acupuncture" in parse_html(client.get(link.attrs["href"]).get_data(as_text=True)).find_all("h1")[0]\
        .squashed_text.casefold()
