"""The search box's query language: text -> a small syntax tree, with limits that keep every query cheap.

    carisoprodol weaning             both words (AND is implied)
    "muscle relaxant"                a phrase
    xanax OR alprazolam              either
    opioid NOT tramadol, -tramadol   without
    (mri OR ct) AND lumbar           grouping
    taper*                           a prefix (at least 3 letters before the *)
    drug:soma  class:opioids  decision:overturned  guideline:MTUS/CPMTG/p24  source:ODG
    reviewer_guideline:MTUS/CPMTG  ca_guideline:ODG    a guideline (or a part of it) cited by one side
    specialty:"pain management"  category:injection  year:2016  year:2014-2016  heading:mri  case:CM16-0213037
    region:knee  side:left  since_injury:<90d  since_injury:chronic  reason:"functional improvement"

Operators are upper case (AND OR NOT); lower-case "and" is a word. The tree is engine-neutral: kb.search
compiles it for the index. Anything expensive or malformed raises QueryError with a sentence a person can
act on: leading wildcards, open ranges, deep nesting, overlong queries, overlong phrases, too many years.
A term repeated in an OR or an AND counts once. What a query costs on a given index is kb.search_cost's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kb.why import days_range

MAX_QUERY_CHARS = 500
MAX_CLAUSES = 40
MAX_DEPTH = 6
MAX_PREFIXES = 3
MIN_PREFIX_CHARS = 3
MAX_YEAR_SPAN = 40
MAX_YEARS = MAX_YEAR_SPAN + 1  # all the years that year: terms name, together: one widest range
MAX_PHRASE_WORDS = 24  # a sentence; cite-check looks for longer quotations

# field name in the query -> what it filters (kb.search maps these onto index fields)
FIELDS = {
    "drug": "drug",
    "brand": "drug",
    "generic": "drug",
    "product": "product",  # a product exactly (a combination, kit or compound), not every product of an ingredient
    "class": "class",
    "category": "category",
    "subcategory": "subcategory",
    "decision": "decision",
    "guideline": "guideline",
    "reviewer_guideline": "reviewer_guideline",  # cited by the reviewer (or a part of it)
    "ca_guideline": "ca_guideline",  # cited by the claims administrator
    "source": "source",
    "specialty": "specialty",
    "state": "state",
    "year": "year",
    "case": "case",
    "heading": "heading",
    "rationale": "rationale",
    # the DWC's own rows (kb fetch): its category or "Category / Subcategory", subcategory, decision, and how
    # the tags here compare with them ("category differs")
    "dwc_category": "dwc_category",
    "dwc_subcategory": "dwc_subcategory",
    "dwc_decision": "dwc_decision",
    "dwc": "dwc",
    # why and for whom (kb.why): a body region (also inside "multiple"), a side, the time since the injury
    # (<90d, >1y, 6-12w, a band such as 3-6m, or acute, subacute, chronic), a decision reason, a diagnosis
    "region": "regions",
    "side": "side",
    "since_injury": "since_injury",
    "reason": "reason",
    "diagnosis": "diagnosis",
}
TEXT_FIELDS = ("heading", "rationale")


class QueryError(ValueError):
    """A query that is refused, with the reason in words."""


@dataclass(frozen=True)
class Word:
    text: str  # lower case
    field: str | None = None  # "heading" or "rationale"; None: both
    prefix: bool = False


@dataclass(frozen=True)
class Phrase:
    words: tuple[str, ...]
    field: str | None = None


@dataclass(frozen=True)
class Filter:
    """field:value on a facet field: exact value (kb.search resolves drug names, labels and case)."""

    field: str
    value: str


@dataclass(frozen=True)
class YearRange:
    start: int
    end: int


@dataclass(frozen=True)
class DaysRange:
    """since_injury:<90d and the like: days from the injury to the request, either end open (None)."""

    start: int | None
    end: int | None


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


@dataclass(frozen=True)
class Everything:
    """The empty query: every passage."""


Node = Word | Phrase | Filter | YearRange | DaysRange | And | Or | Not | Everything

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<open>\() | (?P<close>\)) |
        (?P<field>[A-Za-z][A-Za-z_]*):(?P<fvalue>"[^"]*"?|[^\s()"]+) |
        (?P<phrase>"[^"]*"?) |
        (?P<word>[^\s()"]+)
    )""",
    re.VERBOSE,
)
_WORD_CHARS = re.compile(r"[\w*/.#%-]+")
_YEAR = re.compile(r"(\d{4})(?:\s*(?:-|\.\.)\s*(\d{4}))?$")
_OPERATORS = {"AND", "OR", "NOT"}


@dataclass(frozen=True)
class _Token:
    kind: str  # open, close, field, phrase, word, op, not
    text: str
    field: str | None = None


_MINUS = re.compile(r"\s*-(?=[^\s\-])")


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        minus = _MINUS.match(text, pos)
        if minus:  # "-word" means NOT word
            tokens.append(_Token("op", "NOT"))
            pos = minus.end()
            continue
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            break
        pos = match.end()
        kind = match.lastgroup
        if kind == "fvalue" and match.group("field").lower() in FIELDS:
            tokens.append(_Token("field", match.group("fvalue"), match.group("field").lower()))
        elif kind == "fvalue":  # "DOS:11/14/16" copied from a heading: words, not a field
            tokens.append(_Token("word", match.group(0).strip()))
        elif kind == "word" and match.group("word") in _OPERATORS:
            tokens.append(_Token("op", match.group("word")))
        elif kind:
            tokens.append(_Token(kind, match.group(kind)))
    return tokens


def parse_query(text: str) -> Node:
    """The syntax tree of a search box's text, or QueryError saying what to change."""
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError(f"the query is {len(text)} characters long; the limit is {MAX_QUERY_CHARS}")
    if "[" in text or "{" in text:  # Lucene-style ranges ([2014 TO 2016]); a plain "TO" is a word
        raise QueryError("range syntax is not supported: use year:2014-2016 or the date range fields")
    parser = _Parser(_tokens(text))
    node = parser.parse()
    if parser.clauses > MAX_CLAUSES:
        raise QueryError(f"the query has {parser.clauses} terms; the limit is {MAX_CLAUSES}")
    years = sum(range_.end - range_.start + 1 for range_ in _year_ranges(node))
    if years > MAX_YEARS:
        raise QueryError(f"the year: terms name {years} years in all; the limit is {MAX_YEARS} "
                         "(a range such as year:2014-2016 names each year once)")
    return node


def _year_ranges(node: Node) -> list[YearRange]:
    if isinstance(node, YearRange):
        return [node]
    if isinstance(node, (And, Or)):
        return [range_ for child in node.children for range_ in _year_ranges(child)]
    if isinstance(node, Not):
        return _year_ranges(node.child)
    return []


class _Parser:
    def __init__(self, tokens: list[_Token]):
        self.tokens = tokens
        self.pos = 0
        self.depth = 0
        self.clauses = 0
        self.prefixes = 0

    def parse(self) -> Node:
        if not self.tokens:
            return Everything()
        node = self._or()
        if self.pos < len(self.tokens):
            token = self.tokens[self.pos]
            raise QueryError(f"unexpected {token.text!r}: a closing parenthesis without its opening one")
        return node

    def _peek(self) -> _Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _or(self) -> Node:
        children = [self._and()]
        while (token := self._peek()) and token.kind == "op" and token.text == "OR":
            self.pos += 1
            children.append(self._and())
        children = list(dict.fromkeys(children))  # "a OR a" reads the index once
        return children[0] if len(children) == 1 else Or(tuple(children))

    def _and(self) -> Node:
        children = [self._unary()]
        while (token := self._peek()) and token.kind != "close" and not (token.kind == "op" and token.text == "OR"):
            if token.kind == "op" and token.text == "AND":
                self.pos += 1
            children.append(self._unary())
        children = list(dict.fromkeys(c for c in children if not isinstance(c, Everything))) or [Everything()]
        return children[0] if len(children) == 1 else And(tuple(children))

    def _unary(self) -> Node:
        token = self._peek()
        if token is None:
            raise QueryError("the query ends where a term was expected (after AND, OR or NOT)")
        if token.kind == "op" and token.text == "NOT":
            self.pos += 1
            return Not(self._unary())
        if token.kind == "op":
            raise QueryError(f"{token.text} needs a term before and after it")
        return self._atom()

    def _atom(self) -> Node:
        token = self.tokens[self.pos]
        self.pos += 1
        if token.kind == "open":
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise QueryError(f"parentheses are nested more than {MAX_DEPTH} deep")
            if (inner := self._peek()) and inner.kind == "close":
                raise QueryError("empty parentheses")
            node = self._or()
            closing = self._peek()
            if closing is None or closing.kind != "close":
                raise QueryError("a parenthesis is opened and never closed")
            self.pos += 1
            self.depth -= 1
            return node
        if token.kind == "close":
            raise QueryError("a closing parenthesis without its opening one")
        self.clauses += 1
        if token.kind == "phrase":
            return self._phrase(token.text, None)
        if token.kind == "field":
            return self._field(token.field, token.text)
        return self._word(token.text, None)

    def _phrase(self, quoted: str, field: str | None) -> Node:
        if not quoted.endswith('"') or len(quoted) < 2:
            raise QueryError("a quotation mark is opened and never closed")
        words = tuple(w.lower() for w in _WORD_CHARS.findall(quoted[1:-1].replace("*", " ")))
        if not words:
            raise QueryError("an empty phrase")
        if len(words) > MAX_PHRASE_WORDS:
            raise QueryError(f"a phrase of {len(words)} words; a phrase may hold at most {MAX_PHRASE_WORDS} "
                             "(to check a longer quotation, use cite-check)")
        return Phrase(words, field) if len(words) > 1 else Word(words[0], field)

    def _word(self, text: str, field: str | None) -> Node:
        words = [w.lower() for w in _WORD_CHARS.findall(text)]
        if not words:
            raise QueryError(f"{text!r} has no letters or digits to search for")
        if len(words) > 1:  # "word's" or "a?b": punctuation splits it into a phrase
            return self._phrase('"' + " ".join(words) + '"', field)
        word = words[0]
        if "*" not in word:
            return Word(word, field)
        stem = word.rstrip("*")
        if "*" in stem or not stem:
            raise QueryError(f"{text!r}: a wildcard may only end a word (leading and inner wildcards are refused)")
        if len(stem) < MIN_PREFIX_CHARS:
            raise QueryError(f"{text!r}: write at least {MIN_PREFIX_CHARS} letters before the *")
        self.prefixes += 1
        if self.prefixes > MAX_PREFIXES:
            raise QueryError(f"at most {MAX_PREFIXES} wildcard words in a query")
        return Word(stem, field, prefix=True)

    def _field(self, name: str, value: str) -> Node:
        target = FIELDS[name]
        if value.startswith('"'):
            if not value.endswith('"') or len(value) < 2:
                raise QueryError("a quotation mark is opened and never closed")
            value = value[1:-1]
        value = " ".join(value.split())
        if not value:
            raise QueryError(f"{name}: needs a value after the colon")
        if target in TEXT_FIELDS:
            quoted = '"' + value + '"'
            return self._phrase(quoted, target) if " " in value else self._word(value, target)
        if "*" in value:
            raise QueryError(f"{name}: takes an exact value, not a wildcard")
        if target == "year":
            return _year(value)
        if target == "since_injury" and (days := days_range(value)) is not None:
            return DaysRange(*days)
        return Filter(target, value)


def _year(value: str) -> Node:
    match = _YEAR.match(value)
    if not match:
        raise QueryError(f"year:{value} is not a year or a closed range such as year:2014-2016")
    start = int(match.group(1))
    end = int(match.group(2) or start)
    if end < start or end - start > MAX_YEAR_SPAN:
        raise QueryError(f"year:{value} is not a range of at most {MAX_YEAR_SPAN} years")
    return YearRange(start, end)


def positive_words(node: Node) -> list[str]:
    """The words (and phrase words) a match must contain, for highlighting: not those under NOT."""
    if isinstance(node, Word):
        return [node.text]
    if isinstance(node, Phrase):
        return list(node.words)
    if isinstance(node, (And, Or)):
        return [w for child in node.children for w in positive_words(child)]
    return []
