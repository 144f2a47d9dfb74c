"""Ids for the site: readable labels, parents and ordering of a citation id, from the id alone.
"""

from __future__ import annotations

import functools
import re

from kb.guidelines.names import _SECTION_BY_SLUG
from kb.guidelines.patterns import _PAGE_NUMBERS
from kb.guidelines.reference import (
    ACOEM_CHAPTERS, GUIDELINE_PARTS, NONE_ID, NONE_LABEL, ODG_CHAPTERS, OTHER_SOURCES, SOURCES, other_editions,
)

# --------------------------------------------------------------------------------------------
# Ids: labels and structure for the site


def _page_label(page: str) -> str:
    return f"pp. {page}" if "-" in page else f"p. {page}"


def _unslug(slug: str) -> str:
    words = slug.replace("-", " ").strip()
    return words[:1].upper() + words[1:]


def _is_leaf(component: str) -> bool:
    return component.startswith("s:") or bool(re.fullmatch(r"p\d+(?:-\d+)?", component))


def citation_part_id(citation_id: str) -> str:
    """The id without its page or section: "MTUS/CPMTG/p24" -> "MTUS/CPMTG"; "ODG/pain" stays."""
    head, _, last = citation_id.rpartition("/")
    return head if head and _is_leaf(last) else citation_id


@functools.lru_cache(maxsize=65536)
def citation_ancestry(citation_id: str) -> tuple[str, ...]:
    """The id and the ids it refines, broadest first: ("MTUS", "MTUS/CPMTG", "MTUS/CPMTG/p24")."""
    parts = citation_id.split("/")
    return tuple("/".join(parts[: n + 1]) for n in range(len(parts)))


def citation_source(citation_id: str) -> str:
    """"MTUS" | "ACOEM" | "ODG" | "Other" | "None", read from the id alone."""
    head = citation_id.split("/", 1)[0]
    return {"MTUS": "MTUS", "ACOEM": "ACOEM", "ODG": "ODG", "OTHER": "Other", NONE_ID: "None"}.get(head, "Other")


def _base_label(head: str) -> str:
    source, _, rest = head.partition("/")
    if not rest:
        return {NONE_ID: NONE_LABEL, "OTHER": "Other source"}.get(source, source)
    if source == "MTUS":
        part = GUIDELINE_PARTS.get(rest)
        chapter = re.fullmatch(r"ch(\d+)", rest)
        return part.label if part else (f"MTUS ACOEM ch. {chapter.group(1)}" if chapter else f"MTUS {rest}")
    if source in ("ODG", "ACOEM"):
        chapter = (ODG_CHAPTERS if source == "ODG" else ACOEM_CHAPTERS).get(rest)
        return chapter.label if chapter else f"{source} {_unslug(rest)}"
    other = OTHER_SOURCES.get(rest)
    return other.name if other else _unslug(rest)


def _section_label(head: str, slug: str) -> str:
    code = head.partition("/")[2]
    section = _SECTION_BY_SLUG.get((code, slug)) if head.startswith("MTUS/") else None
    if section:
        return section.name
    if table := re.fullmatch(r"table-(\d+(?:-\d+)?)", slug):
        return f"Table {table.group(1)}"
    if re.fullmatch(r"\d+(?:\.\d+)*", slug):
        return f"section {slug}"
    return _unslug(slug)


@functools.lru_cache(maxsize=65536)
def citation_label(citation_id: str) -> str:
    """A readable label for a facet value, from the id alone (no parsing of letter text)."""
    head, _, last = citation_id.rpartition("/")
    if not head or not _is_leaf(last):
        return _base_label(citation_id)
    if last.startswith("s:"):
        return f"{_base_label(head)}, {_section_label(head, last[2:])}"
    return f"{_base_label(head)}, {_page_label(last[1:])}"


def citation_sort_key(citation_id: str) -> tuple:
    """Orders ids as a guideline index would: by source, then MTUS parts in data order, then pages numerically."""
    order = {code: n for n, code in enumerate(GUIDELINE_PARTS)}
    parts = citation_id.split("/")
    key: list = [SOURCES.index(citation_source(citation_id))]
    for component in parts[1:]:
        if re.fullmatch(r"p\d+(?:-\d+)?", component):
            key.append((2, int(_PAGE_NUMBERS.findall(component)[0]), component))
        elif component.startswith("s:"):
            numbers = re.fullmatch(r"s:(\d+(?:\.\d+)*)", component)
            key.append((1, tuple(int(n) for n in numbers.group(1).split(".")) if numbers else (), component))
        else:
            key.append((0, order.get(component, len(order)), component))
    return tuple(key)


def citation_editions(citation_id: str) -> dict | None:
    """For an MTUS part's id (or a page or section of it): the part's edition years, and the other documents
    on its topic as separate parts ("MTUS/LBD": Low Back Disorders 2016, 2019, 2020; also Low Back
    Complaints 2004). None for ids of no MTUS part."""
    head = citation_part_id(citation_id)
    source, _, code = head.partition("/")
    part = GUIDELINE_PARTS.get(code) if source == "MTUS" else None
    if part is None:
        return None
    return {"id": part.id, "label": part.label, "years": list(part.years),
            "others": [{"id": other.id, "label": other.label, "years": list(other.years)}
                       for other in other_editions(part)]}
