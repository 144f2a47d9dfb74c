"""The search box's query language (kb.query): text -> syntax tree, and every refusal with its reason."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb.query import (
    MAX_CLAUSES,
    MAX_PHRASE_WORDS,
    MAX_DEPTH,
    MAX_PREFIXES,
    MAX_QUERY_CHARS,
    MAX_YEAR_SPAN,
    MAX_YEARS,
    MIN_PREFIX_CHARS,
    And,
    Everything,
    Filter,
    Not,
    Or,
    Phrase,
    QueryError,
    Word,
    YearRange,
    parse_query,
    positive_words,
)


def refusal(text: str) -> str:
    """The reason parse_query gives for refusing `text` (the test fails if it is accepted)."""
    with pytest.raises(QueryError) as caught:
        parse_query(text)
    message = str(caught.value)
    assert len(message) > 10 and "Traceback" not in message, message  # a sentence, not a code
    return message


def nested(depth: int, inner: str = "mri") -> str:
    return "(" * depth + inner + ")" * depth


# --------------------------------------------------------------------------------------------
# Words, phrases and operators


@pytest.mark.parametrize("text", ["", "   ", "\t\n"])
def test_an_empty_query_is_everything(text):
    assert parse_query(text) == Everything()


def test_a_word_is_lower_cased():
    assert parse_query("Carisoprodol") == Word("carisoprodol")


def test_words_side_by_side_are_anded():
    assert parse_query("carisoprodol weaning") == And((Word("carisoprodol"), Word("weaning")))


def test_explicit_and_is_the_same_as_side_by_side():
    assert parse_query("mri AND lumbar") == parse_query("mri lumbar") == And((Word("mri"), Word("lumbar")))


def test_lower_case_and_is_a_word_not_an_operator():
    assert parse_query("mri and lumbar") == And((Word("mri"), Word("and"), Word("lumbar")))


@pytest.mark.parametrize("text", ["mri or ct", "mri not ct"])
def test_lower_case_or_and_not_are_words(text):
    first, operator, last = text.split()
    assert parse_query(text) == And((Word(first), Word(operator), Word(last)))


def test_a_quoted_phrase():
    assert parse_query('"Muscle Relaxant"') == Phrase(("muscle", "relaxant"))


def test_a_quoted_single_word_is_a_word():
    assert parse_query('"Soma"') == Word("soma")


def test_or():
    assert parse_query("xanax OR alprazolam") == Or((Word("xanax"), Word("alprazolam")))


def test_and_binds_tighter_than_or():
    assert parse_query("a b OR c") == Or((And((Word("a"), Word("b"))), Word("c")))


def test_not():
    assert parse_query("opioid NOT tramadol") == And((Word("opioid"), Not(Word("tramadol"))))


def test_minus_is_not():
    assert parse_query("opioid -tramadol") == parse_query("opioid NOT tramadol")


def test_a_leading_minus_alone_is_not():
    assert parse_query("-mri") == Not(Word("mri"))


def test_a_hyphen_inside_a_word_is_part_of_the_word():
    assert parse_query("L4-5") == Word("l4-5")


def test_parentheses_group():
    assert parse_query("(mri OR ct) AND lumbar") == And((Or((Word("mri"), Word("ct"))), Word("lumbar")))


def test_not_of_a_group():
    assert parse_query("-(mri OR ct)") == Not(Or((Word("mri"), Word("ct"))))


def test_a_prefix():
    assert parse_query("taper*") == Word("taper", prefix=True)


def test_a_prefix_of_exactly_the_minimum_length():
    stem = "x" * MIN_PREFIX_CHARS
    assert parse_query(stem + "*") == Word(stem, prefix=True)


def test_punctuation_inside_a_word_makes_a_phrase():
    assert parse_query("worker's") == Phrase(("worker", "s"))


def test_a_wildcard_inside_a_phrase_is_dropped():
    assert parse_query('"physical ther*"') == Phrase(("physical", "ther"))


# --------------------------------------------------------------------------------------------
# Field filters


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("drug:soma", Filter("drug", "soma")),
        ("brand:Soma", Filter("drug", "Soma")),
        ("generic:carisoprodol", Filter("drug", "carisoprodol")),
        ("class:opioids", Filter("class", "opioids")),
        ('class:"Muscle Relaxants"', Filter("class", "Muscle Relaxants")),
        ("decision:overturned", Filter("decision", "overturned")),
        ("guideline:MTUS/CPMTG/p24", Filter("guideline", "MTUS/CPMTG/p24")),
        ("source:ODG", Filter("source", "ODG")),
        ('specialty:"pain management"', Filter("specialty", "pain management")),
        ("category:injection", Filter("category", "injection")),
        ("subcategory:MRI", Filter("subcategory", "MRI")),
        ("state:California", Filter("state", "California")),
        ("reviewer_guideline:MTUS/CPMTG", Filter("reviewer_guideline", "MTUS/CPMTG")),
        ("ca_guideline:ODG", Filter("ca_guideline", "ODG")),
        ("case:CM16-0213037", Filter("case", "CM16-0213037")),
    ],
)
def test_a_facet_field_is_a_filter_with_the_value_as_typed(text, expected):
    assert parse_query(text) == expected


def test_field_names_are_case_insensitive():
    assert parse_query("DRUG:soma") == parse_query("Drug:soma") == Filter("drug", "soma")


def test_a_quoted_filter_value_has_its_spaces_squashed():
    assert parse_query('specialty:"  pain   management "') == Filter("specialty", "pain management")


def test_a_year():
    assert parse_query("year:2016") == YearRange(2016, 2016)


@pytest.mark.parametrize("text", ["year:2014-2016", "year:2014..2016", 'year:"2014 - 2016"'])
def test_a_year_range(text):
    assert parse_query(text) == YearRange(2014, 2016)


def test_the_widest_year_range_allowed():
    assert parse_query(f"year:2000-{2000 + MAX_YEAR_SPAN}") == YearRange(2000, 2000 + MAX_YEAR_SPAN)


def test_heading_takes_a_word():
    assert parse_query("heading:MRI") == Word("mri", field="heading")


def test_heading_takes_a_phrase():
    assert parse_query('heading:"physical therapy"') == Phrase(("physical", "therapy"), field="heading")


def test_rationale_takes_a_prefix():
    assert parse_query("rationale:taper*") == Word("taper", field="rationale", prefix=True)


def test_filters_combine_with_words():
    assert parse_query("drug:soma decision:upheld weaning") == And(
        (Filter("drug", "soma"), Filter("decision", "upheld"), Word("weaning"))
    )


def test_a_filter_can_be_negated():
    assert parse_query("-decision:upheld") == Not(Filter("decision", "upheld"))


@pytest.mark.parametrize(("text", "words"), [("foo:bar", ("foo", "bar")), ("DOS:11/14/16", ("dos", "11/14/16"))])
def test_an_unknown_field_is_searched_as_words(text, words):
    # documented: "DOS:11/14/16" copied from a heading is words, not a field
    assert parse_query(text) == Phrase(words)


# --------------------------------------------------------------------------------------------
# Refusals


@pytest.mark.parametrize("text", ["*aper", "*", "ta*per", "heading:*mri"])
def test_a_leading_or_inner_wildcard_is_refused(text):
    assert "wildcard" in refusal(text)


def test_a_too_short_prefix_is_refused():
    assert f"at least {MIN_PREFIX_CHARS} letters" in refusal("x" * (MIN_PREFIX_CHARS - 1) + "*")


def test_too_many_prefixes_are_refused():
    words = ["taper*", "lumb*", "cerv*", "medic*", "therap*"][: MAX_PREFIXES + 1]
    assert f"at most {MAX_PREFIXES} wildcard" in refusal(" ".join(words))


def test_as_many_prefixes_as_allowed_are_accepted():
    words = ["taper*", "lumb*", "cerv*", "medic*", "therap*"][:MAX_PREFIXES]
    assert isinstance(parse_query(" ".join(words)), And)


def test_a_wildcard_in_a_filter_value_is_refused():
    assert "exact value" in refusal("drug:som*")


@pytest.mark.parametrize("text", ["year:2016-", "year:-2016", "year:2016..", "year:16"])
def test_an_open_or_malformed_year_range_is_refused(text):
    assert "closed range" in refusal(text)


def test_a_backwards_year_range_is_refused():
    assert "range of at most" in refusal("year:2016-2014")


def test_an_overlong_year_range_is_refused():
    assert f"at most {MAX_YEAR_SPAN} years" in refusal(f"year:1970-{1970 + MAX_YEAR_SPAN + 1}")


@pytest.mark.parametrize("text", ["[2014 TO 2016]", "{a TO b}", "year:[2014 TO 2016]"])
def test_lucene_range_syntax_is_refused(text):
    assert "range syntax" in refusal(text)


def test_nesting_as_deep_as_allowed_is_accepted():
    assert parse_query(nested(MAX_DEPTH)) == Word("mri")


def test_nesting_deeper_than_allowed_is_refused():
    assert f"more than {MAX_DEPTH} deep" in refusal(nested(MAX_DEPTH + 1))


def test_a_query_of_the_maximum_length_is_accepted():
    assert parse_query("x" * MAX_QUERY_CHARS) == Word("x" * MAX_QUERY_CHARS)


def test_an_overlong_query_is_refused():
    message = refusal("x" * (MAX_QUERY_CHARS + 1))
    assert str(MAX_QUERY_CHARS + 1) in message and str(MAX_QUERY_CHARS) in message


def test_as_many_clauses_as_allowed_are_accepted():
    assert len(parse_query(" ".join(f"mri{n}" for n in range(MAX_CLAUSES))).children) == MAX_CLAUSES


@pytest.mark.parametrize("operator", [" ", " OR "])
def test_a_repeated_term_counts_once(operator):
    assert parse_query(operator.join(["year:2016", "mri", "year:2016", "mri"])) == parse_query(
        operator.join(["year:2016", "mri"]))


def test_a_phrase_as_long_as_allowed_is_accepted():
    words = tuple(f"w{n}" for n in range(MAX_PHRASE_WORDS))
    assert parse_query('"' + " ".join(words) + '"') == Phrase(words)


def test_an_overlong_phrase_is_refused():
    message = refusal('"' + " ".join(["the"] * (MAX_PHRASE_WORDS + 1)) + '"')
    assert f"at most {MAX_PHRASE_WORDS}" in message and "cite-check" in message


def test_as_many_years_as_allowed_in_all_are_accepted():
    half = MAX_YEARS // 2
    assert parse_query(f"year:1990-{1990 + half - 1} OR year:2010-{2010 + MAX_YEARS - half - 1}")


@pytest.mark.parametrize("text", [
    " OR ".join(f"year:{2000 + 2 * n}-{2001 + 2 * n}" for n in range(MAX_YEARS // 2 + 1)),
    f"year:1990-{1990 + MAX_YEAR_SPAN} OR year:2100",
    f"year:1990-{1990 + MAX_YEAR_SPAN} -year:1991-1995",
])
def test_too_many_years_in_all_are_refused(text):
    assert f"the limit is {MAX_YEARS}" in refusal(text)


def test_too_many_clauses_are_refused():
    assert f"the limit is {MAX_CLAUSES}" in refusal(" ".join(["mri"] * (MAX_CLAUSES + 1)))


def test_filters_count_as_clauses():
    assert f"the limit is {MAX_CLAUSES}" in refusal(" ".join(["drug:soma"] * (MAX_CLAUSES + 1)))


@pytest.mark.parametrize("text", ["(mri", "((mri) OR ct", "(mri OR (ct)"])
def test_an_unclosed_parenthesis_is_refused(text):
    assert "never closed" in refusal(text)


@pytest.mark.parametrize("text", ["mri)", ")", "mri) OR (ct"])
def test_a_stray_closing_parenthesis_is_refused(text):
    assert "closing parenthesis" in refusal(text)


def test_empty_parentheses_are_refused():
    assert "empty parentheses" in refusal("mri ()")


@pytest.mark.parametrize("text", ['"muscle relaxant', 'mri "muscle', 'specialty:"pain management', '"'])
def test_an_unclosed_quotation_mark_is_refused(text):
    assert "quotation mark" in refusal(text)


def test_an_empty_phrase_is_refused():
    assert "empty phrase" in refusal('mri ""')


@pytest.mark.parametrize("text", ['drug:""', 'specialty:"   "', 'heading:""'])
def test_a_field_with_an_empty_quoted_value_is_refused(text):
    assert "needs a value" in refusal(text)


def test_a_field_name_with_nothing_after_the_colon_is_a_word():
    assert parse_query("drug:") == Word("drug")


@pytest.mark.parametrize("text", ["NOT", "mri AND", "mri OR", "mri NOT", "-(mri) NOT"])
def test_an_operator_without_a_term_after_it_is_refused(text):
    assert "term was expected" in refusal(text)


@pytest.mark.parametrize("text", ["OR mri", "AND mri", "mri OR OR ct", "mri AND AND ct", "mri AND OR ct"])
def test_an_operator_without_a_term_before_it_is_refused(text):
    assert "needs a term before and after" in refusal(text)


@pytest.mark.parametrize("text", ["?", "&&", "\u2014"])
def test_a_word_with_nothing_to_search_for_is_refused(text):
    assert "no letters or digits" in refusal(text)


# --------------------------------------------------------------------------------------------
# Highlighting words


def test_positive_words_leave_out_negated_terms():
    tree = parse_query('opioid "muscle relaxant" OR taper* NOT tramadol -(mri OR ct) drug:soma')
    assert positive_words(tree) == ["opioid", "muscle", "relaxant", "taper"]


# --------------------------------------------------------------------------------------------
# Arbitrary text never crashes the parser

SYNTAX = st.sampled_from(
    ["(", ")", '"', "*", "-", ":", "AND", "OR", "NOT", "and", "TO", "[", "{", "..", " ", "  ",
     "mri", "taper*", "ta*", "*x", "drug:", "year:", "year:2016", "year:2014-2016", "heading:", "case:",
     "specialty:\"", "foo:", "'s", "L4-5", "10/325mg", "é", "\u00a0", "\x00"]
)
QUERIES = st.one_of(
    st.text(max_size=60),
    st.lists(st.one_of(SYNTAX, st.text(max_size=4)), max_size=25).map("".join),
    st.lists(SYNTAX, max_size=40).map(" ".join),
)
NODE_TYPES = (Word, Phrase, Filter, YearRange, And, Or, Not, Everything)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(QUERIES)
def test_any_text_gives_a_tree_or_a_query_error(text):
    try:
        tree = parse_query(text)
    except QueryError as error:
        assert str(error)
        return
    assert isinstance(tree, NODE_TYPES)
    positive_words(tree)  # every tree can be walked


def test_the_word_to_in_capitals_is_a_word_not_range_syntax():
    assert parse_query("RETURN TO WORK") == parse_query("return to work")
