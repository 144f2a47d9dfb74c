"""Items, what is requested: a drug, a compound or a service, and partial authorizations.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from kb.drugs import CLASS_OF, DRUGS
from kb.synth.case import _Case
from kb.synth.choices import _chance, _joined, _pick, _squash
from kb.synth.model import DATA, PHARMACEUTICALS, SHARES, TOPICAL_COMPOUNDS
from kb.synth.slots import _ItemContext, _Slots
from kb.synth.tables import (
    COMPOUNDS, GROUPS, PARTIAL, REGIONS, _COMPOUND, _COMPOUND_TEMPLATES, _DRUGS, _DRUG_TEMPLATES, _INGREDIENTS,
    _INGREDIENT_COUNTS, _SERVICES, _SERVICE_REGIONS, _template_fields,
)

# --------------------------------------------------------------------------------------------
# Items: what is requested


@dataclass
class _Draft:
    """An item under construction."""

    slots: _Slots
    kind: str
    category: str
    subcategory: str | None
    group: dict
    heading: str
    request: str  # the request in dispute, as the rationale's conclusion names it
    drugs: tuple[str, ...] = ()
    drug_class: str | None = None
    drug: dict | None = None
    service: dict | None = None
    partial: bool = False
    authorized: str | None = None  # the authorized part of a partial authorization, when the letter states it
    original: str | None = None  # the original request of a partial authorization


def _draft(rng: random.Random, case: _Case, used: set[str]) -> _Draft:
    drug_share = SHARES["drug_before_2018"] if case.decision.year < 2018 else SHARES["drug_from_2018"]
    for _ in range(4):  # a letter rarely disputes the very same request twice
        draft = _drug_draft(rng, case) if _chance(rng, drug_share) else _service_draft(rng, case)
        if draft.heading not in used:
            break
    used.add(draft.heading)
    if _chance(rng, SHARES["partial_of_eligible"]):
        _make_partial(draft)
    return draft


def _drug_draft(rng: random.Random, case: _Case) -> _Draft:
    entry = _DRUGS.pick(rng)
    if entry is _COMPOUND:
        return _compound_draft(rng, case)
    group = GROUPS[entry["group"]]
    slots = _Slots(rng, case, _ItemContext(case.region, case.side, group, drug=entry))
    heading = slots.fill(_DRUG_TEMPLATES[id(entry), case.era].pick(rng))
    drug_class = TOPICAL_COMPOUNDS if DRUGS[entry["generic"]].compound else CLASS_OF[entry["generic"]]
    return _Draft(slots, "drug", PHARMACEUTICALS, drug_class, group, heading, heading,
                  drugs=(entry["generic"],), drug_class=drug_class, drug=entry)


def _compound_draft(rng: random.Random, case: _Case) -> _Draft:
    count = _INGREDIENT_COUNTS.pick(rng)
    ingredients: list[dict] = []
    while len(ingredients) < count:
        ingredient = _INGREDIENTS.pick(rng)
        if ingredient not in ingredients:
            ingredients.append(ingredient)
    parts = [f"{ingredient['name']} {_pick(rng, ingredient['strengths'])}" for ingredient in ingredients]
    group = GROUPS["compound"]
    slots = _Slots(rng, case, _ItemContext(case.region, case.side, group))
    slots.update(
        mix="/".join(parts),
        mix_list=", ".join(parts),
        base=_pick(rng, COMPOUNDS["bases"]),
        size=_pick(rng, COMPOUNDS["sizes"]),
        ingredients=_joined([ingredient["name"].lower() for ingredient in ingredients]),
    )
    heading = _squash(slots.fill(_COMPOUND_TEMPLATES[count].pick(rng)))
    return _Draft(slots, "drug", PHARMACEUTICALS, TOPICAL_COMPOUNDS, group, heading, heading,
                  drugs=tuple(ingredient["generic"] for ingredient in ingredients), drug_class=TOPICAL_COMPOUNDS)


def _service_draft(rng: random.Random, case: _Case) -> _Draft:
    service = _SERVICES.pick(rng)
    choices = _SERVICE_REGIONS[id(service)]
    # Most items concern the case's main region, when the treatment applies to it.
    region = case.region if case.region in choices and _chance(rng, 0.75) else choices.pick(rng)
    side = case.side if region == case.region else ("right" if _chance(rng, 0.5) else "left")
    if not REGIONS[region]["sided"] and _chance(rng, 0.15):
        side = "bilateral"
    group = GROUPS[service["group"]]
    slots = _Slots(rng, case, _ItemContext(region, side, group, short=service["short"]))
    by_region = service.get("by_region", {}).get(region)
    templates = by_region if by_region and (not service["headings"] or _chance(rng, 0.3)) else service["headings"]
    heading = slots.pick(templates)
    return _Draft(slots, service["kind"], service["category"], service["subcategory"], group, heading,
                  _as_object(heading), service=service)


def _as_object(heading: str) -> str:
    """A non-drug heading as the object of a sentence: "Physical therapy ..." -> "physical therapy ..."."""
    first = heading.split(" ", 1)[0]
    if len(first) > 1 and first[0].isupper() and first[1:].islower():
        return heading[:1].lower() + heading[1:]
    return heading


def _make_partial(draft: _Draft) -> None:
    """Make the draft a partial authorization, when it has a quantity to split (drugs, sessions)."""
    slots, rng = draft.slots, draft.slots.rng
    if draft.drug and draft.drug["strengths"] and draft.drug["qty"]:
        template = DATA["drug_headings"]["partial"]
        original = int(_pick(rng, [q for q in draft.drug["qty"] if int(q) >= 20] or ["60"]))
        authorized = max(1, round(original * _pick(rng, PARTIAL["authorized_fractions"])))
        counted = ("qty",)
    elif draft.service and draft.service.get("count_headings"):
        template = _pick(rng, draft.service["count_headings"])
        original = _pick(rng, PARTIAL["session_counts"])
        authorized = _pick(rng, [a for a in PARTIAL["authorized_sessions"] if a < original])
        counted = ("n", "n_word", "N_word")
    else:
        return
    slots.settle(sorted(_template_fields(template) - set(counted)))  # the same drug and region in all three parts

    def request(quantity: int) -> str:
        for key in counted:
            slots.pop(key, None)
        slots[counted[0]] = str(quantity)
        return slots.fill(template)

    parts = {"original": request(original), "authorized": request(authorized),
             "remaining": request(original - authorized)}
    if _chance(rng, SHARES["partial_leaving_eligible"]):
        wording = _pick(rng, PARTIAL["leaving_eligible"])
        disputed = parts["original"]
    else:
        wording = PARTIAL["remaining"]
        disputed = parts["remaining"]
    draft.heading = wording.format_map(parts)
    request(original)
    as_object = (lambda text: text) if draft.drug else _as_object
    if wording is PARTIAL["remaining"]:  # the rationale may then speak of the authorized part and the rest
        draft.authorized = as_object(parts["authorized"])
        slots["authorized"] = draft.authorized
    draft.request = as_object(disputed)
    draft.original = as_object(parts["original"])
    draft.partial = True
