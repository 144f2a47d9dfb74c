"""A search as URL parameters: the facets a search can filter on, and `SearchRequest`, parsed and
checked from a query string (every refusal a `SearchError` with its reason in words). No Flask here."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from urllib.parse import urlencode

from kb.query import Node, QueryError, parse_query

PER_PAGE = 20
MAX_PER_PAGE = 100
MAX_RESULT_WINDOW = 10_000  # page * per_page may not go past this: deep pages are refused, not slow
MAX_FILTER_VALUES = 30
MAX_VALUE_CHARS = 200
SORTS = {"relevance": "Relevance", "newest": "Newest first", "oldest": "Oldest first"}


class SearchError(ValueError):
    """A request that is refused (HTTP 400), with the reason in words."""


@dataclass(frozen=True)
class FacetSpec:
    name: str  # URL parameter
    label: str
    column: str  # kb.columns facet ("year" is the year column)
    field: str  # the kb.query field that filters on it ("" when none does: a facet computed for a whole index)
    shown: bool = True  # in the sidebar; hidden ones are filters that statistics pages link to


FACETS = (
    FacetSpec("decision", "Decision", "decision", "decision"),
    FacetSpec("drug", "Drug", "drug", "drug"),  # by active ingredient: "hydrocodone" counts Norco too
    FacetSpec("product", "Product", "product", "product", shown=False),  # as asked for: "hydrocodone/acetaminophen"
    FacetSpec("class", "Drug class", "drug_class", "class"),
    FacetSpec("category", "Treatment category", "category", "category"),
    FacetSpec("treatment", "Treatment", "subcategory", "subcategory"),
    FacetSpec("source", "Guideline source", "guideline_source", "source"),
    FacetSpec("guideline", "Guideline cited", "guideline", "guideline"),
    FacetSpec("reviewer_guideline", "Reviewer cited", "guideline_reviewer", "reviewer_guideline", shown=False),
    FacetSpec("ca_guideline", "Claims administrator cited", "guideline_ca", "ca_guideline", shown=False),
    FacetSpec("divergent", "Guidelines of the two sides", "divergent", "divergent"),
    FacetSpec("specialty", "Reviewer specialty", "specialty", "specialty"),
    FacetSpec("year", "Decision year", "year", "year"),
    # the DWC's own rows (kb fetch's sidecars): its category for the item, and how the tags here compare
    FacetSpec("dwc_category", "DWC category", "dwc_category", "dwc_category"),
    FacetSpec("dwc", "Tags against the DWC's", "dwc_check", "dwc"),
    FacetSpec("dwc_decision", "DWC decision", "dwc_decision", "dwc_decision", shown=False),
    # why and for whom (kb.why): the item's body region, the time since the injury, the reviewer's reasons,
    # the diagnoses stated, and whether the rationale's wording is reused in other decisions (kb.wording_store)
    FacetSpec("region", "Body region", "region", "region"),
    FacetSpec("side", "Side", "side", "side", shown=False),
    FacetSpec("since_injury", "Time since injury", "since_injury", "since_injury"),
    FacetSpec("reason", "Decision reason", "reason", "reason"),
    FacetSpec("diagnosis", "Diagnosis", "diagnosis", "diagnosis"),
    FacetSpec("wording", "Wording", "wording", ""),
    FacetSpec("wording_group", "The same wording as", "wording_group", "", shown=False),
)
FACET_BY_NAME = {spec.name: spec for spec in FACETS}
# kb.query field -> index field for Filter nodes

# --------------------------------------------------------------------------------------------
# The request


@dataclass(frozen=True)
class SearchRequest:
    q: str = ""
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (facet name, values), in FACETS order
    date_from: date | None = None
    date_to: date | None = None
    sort: str = "relevance"
    page: int = 1
    per_page: int = PER_PAGE
    expand: tuple[str, ...] = ()  # facets to show in full

    @classmethod
    def from_params(cls, params: Mapping) -> SearchRequest:
        """From a query string's parameters (anything with get and getlist, or a dict of lists)."""
        get = _getter(params)
        filters = []
        total = 0
        for spec in FACETS:
            values = tuple(dict.fromkeys(v.strip() for v in get(spec.name) if v.strip()))
            for value in values:
                if len(value) > MAX_VALUE_CHARS:
                    raise SearchError(f"a {spec.label.lower()} value is over {MAX_VALUE_CHARS} characters long")
            total += len(values)
            if values:
                filters.append((spec.name, values))
        if total > MAX_FILTER_VALUES:
            raise SearchError(f"{total} filter values; the limit is {MAX_FILTER_VALUES}")
        sort = (get("sort") or ["relevance"])[-1]
        if sort not in SORTS:
            raise SearchError(f"sort must be one of {', '.join(SORTS)}")
        page = _positive_int(get("page"), "page", 1)
        per_page = _positive_int(get("per_page"), "per_page", PER_PAGE)
        if per_page > MAX_PER_PAGE:
            raise SearchError(f"per_page may be at most {MAX_PER_PAGE}")
        if page * per_page > MAX_RESULT_WINDOW:
            raise SearchError(f"page {page} is too deep: results are shown up to number {MAX_RESULT_WINDOW:,}; "
                              "narrow the search instead")
        q = (get("q") or [""])[-1]
        expand = tuple(name for name in (get("expand") or [""])[-1].split(",") if name in FACET_BY_NAME)
        request = cls(q=q.strip(), filters=tuple(filters), date_from=_date(get("from"), "from", start=True),
                      date_to=_date(get("to"), "to", start=False), sort=sort, page=page, per_page=per_page,
                      expand=expand)
        if request.date_from and request.date_to and request.date_from > request.date_to:
            raise SearchError("the date range ends before it starts")
        request.query()  # refuse a bad query now, with its reason
        return request

    def query(self) -> Node:
        try:
            return parse_query(self.q)
        except QueryError as error:
            raise SearchError(str(error)) from None

    def values(self, name: str) -> tuple[str, ...]:
        return dict(self.filters).get(name, ())

    def params(self, **changes) -> list[tuple[str, str]]:
        """This request as query-string pairs in a canonical order, with `changes` applied."""
        request = replace(self, **changes)
        pairs: list[tuple[str, str]] = []
        if request.q:
            pairs.append(("q", request.q))
        for name, values in request.filters:
            pairs.extend((name, value) for value in values)
        if request.date_from:
            pairs.append(("from", request.date_from.isoformat()))
        if request.date_to:
            pairs.append(("to", request.date_to.isoformat()))
        if request.sort != "relevance":
            pairs.append(("sort", request.sort))
        if request.per_page != PER_PAGE:
            pairs.append(("per_page", str(request.per_page)))
        if request.expand:
            pairs.append(("expand", ",".join(request.expand)))
        if request.page != 1:
            pairs.append(("page", str(request.page)))
        return pairs

    def query_string(self, **changes) -> str:
        return "?" + urlencode(self.params(**changes)) if self.params(**changes) else "?"

    def narrowed(self, name: str, value: str) -> SearchRequest:
        """This request further limited to passages with `value` in facet `name`, back on page 1.

        Unlike `toggled`, this never widens: when the facet already has other values (which combine with
        OR), the new condition is added to the text query instead (`field:"value"`), which ANDs.
        """
        current = self.values(name)
        if not current:
            return self.toggled(name, value)
        if value in current or not FACET_BY_NAME[name].field:  # a facet with no query field: its one value
            filters = tuple((n, (value,) if n == name else v) for n, v in self.filters)
            return replace(self, filters=filters, page=1)
        condition = f'{FACET_BY_NAME[name].field}:"{value}"'
        return replace(self, q=f"({self.q}) {condition}" if self.q else condition, page=1)

    def toggled(self, name: str, value: str) -> SearchRequest:
        """This request with one facet value added or removed, back on page 1."""
        current = self.values(name)
        values = tuple(v for v in current if v != value) if value in current else (*current, value)
        filters = dict(self.filters)
        filters[name] = values
        ordered = tuple((spec.name, filters[spec.name]) for spec in FACETS if filters.get(spec.name))
        return replace(self, filters=ordered, page=1)


def _getter(params: Mapping):
    """name -> every value given for it, from a MultiDict (getlist) or a plain dict of values or lists."""
    if hasattr(params, "getlist"):
        return lambda name: [str(v) for v in params.getlist(name)]

    def get(name: str) -> list[str]:
        value = params.get(name)
        if value is None:
            return []
        return [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]

    return get


def _positive_int(values: list[str], name: str, default: int) -> int:
    if not values or not values[-1].strip():
        return default
    text = values[-1].strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 7 or int(text) < 1:
        raise SearchError(f"{name} must be a whole number from 1")
    return int(text)


def _date(values: list[str], name: str, *, start: bool) -> date | None:
    """YYYY-MM-DD, or YYYY-MM or YYYY for the whole month or year."""
    if not values or not values[-1].strip():
        return None
    text = values[-1].strip()
    try:
        if re.fullmatch(r"\d{4}", text):
            return date(int(text), 1, 1) if start else date(int(text), 12, 31)
        if re.fullmatch(r"\d{4}-\d{2}", text):
            year, month = map(int, text.split("-"))
            first = date(year, month, 1)
            if start:
                return first
            following = date(year + month // 12, month % 12 + 1, 1)
            return date.fromordinal(following.toordinal() - 1)
        return date.fromisoformat(text)
    except ValueError:
        raise SearchError(f"{name} must be a date such as 2016-12-09 (or 2016-12, or 2016)") from None

