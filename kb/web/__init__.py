"""The site: one app factory, `create_app(config=None)`.

Configuration comes from the defaults below, then `KB_*` environment variables (KB_INDEX_DIR=/srv/index),
then the mapping passed in (tests). The index is opened once per app (kb.search.SearchIndex picks up a
newly published generation by itself, and keeps the generation's reader open for every request).

    gunicorn -w 4 -b 127.0.0.1:8000 --timeout 30 'kb.web:create_app()'
"""

from __future__ import annotations

import json
import time
from datetime import date
from collections.abc import Mapping
from pathlib import Path

from flask import Flask, current_app, render_template, request, url_for

from kb import budget
from kb.engines import EngineError
from kb.integrity import IndexDamaged
from kb.published import DEEP_CHECK_AT_OPEN
from kb.search import SearchIndex
from kb.search_request import SearchError

ROOT = Path(__file__).resolve().parents[2]
PACKAGED_SITE = Path(__file__).resolve().parents[1] / "_site"  # where the wheel puts templates/ and static/

DEFAULTS = {
    "INDEX_DIR": "index",
    "CSV_MAX_ROWS": 10_000,
    "SITE_NAME": "imr-kb",
    "DEBUG": False,
    "TESTING": False,
    "MAX_CONTENT_LENGTH": 1024 * 1024,  # cite-check posts a brief's text; nothing bigger is accepted
    "REQUEST_SECONDS": budget.REQUEST_SECONDS,  # the work one request may do (kb.budget)
    "MAX_QUEUE_SECONDS": 0.5,  # a request that waited longer behind a proxy (X-Request-Start) gets a 503
    "DEEP_CHECK_AT_OPEN": DEEP_CHECK_AT_OPEN,  # bytes of a generation checked before it answers (kb.published)
}
RETRY_AFTER_SECONDS = 1
_IMPLAUSIBLE_WAIT = 3600.0  # an X-Request-Start further back is a wrong clock or a made-up header

# No inline script or style anywhere: the pages work with JavaScript off, and static/app.js adds the rest.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _site_dir(name: str) -> Path:
    """templates/ and static/ inside the installed package (a wheel puts them there), else at the top of
    this checkout. Never a folder of that name that merely sits beside the package (site-packages/templates)."""
    packaged = PACKAGED_SITE / name
    return packaged if packaged.is_dir() else ROOT / name


def create_app(config: Mapping | None = None) -> Flask:
    app = Flask("kb", template_folder=str(_site_dir("templates")), static_folder=str(_site_dir("static")))
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env("KB")
    if config:
        app.config.update(config)
    app.extensions["kb.index"] = SearchIndex(Path(app.config["INDEX_DIR"]),
                                             deep_check_at_open=int(app.config["DEEP_CHECK_AT_OPEN"]))

    from kb.web import cite_views, letter_views, passage_views, precedent_views, search_views

    app.register_blueprint(search_views.blueprint)
    app.register_blueprint(letter_views.blueprint)
    app.register_blueprint(precedent_views.blueprint)
    app.register_blueprint(passage_views.blueprint)
    app.register_blueprint(cite_views.blueprint)
    app.before_request(_start_budget)
    app.teardown_request(_stop_budget)
    app.after_request(_security_headers)
    app.after_request(_index_notice)
    app.context_processor(_site_context)
    from kb.web.numbers import FILTERS

    app.jinja_env.filters.update(FILTERS)
    app.register_error_handler(SearchError, _bad_request)
    app.register_error_handler(400, _bad_request)
    app.register_error_handler(budget.TooCostly, _bad_request)
    app.register_error_handler(budget.OverBudget, _out_of_time)
    app.register_error_handler(404, _not_found)
    app.register_error_handler(413, _too_large)
    app.register_error_handler(405, _method_not_allowed)
    app.register_error_handler(FileNotFoundError, _no_index)
    app.register_error_handler(EngineError, _unreadable_index)
    app.register_error_handler(IndexDamaged, _damaged_index)
    app.register_error_handler(500, _server_error)
    return app


def local_server(app: Flask, host: str, port: int):
    """A threaded Werkzeug server for one person (`kb serve`), already listening: a port in use is an OSError
    here, before anything says the site is served. Production runs gunicorn (README)."""
    from werkzeug.serving import make_server

    return make_server(host, port, app, threaded=True)


def search_index() -> SearchIndex:
    return current_app.extensions["kb.index"]


def wants_json() -> bool:
    return request.path.startswith("/api/")


def _start_budget():
    """Shed a request that waited too long for a worker (it would be answered late, and keep later requests
    waiting); give the others their budget of work."""
    waited = _seconds_waited()
    if waited is not None and waited > current_app.config["MAX_QUEUE_SECONDS"]:
        return _busy(f"The site is busy: this request waited {waited:.1f} s for its turn. "
                     f"Try again in {RETRY_AFTER_SECONDS} s.")
    budget.start(float(current_app.config["REQUEST_SECONDS"]))
    return None


def _stop_budget(error=None):
    budget.stop()


def _seconds_waited() -> float | None:
    """How long ago the proxy in front passed the request on (X-Request-Start: t=<seconds since the epoch>, as
    nginx's ${msec} gives it; milli- and microseconds are understood too), or None without the header."""
    raw = request.headers.get("X-Request-Start", "").strip().removeprefix("t=")
    try:
        started = float(raw)
    except ValueError:
        return None
    while started > 1e11:  # milliseconds or microseconds since the epoch
        started /= 1000
    waited = time.time() - started
    return max(0.0, waited) if waited < _IMPLAUSIBLE_WAIT else None  # (nan compares false: None too)


def _busy(message: str):
    body, status = _error(503, "Busy", message)
    return body, status, {"Retry-After": str(RETRY_AFTER_SECONDS)}


def _security_headers(response):
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


# The main navigation, (endpoint, label), in order.
NAV_LINKS = [("precedents.precedents_page", "Precedents"), ("precedents.guidelines_page", "Guidelines"),
             ("cite.cite_check", "Cite-check"), ("search.help_page", "Help")]


def _site_context() -> dict:
    from kb.web.coverage import coverage, coverage_sentence
    from kb.web.numbers import bluebook_date

    generation = _served()
    return {"site_name": current_app.config["SITE_NAME"], "nav_links": NAV_LINKS,
            "synthetic": bool(generation and generation.synthetic),
            "index_notice": generation.notice if generation else None,
            "coverage": coverage_sentence(coverage(generation)) if generation else None,
            "terms_url": url_for("search.help_page") + "#terms",
            # printed pages say where and when they were taken from (print.css shows it, the screen does not)
            "retrieved": {"url": request.url, "date": bluebook_date(date.today().isoformat())}}


def _served():
    """The generation this request is served from, for what every page says about it (synthetic letters,
    an earlier generation standing in for a damaged one); None when there is none to serve."""
    try:
        return search_index().generation()
    except (FileNotFoundError, OSError, EngineError, IndexDamaged):
        return None


def _index_notice(response):
    """Every answer says when an earlier generation stands in for a damaged one: pages in a banner (the
    template), JSON in its body, and every response (CSV, Atom too) in an X-Index-Notice header."""
    generation = _served() if response.status_code < 500 else None
    if generation is None or not generation.notice:
        return response
    response.headers["X-Index-Notice"] = generation.notice
    if response.is_json and request.path.startswith("/api/"):
        body = response.get_json(silent=True)
        if isinstance(body, dict):
            body["index_notice"] = generation.notice
            response.set_data(json.dumps(body, ensure_ascii=False))
    return response


def _error(status: int, title: str, message: str):
    if wants_json():
        return {"version": 1, "error": {"status": status, "title": title, "message": message}}, status
    from kb.web.search_views import search_form

    # the search box stays, with the words that were searched for: correcting them is the way on
    form = search_form(request.args.get("q", "")[:500]) if request.method == "GET" else search_form()
    return render_template("error.html", status=status, title=title, message=message, form=form), status


def _bad_request(error):
    message = str(error) if isinstance(error, (SearchError, budget.TooCostly)) else getattr(error, "description",
                                                                                              str(error))
    return _error(400, "This request cannot be answered", message)


def _out_of_time(error):
    return _busy(str(error))


def _too_large(error):
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    return _error(413, "Too large", f"A request may send at most {limit:,} bytes.")


# What a 404 says, by the kind of address asked for (the first match in the path wins).
_NOT_FOUND = (
    ("/letters/", "No such letter or item is in the index. Letters are found at /letters/<case number>, "
                  "such as /letters/CM16-0213037, and items at /letters/<case number>/items/<n>."),
    ("/guidelines/", "No guideline citation with this id is in the index; /guidelines lists every one."),
)


def _not_found(error):
    message = next((text for part, text in _NOT_FOUND if part in request.path),
                   "There is no page here. Start from the search page, /search.")
    return _error(404, "Not found", message)


def _method_not_allowed(error):
    response = _error(405, "Method not allowed", f"This address does not accept {request.method} requests.")
    body, status = response
    allowed = ", ".join(sorted(error.valid_methods or ()))
    return body, status, ({"Allow": allowed} if allowed else {})


def _no_index(error):
    return _error(503, "No index yet", str(error))


def _unreadable_index(error):
    return _error(503, "The index cannot be read", str(error))


def _damaged_index(error):
    return _error(503, "The index is damaged", str(error))


def _server_error(error):
    # A damaged index fails in any way: when the generation's bytes have changed, say so (503) and serve
    # an earlier generation from the next request on. Never a traceback: the log has it.
    original = getattr(error, "original_exception", None)
    if original is not None:
        damaged = search_index().published.diagnose(original)
        if damaged is not None:
            return _damaged_index(damaged)
    return _error(500, "Something went wrong", "The server could not answer this request. Try again later.")
