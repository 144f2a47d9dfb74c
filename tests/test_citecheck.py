"""Cite-check: kb.citecheck's pieces on hand-made text, then a brief checked against the real index.

The brief holds real case numbers (from ../shared/letters/index.csv) written in several ways, unknown
ones, real quotations taken from a stored letter record (SearchIndex.letter), one with an ellipsis, one
with a [bracketed] alteration, and an invented one. The JSON API (JSON body, form body, text/plain) and the
HTML page must resolve each case number and confirm or flag each quotation; which passages hold a quotation
is checked against a plain scan of every indexed rationale.

Attribution: which case a quotation is cited to follows kb/data/citecheck.json (its examples are checked
here); briefs built from real rationales cite a quotation of CM16-0219557 to CM16-0213037 (flagged, naming
CM16-0219557), to its own case (confirmed), to the wrong item, to an unknown case and to none; a case cited
three times is one group with three places; every offset points at its text in the brief.
"""

from __future__ import annotations

import csv
import re
import time
from datetime import datetime
from urllib.parse import urlsplit

import pytest

from kb.citecheck import (
    DATA,
    MAX_BRIEF_CHARS,
    MIN_QUOTE_WORDS,
    STATUSES,
    CiteCheckError,
    Quote,
    attribute,
    case_mentions,
    check_brief,
    contains,
    normalize,
    quotations,
    sentence_starts,
)
from kb.documents import letter_id_of
from kb.letters import parse_letter
from tests.webutil import parse_html

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


@pytest.mark.parametrize("after, items", [
    (", item 2.", (2,)),
    (" item 2", (2,)),
    (" (Item 2)", (2,)),
    (", at item 3", (3,)),
    (", items 1 and 3", (1, 3)),
    (", items 1, 2 & 4", (1, 2, 4)),
    (" items 2-4", (2, 3, 4)),
    (" items 2\u20134", (2, 3, 4)),
    (" items 2 through 4", (2, 3, 4)),
    (", Item No. 2", (2,)),
    (", item #2", (2,)),
    (", item 2, 2016", (2,)),  # a year is not an item
    (" (Dec. 9, 2016)", ()),
    (", itemized", ()),
    ("\nitem 2", ()),  # the next line is something else
    ("", ()),
])
def test_the_items_cited_after_a_case_number(after, items):
    [mention] = case_mentions(f"See CM16-0213037{after}")
    assert mention.items == items


def test_an_endless_list_of_items_is_cut_short():
    [mention] = case_mentions("CM16-0213037, items " + "1-51, " * 10_000)
    assert mention.items == tuple(range(1, 52))


# --------------------------------------------------------------------------------------------
# Sentences and attribution (the rule and its examples: kb/data/citecheck.json)


def sentences(text: str) -> list[str]:
    starts = sentence_starts(text) + [len(text)]
    return [text[a:b].strip() for a, b in zip(starts, starts[1:])]


@pytest.mark.parametrize("text, expected", [
    ("One here. Two there.", ["One here.", "Two there."]),
    ("Is it? Yes! No.", ["Is it?", "Yes!", "No."]),
    ('He said "it is." Then left.', ['He said "it is."', "Then left."]),
    ("He said \u201cit is.\u201d \u201cThen\u201d left.", ["He said \u201cit is.\u201d", "\u201cThen\u201d left."]),
    ("Case No. CM16-0213037 (Dec. 9, 2016) at p. 2 by Dr. J. Smith, e.g. here.",
     ["Case No. CM16-0213037 (Dec. 9, 2016) at p. 2 by Dr. J. Smith, e.g. here."]),
    ("Cal. DWC IMR Final Determination, Case No. CM16-0213037. Next one.",
     ["Cal. DWC IMR Final Determination, Case No. CM16-0213037.", "Next one."]),
    ("A heading\n\nA paragraph. (A parenthesis.) 2016 was a year.",
     ["A heading", "A paragraph.", "(A parenthesis.)", "2016 was a year."]),
    ("lower. case does not start one; 7.5 mg neither.", ["lower. case does not start one; 7.5 mg neither."]),
    ("Windows\r\n\r\nline ends.", ["Windows", "line ends."]),
])
def test_sentence_starts(text, expected):
    assert sentences(text) == expected


def attributed(text: str) -> list[list]:
    mentions = case_mentions(text)
    return [[mentions[a.mention].case_number if a.mention is not None else None, a.basis]
            for a in attribute(text, mentions, quotations(text))]


@pytest.mark.parametrize("example", DATA["examples"], ids=[str(n) for n in range(1, len(DATA["examples"]) + 1)])
def test_attribution_examples(example):
    assert attributed(example["brief"]) == example["attributed"]


def test_attribution_stays_near_the_quotation():
    """A case cited 2,000 characters earlier in an unbroken paragraph is not the quotation's source."""
    filler = "and the records were reviewed " * 70
    assert attributed(f"In CM16-0213037 {filler}. The reviewer wrote \"the request is not medically necessary here.\"") \
        == [[None, None]]
    assert attributed(f"In CM16-0213037 the MRI was denied. {filler[:900]}. The reviewer wrote \"the request is not "
                      "medically necessary here.\"") == [["CM16-0213037", "paragraph"]]


def test_a_case_number_inside_a_quotation_is_listed_but_attributes_nothing():
    text = 'CM16-0219557 said "the reviewer of CM16-0213037 found it not medically necessary."'
    assert [m.case_number for m in case_mentions(text)] == ["CM16-0219557", "CM16-0213037"]
    assert attributed(text) == [["CM16-0219557", "sentence"]]


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
    "a full stop before spaces": lambda n: "It ends." + " " * (n - 8),
    "full stops and spaces": lambda n: repeated(". ", n),
    "abbreviations": lambda n: repeated("No. ", n),
    "blank lines": lambda n: repeated("\n \n", n),
    "a case number and a list of items": lambda n: "CM16-0213037, items " + repeated("1, ", n - 20),
    "case numbers and quotations": lambda n: repeated('CM16-0213037 "one two three four five six" cm16 0219557. ', n),
}
ORDINARY_BRIEF = ('The reviewer in CM16-0213037 wrote that "the request is not medically necessary for this patient" '
                  "and the claims administrator cited the MTUS guidelines at page 24. ")


def repeated(unit: str, length: int) -> str:
    return (unit * (length // len(unit) + 1))[:length]


def scan(text: str) -> None:
    attribute(text, case_mentions(text), quotations(text))


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
        "attribution": {"confirmed": 3, "other_item": 0, "other_decision": 0, "case_not_indexed": 0,
                        "not_found": 1, "unattributed": 0},
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
    assert invented["attribution"]["status"] == "not_found"
    assert invented["attribution"]["message"] == f"Not in {CASE}, nor in any other indexed decision"


def test_the_brief_s_quotations_are_cited_to_the_case_named_before_them(report, brief):
    """"The reviewer wrote in CM16-0213037 that "..."": the first in its sentence, the others in its paragraph."""
    cited = [(q["attribution"]["case_number"], q["attribution"]["basis"], q["attribution"]["status"])
             for q in report["quotations"]]
    assert cited == [(CASE, "sentence", "confirmed"), (CASE, "paragraph", "confirmed"),
                     (CASE, "paragraph", "confirmed"), (CASE, "paragraph", "not_found")]
    mention = report["case_numbers"][report["quotations"][0]["attribution"]["mention"] - 1]
    assert mention["number"] == 7 and mention["case_number"] == CASE


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


def shown_brief(element) -> str:
    """The text of the page's echoed brief, without the Q1 / C1 labels of its marks."""
    parts = []
    for child in element.children:
        if isinstance(child, str):
            parts.append(child)
        elif "mark-label" not in child.classes:
            parts.append(shown_brief(child))
    return "".join(parts)


def cite_page(app, text: str):
    response = app.test_client().post("/cite-check", data={"text": text})
    assert response.status_code == 200, response.get_data(as_text=True)
    return parse_html(response.get_data(as_text=True))


@pytest.fixture(scope="module")
def brief_page(app, brief):
    return cite_page(app, brief["text"])


def test_the_page_groups_each_case_number_with_its_places(brief_page, brief):
    groups = [li for li in brief_page.one("ol", "case-results").children if not isinstance(li, str)]
    expected = list(dict.fromkeys(case_number for _, case_number in brief["cases"]))
    assert [li.get("id") for li in groups] == [f"case-{c}" for c in expected]
    for li in groups:
        case_number = li.get("id").removeprefix("case-")
        head = li.one("p", "result-head").squashed_text
        if case_number in brief["unknown"]:
            assert "not-found" in li.classes and head.startswith(f"Not in the index {case_number}"), head
        else:
            assert "found" in li.classes and head.startswith(f"Found {case_number}"), head
        cited = sum(1 for _, c in brief["cases"] if c == case_number)
        assert len(li.one("ul", "places").find_all("li")) == cited
        assert head.endswith(f"cited {cited} time{'s' if cited > 1 else ''}"), head


def test_the_page_confirms_or_flags_each_quotation(brief_page, brief):
    results = [li for li in brief_page.one("ol", "quote-results").children if not isinstance(li, str)]
    assert [li.get("id") for li in results] == ["result-q1", "result-q2", "result-q3", "result-q4"]
    assert [li.one("span", "status").text for li in results] == ["Confirmed", "Confirmed", "Confirmed", "Not found"]
    for li, (quoted, _) in zip(results, brief["quotes"]):
        assert li.one("blockquote").squashed_text == " ".join(quoted.split())


def test_the_page_echoes_the_brief_exactly_with_its_marks(brief_page, brief):
    shown = brief_page.one("div", "brief-text")
    assert shown_brief(shown) == brief["text"]
    marks = {mark.get("id"): mark for mark in shown.find_all("mark")}
    assert sorted(marks) == sorted([f"c{n}" for n in range(1, 8)] + [f"q{n}" for n in range(1, 5)])


def test_every_place_link_leads_to_its_mark_and_every_mark_back_to_its_result(brief_page):
    ids = {element.get("id") for element in brief_page.iter() if element.get("id")}
    results = brief_page.one("ol", "quote-results").find_all("a") + brief_page.one("ol", "case-results").find_all("a")
    anchors = [a.get("href") for a in results if a.get("href", "").startswith("#")]
    assert anchors and all(href[1:] in ids for href in anchors), anchors
    labels = brief_page.one("div", "brief-text").find_all("a", "mark-label")
    assert len(labels) == 11 and all(a.get("href")[1:] in ids for a in labels)


def test_the_page_keeps_the_brief_in_the_form(brief_page, brief):
    assert brief_page.one("textarea").text == brief["text"]


def test_the_empty_form_is_a_page(client):
    response = client.get("/cite-check")
    assert response.status_code == 200
    doc = parse_html(response.get_data(as_text=True))
    assert doc.find("ol", "quote-results") is None and doc.find("div", "brief-text") is None


# --------------------------------------------------------------------------------------------
# Attribution against the real index

OTHER = "CM16-0219557"  # its item 1 (facet injections) holds the quotation cited to CASE


@pytest.fixture(scope="module")
def attribution_brief(index, rationales) -> dict:
    """A brief quoting real rationales: a clause of CM16-0219557's item 1 cited to CM16-0213037 (item 1), to
    its own case, to no case and to an unknown case; a sentence of CM16-0213037's item 1 cited as item 2."""
    sentence = sentence_with(index.letter(OTHER)["items"][0]["rationale"], "therapeutic intraarticular")
    facet = sentence[sentence.index("no more than one set"):]
    shoulder = sentence_with(index.letter(CASE)["items"][0]["rationale"], "request is for an MRI of the shoulder")
    assert holding(rationales, shoulder) == [f"{CASE}/1"]
    text = (
        f'The reviewer in {CASE} explained that "{facet}" ({CASE}, item 1).\n\n'
        f'The reviewer there wrote: "{facet}." Cal. DWC IMR Final Determination, Case No. {OTHER}, item 1 '
        f"(Dec. 9, 2016).\n\n"
        f'As the reviewer put it, \u201c{shoulder}\u201d (cm16 0213037, item 2).\n\n'
        f'The same words, "{facet}," appear in a decision this paragraph does not name.\n\n'
        f'Respondent relies on CM99-0000001 for the rule that "{facet}."\n'
    )
    return {"text": text, "facet": facet, "shoulder": shoulder, "facet_holders": holding(rationales, facet)}


@pytest.fixture(scope="module")
def attribution(app, attribution_brief) -> dict:
    response = app.test_client().post("/api/cite-check", json={"text": attribution_brief["text"]})
    assert response.status_code == 200
    return response.get_json()


def places_of(passages: list[dict]) -> list[str]:
    return sorted(p["passage_id"] for p in passages)


def test_a_quotation_cited_to_the_wrong_case_is_flagged_with_the_case_that_holds_it(attribution, attribution_brief):
    quote = attribution["quotations"][0]["attribution"]
    assert (quote["status"], quote["case_number"], quote["basis"], quote["cited_items"]) == \
        ("other_decision", CASE, "sentence", [1])
    holders = attribution_brief["facet_holders"]
    assert f"{OTHER}/1" in holders and not any(h.startswith(CASE) for h in holders)
    assert quote["in_cited_case"] == [] and places_of(quote["elsewhere"]) == holders
    if holders == [f"{OTHER}/1"]:
        assert quote["message"] == f"Not in {CASE}; these words are in {OTHER}, item 1"
    links = {part["text"]: part["url"] for part in quote["message_parts"] if "url" in part}
    assert links[CASE] == f"http://localhost/letters/{CASE}"
    assert links[f"{OTHER}, item 1"] == f"http://localhost/letters/{OTHER}/items/1"
    assert attribution["quotations"][0]["found"] is True  # (the words are in the index, only not where cited)


def test_a_quotation_cited_to_its_own_case_in_a_citation_sentence_is_confirmed(attribution):
    quote = attribution["quotations"][1]["attribution"]
    assert (quote["status"], quote["case_number"], quote["basis"], quote["cited_items"]) == \
        ("confirmed", OTHER, "citation", [1])
    assert places_of(quote["in_cited_case"]) == [f"{OTHER}/1"]
    assert quote["in_cited_case"][0]["url"] == f"http://localhost/letters/{OTHER}/items/1"
    assert quote["message"].startswith(f"In {OTHER}, item 1, as cited")


def test_a_quotation_cited_to_the_wrong_item_is_flagged(attribution):
    quote = attribution["quotations"][2]["attribution"]
    assert (quote["status"], quote["case_number"], quote["cited_items"]) == ("other_item", CASE, [2])
    assert places_of(quote["in_cited_case"]) == [f"{CASE}/1"]
    assert quote["message"] == f"In {CASE}, but in item 1, not item 2 as cited"


def test_a_quotation_with_no_case_near_it_says_where_its_words_are(attribution, attribution_brief):
    quote = attribution["quotations"][3]["attribution"]
    assert (quote["status"], quote["case_number"], quote["mention"], quote["basis"]) == ("unattributed", None, None, None)
    assert places_of(quote["elsewhere"]) == attribution_brief["facet_holders"]
    assert quote["message"].startswith("No case number is cited near it; these words are in ")


def test_a_quotation_cited_to_a_case_not_in_the_index_says_where_its_words_are(attribution, attribution_brief):
    quote = attribution["quotations"][4]["attribution"]
    assert (quote["status"], quote["case_number"]) == ("case_not_indexed", "CM99-0000001")
    assert places_of(quote["elsewhere"]) == attribution_brief["facet_holders"]
    assert quote["message"].startswith("CM99-0000001 is not in the index; these words are in ")


def test_the_attribution_summary_counts_each_status(attribution):
    assert attribution["summary"]["attribution"] == {
        "confirmed": 1, "other_item": 1, "other_decision": 1, "case_not_indexed": 1, "not_found": 0, "unattributed": 1}
    assert set(attribution["summary"]["attribution"]) == set(STATUSES)


def test_offsets_point_at_the_text_in_the_brief(attribution, attribution_brief):
    text = attribution_brief["text"]
    for case in attribution["case_numbers"]:
        assert text[case["start"]:case["end"]] == case["written"]
        assert case["line"] == text.count("\n", 0, case["start"]) + 1
    for quote in attribution["quotations"]:
        quoted = text[quote["start"]:quote["end"]]
        assert quoted[0] in "\"\u201c" and quoted[-1] in "\"\u201d"
        assert " ".join(quoted[1:-1].split()) == quote["text"]
        assert quote["line"] == text.count("\n", 0, quote["start"]) + 1
        mention = quote["attribution"]["mention"]
        if mention:
            assert attribution["case_numbers"][mention - 1]["case_number"] == quote["attribution"]["case_number"]
    assert [q["line"] for q in attribution["quotations"]] == [1, 3, 5, 7, 9]


def test_a_case_cited_three_times_is_one_group_with_three_places(client):
    text = (f"First, {CASE} (Dec. 9, 2016) upheld the denial.\n"
            f"Second, cm16 0213037, item 2, did so on the cervical spine.\n\n"
            f"Third, see CM160213037. And {OTHER} once.")
    report = client.post("/api/cite-check", json={"text": text}).get_json()
    assert [(g["case_number"], len(g["places"])) for g in report["cases"]] == [(CASE, 3), (OTHER, 1)]
    group = report["cases"][0]
    assert group["found"] and group["url"] == f"http://localhost/letters/{CASE}"
    assert [i["url"] for i in group["items"]] == [f"http://localhost/letters/{CASE}/items/{n}" for n in (1, 2)]
    places = group["places"]
    assert [p["number"] for p in places] == [1, 2, 3]
    assert [p["written"] for p in places] == [CASE, "cm16 0213037", "CM160213037"]
    assert [p["line"] for p in places] == [1, 2, 4]
    assert [p["cited_items"] for p in places] == [[], [2], []]
    assert [text[p["start"]:p["end"]] for p in places] == [p["written"] for p in places]
    assert places[0]["before"] == "First, " and places[0]["after"].startswith(" (Dec. 9, 2016) upheld")
    assert places[1]["before"].endswith("upheld the denial. Second, ")  # the line break is one space
    assert len(report["case_numbers"]) == 4  # each place is still listed, in order, as before


def test_the_misattribution_on_the_page(app, attribution_brief):
    doc = cite_page(app, attribution_brief["text"])
    flagged = doc.one("li", id="result-q1")
    assert "status-other_decision" in flagged.classes
    assert flagged.one("span", "status").text == "In another decision"
    verdict = flagged.one("p", "verdict")
    assert verdict.squashed_text.startswith(f"Not in {CASE}; these words are in ")
    assert f"/letters/{OTHER}/items/1" in [a.get("href") for a in verdict.find_all("a")]
    attributed_to = flagged.one("p", "attribution")
    assert attributed_to.squashed_text == f"Cited to {CASE}, item 1 (cited in the same sentence)."
    assert attributed_to.one("a").get("href") == "#c2"
    assert flagged.one("a", "place").get("href") == "#q1"
    mark = doc.one("mark", id="q1")
    assert shown_brief(mark) == f'"{attribution_brief["facet"]}"'
    assert shown_brief(doc.one("mark", id="c2")) == CASE
    assert shown_brief(doc.one("div", "brief-text")) == attribution_brief["text"]
    group = doc.one("li", id=f"case-{CASE}")
    assert [a.get("href") for a in group.one("ul", "places").find_all("a")] == ["#c1", "#c2", "#c4"]
    assert "Quotation 1 (in another decision); Quotation 3 (other item)" in group.squashed_text


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
    assert said in parse_html(response.get_data(as_text=True)).one("p", "error-message").text


def test_api_answers_only_post(client):
    response = client.get("/api/cite-check")
    assert response.status_code == 405
    assert response.get_json()["error"]["status"] == 405
    assert "POST" in response.headers.get("Allow", "")
