"""Cite-check: kb.citecheck's pieces on hand-made text, then a brief checked against the real index.

The brief holds real case numbers (from ../shared/letters/index.csv) written in several ways, unknown
ones, real quotations taken from a stored letter record (SearchIndex.letter), one with an ellipsis, one
with a [bracketed] alteration, and an invented one. The JSON API (JSON body, form body, text/plain) and the
HTML page must resolve each case number and confirm or flag each quotation; which passages hold a quotation
is checked against a plain scan of every indexed rationale.
"""

from __future__ import annotations

import csv
import re
import time
from datetime import datetime
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

from kb.citecheck import (
    MAX_BRIEF_CHARS,
    MIN_QUOTE_WORDS,
    CiteCheckError,
    Quote,
    case_mentions,
    check_brief,
    contains,
    normalize,
    quotations,
)
from kb.documents import letter_id_of
from kb.letters import parse_letter

CASE = "CM16-0213037"

# --------------------------------------------------------------------------------------------
# case_mentions


@pytest.mark.parametrize("written", [
    "CM16-0213037",
    "CM16 0213037",
    "CM160213037",
    "cm16-0213037",
    "Cm16-0213037",
    "CM16\u20130213037",  # en dash
    "CM16\u20140213037",  # em dash
    "CM16\u20100213037",  # hyphen
    "CM16\u20110213037",  # non-breaking hyphen
    "CM 16-0213037",
    "CM16 - 0213037",
])
def test_a_case_number_is_found_however_it_is_written(written):
    text = f"See Case No. {written}, item 2."
    mentions = case_mentions(text)
    assert [(m.case_number, m.written) for m in mentions] == [(CASE, written)]
    assert text[mentions[0].start : mentions[0].end] == written


def test_case_numbers_are_found_in_order_and_each_time():
    text = "CM16-0213037 and CM17-0020728; again cm16 0213037."
    assert [m.case_number for m in case_mentions(text)] == [CASE, "CM17-0020728", CASE]


@pytest.mark.parametrize("text", [
    "CM16-02130371",  # eight digits: a longer number
    "CM16-0213037123",
    "9CM16-0213037",  # digits before it
    "XCM16-0213037",  # inside a word
    "ABCM16 0213037",
    "CM16-021303",  # six digits
    "CM1-0213037",
    "CM16--0213037",
    "CM16-0213 037",
    "",
])
def test_no_case_number_inside_longer_digit_runs_or_words(text):
    assert case_mentions(text) == []


def test_a_case_number_at_the_very_start_and_end_of_the_text():
    assert [m.start for m in case_mentions("CM16-0213037")] == [0]
    assert [m.end for m in case_mentions("(CM16-0213037)")] == [13]


# --------------------------------------------------------------------------------------------
# quotations


def test_a_quotation_in_straight_quotes():
    text = 'The reviewer wrote "the request is not medically necessary at all" here.'
    [quote] = quotations(text)
    assert quote.text == "the request is not medically necessary at all"
    assert text[quote.start : quote.end] == '"the request is not medically necessary at all"'
    assert quote.fragments == ["the request is not medically necessary at all"]


def test_a_quotation_in_curly_quotes():
    text = "The reviewer wrote \u201cthe request is not medically necessary at all\u201d here."
    [quote] = quotations(text)
    assert quote.text == "the request is not medically necessary at all"
    assert text[quote.start] == "\u201c" and text[quote.end - 1] == "\u201d"


def test_a_quotation_s_spacing_is_squashed():
    [quote] = quotations('"the request\n  is not   medically\tnecessary now"')
    assert quote.text == "the request is not medically necessary now"


def test_quotations_shorter_than_the_minimum_are_ignored():
    short = " ".join(["word"] * (MIN_QUOTE_WORDS - 1))
    long = " ".join(["word"] * MIN_QUOTE_WORDS)
    assert quotations(f'"{short}"') == []
    assert [q.text for q in quotations(f'"{long}"')] == [long]


def test_several_quotations_in_order():
    text = 'First "one two three four five six" then \u201cseven eight nine ten eleven twelve\u201d.'
    assert [q.text for q in quotations(text)] == ["one two three four five six", "seven eight nine ten eleven twelve"]


@pytest.mark.parametrize("ellipsis", ["...", ". . .", "\u2026", " ... ", "...."])
def test_an_ellipsis_splits_a_quotation_into_fragments(ellipsis):
    [quote] = quotations(f'"there is no documentation of{ellipsis}any kind of surgical intervention"')
    assert quote.fragments == ["there is no documentation of", "any kind of surgical intervention"]


def test_an_ellipsis_at_the_edges_leaves_no_empty_fragment():
    [quote] = quotations('"... the request is for an MRI of the cervical spine ..."')
    assert quote.fragments == ["the request is for an mri of the cervical spine"]


def test_bracketed_alterations_keep_their_words():
    [quote] = quotations('"[t]herefore the request for [an MRI] is determined to be not medically necessary"')
    assert quote.fragments == ["therefore the request for an mri is determined to be not medically necessary"]


# --------------------------------------------------------------------------------------------
# normalize and contains


@pytest.mark.parametrize("raw, normalized", [
    ("The  Request\nIS", "the request is"),
    ("claimant\u2019s", "claimant's"),
    ("\u2018quoted\u2019 word", "quoted' word"),
    ("x-ray \u2013 y\u2014z", "x-ray - y-z"),
    ("[t]herefore", "therefore"),
    ("  necessary.  ", "necessary"),
    ('"a phrase";', "a phrase"),
    ("", ""),
])
def test_normalize(raw, normalized):
    assert normalize(raw) == normalized


def quote(*fragments: str) -> Quote:
    return Quote(" ... ".join(fragments), 0, 0, [normalize(f) for f in fragments])


RATIONALE = ("In this case, the request is for an MRI of\nthe cervical spine. However there is no documentation of "
             "the claimant\u2019s willingness to consider or\ncontemplate any kind of surgical intervention.")


def test_contains_ignores_case_spacing_and_apostrophe_style():
    assert contains(RATIONALE, quote("THE REQUEST is for an MRI of the cervical spine"))
    assert contains(RATIONALE, quote("the claimant's willingness to consider or contemplate"))


def test_contains_finds_fragments_in_order():
    assert contains(RATIONALE, quote("the request is for an MRI", "any kind of surgical intervention"))


def test_contains_refuses_fragments_out_of_order():
    assert not contains(RATIONALE, quote("any kind of surgical intervention", "the request is for an MRI"))


def test_contains_refuses_a_changed_word():
    assert not contains(RATIONALE, quote("the request is for an MRI of the lumbar spine"))


def test_contains_matches_whole_words_only():
    """A quotation that starts or ends inside a word says something else ("equivocal", "medical")."""
    assert not contains(RATIONALE, quote("he request is for an MRI of the cervical spine"))
    assert not contains(RATIONALE, quote("the request is for an MRI of the cervical sp"))


# --------------------------------------------------------------------------------------------
# check_brief without an index


class NoIndex:
    def letter(self, letter_id):
        return None

    def quote_candidates(self, fragments):
        return []


@pytest.mark.parametrize("text", ["", "   \n\t "])
def test_an_empty_brief_is_refused(text):
    with pytest.raises(CiteCheckError, match="paste the text"):
        check_brief(text, NoIndex())


def test_an_overlong_brief_is_refused():
    with pytest.raises(CiteCheckError, match="limit"):
        check_brief("x" * (MAX_BRIEF_CHARS + 1), NoIndex())


def test_a_brief_at_the_limit_is_checked():
    report = check_brief("CM16-0213037 " + "x" * (MAX_BRIEF_CHARS - 13), NoIndex())
    assert report["summary"]["case_numbers"] == 1


# --------------------------------------------------------------------------------------------
# Linear time: a brief is scanned once, whatever it holds (measured as CPU time of this process, in
# ratios of two measurements taken side by side, never against a clock limit)

HOSTILE_BRIEFS = {
    "a case number's start, then spaces": lambda n: "CM12" + " " * (n - 4),
    "a case number's digits, a dash, then spaces": lambda n: repeated("CM12-" + " " * 60, n),
    "typographic opening quotes": lambda n: "\u201c" * n,
    "opening quotes before long unquoted text": lambda n: repeated("\u201c" + "word " * 200, n),
    "straight quotes around too little": lambda n: repeated('"' + "x" * 8, n),
    "spaces around would-be ellipses in quotations": lambda n: repeated('"six words to be checked here'
                                                                        + " " * 3000 + '. . x"', n),
}
ORDINARY_BRIEF = ('The reviewer in CM16-0213037 wrote that "the request is not medically necessary for this patient" '
                  "and the claims administrator cited the MTUS guidelines at page 24. ")


def repeated(unit: str, length: int) -> str:
    return (unit * (length // len(unit) + 1))[:length]


def scan(text: str) -> None:
    case_mentions(text)
    quotations(text)


def cpu_seconds(text: str, repeat: int) -> float:
    """The least CPU time of three runs of `repeat` scans of `text`."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for _ in range(repeat):
            scan(text)
        best = min(best, time.process_time() - started)
    return best


def repeats_for(text: str, at_least: float = 0.02) -> int:
    """How many scans of `text` take `at_least` seconds of CPU time: enough for a ratio above timer noise."""
    repeat = 1
    while cpu_seconds(text, repeat) < at_least and repeat < 4096:
        repeat *= 4
    return repeat


@pytest.mark.parametrize("make", list(HOSTILE_BRIEFS.values()), ids=list(HOSTILE_BRIEFS))
def test_a_hostile_brief_is_scanned_in_linear_time(make):
    # eight times the text: eight times the work (24 allows for noise; a quadratic scan gives 64). An eighth
    # of the longest brief: a quadratic scan of the whole would run for minutes.
    small, large = make(MAX_BRIEF_CHARS // 64), make(MAX_BRIEF_CHARS // 8)
    repeat = repeats_for(small)
    assert cpu_seconds(large, repeat) < 24 * cpu_seconds(small, repeat)


@pytest.mark.parametrize("make", list(HOSTILE_BRIEFS.values()), ids=list(HOSTILE_BRIEFS))
def test_a_hostile_brief_costs_about_what_an_ordinary_brief_of_its_length_costs(make):
    # a pattern that tries thousands of characters at every opening quote is linear, but 100 times too slow
    hostile = make(MAX_BRIEF_CHARS // 8)
    ordinary = repeated(ORDINARY_BRIEF, len(hostile))
    repeat = repeats_for(hostile)  # (not the ordinary brief's: a slow scan repeated would run for minutes)
    assert cpu_seconds(hostile, repeat) < 10 * cpu_seconds(ordinary, repeat)


# --------------------------------------------------------------------------------------------
# A brief against the real index


@pytest.fixture(scope="module")
def letters_csv(letters_dir) -> dict[str, dict]:
    with open(letters_dir / "index.csv", newline="", encoding="utf-8") as f:
        return {row["case_number"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def rationales(index, letters_csv, seeds_dir) -> dict[str, str]:
    """passage id -> rationale, for every indexed letter (index.csv's case numbers and the seeds)."""
    letter_ids = list(letters_csv) + [letter_id_of(parse_letter(p.read_text(encoding="utf-8")))
                                      for p in sorted(seeds_dir.glob("*.txt"))]
    found = {}
    for letter_id in letter_ids:
        record = index.letter(letter_id)
        assert record is not None, letter_id
        for item in record["items"]:
            found[f"{letter_id}/{item['ordinal']}"] = item["rationale"]
    assert len(found) == 307
    return found


def holding(rationales: dict[str, str], *fragments: str) -> list[str]:
    """Passages whose rationale has the fragments' words, in order, as whole words (a plain scan)."""
    def words(text: str) -> str:
        text = text.replace("\u2019", "'").replace("[", "").replace("]", "")
        return " " + " ".join(re.findall(r"\w[\w'/-]*(?:\.\w+)*", text.casefold())) + " "

    found = []
    for pid, rationale in rationales.items():
        haystack, position = words(rationale), 0
        for fragment in fragments:
            at = haystack.find(words(fragment), position)
            if at < 0:
                break
            position = at + len(words(fragment)) - 1
        else:
            found.append(pid)
    return sorted(found)


def sentence_with(rationale: str, marker: str) -> str:
    """The sentence of a rationale that holds `marker`, its spacing squashed, without its full stop."""
    squashed = " ".join(rationale.split())
    return next(s for s in re.split(r"(?<=\.)\s+", squashed) if marker in s).rstrip(".")


@pytest.fixture(scope="module")
def brief(index, letters_csv):
    """The brief's text and what each of its citations should come to."""
    record = index.letter(CASE)
    rationale = record["items"][1]["rationale"]  # item 2: MRI of the cervical spine
    real = sentence_with(rationale, "pain generator")
    documentation = sentence_with(rationale, "willingness").split()
    ellipsis_fragments = (" ".join(documentation[:8]), " ".join(documentation[-8:]))
    therefore = sentence_with(rationale, "Therefore")
    assert therefore.startswith("Therefore ")
    bracketed = "[t]" + therefore[1:]
    invented = "the reviewer found that unicorn therapy is medically necessary for every injured worker"
    unknown_near = next(f"CM16-{n:07d}" for n in range(213038, 213100) if f"CM16-{n:07d}" not in letters_csv)
    assert "CM99-0000001" not in letters_csv
    variants = {
        "CM16-0213037": "CM16-0213037",
        "cm16 0219557": "CM16-0219557",
        "CM160224814": "CM16-0224814",
        "CM16\u20130228949": "CM16-0228949",
        "CM99-0000001": "CM99-0000001",
        unknown_near: unknown_near,
        "CM16-0213037 ": "CM16-0213037",  # cited a second time
    }
    for case_number in ("CM16-0219557", "CM16-0224814", "CM16-0228949"):
        assert case_number in letters_csv
    written = list(variants)
    text = (
        f"Petitioner relies on the determination in {written[0]} (Dec. 9, 2016), on {written[1]}, on {written[2]} "
        f"and on {written[3]}. Respondent cites {written[4]} and {written[5]}, which we cannot find. Docket "
        f"number CM16-02130379 is not an IMR case number.\n\n"
        f'The reviewer wrote in {written[6].strip()} that "{real}." He added \u201c{ellipsis_fragments[0]} . . . '
        f'{ellipsis_fragments[1]}\u201d and that "{bracketed}." The reviewer never said "{invented}". '
        f'A "short quote of five words" is not checked.\n'
    )
    return {
        "text": text,
        "cases": [(w.strip(), c) for w, c in variants.items()],
        "unknown": {"CM99-0000001", unknown_near},
        "quotes": [  # (as written between the quote marks, the words a rationale must hold)
            (f"{real}.", (real,)),
            (f"{ellipsis_fragments[0]} . . . {ellipsis_fragments[1]}", ellipsis_fragments),
            (f"{bracketed}.", (therefore,)),
            (invented, (invented,)),
        ],
    }


TRANSPORTS = {
    "json": lambda text: {"json": {"text": text}},
    "form": lambda text: {"data": {"text": text}},
    "text/plain": lambda text: {"data": text.encode("utf-8"), "content_type": "text/plain; charset=utf-8"},
}


@pytest.fixture(scope="module", params=list(TRANSPORTS))
def report(request, app, brief) -> dict:
    response = app.test_client().post("/api/cite-check", **TRANSPORTS[request.param](brief["text"]))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()


def test_the_report_has_a_version(report):
    assert report["version"] == 1


def test_every_case_number_is_listed_as_written_and_canonical(report, brief):
    assert [(c["written"].strip(), c["case_number"]) for c in report["case_numbers"]] == brief["cases"]


def test_case_number_positions_point_into_the_brief(report, brief):
    for case in report["case_numbers"]:
        assert brief["text"][case["start"] :].startswith(case["written"])


def test_indexed_case_numbers_are_found(report, brief):
    found = {c["case_number"]: c["found"] for c in report["case_numbers"]}
    assert found == {case_number: case_number not in brief["unknown"] for _, case_number in brief["cases"]}


def test_a_found_case_lists_its_items_and_date(report, letters_csv):
    for case in report["case_numbers"]:
        if not case["found"]:
            continue
        row = letters_csv[case["case_number"]]
        expected = [tuple(part.rsplit(" => ", 1)) for part in row["items"].split(" || ")]
        assert [(" ".join(i["heading"].split()), i["decision"]) for i in case["items"]] == \
            [(" ".join(h.split()), d) for h, d in expected]
        assert [i["ordinal"] for i in case["items"]] == list(range(1, int(row["n_items"]) + 1))
        assert case["decision_date"] == datetime.strptime(row["decision_date"], "%m/%d/%Y").date().isoformat()


def test_an_unknown_case_is_flagged_without_items(report, brief):
    unknown = [c for c in report["case_numbers"] if c["case_number"] in brief["unknown"]]
    assert len(unknown) == 2
    assert all(not c["found"] and c["items"] == [] and "url" not in c and c["decision_date"] is None
               for c in unknown)


def test_the_summary_counts(report, brief):
    assert report["summary"] == {
        "case_numbers": 7, "case_numbers_found": 5, "letters": 6, "letters_not_found": 2,
        "quotations": 4, "quotations_found": 3,
    }


def test_quotations_are_listed_in_order_without_the_short_one(report, brief):
    assert [q["text"] for q in report["quotations"]] == [" ".join(text.split()) for text, _ in brief["quotes"]]


def test_each_quotation_is_confirmed_in_exactly_the_passages_holding_it(report, brief, rationales):
    for quoted, (_, fragments) in zip(report["quotations"], brief["quotes"]):
        expected = holding(rationales, *fragments)
        assert sorted(p["passage_id"] for p in quoted["passages"]) == expected, quoted["text"]
        assert quoted["found"] == bool(expected)


def test_the_real_quotations_are_from_the_letter_they_were_taken_from(report):
    for quoted in report["quotations"][:3]:
        assert f"{CASE}/2" in [p["passage_id"] for p in quoted["passages"]], quoted["text"]


def test_the_invented_quotation_is_flagged(report):
    invented = report["quotations"][3]
    assert invented["found"] is False and invented["passages"] == []


def test_quotation_positions_point_at_their_opening_quote(report, brief):
    for quoted in report["quotations"]:
        assert brief["text"][quoted["start"]] in "\"\u201c"


def test_report_urls_are_absolute_and_resolve(report, client):
    urls = [c["url"] for c in report["case_numbers"] if c["found"]]
    urls += [i["url"] for c in report["case_numbers"] for i in c["items"]]
    urls += [p["url"] for q in report["quotations"] for p in q["passages"]]
    assert urls
    for url in dict.fromkeys(urls):
        parts = urlsplit(url)
        assert parts.scheme == "http" and parts.netloc == "localhost", url
        assert client.get(parts.path, follow_redirects=True).status_code == 200, url


def test_found_case_urls_are_their_letter_pages(report):
    for case in report["case_numbers"]:
        if case["found"]:
            assert case["url"] == f"http://localhost/letters/{case['case_number']}"
            assert [i["url"] for i in case["items"]] == [f"{case['url']}/items/{i['ordinal']}" for i in case["items"]]


def test_every_transport_gives_the_same_report(app, brief):
    reports = [app.test_client().post("/api/cite-check", **make(brief["text"])).get_json()
               for make in TRANSPORTS.values()]
    assert reports[0] == reports[1] == reports[2]


def test_a_quotation_starting_inside_a_word_is_not_confirmed(client, index):
    """'equivocal objective findings ...' misquotes 'unequivocal objective findings ...'."""
    rationale = index.letter(CASE)["items"][1]["rationale"]
    real = sentence_with(rationale, "unequivocal")
    misquote = real[real.index("unequivocal") + 2 :]
    assert misquote.startswith("equivocal")
    report = client.post("/api/cite-check", json={"text": f'It said "{misquote}".'}).get_json()
    assert report["quotations"][0]["found"] is False


def test_a_long_quotation_ending_inside_a_word_is_not_confirmed(client, index):
    """'... determined to be not medical' misquotes '... determined to be not medically necessary', also
    past the words the index is asked for."""
    rationale = " ".join(index.letter(CASE)["items"][1]["rationale"].split())
    start = rationale.index("There is no evidence of specific nerve compromise")
    end = rationale.index("not medically necessary") + len("not medical")
    misquote = rationale[start:end]
    assert len(misquote.split()) > 30
    report = client.post("/api/cite-check", json={"text": f'It said "{misquote}".'}).get_json()
    assert report["quotations"][0]["found"] is False


# --------------------------------------------------------------------------------------------
# The HTML page


class _Items(HTMLParser):
    """The cite-check page's result list items: (class, text) in order."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.items: list[list] = []
        self.depth = 0  # depth inside the current result <li>
        self.error = ""
        self._in_error = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "li" and self.depth == 0 and attrs.get("class") in ("found", "not-found"):
            self.items.append([attrs["class"], ""])
            self.depth = 1
        elif tag == "li" and self.depth:
            self.depth += 1
        if tag == "p" and attrs.get("class") == "error-message":
            self._in_error = True

    def handle_endtag(self, tag):
        if tag == "li" and self.depth:
            self.depth -= 1
        if tag == "p":
            self._in_error = False

    def handle_data(self, data):
        if self.depth:
            self.items[-1][1] += data
        if self._in_error:
            self.error += data


def page_items(html: str) -> _Items:
    parser = _Items()
    parser.feed(html)
    parser.close()
    for item in parser.items:
        item[1] = " ".join(item[1].split())
    return parser


@pytest.fixture(scope="module")
def html_items(app, brief) -> list[list]:
    response = app.test_client().post("/cite-check", data={"text": brief["text"]})
    assert response.status_code == 200
    return page_items(response.get_data(as_text=True)).items


def test_the_page_shows_each_case_number_found_or_not(html_items, brief):
    cases = html_items[: len(brief["cases"])]
    for (cls, text), (written, case_number) in zip(cases, brief["cases"]):
        if case_number in brief["unknown"]:
            assert cls == "not-found" and text.startswith(f"Not in the index {case_number}"), text
        else:
            assert cls == "found" and text.startswith(f"Found {case_number}"), text
        if written != case_number:
            assert f"(written \u201c{written}\u201d)" in text, text


def test_the_page_confirms_or_flags_each_quotation(html_items, brief):
    quotes = html_items[len(brief["cases"]) :]
    assert [cls for cls, _ in quotes] == ["found", "found", "found", "not-found"]
    for (cls, text), (quoted, _) in zip(quotes, brief["quotes"]):
        assert text.startswith("Confirmed" if cls == "found" else "Not found in any indexed rationale"), text
        assert " ".join(quoted.split()) in text


def test_the_page_keeps_the_brief_in_the_form(app, brief):
    html = app.test_client().post("/cite-check", data={"text": brief["text"]}).get_data(as_text=True)
    assert "A &#34;short quote of five words&#34; is not checked." in html or \
        "A &quot;short quote of five words&quot; is not checked." in html


def test_the_empty_form_is_a_page(client):
    response = client.get("/cite-check")
    assert response.status_code == 200
    assert page_items(response.get_data(as_text=True)).items == []


# --------------------------------------------------------------------------------------------
# Limits


@pytest.mark.parametrize("transport", list(TRANSPORTS))
@pytest.mark.parametrize("text, said", [("", "paste the text"), ("  \n ", "paste the text"),
                                        ("x" * (MAX_BRIEF_CHARS + 1), "the limit is")])
def test_api_refuses_empty_and_overlong_briefs_with_a_message(client, transport, text, said):
    response = client.post("/api/cite-check", **TRANSPORTS[transport](text))
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["status"] == 400 and said in error["message"]


@pytest.mark.parametrize("body", [{}, {"text": 5}, ["text"], {"brief": "CM16-0213037"}])
def test_api_refuses_json_without_a_text(client, body):
    response = client.post("/api/cite-check", json=body)
    assert response.status_code == 400
    assert '{"text":' in response.get_json()["error"]["message"]


@pytest.mark.parametrize("text, said", [("", "paste the text"), ("x" * (MAX_BRIEF_CHARS + 1), "the limit is")])
def test_page_refuses_empty_and_overlong_briefs_with_a_message(client, text, said):
    response = client.post("/cite-check", data={"text": text})
    assert response.status_code == 400
    assert said in page_items(response.get_data(as_text=True)).error


def test_api_answers_only_post(client):
    response = client.get("/api/cite-check")
    assert response.status_code == 405
    assert response.get_json()["error"]["status"] == 405
    assert "POST" in response.headers.get("Allow", "")
