"""The search page, its JSON twin and its CSV export: three views of one SearchRequest."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

import markdown
from flask import Blueprint, Response, current_app, redirect, render_template, request, stream_with_context, url_for

from markupsafe import Markup

from kb.documents import letter_name
from kb.search import SearchResults
from kb import suggest
from kb.search_request import SearchError, SearchRequest
from kb.web import search_index, understood
from kb.web.numbers import counted

blueprint = Blueprint("search", __name__)

API_VERSION = 1
CSV_COLUMNS = ("passage_id", "case_number", "item", "decision_date", "heading", "decision", "drugs", "drug_classes",
               "category", "subcategory", "claims_administrator_guidelines", "reviewer_guidelines",
               "reviewer_specialties", "body_region", "time_since_injury", "reasons", "rationale", "url")
_FORMULA_STARTS = frozenset(("=", "+", "-", "@", "\t", "\r"))
CSV_CHUNK_ROWS = 500  # rows sent at once: one write per row would be 10,000 small writes
CSV_TRAILER = "# end of export"  # the first cell of the last row of a whole export


def search_url(query_string: str | None) -> str | None:
    """A query string from kb.search -> the search page's URL."""
    if query_string is None:
        return None
    return url_for("search.search") + (query_string if query_string != "?" else "")


def filter_url(name: str, value: str) -> str:
    """The search for passages with `value` in facet `name`, the value encoded ("Physical Medicine &
    Rehabilitation", "#", "%" and "+" arrive as they are)."""
    return search_url(SearchRequest(filters=((name, (value,)),)).query_string())


def letter_url(letter_id: str, ordinal: int | None = None, *, external: bool = False, highlight: str = "") -> str:
    """The permalink of a letter, or of one of its items (which lands on the item's anchor)."""
    if ordinal is None:
        return url_for("letters.letter", letter_id=letter_id, _external=external) + highlight
    return url_for("letters.item", letter_id=letter_id, ordinal=ordinal, _external=external) + highlight


def hit_view(hit, highlight: str) -> dict:
    name = letter_name(hit.case_number, hit.letter_id)
    return {
        **hit.__dict__,
        "name": f"{name}, item {hit.ordinal}",
        "date_label": hit.decision_date or "date not stated",
        "snippet": [segment.__dict__ for segment in hit.snippet],
        "permalink": letter_url(hit.letter_id, hit.ordinal, external=True),
        "url": letter_url(hit.letter_id, hit.ordinal, highlight=highlight),
        "similar_url": url_for("passages.similar", letter_id=hit.letter_id, ordinal=hit.ordinal),
        "drugs": [{**drug, "url": filter_url("drug", drug["generic"])} for drug in hit.drugs],
        "guidelines_ca": [{**g, "url": filter_url("guideline", g["id"])} for g in hit.guidelines_ca],
        "guidelines_reviewer": [{**g, "url": filter_url("guideline", g["id"])} for g in hit.guidelines_reviewer],
    }


def _search_params(search_request: SearchRequest) -> str:
    """What a result link carries: the whole search, so the letter page highlights its words and links back
    to these results (the same page of them, in the same order)."""
    query_string = search_request.query_string()
    return "" if query_string == "?" else query_string


def _sorts(results: SearchResults) -> list[dict]:
    """The sort links. Without words to rank by, "relevance" orders newest first: it is said so, and the
    relevance choice (which would change nothing) is left out."""
    ranked = any(hit.score is not None for hit in results.hits) or not results.hits and bool(results.request.q)
    sorts = [{**sort, "url": search_url(sort["url"])} for sort in results.sorts]
    if ranked or results.request.sort != "relevance":
        return [sort for sort in sorts if ranked or sort["value"] != "relevance"]
    return [{**sort, "selected": sort["value"] == "newest"} for sort in sorts if sort["value"] != "relevance"]


def search_form(q: str = "", hidden: list[tuple[str, str]] = (), date_from=None, date_to=None) -> dict:
    """What the search box shows: the words, the filters and sort it keeps, the dates (templates/_search_form)."""
    return {"action": url_for("search.search"), "q": q, "hidden": list(hidden), "from": date_from or "",
            "to": date_to or "", "help_url": url_for("search.help_page")}


def _form_of(search_request: SearchRequest) -> dict:
    hidden = [(name, value) for name, values in search_request.filters for value in values]
    if search_request.sort != "relevance":
        hidden.append(("sort", search_request.sort))
    return search_form(search_request.q, hidden, search_request.date_from, search_request.date_to)


def _page_view(results: SearchResults) -> dict:
    req = results.request
    highlight = _search_params(req)
    past_end = results.total > 0 and req.page > results.pages
    first = (req.page - 1) * req.per_page + 1
    return {
        "results": results,
        "request": req,
        "form": _form_of(req),
        "heading": "Search IMR decisions",
        "total_label": counted(results.total, "decision"),
        "range_label": (f"{first:,}–{min(results.total, first + len(results.hits) - 1):,} of {results.total:,}"
                        if results.hits and results.total > len(results.hits) else ""),
        "page_label": f"Page {req.page} of {results.pages:,}" if results.pages > 1 and not past_end else "",
        "past_end": (f"There is no page {req.page:,}: these {counted(results.total, 'decision')} fill "
                     f"{counted(results.pages, 'page')}.") if past_end else "",
        "last_page_url": search_url(req.query_string(page=results.pages)) if past_end else None,
        "hits": [dict(hit_view(hit, highlight), compare_label=f"Compare {letter_name(hit.case_number, hit.letter_id)}, "
                                                             f"item {hit.ordinal}")
                 for hit in results.hits],
        "facets": [
            {**facet,
             "values": [{**value, "url": search_url(value["toggle"])} for value in facet["values"]],
             "expand_url": search_url(facet["expand"])}
            for facet in results.facets
        ],
        "active": [{**item, "url": search_url(item["remove"])} for item in results.active],
        "active_count": counted(len(results.active), "active filter"),
        "sorts": _sorts(results),
        "previous_url": search_url(results.previous) if not past_end else None,
        "next_url": search_url(results.next) if not past_end else None,
        "json_url": url_for("search.search_json") + params_suffix(req),
        "csv_url": url_for("search.search_csv") + params_suffix(req),
        "clear_url": url_for("search.search"),
        "compare_url": url_for("passages.compare"),
        "precedents_url": url_for("precedents.precedents_page") + params_suffix(replace(req, sort="relevance")),
        "feed_url": url_for("search.search_feed") + params_suffix(replace(req, sort="relevance")),
    }


def params_suffix(search_request: SearchRequest) -> str:
    query_string = search_request.query_string(page=1)
    return "" if query_string == "?" else query_string


@blueprint.get("/")
@blueprint.get("/search")
def search():
    search_request = SearchRequest.from_params(request.args)
    if any(not value.strip() for value in request.args.values()):
        # the form sends its empty fields ("from=&to="): show the same search under its canonical URL
        return redirect(search_url(search_request.query_string()), code=302)
    typed = request.args.get(understood.TYPED, "").strip()
    before = understood.redirect_before_searching(search_request, typed)
    if before is not None:
        return before
    results = search_index().search(search_request)
    after = understood.redirect_after_searching(results, typed)
    if after is not None:
        return after
    return render_template("search.html", **_page_view(results), notices=understood.notices(results, typed))


@blueprint.get("/api/suggest")
def suggest_json():
    """Values for a drug, treatment or guideline field as someone types: ?field=drug&q=hyd[&limit=10]."""
    field = request.args.get("field", "")
    if field not in suggest.SUGGESTED:
        raise SearchError(f"field must be one of {', '.join(suggest.SUGGESTED)}")
    try:
        limit = int(request.args.get("limit", "10"))
    except ValueError:
        raise SearchError("limit must be a whole number") from None
    typed = request.args.get("q", "")
    found = suggest.suggest(search_index().generation().columns, field, typed, limit)
    return {"version": API_VERSION, "field": field, "q": typed, "suggestions": [s.as_dict() for s in found]}


@blueprint.get("/api/search")
def search_json():
    search_request = SearchRequest.from_params(request.args)
    results = search_index().search(search_request)
    return search_document(results)


def search_document(results: SearchResults) -> dict:
    """The JSON shape of a results page (documented in the README, "JSON API")."""
    req = results.request
    view = _page_view(results)
    return {
        "version": API_VERSION,
        "generation": results.generation,
        "request": {
            "q": req.q,
            "filters": {name: list(values) for name, values in req.filters},
            "from": req.date_from.isoformat() if req.date_from else None,
            "to": req.date_to.isoformat() if req.date_to else None,
            "sort": req.sort,
            "page": req.page,
            "per_page": req.per_page,
        },
        "total": results.total,
        "pages": results.pages,
        "hits": [
            {
                "passage_id": hit["passage_id"],
                "letter_id": hit["letter_id"],
                "case_number": hit["case_number"],
                "item": hit["ordinal"],
                "heading": hit["heading"],
                "decision": hit["decision"],
                "decision_date": hit["decision_date"],
                "drugs": [{"generic": d["generic"], "class": d["class"]} for d in hit["drugs"]],
                "category": hit["category"],
                "subcategory": hit["subcategory"],
                "guidelines": {
                    "claims_administrator": [{"id": g["id"], "label": g["label"]} for g in hit["guidelines_ca"]],
                    "reviewer": [{"id": g["id"], "label": g["label"]} for g in hit["guidelines_reviewer"]],
                },
                "snippet": hit["snippet"],
                "synthetic": hit["synthetic"],
                "url": hit["permalink"],
            }
            for hit in view["hits"]
        ],
        "facets": [
            {"name": f["name"], "label": f["label"],
             "values": [{key: v[key] for key in ("value", "label", "count", "adds", "selected")} for v in f["values"]]}
            for f in view["facets"]
        ],
        "active_filters": [item["label"] for item in results.active],
        "links": {
            "html": _absolute(view["clear_url"] + params_suffix(req)),
            "csv": _absolute(view["csv_url"]),
            "next": _absolute(url_for("search.search_json") + results.next) if results.next else None,
            "previous": _absolute(url_for("search.search_json") + results.previous) if results.previous else None,
        },
    }


def _absolute(path: str) -> str:
    return request.host_url.rstrip("/") + path


FEED_ENTRIES = 50
HELP_FILE = Path(__file__).with_name("help.md")


@blueprint.get("/help")
def help_page():
    """The search help, written in Markdown beside this module (our own text: its HTML is trusted)."""
    body = markdown.markdown(HELP_FILE.read_text(encoding="utf-8"), extensions=["tables"])
    return render_template("help.html", body=Markup(body))


@blueprint.get("/feeds/search.atom")
def search_feed():
    """The newest decisions matching a search, as Atom: a feed reader then follows new decisions."""
    search_request = replace(SearchRequest.from_params(request.args), sort="newest", page=1, per_page=FEED_ENTRIES)
    results = search_index().search(search_request)
    view = _page_view(results)
    title = "; ".join(item["label"] for item in results.active) or "All decisions"
    updated = max((hit["decision_date"] for hit in view["hits"] if hit["decision_date"]), default="1970-01-01")
    body = render_template("search_feed.xml", title=title, hits=view["hits"], updated=updated,
                           self_url=_absolute(url_for("search.search_feed") + params_suffix(
                               replace(search_request, sort="relevance", per_page=20))),
                           html_url=_absolute(view["clear_url"] + params_suffix(replace(search_request, sort="relevance",
                                                                                         per_page=20))))
    return Response(body, mimetype="application/atom+xml")


@blueprint.get("/search.csv")
def search_csv():
    search_request = SearchRequest.from_params(request.args)
    limit = current_app.config["CSV_MAX_ROWS"]
    index = search_index()
    total = index.match(search_request).total
    rows = index.rows(search_request, limit)
    lines = _csv_lines(rows, _item_url_template(request.host_url.rstrip("/")), total, limit)
    response = Response(stream_with_context(lines), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="imr-kb-search.csv"'
    response.headers["X-Total-Count"] = str(total)
    response.headers["X-Rows-Limit"] = str(limit)
    return response


def _item_url_template(base: str) -> str:
    """The absolute address of an item, with {letter} and {ordinal} to fill in: url_for once, not per row."""
    path = url_for("letters.item", letter_id="LETTER", ordinal=0)
    assert path.endswith("/LETTER/items/0"), path
    return base + path[:-len("LETTER/items/0")] + "{letter}/items/{ordinal}"


def _csv_lines(rows: Iterator[dict], item_url: str, total: int, limit: int) -> Iterator[str]:
    """The header, the rows (in chunks of CSV_CHUNK_ROWS), and the trailer row that says the file is whole:
    a download cut off on the way (a dropped connection, a restarted server) has no trailer."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        value = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return value

    writer.writerow(CSV_COLUMNS)
    count = 0
    for row in rows:
        letter_id, _, ordinal = row["passage_id"].partition("/")
        row["url"] = item_url.format(letter=quote(letter_id, safe=""), ordinal=ordinal)
        # neutralize() inlined: this runs for 150,000 cells of a 10,000-row export (the row's values are text)
        writer.writerow(["'" + cell if cell[:1] in _FORMULA_STARTS else cell for cell in map(row.get, CSV_COLUMNS)])
        count += 1
        if count % CSV_CHUNK_ROWS == 0:
            yield flush()
    ending = "complete" if count >= total else f"stopped at the limit of {limit} rows: narrow the search for the rest"
    writer.writerow([CSV_TRAILER, f"{count} rows", f"{total} matching", ending])
    yield flush()


def neutralize(value) -> str:
    """A CSV cell a spreadsheet will not run as a formula: a leading = + - @ gets a quote mark."""
    text = "" if value is None else value if isinstance(value, str) else str(value)
    return "'" + text if text[:1] in _FORMULA_STARTS else text

