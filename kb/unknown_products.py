"""Products the drug table does not know: how a heading names one, and what its rationale says it holds.

`unknown_product_request(heading)` reads a heading that reads like a drug request but names no drug of the
table ("Xylocream 5% 30gm #1") into a `DrugRequest` whose one mention is the product, kept by its name as
written (UNRESOLVED). `explain_unknown_products(request, rationale, rationale_drugs)` then looks in the
rationale for what the product holds: a bracket or a "contains" phrase right after its name, else "the
requested [topical] X"; a product so explained is BY_RATIONALE, with those ingredients. The phrases live in
drugs.json ("unknown_products", with examples the tests check). Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

from kb.drugs import (
    CLASS_OF,
    COMPOUND_WORD,
    FORM_OF,
    FORM_WORD,
    RELEASE_OF,
    STRENGTH_AFTER_NAME,
    STRENGTH_ANYWHERE,
    TABLE,
    TOPICAL_FORMS,
    _alternation,
    _disputed_portion,
    _Found,
    _HAS_STRENGTH_UNIT,
    _request,
    _strength_after,
    name_key,
)
from kb.models import BY_RATIONALE, UNRESOLVED, DrugMention, DrugRequest, Span

UNKNOWN = TABLE["unknown_products"]
UNKNOWN_CLASS = "Other"  # the class of a product nothing explains (Pharmaceuticals / Other Pharmaceuticals)
_LEAD_IN = re.compile(r"(?:(?:" + "|".join(UNKNOWN["lead_ins"]) + r")\b[\s:,.-]*)+", re.IGNORECASE)
_NOT_NAMES = frozenset(name_key(word) for word in UNKNOWN["not_names"])
_DRUG_FORMS = frozenset(UNKNOWN["drug_forms"])
_KIT_AFTER = re.compile(r"\s*+" + _alternation(UNKNOWN["kit_words"]), re.IGNORECASE)
# The name ends before a strength, a form or release word, a quantity, a bracket or punctuation.
_NAME_WORD = re.compile(r"[^\W\d_][\w'&+-]*")
_NAME_STOP = re.compile(rf"\s*+(?:[(,;:#/\[]|\d|{_alternation([*FORM_OF, *RELEASE_OF])}|\b(?:qty|quantity|with|for|"
                        rf"apply|take|per|dos|x|to|and|or|in|{'|'.join(UNKNOWN['kit_words'])})\b)", re.IGNORECASE)
_MAX_NAME_WORDS = 3
_CONTAINS = re.compile(r"\s*+(?:,\s*+)?(?:" + "|".join(UNKNOWN["contains_phrases"]) + r")\b", re.IGNORECASE)
_REQUESTED = re.compile(r"\b(?:" + "|".join(UNKNOWN["requested_phrases"]) + r")\s++(?:(?:topical|compounded|compound|"
                        r"transdermal|oral)\s++){0,2}", re.IGNORECASE)
_SENTENCE_END = re.compile(r"\.(?:\s|$)|\n\s*\n")
_BETWEEN_LISTED = re.compile(r"[\s,/+-]*+(?:(?:and|with|plus)\b[\s,]*+)?", re.IGNORECASE)


def _reads_like_a_drug(portion: str) -> bool:
    """A strength with a unit, or a dosage form a drug comes in."""
    if any(_HAS_STRENGTH_UNIT.search(m.group()) for m in STRENGTH_ANYWHERE.finditer(portion)):
        return True
    return any(FORM_OF[name_key(m.group())] in _DRUG_FORMS for m in FORM_WORD.finditer(portion))


def _product_name(heading: str, portion: Span) -> Span | None:
    """The span of the product's name: the words after the lead-ins up to the first strength, form or quantity."""
    lead = _LEAD_IN.match(heading, portion.start, portion.end)
    pos = lead.end() if lead else portion.start
    words: list[re.Match] = []
    while len(words) < _MAX_NAME_WORDS:
        if _NAME_STOP.match(heading, pos, portion.end):
            break
        word = _NAME_WORD.match(heading, pos, portion.end) if not heading[pos:pos + 1].isspace() else None
        if word is None:
            space = re.compile(r"\s+").match(heading, pos, portion.end)
            if space is None or _NAME_STOP.match(heading, space.end(), portion.end):
                break
            pos = space.end()
            continue
        words.append(word)
        pos = word.end()
    words = [w for w in words if name_key(w.group()) not in _NOT_NAMES] and words
    while words and name_key(words[-1].group()) in _NOT_NAMES:
        words.pop()
    if not words or all(name_key(w.group()) in _NOT_NAMES for w in words):
        return None
    return Span(words[0].start(), words[-1].end())


_UNNAMED = re.compile(r"[^\d(#,;:\[]+")


def _unnamed_compound(heading: str, portion: Span) -> Span | None:
    """ "Compound cream 240gm": a compound named by no product, called by its words ("Compound cream")."""
    compound = COMPOUND_WORD.search(heading, portion.start, portion.end)
    if compound is None:
        return None
    words = _UNNAMED.match(heading, compound.start(), portion.end)
    if words is None:
        return None
    span = Span(*words.span())
    stripped = span.of(heading).strip(" -.")
    start = span.start + span.of(heading).index(stripped) if stripped else span.start
    return Span(start, start + len(stripped)) if stripped else None


def unknown_product_request(heading: str) -> DrugRequest | None:
    """A heading that reads like a drug request for a product the table does not know ("Xylocream 5% 30gm"):
    the product as an unresolved mention (its name kept as written), with form and quantity (a cream, gel or
    patch of a product the table does not know is a compounded kit); None when the
    heading does not read like a drug request. For headings `parse_drug_request` found no drug in; whether
    a service rule claims the heading first is the caller's question (kb.letters asks kb.treatments)."""
    portion = Span(*_disputed_portion(heading))
    if portion.end <= portion.start:
        return None
    name = _product_name(heading, portion)
    kit = name is not None and _KIT_AFTER.match(heading, name.end, portion.end)
    if not kit and not _reads_like_a_drug(portion.of(heading)):
        return None
    if name is None:
        name = _unnamed_compound(heading, portion)
        if name is None:
            return None
    written = " ".join(name.of(heading).split())
    mention = DrugMention(
        generic=written.casefold(), drug_class=UNKNOWN_CLASS, brand=written, text=name.of(heading), span=name,
        strength=(_strength_after(heading, name.end, written) or (None,))[0], ingredients=(),
        resolution=UNRESOLVED,
    )
    request = _request(heading, portion, [_Found(mention, name.end)])
    # an unknown branded cream, gel or patch in workers' compensation is a compounded kit
    return replace(request, compound=True) if request.form in TOPICAL_FORMS else request


def _after_name(rationale: str, name: str) -> Iterator[int]:
    """Where each mention of `name` in the rationale ends (any spacing, any case, whole words)."""
    words = [re.escape(word) for word in name.split()]
    pattern = re.compile(r"(?<![^\W_])" + r"\s+".join(words) + r"(?![^\W_])", re.IGNORECASE)
    return (m.end() for m in pattern.finditer(rationale))


def _listed(mentions: list[DrugMention], rationale: str, start: int, stop: int) -> list[DrugMention]:
    """The drug mentions in [start, stop) of the rationale."""
    return [m for m in mentions if start <= m.span.start and m.span.end <= stop]


def _run_from(mentions: list[DrugMention], rationale: str, start: int) -> list[DrugMention]:
    """The mentions written one after another from `start` ("lidocaine, menthol and capsaicin")."""
    run: list[DrugMention] = []
    pos = start
    for mention in (m for m in mentions if m.span.start >= start):
        gap = _BETWEEN_LISTED.match(rationale, pos)
        if gap is None or gap.end() < mention.span.start and run:
            break
        if not run and mention.span.start != gap.end():
            break
        run.append(mention)
        strength = STRENGTH_AFTER_NAME.match(rationale, mention.span.end)
        pos = strength.end() if strength else mention.span.end
    return run


def _named_ingredients(name: str, rationale: str, mentions: list[DrugMention]) -> list[DrugMention]:
    """What the rationale says the product holds: a bracket or a "contains" phrase right after its name
    ("Xylocream (lidocaine 5% cream)", "Paincalm contains menthol, ..."), else "the requested [topical] X"."""
    for end in _after_name(rationale, name):
        stop = _SENTENCE_END.search(rationale, end)
        stop_at = stop.start() if stop else len(rationale)
        bracket = re.compile(r"\s*+\(([^()]{1,200})\)").match(rationale, end)
        if bracket:
            found = _listed(mentions, rationale, bracket.start(1), bracket.end(1))
            if found:
                return found
        contains = _CONTAINS.match(rationale, end, stop_at)
        if contains:
            found = _listed(mentions, rationale, contains.end(), stop_at)
            if found:
                return found
    for requested in _REQUESTED.finditer(rationale):
        found = _run_from(mentions, rationale, requested.end())
        if found:
            return found
    return []


def explain_unknown_products(request: DrugRequest, rationale: str, rationale_drugs: list[DrugMention]
                             ) -> DrugRequest:
    """The request with each unresolved product's ingredients read from its rationale, where it names them.

    `rationale_drugs` are `find_drugs(rationale)` (spans in the rationale), passed in because the caller has
    them already. A product so explained is BY_RATIONALE, its generic its ingredients joined by "/", its
    class its first ingredient's."""
    if all(m.resolution != UNRESOLVED for m in request.drugs):
        return request
    drugs_out = []
    for mention in request.drugs:
        if mention.resolution == UNRESOLVED:
            named = _named_ingredients(mention.brand or mention.text, rationale, rationale_drugs)
            ingredients = tuple(dict.fromkeys(i for m in named for i in m.ingredients))
            if ingredients:
                mention = replace(mention, generic="/".join(i.name for i in ingredients),
                                  drug_class=CLASS_OF[named[0].generic], ingredients=ingredients,
                                  resolution=BY_RATIONALE)
        drugs_out.append(mention)
    return replace(request, drugs=tuple(drugs_out))
