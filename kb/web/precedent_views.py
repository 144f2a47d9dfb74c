"""Precedent statistics and the guideline pages, as HTML and JSON: views of kb.precedents."""

from __future__ import annotations

from collections import OrderedDict
from threading import Lock

from flask import Blueprint, abort, redirect, render_template, request, url_for

from kb import suggest

from kb.guidelines import citation_ancestry, citation_label
from kb.precedents import FEW_DECISIONS, OVERTURNED, UPHELD, guideline_index, guideline_view, precedents
from kb.search import facet_label
from kb.search_request import FACET_BY_NAME, SearchRequest
from kb.understanding import guess_citation, spelling
from kb.web import search_index
from kb.web.charts import year_chart
from kb.web.search_views import hit_view, params_suffix, search_url

blueprint = Blueprint("precedents", __name__)
API_VERSION = 1
# A guideline page reads hundreds of rationales for its phrases, and the guideline index counts every
# citation of every passage; a published generation never changes, so each is computed once per index
# generation (per process) and kept, the least recently made dropped.
GUIDELINE_VIEWS_CACHED = 256
_guideline_views: OrderedDict = OrderedDict()
_cache_lock = Lock()


def _once_per_generation(match, key: str, compute):
    full_key = (str(search_index().index_dir), match.generation.name, key)
    with _cache_lock:
        view = _guideline_views.get(full_key)
    if view is None:
        view = compute()
        with _cache_lock:
            _guideline_views[full_key] = view
            while len(_guideline_views) > GUIDELINE_VIEWS_CACHED:
                _guideline_views.popitem(last=False)
    return view


def _guideline_rows() -> list[dict]:
    """The guideline index (copies: the views add their URLs)."""
    match = search_index().match(SearchRequest())
    return [dict(row) for row in _once_per_generation(match, "", lambda: guideline_index(match))]
_GUIDELINE_ID_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/:._-")


def linked(value, *, absolute: bool = False):
    """Statistics data with every SearchRequest (the passages behind a figure) replaced by its search URL."""
    if isinstance(value, SearchRequest):
        url = search_url(value.query_string())
        return request.host_url.rstrip("/") + url if absolute else url
    if isinstance(value, dict):
        return {key: linked(item, absolute=absolute) for key, item in value.items()}
    if isinstance(value, list):
        return [linked(item, absolute=absolute) for item in value]
    return value


def _typical_hits(match, typical: dict) -> dict:
    return {decision: [hit_view(hit, "") for hit in match.hits(rows, whole=True)] for decision, rows in typical.items()}


def _title(search_request: SearchRequest) -> str:
    return ", ".join(describe(search_request)) or "all decisions"


def describe(search_request: SearchRequest) -> list[str]:
    """The request's filters in words, for a page title."""
    words = [f"“{search_request.q}”"] if search_request.q else []
    for name, values in search_request.filters:
        spec = FACET_BY_NAME[name]
        words.append(" or ".join(facet_label(spec, value) for value in values))
    return words


# The precedents form: (parameter, label, example values)
PRECEDENT_FIELDS = (("drug", "Drug", "carisoprodol, Soma"), ("treatment", "Treatment", "MRI, Acupuncture"),
                    ("guideline", "Guideline", "MTUS p. 24, ODG low back"))
DATALIST_VALUES = 300  # each field's list offers the most held values; app.js asks /api/suggest for the rest


def precedent_form(search_request: SearchRequest) -> dict:
    """The precedents form: each field shows the one value the page is for (several values of one field are
    kept by the page's own links, not by the form), and lists the values the index holds (a <datalist>:
    the browser suggests from it as one types, without JavaScript)."""
    columns = search_index().generation().columns
    fields = []
    for name, label, placeholder in PRECEDENT_FIELDS:
        values = search_request.values(name)
        fields.append({"name": name, "label": label, "placeholder": placeholder,
                       "value": values[0] if len(values) == 1 else "",
                       "options": [s.as_dict() for s in suggest.vocabulary(columns, name)[:DATALIST_VALUES]],
                       "suggest_url": url_for("search.suggest_json", field=name)})
    return {"action": url_for("precedents.precedents_page"), "fields": fields}


def _understood(search_request: SearchRequest):
    """A precedents request whose guideline is written in words ("MTUS p. 24") -> a redirect to the one for
    the citation it names; None when there is nothing to read."""
    written = search_request.values("guideline")
    if len(written) != 1:
        return None
    citations = search_index().generation().columns.vocabulary("guideline")
    if written[0] in {citation_id for citation_id, _ in citations}:
        return None
    guess = guess_citation(written[0], citations)
    if guess is None or guess.rest:
        return None
    changed = search_request.toggled("guideline", written[0]).toggled("guideline", guess.citation_id)
    return redirect(url_for("precedents.precedents_page") + changed.query_string(), code=302)


def _did_you_mean(search_request: SearchRequest) -> list[dict]:
    """For a request matching nothing: its drug or treatment values spelled as the index's tags are."""
    offers = []
    for name in ("drug", "treatment"):
        for value in search_request.values(name):
            corrected = spelling(value, tuple(s.value for s in suggest.vocabulary(search_index().generation().columns,
                                                                                    name)))
            if corrected is None:
                continue
            changed = search_request.toggled(name, value).toggled(name, corrected.query)
            if search_index().match(changed).total:
                offers.append({"label": corrected.query, "url": url_for("precedents.precedents_page")
                               + changed.query_string()})
    return offers


@blueprint.get("/precedents")
def precedents_page():
    search_request = SearchRequest.from_params(request.args)
    understood = _understood(search_request)
    if understood is not None:
        return understood
    match = search_index().match(search_request)
    data = linked(precedents(match))
    typical = _typical_hits(match, data.pop("typical"))
    return render_template(
        "precedents.html", stats=data, typical=typical, request=search_request, title=_title(search_request),
        form=precedent_form(search_request), few_below=FEW_DECISIONS, search_page_url=url_for("search.search"),
        chart=year_chart(data["by_year"]), search_url=search_url(search_request.query_string()),
        json_url=url_for("precedents.precedents_json") + params_suffix(search_request), upheld=UPHELD,
        overturned=OVERTURNED, empty=match.total == 0,
        did_you_mean=_did_you_mean(search_request) if match.total == 0 else [])


@blueprint.get("/api/precedents")
def precedents_json():
    search_request = SearchRequest.from_params(request.args)
    match = search_index().match(search_request)
    data = linked(precedents(match), absolute=True)
    rows = data.pop("typical")
    data["typical"] = {decision: [hit.passage_id for hit in match.hits(r)] for decision, r in rows.items()}
    return {"version": API_VERSION, "generation": match.generation.name,
            "request": {"q": search_request.q, "filters": {n: list(v) for n, v in search_request.filters}},
            **data}


@blueprint.get("/guidelines")
def guidelines_page():
    rows = _guideline_rows()
    for row in rows:
        row["url"] = url_for("precedents.guideline_page", citation_id=row["id"])
    return render_template("guidelines.html", rows=rows, json_url=url_for("precedents.guidelines_json"),
                           few_below=FEW_DECISIONS)


@blueprint.get("/api/guidelines")
def guidelines_json():
    rows = _guideline_rows()
    base = request.host_url.rstrip("/")
    for row in rows:
        row["url"] = base + url_for("precedents.guideline_json", citation_id=row["id"])
    return {"version": API_VERSION, "guidelines": rows}


def _guideline(citation_id: str) -> tuple:
    if len(citation_id) > 200 or not set(citation_id) <= _GUIDELINE_ID_CHARS:
        abort(404)
    search_request = SearchRequest(filters=(("guideline", (citation_id,)),))
    match = search_index().match(search_request)
    if match.total == 0:
        abort(404)
    return match, _once_per_generation(match, citation_id, lambda: guideline_view(match, citation_id))


@blueprint.get("/guidelines/<path:citation_id>")
def guideline_page(citation_id: str):
    match, view = _guideline(citation_id)
    data = linked(view)
    typical = _typical_hits(match, data.pop("typical"))
    parents = [{"id": p, "label": citation_label(p), "url": url_for("precedents.guideline_page", citation_id=p)}
               for p in citation_ancestry(citation_id)[:-1]]
    for phrase in data["phrases"]:  # each phrase finds the rationales citing the guideline that use it
        phrase["url"] = search_url(SearchRequest(q=f'"{phrase["phrase"]}"',
                                                 filters=(("guideline", (citation_id,)),)).query_string())
    for other in (data.get("editions") or {}).get("others", []):
        other["url"] = url_for("precedents.guideline_page", citation_id=other["id"])
    return render_template(
        "guideline.html", view=data, typical=typical, parents=parents, chart=year_chart(data["by_year"]),
        few_below=FEW_DECISIONS, guidelines_url=url_for("precedents.guidelines_page"),
        precedents_url=url_for("precedents.precedents_page", guideline=citation_id),
        json_url=url_for("precedents.guideline_json", citation_id=citation_id), upheld=UPHELD, overturned=OVERTURNED)


@blueprint.get("/api/guidelines/<path:citation_id>")
def guideline_json(citation_id: str):
    match, view = _guideline(citation_id)
    data = linked(view, absolute=True)
    data["typical"] = {decision: [hit.passage_id for hit in match.hits(rows)] for decision, rows in
                       data["typical"].items()}
    return {"version": API_VERSION, "guideline": data}
