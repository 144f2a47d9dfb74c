"""Helpers for the site tests: an app over an index, a small HTML tree (stdlib html.parser), page readers.

The readers know the markup of templates/*.html (class names such as "facet", "hit", "total"), so the
tests can say what they check ("the total shown", "the facet links") instead of matching raw text.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from flask import Flask
from flask.testing import FlaskClient

from kb.web import create_app

WEB_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "web"
VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
STATIC_SCRIPT = "/static/app.js"


# --------------------------------------------------------------------------------------------
# Apps and indexes


def make_app(index_dir: Path, **config) -> Flask:
    """The site over `index_dir`; TESTING so an unexpected exception fails the test with its traceback."""
    return create_app({"INDEX_DIR": str(index_dir), "TESTING": True, **config})


def build_index(paths: list[Path], index_dir: Path) -> Path:
    """An index of the letter files in `paths`; every file must be indexed (none rejected)."""
    from kb.ingest import index_paths

    report = index_paths(paths, index_dir, jobs=1)
    assert not report.rejected, [(o.path, o.reason) for o in report.rejected]
    return index_dir


# --------------------------------------------------------------------------------------------
# A small HTML tree


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None] = field(default_factory=dict)
    children: list[Element | str] = field(default_factory=list)
    line: int = 0

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.attrs.get(name, default)

    def iter(self) -> Iterator[Element]:
        """This element and every element inside it, in document order."""
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter()

    def find_all(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> list[Element]:
        found = []
        for element in self.iter():
            if tag is not None and element.tag != tag:
                continue
            if cls is not None and cls not in element.classes:
                continue
            if any(element.attrs.get(name) != value for name, value in attrs.items()):
                continue
            found.append(element)
        return found

    def find(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> Element | None:
        found = self.find_all(tag, cls, **attrs)
        return found[0] if found else None

    def one(self, tag: str | None = None, cls: str | None = None, **attrs: str) -> Element:
        found = self.find_all(tag, cls, **attrs)
        assert len(found) == 1, f"expected one <{tag or '*'} class={cls} {attrs}>, found {len(found)}"
        return found[0]

    @property
    def text(self) -> str:
        parts = []
        for child in self.children:
            parts.append(child if isinstance(child, str) else child.text)
        return "".join(parts)

    @property
    def squashed_text(self) -> str:
        return " ".join(self.text.split())


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document")
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        element = Element(tag, dict(attrs), line=self.getpos()[0])
        self.stack[-1].children.append(element)
        if tag not in VOID_ELEMENTS:
            self.stack.append(element)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Element(tag, dict(attrs), line=self.getpos()[0]))

    def handle_endtag(self, tag):
        for depth in range(len(self.stack) - 1, 0, -1):
            if self.stack[depth].tag == tag:
                del self.stack[depth:]
                return
        # a stray end tag: ignored, as browsers do

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse_html(html: str) -> Element:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def page(response) -> Element:
    assert response.mimetype == "text/html", response.mimetype
    return parse_html(response.get_data(as_text=True))


# --------------------------------------------------------------------------------------------
# Reading the search page


@dataclass(frozen=True)
class FacetLink:
    facet: str  # the facet's URL parameter ("drug")
    label: str
    count: int  # as shown: the total clicking gives, or for "+N" what it adds to the results
    href: str
    selected: bool
    adds: bool = False  # shown as "+N": another value of a facet with one selected


def shown_total(doc: Element) -> int:
    """The number of passages the results bar shows."""
    return int(doc.one("p", "total").one("strong").text.replace(",", ""))


def facet_links(doc: Element) -> list[FacetLink]:
    links = []
    for section in doc.find_all("section", "facet"):
        name = section.get("aria-labelledby", "").removeprefix("facet-")
        for item in section.find_all("li"):
            anchor = item.one("a")
            shown = anchor.one("span", "count").text.strip()
            links.append(FacetLink(
                facet=name,
                label=anchor.one("span", "facet-label").squashed_text,
                count=int(shown.removeprefix("+").replace(",", "")),
                href=anchor.get("href"),
                selected="selected" in item.classes,
                adds=shown.startswith("+"),
            ))
    return links


def facet_counts(doc: Element) -> dict[str, list[tuple[str, int]]]:
    """facet name -> [(label, count)] as the sidebar shows them, in order."""
    counts: dict[str, list[tuple[str, int]]] = {}
    for link in facet_links(doc):
        counts.setdefault(link.facet, []).append((link.label, link.count))
    return counts


def active_filter_links(doc: Element) -> dict[str, str]:
    """label of each active filter -> the href that removes it."""
    box = doc.find("ul", "active-filters")
    if box is None:
        return {}
    links = {}
    for item in box.find_all("li"):
        if "clear" not in item.classes:
            anchor = item.one("a")
            links[_active_label(anchor)] = anchor.get("href")
    return links


def _active_label(anchor: Element) -> str:
    # "Drug: carisoprodol (Soma) × (remove)": the label is the text before the first child element
    return "".join(c for c in anchor.children if isinstance(c, str)).strip()


_ITEM_PATH = re.compile(r"/letters/([^/?#]+)/items/(\d+)")


def hit_passages(doc: Element) -> list[str]:
    """The passage ids ("CM16-0213037/2") of the hits listed, in order, read from their links."""
    passages = []
    for hit in doc.find_all("li", "hit"):
        match = _ITEM_PATH.search(hit.one("a", "case").get("href"))
        assert match, hit.one("a", "case").get("href")
        passages.append(f"{match.group(1)}/{match.group(2)}")
    return passages


def rel_link(doc: Element, rel: str) -> str | None:
    links = [a.get("href") for a in doc.find_all("a") if rel in (a.get("rel") or "").split()]
    assert len(links) <= 1, links
    return links[0] if links else None


def query_pairs(url: str) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(url).query, keep_blank_values=True)


def error_message(doc: Element) -> str:
    return doc.one("p", "error-message").squashed_text


# --------------------------------------------------------------------------------------------
# Markup that would run code


def inline_code(doc: Element) -> list[str]:
    """Every piece of inline script or style, event handler or javascript: URL in the page."""
    problems = []
    for element in doc.iter():
        if element.tag == "script":
            if element.get("src") != STATIC_SCRIPT:
                problems.append(f"line {element.line}: <script src={element.get('src')!r}>")
            if element.text.strip():
                problems.append(f"line {element.line}: inline script {element.text.strip()[:60]!r}")
        if element.tag == "style":
            problems.append(f"line {element.line}: <style> block")
        for name, value in element.attrs.items():
            if name == "style":
                problems.append(f"line {element.line}: style= on <{element.tag}>")
            if name.startswith("on"):
                problems.append(f"line {element.line}: {name}= on <{element.tag}>")
            if name in ("href", "src", "action", "formaction", "data") and value and \
                    re.sub(r"[\s\x00-\x1f]", "", value).lower().startswith(("javascript:", "data:text/html",
                                                                              "vbscript:")):
                problems.append(f"line {element.line}: {name}={value!r} on <{element.tag}>")
    return problems


def foreign_elements(doc: Element) -> list[str]:
    """Elements the site's templates never write for letter text: injected markup if they appear."""
    return [f"line {e.line}: <{e.tag}>" for e in doc.iter()
            if e.tag in ("iframe", "object", "embed", "img", "base", "frame", "textarea")]


def get_ok(client: FlaskClient, url: str):
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code, response.get_data(as_text=True)[:500])
    return response


# --------------------------------------------------------------------------------------------
# Crawling the site's own links


@dataclass(frozen=True)
class Visit:
    url: str
    status: int  # after following redirects
    mimetype: str
    headers: dict[str, str]
    body: bytes


_CRAWLS: dict[tuple, list[Visit]] = {}


def crawl_site(index_dir: Path, starts: tuple[str, ...], limit: int) -> list[Visit]:
    """Follow the site's own links breadth first from `starts`, `limit` pages at most (static files are not
    followed). Computed once per arguments, for every test that reads the same crawl."""
    key = (str(index_dir), starts, limit)
    if key in _CRAWLS:
        return _CRAWLS[key]
    client = make_app(index_dir, TESTING=False).test_client()  # a crash is a 500 to report, not a raise
    queue, seen, visits = list(starts), set(), []
    while queue and len(visits) < limit:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        with client.get(url, follow_redirects=True) as response:
            visit = Visit(url, response.status_code, response.mimetype, dict(response.headers), response.get_data())
        visits.append(visit)
        if visit.status != 200 or visit.mimetype != "text/html":
            continue
        for anchor in parse_html(visit.body.decode("utf-8")).find_all("a"):
            parts = urlsplit(anchor.get("href") or "")
            if parts.netloc not in ("", "localhost") or not parts.path or parts.path.startswith("/static/"):
                continue
            queue.append(parts.path + (f"?{parts.query}" if parts.query else ""))
    _CRAWLS[key] = visits
    return visits


CRAWL_STARTS = ("/search", "/search?q=Soma", "/letters/CM16-0213037?q=mri")
