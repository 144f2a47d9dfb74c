"""The reference data of kb/data/guidelines.json: MTUS parts with their editions and sections, ODG and ACOEM
chapters, other sources, and the data's examples; loaded once into the UPPER_CASE constants below.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

from kb.guidelines.words import _head, _slug

DATA_PATH = Path(__file__).resolve().parents[1] / "data" / "guidelines.json"

NONE_ID = "NONE"
NONE_LABEL = "No medical evidence cited"
SOURCES = ("MTUS", "ACOEM", "ODG", "Other", "None")


# --------------------------------------------------------------------------------------------
# Reference data


@dataclass(frozen=True)
class GuidelineSection:
    """A section or topic of an MTUS part; `part` is set when the section stands for another part."""

    slug: str  # the id component after "s:": "special-studies", "3.3.9"
    name: str  # readable: "Special Studies", "3.3.9 Maintenance of Chronic Opioid Treatment"
    aliases: tuple[str, ...] = ()
    part: str | None = None  # "IAT" for the "Initial Approaches to Treatment" section of General Approaches


@dataclass(frozen=True)
class GuidelinePart:
    """One part of the MTUS: an adopted ACOEM chapter or a DWC guideline."""

    code: str
    name: str
    chapter: int | None = None  # the ACOEM (2nd edition, 2004) chapter the part is
    years: tuple[int, ...] = ()
    regulation: str | None = None  # 8 C.C.R. section adopting it: "9792.24.2"
    era: str = ""
    aliases: tuple[str, ...] = ()
    sections: tuple[GuidelineSection, ...] = ()
    numbered_sections: bool = False
    includes: tuple[str, ...] = ()  # parts (chapters) this part groups
    topic: str | None = None  # shared with the other documents on the same topic (its other editions)
    line_default_names: tuple[str, ...] = ()  # names shared with another part that mean this one, without a year

    @functools.cached_property  # read for every citation made
    def id(self) -> str:
        return f"MTUS/{self.code}"

    @property
    def label(self) -> str:
        if self.chapter:
            return f"MTUS {self.name} (ACOEM ch. {self.chapter})"
        if self.era.startswith("2017") and self.years:
            span = str(self.years[0]) if len(self.years) == 1 else f"{self.years[0]}-{self.years[-1]}"
            return f"MTUS {self.name} (ACOEM {span})"
        return f"MTUS {self.name}"

    def edition_of(self, year: int | None) -> bool:
        """Whether `year` is one of this part's edition years."""
        return year is not None and year in self.years


@dataclass(frozen=True)
class GuidelineChapter:
    """A chapter of the ODG, or of ACOEM cited outside the MTUS."""

    source: str  # "ODG" | "ACOEM"
    slug: str
    name: str
    title: str = ""
    chapter: int | None = None
    aliases: tuple[str, ...] = ()
    weak_aliases: tuple[str, ...] = ()  # count only right after the source's name

    @functools.cached_property  # read for every citation made
    def id(self) -> str:
        return f"{self.source}/{self.slug}"

    @property
    def label(self) -> str:
        return f"{self.source} {self.name}"


@dataclass(frozen=True)
class OtherSource:
    """A named source outside the MTUS, ODG and ACOEM."""

    slug: str
    name: str
    aliases: tuple[str, ...] = ()
    prose_aliases: tuple[str, ...] = ()  # the names that count as a citation in rationale prose
    domains: tuple[str, ...] = ()

    @functools.cached_property  # read for every citation made
    def id(self) -> str:
        return f"OTHER/{self.slug}"


def _load() -> dict:
    with DATA_PATH.open(encoding="utf-8") as handle:
        return json.load(handle)


GUIDELINE_DATA: dict = _load()

PATTERNS: dict[str, re.Pattern[str]] = {
    name: re.compile(entry["regex"], re.IGNORECASE) for name, entry in GUIDELINE_DATA["patterns"].items()
}


def _section(entry: dict, part: str | None = None) -> GuidelineSection:
    if "number" in entry:
        return GuidelineSection(entry["number"], f"{entry['number']} {entry['name']}", (entry.get("title", ""),))
    slug = entry.get("slug") or _slug(_head(entry["name"])) or _slug(entry["name"])
    return GuidelineSection(slug, entry["name"], tuple(entry.get("aliases", ())), part)


def _parts(data: dict) -> dict[str, GuidelinePart]:
    shared = {name: [_section(s) for s in block["sections"]]
              for name, block in data.items() if name.endswith("_sections")}
    parts: dict[str, GuidelinePart] = {}
    for entry in data["mtus_parts"]:
        sections = [_section(s) for s in entry.get("sections", ())]
        for name in entry.get("section_sets", ()):
            sections += shared[name]
        parts[entry["code"]] = GuidelinePart(
            code=entry["code"],
            name=entry["name"],
            chapter=entry.get("chapter"),
            years=tuple(entry.get("years", ())),
            regulation=entry.get("regulation"),
            era=entry.get("era", ""),
            aliases=tuple(entry["aliases"]),
            sections=tuple(sections),
            numbered_sections=bool(entry.get("numbered_sections")),
            includes=tuple(entry.get("includes", ())),
            topic=entry.get("topic"),
            line_default_names=tuple(entry.get("line_default_names", ())),
        )
    # A grouping part (General Approaches) cites its chapters as sections; they stand for those parts.
    for code, part in list(parts.items()):
        if part.includes:
            chapters = tuple(
                GuidelineSection(_slug(parts[c].name), parts[c].name, parts[c].aliases, c) for c in part.includes
            )
            parts[code] = replace(part, sections=part.sections + chapters)
    return parts


def other_editions(part: GuidelinePart) -> list[GuidelinePart]:
    """The other documents on the part's topic (the 2004 Low Back Complaints for Low Back Disorders), oldest
    first: separate parts, shown beside each other."""
    if not part.topic:
        return []
    return sorted((p for p in GUIDELINE_PARTS.values() if p.topic == part.topic and p.code != part.code),
                  key=lambda p: (p.years[:1] or (0,), p.code))


def _chapters(data: dict, parts: dict[str, GuidelinePart]) -> tuple[dict, dict]:
    odg = {
        e["slug"]: GuidelineChapter("ODG", e["slug"], e["name"], e.get("title", ""), None,
                                    tuple(e["aliases"]), tuple(e.get("weak_aliases", ())))
        for e in data["odg_chapters"]
    }
    acoem = {
        e["slug"]: GuidelineChapter("ACOEM", e["slug"], e["name"], e.get("title", ""), e.get("chapter"),
                                    tuple(e["aliases"]))
        for e in data["acoem_chapters"]
    }
    # The 2004 chapters the MTUS adopted can also be cited as plain ACOEM, by their 2004 names.
    for part in parts.values():
        if part.chapter and _slug(part.name) not in acoem:
            acoem[_slug(part.name)] = GuidelineChapter("ACOEM", _slug(part.name), part.name, "", part.chapter,
                                                       part.aliases)
    return odg, acoem


def _others(data: dict) -> dict[str, OtherSource]:
    return {
        e["slug"]: OtherSource(
            e["slug"], e["name"], tuple(e["aliases"]),
            tuple(e.get("prose_aliases") or e["aliases"]) if e.get("prose") else (),
            tuple(e.get("domains", ())),
        )
        for e in data["other_sources"]
    }


GUIDELINE_PARTS: dict[str, GuidelinePart] = _parts(GUIDELINE_DATA)
ODG_CHAPTERS, ACOEM_CHAPTERS = _chapters(GUIDELINE_DATA, GUIDELINE_PARTS)
OTHER_SOURCES: dict[str, OtherSource] = _others(GUIDELINE_DATA)


def _examples(data: dict) -> list[tuple[str, str, tuple[str, ...], str]]:
    """(where, text, expected ids, "line" | "prose") for every example in the data."""
    found = []
    for name, entry in data["patterns"].items():
        found += [(f"patterns.{name}", e["text"], tuple(e["ids"]), e.get("via", "line")) for e in entry["examples"]]
    for name, entry in data["sources"].items():
        found += [(f"sources.{name}", e["text"], tuple(e["ids"]), e.get("via", "line")) for e in entry["examples"]]
    for table, key in (("mtus_parts", "code"), ("odg_chapters", "slug"), ("acoem_chapters", "slug"),
                       ("other_sources", "slug")):
        for entry in data[table]:
            found += [(f"{table}.{entry[key]}", e["text"], tuple(e["ids"]), e.get("via", "line"))
                      for e in entry["examples"]]
    return found


EXAMPLES = _examples(GUIDELINE_DATA)
