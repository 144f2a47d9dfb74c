"""Items, the guideline lines each side cited, in the shape of the letter's era.
"""

from __future__ import annotations

from kb.synth.choices import _chance, _distinct, _pick
from kb.synth.model import CLAIMS_ADMINISTRATOR, EXPERT_REVIEWER, SHARES
from kb.synth.requests import _Draft
from kb.synth.tables import ERAS, _GUIDELINE_FORMS

# --------------------------------------------------------------------------------------------
# Items: the guideline lines each side cited


_NONE_LINE = "The {side} did not cite any medical evidence for its decision."
_OUTSIDE_LINE = ("The {side} based their decision on recommendation(s) outside of the MTUS Guidelines. "
                 "Decision based on Non-MTUS Citation {citation}.")


def _guideline_lines(draft: _Draft) -> tuple[str, str]:
    """(Claims Administrator line, MAXIMUS line): usually the same citation, sometimes different."""
    rng = draft.slots.rng
    if _chance(rng, SHARES["reviewer_none"]):
        reviewer = _NONE_LINE.format(side=EXPERT_REVIEWER)
    else:
        reviewer = _citation_line(draft, EXPERT_REVIEWER)
    same = reviewer.replace(EXPERT_REVIEWER, CLAIMS_ADMINISTRATOR)
    if not _chance(rng, SHARES["guideline_lines_differ"]):
        return same, reviewer
    if _chance(rng, SHARES["claims_administrator_none_of_differing"]) or reviewer.startswith("The Expert Reviewer did"):
        none = _NONE_LINE.format(side=CLAIMS_ADMINISTRATOR)
        if none != same:
            return none, reviewer
    for _ in range(6):
        other = _citation_line(draft, CLAIMS_ADMINISTRATOR)
        if other != same:
            return other, reviewer
    return _NONE_LINE.format(side=CLAIMS_ADMINISTRATOR), reviewer


def _citation_line(draft: _Draft, side: str) -> str:
    """One side's guideline line in the shape of the letter's era: pages before 2016, sections after."""
    era, rng = draft.slots.case.era, draft.slots.rng
    if era == "old":
        entries = [entry for entry in draft.group["cite"]["old"] if _old_applies(draft, entry)]
        render, joiner, forms = _old_part, ", ", _GUIDELINE_FORMS["old"]
    else:
        entries = [entry for entry in draft.group["cite"]["mtus"]
                   if era in entry.get("eras", ERAS) and _mtus_applies(draft, entry)]
        render, joiner, forms = _mtus_part, ", and ", _GUIDELINE_FORMS["posted"]
    form = forms.pick(rng) if entries else "outside"
    if form == "two" and len(entries) > 1:
        return f"Decision based on MTUS {joiner.join(render(draft, entry) for entry in _distinct(rng, entries, 2))}."
    if form == "mtus+odg":
        return (f"Decision based on MTUS {render(draft, _pick(rng, entries))}. "
                f"Decision based on Non-MTUS Citation {_odg(draft)}.")
    if form == "outside":
        if era == "old":
            return f"Decision based on Non-MTUS Citation {_non_mtus(draft)}."
        return _OUTSIDE_LINE.format(side=side, citation=_non_mtus(draft))
    return f"Decision based on MTUS {render(draft, _pick(rng, entries))}."


def _mtus_applies(draft: _Draft, entry: dict) -> bool:
    region = draft.slots.region
    return entry["part"] != "@region" or bool(region["mtus2004"] or (draft.slots.case.era == "new" and region["mtus2017"]))


def _old_applies(draft: _Draft, entry: dict) -> bool:
    return entry["name"] != "@region" or bool(draft.slots.region["acoem"])


def _mtus_part(draft: _Draft, entry: dict) -> str:
    """"Low Back Complaints 2004, Section(s): Special Studies" (2016+)."""
    rng = draft.slots.rng
    region = draft.slots.region
    part = entry["part"]
    if part == "@region":
        part = _region_part(draft)
    section_sets = entry["sections"]
    if draft.drug and draft.drug.get("sections") and part.startswith("Chronic Pain"):
        section_sets = [*section_sets, *draft.drug["sections"], *draft.drug["sections"]]
    sections = [region["postsurgical"] if name == "@postsurgical" else name for name in _pick(rng, section_sets)]
    return f"{part}, Section(s): {', '.join(sections)}" if sections else part


def _region_part(draft: _Draft) -> str:
    """The region's MTUS part: the 2004 chapter, or from 2018 mostly its ACOEM-based successor in the latest
    edition out by the decision year ("Low Back Disorders 2019")."""
    region, rng, case = draft.slots.region, draft.slots.rng, draft.slots.case
    editions = region["mtus2017"] if case.era == "new" else []
    if editions and (not region["mtus2004"] or _chance(rng, SHARES["acoem_parts_from_2018"])):
        year = case.decision.year
        out = [name for name in editions if int(name.rsplit(" ", 1)[1]) <= year]
        return out[-1] if out else editions[0]
    return region["mtus2004"]


def _old_part(draft: _Draft, entry: dict) -> str:
    """"Chronic Pain Treatment Guidelines Benzodiazepines Page(s): 24" (2013-15)."""
    rng = draft.slots.rng
    name, pages = entry["name"], entry.get("pages", [])
    if name == "@region":
        region = draft.slots.region
        name, pages = region["acoem"], region["pages"].get(entry["pages"], [])
    topics = entry.get("topics") or []
    text = name
    if topics and _chance(rng, 0.5):
        text += " " + _pick(rng, topics)
    if pages and (_chance(rng, 0.85) or text == name):
        chosen = _distinct(rng, pages, 2 if len(pages) > 2 and _chance(rng, 0.2) else 1)
        text += " Page(s): " + ", ".join(chosen)
    return text


def _non_mtus(draft: _Draft) -> str:
    other = draft.group["cite"].get("other")
    if other and _chance(draft.slots.rng, 0.3):
        return _pick(draft.slots.rng, other)
    return _odg(draft)


def _odg(draft: _Draft) -> str:
    """"Official Disability Guidelines (ODG), Low Back Chapter, MRIs (magnetic resonance imaging)"."""
    rng = draft.slots.rng
    entries = draft.group["cite"]["odg"]
    if not entries or _chance(rng, 0.06):
        return _pick(rng, ("Official Disability Guidelines", "Official Disability Guidelines (ODG)"))
    entry = _pick(rng, entries)
    chapter = _pick(rng, draft.slots.region["odg"]) if entry["chapter"] == "@region" else entry["chapter"]
    topic = _pick(rng, entry["topics"])
    name = "Official Disability Guidelines (ODG)" if _chance(rng, 0.8) else "Official Disability Guidelines"
    separator = ", " if _chance(rng, 0.7) else " "
    return f"{name}{separator}{chapter}" + (f", {topic}" if topic else "")
