"""Items, the rationale; the reviewer and the case summary.
"""

from __future__ import annotations

import random

from kb.synth.case import _Case
from kb.synth.choices import _chance, _distinct, _joined, _pick
from kb.synth.citing import _guideline_lines
from kb.synth.model import DATA, OVERTURNED, SHARES, SyntheticItem, UPHELD
from kb.synth.requests import _Draft, _draft
from kb.synth.slots import _Slots
from kb.synth.tables import RATIONALE, SUMMARY, _GENERAL_PROFILES, _OTHER_STATES, _PROFILES_FOR, _STATE_COUNTS

# --------------------------------------------------------------------------------------------
# Items: the rationale


def _rationale(draft: _Draft, decision: str) -> list[list[str]]:
    """Two to eight sentences, in one or two paragraphs: guideline, record, reasons, conclusion."""
    slots, rng, group = draft.slots, draft.slots.rng, draft.group
    upheld = decision == UPHELD
    slots["req"] = f'"{draft.request}"' if _chance(rng, SHARES["quoted_request"]) else draft.request
    conclusion = slots.pick(RATIONALE["conclusions_upheld" if upheld else "conclusions_overturned"])
    chosen = _distinct(rng, group["rules"], 2 if _chance(rng, 0.35) else 1)
    intros = _distinct(rng, RATIONALE["rule_intros"], len(chosen))
    rules = [_rule_sentence(slots, rule, intro) for rule, intro in zip(chosen, intros)]
    if _chance(rng, 0.05):
        return [[rules[0], conclusion]]
    guideline = ([slots.pick(group["facts"])] if _chance(rng, 0.45) else []) + rules
    record = [slots.pick(group["context"] if group["context"] and _chance(rng, 0.5) else RATIONALE["context"])
              for _ in range(_pick(rng, (0, 1, 1, 2)))]
    if draft.authorized:
        record.append(slots.pick(RATIONALE["partial_context"]))
    reasons = _reasons(slots, group, upheld)
    if _chance(rng, 0.2):
        reasons.append(_pick(rng, RATIONALE["upheld_closers" if upheld else "overturned_closers"]))
    while len(guideline) + len(record) + len(reasons) + 1 > 8:
        (record or guideline).pop()
    record = list(dict.fromkeys(record))  # the same context sentence twice reads like a bug
    if len(guideline) + len(record) + len(reasons) >= 4 and _chance(rng, SHARES["two_paragraph_rationale"]):
        return [guideline, [*record, *reasons, conclusion]]
    return [[*guideline, *record, *reasons, conclusion]]


def _templated_rationale(rng: random.Random, draft: _Draft, decision: str) -> list[list[str]]:
    """One of a few reviewer templates for this kind of treatment and decision, the same in every letter
    that uses it (its choices come from the template's own generator), with this letter's request and
    details filled in: the reused wording kb.wording finds in real letters."""
    template = rng.randrange(int(SHARES["templates_per_treatment"]))
    letter_rng = draft.slots.rng
    draft.slots.rng = random.Random(f"imr-kb-synth-template/{draft.kind}/{decision}/{template}")
    try:
        return _rationale(draft, decision)
    finally:
        draft.slots.rng = letter_rng


def _rule_sentence(slots: _Slots, rule: str, intro: str) -> str:
    slots["rule"] = slots.fill(rule)
    slots.pop("Rule", None)
    return slots.fill(intro)


def _reasons(slots: _Slots, group: dict, upheld: bool) -> list[str]:
    pool = group["criteria"] if upheld or not group["findings"] else group["findings"]
    frames = RATIONALE["upheld_frames" if upheld else "overturned_frames"]
    key = "crit" if upheld else "find"
    sentences = []
    for phrase, frame in zip(_distinct(slots.rng, pool, 2 if _chance(slots.rng, 0.45) else 1),
                             _distinct(slots.rng, frames, 2)):
        slots[key] = slots.fill(phrase)
        sentences.append(slots.fill(frame))
    return sentences


def _item(rng: random.Random, case: _Case, used: set[str]) -> tuple[SyntheticItem, _Draft, list[list[str]]]:
    draft = _draft(rng, case, used)
    decision = UPHELD if _chance(rng, SHARES["upheld"]) else OVERTURNED
    claims_administrator, reviewer = _guideline_lines(draft)
    paragraphs = _templated_rationale(rng, draft, decision) if _chance(rng, SHARES["templated_rationale"]) \
        else _rationale(draft, decision)
    item = SyntheticItem(
        heading=draft.heading,
        decision=decision,
        drugs=draft.drugs,
        drug_class=draft.drug_class,
        treatment=draft.kind,
        category=draft.category,
        subcategory=draft.subcategory,
        claims_administrator_guideline=claims_administrator,
        reviewer_guideline=reviewer,
        rationale=" ".join(" ".join(paragraph) for paragraph in paragraphs),
        partial=draft.partial,
    )
    return item, draft, paragraphs


# --------------------------------------------------------------------------------------------
# The reviewer and the case summary


def _reviewer(rng: random.Random, case: _Case, first: _Draft) -> tuple[tuple[str, ...], tuple[str, ...], str | None]:
    """(specialties, states, prose wording or None): often a specialty matching the first item."""
    matching = _PROFILES_FOR.get(first.kind) or _PROFILES_FOR.get(first.slots.item.region)
    if matching and _chance(rng, DATA["reviewers"]["kind_affinity"]):
        profile = _pick(rng, matching)
    else:
        profile = _GENERAL_PROFILES.pick(rng)
    count = _STATE_COUNTS.pick(rng)
    states = ["California"] if _chance(rng, SHARES["california_licensed"]) else []
    while len(states) < count:
        state = _OTHER_STATES.pick(rng)
        if state not in states:
            states.append(state)
    states = _distinct(rng, states, len(states))  # California is not always listed first
    return tuple(profile["specialties"]), tuple(states), profile.get("prose")


def _specialties_prose(specialties: tuple[str, ...], prose: str | None) -> str:
    """How 2014-15 letters word a board certification: "Physical Medicine and Rehabilitation"."""
    return prose or _joined([name.replace(" & ", " and ") for name in specialties])


def _medication(draft: _Draft) -> str:
    """The drug as a summary lists it: the brand as written, else the generic in lower case."""
    name, generic = draft.slots["name"], draft.drug["prose"]
    return generic if generic.lower() in name.lower() else name


def _summary(rng: random.Random, case: _Case, drafts: list[_Draft]) -> list[str]:
    """The clinical case summary as one or two paragraphs."""
    slots = case.slots
    requests = [draft.original or draft.request for draft in drafts]  # what the physician asked for
    slots["requests"] = _joined(_distinct(rng, requests, 3) if len(requests) > 3 else requests)
    medications = [_medication(draft) for draft in drafts if draft.drug]
    medications += _distinct(rng, SUMMARY["common_medications"], 3)
    medications = list(dict.fromkeys(medications))
    slots.update(med1=medications[0], med2=medications[1], med3=medications[2])
    era = "old" if case.era == "old" else "posted"
    sentences = [slots.pick(SUMMARY["intro"][era])]
    for kind in ("mechanism", "diagnosis", "complaint", "pain", "exam", "treatment", "medications", "work", "plan"):
        if _chance(rng, SUMMARY[kind]["p"]):
            sentences.append(slots.pick(SUMMARY[kind]["pool"]))
    sentences.append(slots.pick(SUMMARY["ur"][era]))
    if len(sentences) > 5 and _chance(rng, SHARES["summary_two_paragraphs"]):
        middle = len(sentences) // 2
        return [" ".join(sentences[:middle]), " ".join(sentences[middle:])]
    return [" ".join(sentences)]
