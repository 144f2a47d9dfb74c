"""The reference data of data/synth.json, prepared once: weights, templates, regions, groups, drugs and services.
"""

from __future__ import annotations

from string import Formatter

from kb.synth.choices import _Weighted
from kb.synth.model import DATA

# --------------------------------------------------------------------------------------------
# The reference data, prepared once


def _resolve_groups(groups: dict) -> dict[str, dict]:
    """Groups with "extends" take the entries they lack from the group they extend."""
    resolved = {}
    for name, group in groups.items():
        if name == "about":
            continue
        base = groups[group["extends"]] if "extends" in group else {}
        resolved[name] = {**base, **group}
    return resolved


def _template_fields(text: str) -> set[str]:
    return {field for _, field, _, _ in Formatter().parse(text) if field}


_DRUG_FIELD_LISTS = {"strength": "strengths", "qty": "qty", "form": "forms", "size": "sizes", "pair": "pairs"}


def _drug_templates(entry: dict, era: str) -> _Weighted:
    """The heading templates this drug can fill in this era (a template needs every list it names)."""
    pairs = []
    for template in DATA["drug_headings"]["templates"]:
        if era not in template.get("eras", (era,)) or entry["group"] not in template.get("groups", (entry["group"],)):
            continue
        needed = _template_fields(template["text"]) & _DRUG_FIELD_LISTS.keys()
        if all(entry.get(_DRUG_FIELD_LISTS[field]) for field in needed):
            pairs.append((template["text"], template["weight"]))
    return _Weighted(pairs)


ERAS = ("old", "mid", "new")
REGIONS: dict[str, dict] = {name: region for name, region in DATA["regions"].items() if name != "about"}
REGION_SETS: dict[str, list[str]] = {name: value for name, value in DATA["region_sets"].items() if name != "about"}
GROUPS: dict[str, dict] = _resolve_groups(DATA["groups"])
SERVICES: list[dict] = DATA["services"]["entries"]
DRUG_ENTRIES: list[dict] = DATA["drugs"]["entries"]
COMPOUNDS: dict = DATA["compounds"]
NUMBERS: dict = DATA["numbers"]
RATIONALE: dict = DATA["rationale"]
SUMMARY: dict = DATA["summary"]
BOILERPLATE: dict = DATA["boilerplate"]
PARTIAL: dict = DATA["partial_authorization"]
SOURCES: dict = DATA["sources"]

_YEARS = _Weighted((int(year), weight) for year, weight in DATA["decision_years"]["weights"].items())
_ITEM_COUNTS = _Weighted(enumerate(DATA["items_per_letter"]["weights"], start=1))
_STYLES = {layout: _Weighted(DATA["extraction_styles"][layout].items()) for layout in ("posted", "fdl-2014", "body")}
_REGION_WEIGHTS = {name: region["weight"] for name, region in REGIONS.items()}
_REGION_PICK = _Weighted(_REGION_WEIGHTS.items())
_COMPOUND = object()  # marks the compound choice among the drugs
_DRUGS = _Weighted([*((entry, entry["weight"]) for entry in DRUG_ENTRIES), (_COMPOUND, COMPOUNDS["weight"])])
_DRUG_TEMPLATES = {(id(entry), era): _drug_templates(entry, era) for entry in DRUG_ENTRIES for era in ERAS}
_SERVICES = _Weighted((service, service["weight"]) for service in SERVICES)
_SERVICE_REGIONS = {
    id(service): _Weighted(
        (name, _REGION_WEIGHTS[name])
        for name in (REGION_SETS[service["regions"]] if isinstance(service["regions"], str) else service["regions"])
    )
    for service in SERVICES
}
_INGREDIENTS = _Weighted((ingredient, ingredient["weight"]) for ingredient in COMPOUNDS["ingredients"])
_INGREDIENT_COUNTS = _Weighted(enumerate(COMPOUNDS["ingredient_counts"], start=1))
_COMPOUND_TEMPLATES = {
    count: _Weighted(
        (template["text"], template["weight"])
        for template in COMPOUNDS["templates"]
        if count >= template.get("min_ingredients", 1)
    )
    for count in range(1, len(COMPOUNDS["ingredient_counts"]) + 1)
}
_PROFILES = DATA["reviewers"]["profiles"]
_GUIDELINE_FORMS = {era: _Weighted(forms.items()) for era, forms in DATA["guideline_forms"].items() if era != "about"}
_PROFILES_FOR: dict[str, list[dict]] = {}  # kind or region -> the profiles tied to it
for _profile in _PROFILES:
    for _key in (*_profile.get("kinds", ()), *_profile.get("regions", ())):
        _PROFILES_FOR.setdefault(_key, []).append(_profile)
_GENERAL_PROFILES = _Weighted((p, p["weight"]) for p in _PROFILES if "kinds" not in p and "regions" not in p)
_STATE_COUNTS = _Weighted(enumerate(DATA["reviewers"]["state_counts"], start=1))
_OTHER_STATES = _Weighted((s, w) for s, w in DATA["reviewers"]["states"].items() if s != "California")
