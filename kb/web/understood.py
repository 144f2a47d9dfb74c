"""The search page acting on what kb.understanding reads in the search box: a letter's case number goes to
the letter; case numbers among words become case: filters; a guideline citation typed in words is searched
as that citation when the words themselves find nothing (else offered); a misspelled name is offered
corrected. A rewritten search carries what was typed (`typed=`) so its page says what it did, and every
state stays a URL."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import urlencode

from flask import redirect, url_for

from kb.drugs import resolve_drug
from kb.guidelines import citation_label
from kb.search import SearchResults
from kb.search_request import SearchRequest
from kb.understanding import case_numbers, guess_citation, letter_typed, spelling
from kb.web import search_index

TYPED = "typed"  # the parameter of a rewritten search holding the words as typed
# the tags a misspelling is corrected towards, besides the drug table's names (kb.columns facet names)
SPELLING_TAGS = ("drug", "product", "drug_class", "category", "subcategory", "region", "specialty")


def _url(search_request: SearchRequest, typed: str = "") -> str:
    query_string = search_request.query_string()
    extra = urlencode({TYPED: typed}) if typed else ""
    if query_string == "?":
        return url_for("search.search") + ("?" + extra if extra else "")
    return url_for("search.search") + query_string + ("&" + extra if extra else "")


def redirect_before_searching(search_request: SearchRequest, typed: str):
    """A redirect for a box holding a letter's case number alone (to the letter, when the index has it)
    or case numbers among words (to the search with case: filters), else None."""
    if typed or not search_request.q or search_request.page != 1:
        return None
    letter_id = letter_typed(search_request.q)
    if letter_id and not search_request.filters and search_index().letter(letter_id) is not None:
        return redirect(url_for("letters.letter", letter_id=letter_id), code=302)
    cases = case_numbers(search_request.q)
    if cases is not None:
        return redirect(_url(replace(search_request, q=cases.query), search_request.q), code=302)
    return None


def redirect_after_searching(results: SearchResults, typed: str):
    """When the words found nothing and read as a guideline citation some decisions make: a redirect to
    the search for that citation, else None."""
    search_request = results.request
    if typed or results.total or not search_request.q or search_request.page != 1:
        return None
    guess = guess_citation(search_request.q, _columns().vocabulary("guideline"))
    if guess is None:
        return None
    instead = replace(search_request, q=guess.query)
    if search_index().search(instead).total == 0:
        return None
    return redirect(_url(instead, search_request.q), code=302)


def notices(results: SearchResults, typed: str) -> list[dict]:
    """What the page says about how it read the box: [{text, links: [{label, url, count}]}]."""
    search_request = results.request
    said = []
    if typed:
        cases = case_numbers(typed)
        guess = guess_citation(typed, _columns().vocabulary("guideline"))
        if cases is not None and cases.query == search_request.q:
            missing = tuple(n for n in cases.numbers if search_index().letter(n) is None)
            said.append({"text": cases.explained(missing), "links": []})
        elif guess is not None and guess.query == search_request.q:
            others = [_offer(replace(search_request, q=f"guideline:{other} {guess.rest}".strip()),
                             citation_label(other)) for other in guess.alternatives]
            said.append({"text": guess.explained(typed) + (" Or:" if any(o["count"] for o in others) else ""),
                         "links": [o for o in others if o["count"]]})
    if not search_request.q:
        return said
    read_as = _drug_spellings(search_request.q)
    if read_as:
        said.append({"text": "Read " + "; ".join(f"“{typed_word}” as {name}" for typed_word, name in read_as)
                     + ", as the drug table knows the misspelling.", "links": []})
    if results.total == 0 and not typed:
        corrected = spelling(search_request.q, _tags())
        if corrected is not None:
            offer = _offer(replace(search_request, q=corrected.query, page=1), corrected.query)
            if offer["count"]:
                said.append({"text": "Did you mean:", "links": [offer], "suggestion": True})
    elif results.total and not typed:
        guess = guess_citation(search_request.q, _columns().vocabulary("guideline"))
        if guess is not None and guess.query != search_request.q:
            label = guess.label + (f" with “{guess.rest}”" if guess.rest else "")
            offer = _offer(replace(search_request, q=guess.query, page=1), label)
            if offer["count"]:
                said.append({"text": "Looking for a guideline? Decisions citing", "links": [offer]})
    return said


def _offer(search_request: SearchRequest, label: str) -> dict:
    return {"label": label, "url": _url(search_request), "count": search_index().search(search_request).total}


def _drug_spellings(q: str) -> list[tuple[str, str]]:
    """(word as typed, drug) for the words of `q` the drug table resolves as a known misspelling."""
    found = []
    for word in dict.fromkeys(q.split()):
        entry = resolve_drug(word.strip("\"'()"))
        if entry is None or ":" in word:
            continue
        names = {name.casefold() for name in (entry.generic, *entry.brands, *entry.synonyms)}
        if word.strip("\"'()").casefold() in {m.casefold() for m in entry.misspellings} - names:
            found.append((word, entry.generic))
    return found


def _columns():
    return search_index().generation().columns


def _tags() -> tuple[str, ...]:
    columns = _columns()
    return tuple(value for facet in SPELLING_TAGS for value, _ in columns.vocabulary(facet))
