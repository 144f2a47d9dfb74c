"""Tests for kb.treatments: the rules table, a wide table of realistic headings, the real letters' headings.

Drug requests are built by hand (`drug_request(...)`, `stand_in_drug_request(...)`), so these tests do not
depend on kb.drugs; one test checks the real headings again with kb.drugs when it is importable.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import re
import time
from collections import Counter

import pytest

from kb.drugs import parse_drug_request
from kb.models import DrugMention, DrugRequest, Span, Treatment
from kb.treatments import (
    ATTACHED,
    CONTEXT_RULES,
    DATA_PATH,
    OTHER,
    TREATMENT_CATEGORIES,
    TREATMENT_RULES,
    TreatmentContext,
    classify_treatment,
    matching_rule,
    normalize_heading,
    requested_portions,
)


def drug_request(*classes: str, compound: bool = False) -> DrugRequest:
    """A request naming one drug per class given; names and spans do not matter to classification."""
    mentions = tuple(
        DrugMention(generic=f"drug{n}", drug_class=cls, brand=None, text=f"drug{n}", span=Span(0, 1))
        for n, cls in enumerate(classes)
    )
    return DrugRequest(drugs=mentions, compound=compound)


ANY_DRUG = drug_request("Test Class")
DATA_DIR = DATA_PATH.parent

# --- the rules table ------------------------------------------------------------------------------

CATEGORY_NAMES = [entry["category"] for entry in TREATMENT_CATEGORIES]
SUBCATEGORIES = {
    entry["category"]: [sub["subcategory"] for sub in entry["subcategories"]] for entry in TREATMENT_CATEGORIES
}
DRUG_STEP_INDEX = next(n for n, rule in enumerate(TREATMENT_RULES) if rule.is_drug_request)
PATTERN_RULES = [rule for rule in TREATMENT_RULES if not rule.is_drug_request]
RULES_BEFORE_DRUGS = list(TREATMENT_RULES[:DRUG_STEP_INDEX])


def rule_examples(rules):
    return [pytest.param(rule, example, id=f"{rule.id}:{example[:40]}") for rule in rules for example in rule.examples]


def test_categories_are_the_dwc_list_in_order():
    assert CATEGORY_NAMES == [
        "DMEPOS",
        "Diagnostic Testing",
        "Evaluation & Management",
        "Home Health",
        "Injection",
        "Pharmaceuticals",
        "Programs",
        "Psych Services",
        "Rehabilitation",
        "Surgery",
        "Therapies",
        "Transportation",
        "Other",
    ]


def test_every_category_and_subcategory_is_described():
    for entry in TREATMENT_CATEGORIES:
        assert entry["description"].strip(), entry["category"]
        names = [sub["subcategory"] for sub in entry["subcategories"]]
        assert len(names) == len(set(names)), entry["category"]
        for sub in entry["subcategories"]:
            assert sub["description"].strip(), (entry["category"], sub["subcategory"])


def test_every_rule_points_at_a_listed_category_and_subcategory():
    for rule in PATTERN_RULES:
        assert rule.treatment.category in SUBCATEGORIES, rule.id
        assert rule.treatment.subcategory in SUBCATEGORIES[rule.treatment.category], rule.id
        assert rule.treatment.category != "Other", "Other is what no rule matched"


def test_every_listed_subcategory_outside_pharmaceuticals_has_a_rule():
    # Pharmaceuticals' subcategories are drug classes from kb/data/drugs.json, not rules.
    ruled = {(rule.treatment.category, rule.treatment.subcategory) for rule in PATTERN_RULES}
    for category, names in SUBCATEGORIES.items():
        if category == "Pharmaceuticals":
            continue
        for name in names:
            assert (category, name) in ruled, (category, name)


def test_rule_ids_are_unique_and_every_rule_has_examples():
    ids = [rule.id for rule in TREATMENT_RULES]
    assert len(ids) == len(set(ids))
    for rule in TREATMENT_RULES:
        assert rule.examples, rule.id


def test_there_is_exactly_one_drug_request_step():
    assert sum(rule.is_drug_request for rule in TREATMENT_RULES) == 1
    assert TREATMENT_RULES[DRUG_STEP_INDEX].treatment.category == "Pharmaceuticals"


@pytest.mark.parametrize(("rule", "example"), rule_examples(PATTERN_RULES))
def test_rule_examples_classify_to_their_rule(rule, example):
    assert matching_rule(normalize_heading(example)) is rule
    assert classify_treatment(example, None) == rule.treatment


@pytest.mark.parametrize(("rule", "example"), rule_examples(RULES_BEFORE_DRUGS))
def test_rules_before_the_drug_step_win_over_a_named_drug(rule, example):
    assert classify_treatment(example, ANY_DRUG) == rule.treatment


@pytest.mark.parametrize(("rule", "example"), rule_examples([TREATMENT_RULES[DRUG_STEP_INDEX]]))
def test_drug_step_examples_are_pharmaceuticals_when_the_drug_is_found(rule, example):
    assert classify_treatment(example, ANY_DRUG) == Treatment("Pharmaceuticals", "Test Class")


@pytest.mark.parametrize(
    ("rule", "counterexample"),
    [pytest.param(rule, c, id=f"{rule.id}:{c[:40]}") for rule in PATTERN_RULES for c in rule.counterexamples],
)
def test_rule_counterexamples_are_left_to_other_rules(rule, counterexample):
    claimed_by = matching_rule(normalize_heading(counterexample))
    assert claimed_by is not None and claimed_by is not rule


# --- a wide table of realistic headings -------------------------------------------------------------

CASES = [
    # Surgery
    ("L4-5 posterior lumbar interbody fusion", None, "Surgery", "Spine"),
    ("Anterior cervical discectomy and fusion at C5-6 and C6-7", None, "Surgery", "Spine"),
    ("Lumbar laminectomy L4-L5", None, "Surgery", "Spine"),
    ("L5-S1 TLIF with 3 day inpatient stay", None, "Surgery", "Spine"),
    ("Right L5-S1 transforaminal lumbar interbody fusion", None, "Surgery", "Spine"),
    ("Removal of lumbar hardware", None, "Surgery", "Spine"),
    ("Right knee arthroscopy with partial meniscectomy", None, "Surgery", "Arthroscopic"),
    ("Right shoulder arthroscopic subacromial decompression", None, "Surgery", "Arthroscopic"),
    ("Diagnostic arthroscopy of the left knee", None, "Surgery", "Arthroscopic"),
    ("Right carpal tunnel release", None, "Surgery", "Non-arthroscopic"),
    ("Left total knee arthroplasty", None, "Surgery", "Non-arthroscopic"),
    ("Left cubital tunnel release", None, "Surgery", "Non-arthroscopic"),
    ("Left ankle fusion", None, "Surgery", "Non-arthroscopic"),
    ("Spinal cord stimulator trial", None, "Surgery", "Other Surgery"),
    ("Left shoulder surgery", None, "Surgery", "Other Surgery"),
    ("Assistant surgeon for L4-5 fusion", None, "Surgery", "Pre/Post-operative Services"),
    ("Pre-operative labs", None, "Surgery", "Pre/Post-operative Services"),
    ("Pre-op EKG and chest x-ray", None, "Surgery", "Pre/Post-operative Services"),
    ("Inpatient stay x 2 days", None, "Surgery", "Pre/Post-operative Services"),
    ("Post-operative physical therapy", None, "Rehabilitation", "PT/OT"),
    ("Post-op cold therapy unit 7 days", None, "DMEPOS", "Cold/Heat Therapy Units"),
    ("Post-op Percocet 5/325mg #60", drug_request("Opioids"), "Pharmaceuticals", "Opioids"),
    ("Post-op Keflex 500mg #28", drug_request("Antibiotics"), "Pharmaceuticals", "Antibiotics"),
    # Injection
    ("Lumbar epidural steroid injection L5-S1", None, "Injection", "Epidural Steroid"),
    ("Lumbar epidural steroid injection L5-S1", drug_request("Corticosteroids"), "Injection", "Epidural Steroid"),
    ("Cervical epidural steroid injection C7-T1 under fluoroscopy", None, "Injection", "Epidural Steroid"),
    ("Selective nerve root block left L5", None, "Injection", "Epidural Steroid"),
    ("Cervical medial branch block", None, "Injection", "Facet/Medial Branch"),
    ("Bilateral L4-5 facet injections", None, "Injection", "Facet/Medial Branch"),
    ("Radiofrequency ablation", None, "Injection", "Radiofrequency Ablation/Neurolysis"),
    ("Bilateral L4-5 and L5-S1 medial branch radiofrequency neurotomy", None, "Injection",
     "Radiofrequency Ablation/Neurolysis"),
    ("Trigger point injections with lidocaine", drug_request("Local Anesthetics"), "Injection", "Trigger Point"),
    ("Trigger point injections x 4", None, "Injection", "Trigger Point"),
    ("Synvisc injection", None, "Injection", "Joint/Bursa"),
    ("Synvisc injection", drug_request("Viscosupplements"), "Injection", "Joint/Bursa"),
    ("Series of 3 Euflexxa injections to the right knee", drug_request("Viscosupplements"), "Injection", "Joint/Bursa"),
    ("Cortisone injection right shoulder", None, "Injection", "Joint/Bursa"),
    ("Left knee aspiration and injection", None, "Injection", "Joint/Bursa"),
    ("Sacroiliac joint injection under fluoroscopy", None, "Injection", "Joint/Bursa"),
    ("Greater occipital nerve block", None, "Injection", "Nerve Block"),
    ("Stellate ganglion block", None, "Injection", "Nerve Block"),
    ("Platelet rich plasma injection left elbow", None, "Injection", "Platelet-Rich Plasma"),
    ("Botox 200 units injection", drug_request("Botulinum Toxins"), "Injection", "Other Injection"),
    ("Toradol 60mg IM injection", drug_request("NSAIDs"), "Pharmaceuticals", "NSAIDs"),
    ("Toradol 60mg IM injection", None, "Pharmaceuticals", "Other Pharmaceuticals"),
    ("B12 injection", None, "Pharmaceuticals", "Other Pharmaceuticals"),
    ("Injection left wrist", None, "Injection", "Joint/Bursa"),
    # DMEPOS
    ("TENS unit", None, "DMEPOS", "TENS/Electrical Stimulation Units"),
    ("Home H-wave device for one month", None, "DMEPOS", "TENS/Electrical Stimulation Units"),
    ("Interferential unit purchase", None, "DMEPOS", "TENS/Electrical Stimulation Units"),
    ("TENS electrodes replacement x 10 pairs", None, "DMEPOS", "TENS/Electrical Stimulation Units"),
    ("Cold therapy unit rental 30 days", None, "DMEPOS", "Cold/Heat Therapy Units"),
    ("Thermacare heat wraps #30", None, "DMEPOS", "Cold/Heat Therapy Units"),
    ("Lumbar support brace", None, "DMEPOS", "Braces and Supports"),
    ("Hinged knee brace, right", None, "DMEPOS", "Braces and Supports"),
    ("Custom molded orthotics", None, "DMEPOS", "Braces and Supports"),
    ("Front wheeled walker", None, "DMEPOS", "Mobility Aids"),
    ("Power wheelchair", None, "DMEPOS", "Mobility Aids"),
    ("Semi-electric hospital bed", None, "DMEPOS", "Beds and Cushions"),
    ("Shower chair", None, "DMEPOS", "Bath and Daily Living Aids"),
    ("Continuous passive motion machine x 21 days", None, "DMEPOS", "Other DME/Supplies"),
    ("Cervical traction unit for home use", None, "DMEPOS", "Other DME/Supplies"),
    ("Compression stockings", None, "DMEPOS", "Other DME/Supplies"),
    ("Ergonomic chair", None, "DMEPOS", "Other DME/Supplies"),
    # Diagnostic Testing
    ("Urine drug screen", None, "Diagnostic Testing", "Urine Drug Screen"),
    ("Urine drug screen for Norco", drug_request("Opioids"), "Diagnostic Testing", "Urine Drug Screen"),
    ("Urine toxicology screen, quantitative", None, "Diagnostic Testing", "Urine Drug Screen"),
    ("MRI/CT of the spine", None, "Diagnostic Testing", "MRI"),
    ("CT/MRI of the lumbar spine", None, "Diagnostic Testing", "MRI"),
    ("MRI of the lumbar spine status post L4-5 fusion", None, "Diagnostic Testing", "MRI"),
    ("CT scan of the lumbar spine", None, "Diagnostic Testing", "CT"),
    ("X-rays of the right knee, 3 views", None, "Diagnostic Testing", "X-ray"),
    ("Flexion extension x-rays of the cervical spine", None, "Diagnostic Testing", "X-ray"),
    ("EMG/NCV of the upper extremities", None, "Diagnostic Testing", "EMG/NCV"),
    ("Nerve conduction studies of the bilateral lower extremities", None, "Diagnostic Testing", "EMG/NCV"),
    ("3 phase bone scan", None, "Diagnostic Testing", "Bone Scan"),
    ("Diagnostic ultrasound of the right shoulder", None, "Diagnostic Testing", "Ultrasound"),
    ("Labs: CBC, CMP, hepatic function panel", None, "Diagnostic Testing", "Laboratory"),
    ("Vitamin D level", None, "Diagnostic Testing", "Laboratory"),
    ("Sleep study", None, "Diagnostic Testing", "Sleep Study"),
    ("Polysomnography", None, "Diagnostic Testing", "Sleep Study"),
    ("Functional capacity evaluation", None, "Diagnostic Testing", "Other Diagnostics"),
    ("Lumbar discogram L3-S1", None, "Diagnostic Testing", "Other Diagnostics"),
    ("Seroquel XR 50mg #30", drug_request("Antipsychotics"), "Pharmaceuticals", "Antipsychotics"),
    # Evaluation & Management
    ("Orthopedic consultation", None, "Evaluation & Management", "Consultation/Referral"),
    ("Pain management consultation", None, "Evaluation & Management", "Consultation/Referral"),
    ("Referral to neurologist", None, "Evaluation & Management", "Consultation/Referral"),
    ("Spine surgery evaluation", None, "Evaluation & Management", "Consultation/Referral"),
    ("Dental evaluation", None, "Evaluation & Management", "Consultation/Referral"),
    ("Follow-up visit", None, "Evaluation & Management", "Office Visits/Follow-up"),
    ("Monthly follow-up visits x 6", None, "Evaluation & Management", "Office Visits/Follow-up"),
    ("Follow-up visit for Norco refills", drug_request("Opioids"), "Evaluation & Management", "Office Visits/Follow-up"),
    ("Initial evaluation", None, "Evaluation & Management", "Evaluation"),
    # Home Health
    ("Home health care 4 hours a day", None, "Home Health", "Home Health Aide"),
    ("Home health aide 8 hours per day, 7 days a week", None, "Home Health", "Home Health Aide"),
    ("Home health nurse visits 2 times a week", None, "Home Health", "Nursing"),
    ("In home supportive services", None, "Home Health", "Home Health Aide"),
    ("Wheelchair ramp", None, "Home Health", "Home Modifications"),
    # Programs
    ("Functional restoration program x 80 hours", None, "Programs", "Functional Restoration"),
    ("Gym membership x 6 months", None, "Programs", "Gym Membership"),
    ("Weight loss program", None, "Programs", "Weight Loss"),
    ("Work conditioning 12 sessions", None, "Programs", "Work Conditioning/Hardening"),
    ("Inpatient detox", None, "Programs", "Detox"),
    ("Suboxone detox program 14 days", drug_request("Opioids"), "Programs", "Detox"),
    ("Chronic pain program", None, "Programs", "Pain Program"),
    # Psych Services
    ("Cognitive behavioral therapy 6 sessions", None, "Psych Services", "Psychotherapy/CBT"),
    ("Psychotherapy x 12", None, "Psych Services", "Psychotherapy/CBT"),
    ("Psychological evaluation", None, "Psych Services", "Psychological Evaluation/Testing"),
    ("Psychiatric consultation", None, "Psych Services", "Psychological Evaluation/Testing"),
    ("Biofeedback 6 sessions", None, "Psych Services", "Biofeedback"),
    ("Psychiatric follow-up for Cymbalta", drug_request("Antidepressants"), "Psych Services", "Psychiatric Care"),
    # Rehabilitation
    ("Physical therapy 12 sessions", None, "Rehabilitation", "PT/OT"),
    ("Aquatic therapy 2 times a week for 4 weeks", None, "Rehabilitation", "PT/OT"),
    ("Occupational therapy evaluation", None, "Rehabilitation", "PT/OT"),
    ("Home exercise program", None, "Rehabilitation", "PT/OT"),
    ("Chiropractic 6 visits", None, "Rehabilitation", "Chiropractic"),
    ("Acupuncture 6 sessions", None, "Rehabilitation", "Acupuncture"),
    ("Massage therapy 6 sessions", None, "Rehabilitation", "Massage"),
    ("Myofascial release", None, "Rehabilitation", "Other Rehabilitation"),
    # Therapies
    ("Shockwave therapy", None, "Therapies", "ESWT"),
    ("ESWT 3 sessions left heel", None, "Therapies", "ESWT"),
    ("Hyperbaric oxygen therapy", None, "Therapies", "Other Therapies"),
    ("Low level laser therapy", None, "Therapies", "Other Therapies"),
    # Transportation
    ("Transportation to and from medical appointments", None, "Transportation", "Medical Transportation"),
    # Pharmaceuticals
    ("Norco 10/325mg #60", drug_request("Opioids"), "Pharmaceuticals", "Opioids"),
    ("Soma 350mg #60", drug_request("Muscle Relaxants"), "Pharmaceuticals", "Muscle Relaxants"),
    ("Lidocaine patch", drug_request("Topical Analgesics"), "Pharmaceuticals", "Topical Analgesics"),
    ("Lidocaine patch", None, "Pharmaceuticals", "Other Pharmaceuticals"),
    ("Compound Cyclobenzaprine 5%, 240 grams", drug_request("Muscle Relaxants", compound=True),
     "Pharmaceuticals", "Topical Compounds"),
    ("Compound Cyclobenzaprine 5%, 240 grams", None, "Pharmaceuticals", "Topical Compounds"),
    ("Three months coverage of Viagra 50mg", drug_request("PDE5 Inhibitors"), "Pharmaceuticals", "PDE5 Inhibitors"),
    ("Ambien 10mg #30", drug_request("Sedative-hypnotics", "Opioids"), "Pharmaceuticals", "Sedative-hypnotics"),
    ("Zolpidem 10mg #30", drug_request(""), "Pharmaceuticals", "Other Pharmaceuticals"),
    ("Kenalog 40mg IM injection", drug_request("Corticosteroids"), "Pharmaceuticals", "Corticosteroids"),
    ("Suboxone 8mg for detoxification", drug_request("Opioids"), "Pharmaceuticals", "Opioids"),
    ("Phentermine 37.5mg #30 for weight loss", drug_request("Anorectics"), "Pharmaceuticals", "Anorectics"),
    ("Lidoderm 5% patch 30 ct", drug_request("Topical Analgesics"), "Pharmaceuticals", "Topical Analgesics"),
    ("Vitamin D 50000 IU", None, "Pharmaceuticals", "Other Pharmaceuticals"),
    # Other: no DWC category fits, or the heading says too little
    ("Interpreter services", None, "Other", None),
    ("Dental treatment", None, "Other", None),
    ("Additional 6 sessions", None, "Other", None),
    ("", None, "Other", None),
]


@pytest.mark.parametrize(("heading", "request_", "category", "subcategory"), CASES, ids=[c[0][:50] for c in CASES])
def test_realistic_headings(heading, request_, category, subcategory):
    assert classify_treatment(heading, request_) == Treatment(category, subcategory)


@pytest.mark.parametrize(
    "heading",
    [
        "Trigger point\ninjections with\nlidocaine",
        "  TRIGGER   POINT INJECTIONS   WITH LIDOCAINE ",
        "Trigger point\r\n\r\ninjections\twith lidocaine",
    ],
)
def test_case_and_whitespace_do_not_matter(heading):
    assert classify_treatment(heading, None) == Treatment("Injection", "Trigger Point")


def test_dashes_from_pdf_text_are_plain_hyphens():
    assert classify_treatment("X\u2013rays of the lumbar spine", None) == Treatment("Diagnostic Testing", "X-ray")


def test_an_empty_drug_request_is_no_drug_request():
    assert classify_treatment("Pain medication", DrugRequest(drugs=())) == Treatment(
        "Pharmaceuticals", "Other Pharmaceuticals"
    )
    assert classify_treatment("Omeprazole", DrugRequest(drugs=())) == OTHER


def test_the_drug_table_class_other_is_not_the_category_other():
    assert classify_treatment("Acetaminophen 500mg #60", drug_request("Other")) == Treatment(
        "Pharmaceuticals", "Other Pharmaceuticals"
    )


def test_pharmaceutical_subcategories_are_the_drug_tables_classes():
    # The facet describes every class kb/data/drugs.json can give, and nothing else.
    drugs_json = DATA_DIR / "drugs.json"
    if not drugs_json.is_file():
        pytest.skip("kb/data/drugs.json is not written yet")
    drug_classes = {row["name"] for row in json.loads(drugs_json.read_text(encoding="utf-8"))["classes"]}
    listed = set(SUBCATEGORIES["Pharmaceuticals"])
    assert listed - {"Topical Compounds", "Other Pharmaceuticals"} == drug_classes - {"Other"}


def test_a_compound_without_recognised_drugs_is_a_topical_compound():
    assert classify_treatment("Compounded cream 240g", DrugRequest(drugs=(), compound=True)) == Treatment(
        "Pharmaceuticals", "Topical Compounds"
    )


# --- partial authorizations ----------------------------------------------------------------------


def test_the_disputed_portion_decides_a_partial_authorization():
    heading = (
        "Partial Hospitalization day treatment was the original request. The Claims Administrator authorized an "
        "Evaluation only for a Partial Hospitalization day treatment, leaving the original request IMR eligible. "
        "The original request, Partial Hospitalization day treatment is"
    )
    assert classify_treatment(heading, None) == Treatment("Psych Services", "Psychiatric Care")


def test_the_authorized_part_does_not_decide():
    heading = (
        "Physical therapy 12 visits was the original request. The Claims Administrator authorized a follow-up "
        "visit instead. The remaining IMR eligible portion of the original request, Physical therapy 12 visits is"
    )
    assert classify_treatment(heading, None) == Treatment("Rehabilitation", "PT/OT")


def test_requested_portions_order():
    text = normalize_heading("A 12 was the original request. A 6 was authorized. ... of the original request, A 6 is")
    assert list(requested_portions(text)) == ["a 6", "a 12", text]
    assert list(requested_portions("mri of the knee")) == ["mri of the knee"]


def test_a_truncated_partial_heading_still_classifies():
    heading = (
        "by the Claims Administrator.  The remaining IMR eligible portion of the original request, Physical "
        "therapy to the lumbar spine 2 times a week for 2 weeks (4) is"
    )
    assert classify_treatment(heading, None) == Treatment("Rehabilitation", "PT/OT")


# --- speed and backtracking ----------------------------------------------------------------------

ADVERSARIAL_UNITS = [
    "a",
    " ",
    "\n",
    "#",
    "-",
    "5% ",
    "1 ",
    "injection to the ",
    "pt / ptt ",
    "exam, ",
    "ultrasound 1 e-stim ",
    "associated surgical service: ",
    "x was the original request. ",
    "the original request, ",
]


def adversarial(unit: str, size: int) -> str:
    return (unit * (size // len(unit) + 1))[:size]


@pytest.mark.parametrize("unit", ADVERSARIAL_UNITS)
def test_a_one_megabyte_heading_classifies_in_under_two_seconds(unit):
    heading = adversarial(unit, 1_000_000)
    started = time.process_time()  # processor time: a busy machine does not inflate it
    classify_treatment(heading, None)
    classify_treatment(heading, ANY_DRUG)
    assert time.process_time() - started < 2.0


@pytest.mark.parametrize("unit", ADVERSARIAL_UNITS)
def test_no_pattern_backtracks_on_long_text(unit):
    # classify_treatment reads at most MAX_CLASSIFIED_CHARS, so test the patterns themselves on longer text:
    # a pattern that backtracks badly takes seconds on 10,000 characters; a linear one takes milliseconds.
    text = adversarial(unit, 10_000)
    started = time.process_time()  # processor time: a busy machine does not inflate it
    for rule in PATTERN_RULES:
        rule.pattern.search(text)
    assert time.process_time() - started < 1.0


# --- the real letters' headings ------------------------------------------------------------------

# Stand-in for kb.drugs on the real headings: (regex, drug class, compound).
STAND_IN_DRUGS = [
    (r"lidopro|voltaren gel|diclofenac sodium 3%|flector", "Topical Analgesics", False),
    (r"norco|ultram|tramadol|percocet|trezix", "Opioids", False),
    (r"flexeril|cyclobenzaprine|norflex|orphenadrine|baclofen|tabradol", "Muscle Relaxants", False),
    (r"naproxen|diclofenac|voltaren|etodolac|celecoxib|motrin|meloxicam", "NSAIDs", False),
    (r"omeprazole|pantoprazole", "Proton Pump Inhibitors", False),
    (r"pepcid|famotidine|deprizine", "H2 Blockers", False),
    (r"lidocaine|lidoderm|capsaicin", "Topical Analgesics", False),
    (r"diazepam", "Benzodiazepines", False),
    (r"fanatrex|gabapentin", "Anti-epilepsy Drugs", False),
    (r"dicopanol", "Antihistamines", False),
    (r"zofran", "Antiemetics", False),
    (r"colace", "Laxatives", False),
    (r"dexamethasone", "Corticosteroids", False),
    (r"dextromethorphan|amitriptyline|flurbiprofen", "Topical Compounds", False),
]


def stand_in_drug_request(heading: str) -> DrugRequest | None:
    """A rough kb.drugs: drugs by name in heading order, a compound when two or more carry a percent."""
    found = {}
    for pattern, drug_class, is_compound in STAND_IN_DRUGS:
        for match in re.finditer(rf"(?<!\w)(?:{pattern})(?!\w)", heading, re.IGNORECASE):
            # The earlier, more specific pattern keeps its position: "Voltaren gel" is not oral Voltaren.
            found.setdefault(match.start(), (drug_class, is_compound))
    if not found:
        return None
    drugs = [found[start] for start in sorted(found)]
    compound = any(is_compound for _, is_compound in drugs) or (heading.count("%") >= 2 and len(drugs) >= 2)
    return drug_request(*(drug_class for drug_class, _ in drugs), compound=compound)


def real_headings(letters_dir) -> list[str]:
    with open(letters_dir / "index.csv", newline="", encoding="utf-8") as index:
        rows = list(csv.DictReader(index))
    return [item.rpartition(" => ")[0] for row in rows for item in row["items"].split(" || ")]


# Reviewed by hand, one heading at a time; drug headings with the stand-in drug classes above.
REAL_HEADINGS_BY_TREATMENT: dict[tuple[str, str | None], list[str]] = {
    ("DMEPOS", "TENS/Electrical Stimulation Units"): [
        "Associated surgical service:  EMS/TENS unit",
        "Retrospective E-stim (DOS 12/29/16)",
        "Retrospective TENS unit, purchase, lumbar spine, left hip, lower leg, and knee (DOS 12/29/16)",
        "TENS unit",
        "TENS unit, daily trial, cervical and thoracic spine, #30",
    ],
    ("DMEPOS", "Braces and Supports"): [
        "Associated surgical service:  Ultrasling",
        "Associated surgical service: Arc sling",
        "Associated surgical service: Shoulder Brace",
        "Associated surgical service: Slingshot sling",
        "Back support",
        "Elbow braces #2",
        "Lumbar support",
        "Wrist braces #2",
    ],
    ("DMEPOS", "Cold/Heat Therapy Units"): [
        "Associated surgical service:  Vascutherm unit, 14 days rental",
        "Associated surgical service: Cold therapy for one week",
        "Associated surgical service: Cold therapy unit",
        "Associated surgical service: Cryotherapy unit, seven day use",
        "Custom touch back heat therapy pad",
        "Hot/cold therapy wrap",
    ],
    ("DMEPOS", "Mobility Aids"): [
        "1 knee scooter",
        "Standard wheelchair for a 3 month rental was the original request. Standard wheelchair for a 1 month rental was authorized by the Claims Administrator. The remaining IMR eligible portion of the original request, standard wheelchair for a 2 month rental is",
    ],
    ("DMEPOS", "Beds and Cushions"): [
        "Cervical pillow",
        "Hospital bed for an unspecified rental",
        "Wedge pillow",
    ],
    ("DMEPOS", "Bath and Daily Living Aids"): [
        "Purchase of a bath/shower chair was the original request. The Claims Administrator authorized a bath/shower chair for 1 month, leaving the original request IMR eligible. The original request, purchase of a bath/shower chair is",
        "Purchase of a bedside 3 in 1 commode was the original request. The Claims Administrator authorized a bedside 3 in 1 commode for 1 month, leaving the original request IMR eligible. The original request, purchase of a bedside 3 in 1 commode is",
    ],
    ("DMEPOS", "Other DME/Supplies"): [
        "Associated surgical service:  2 leg wraps",
        "Associated surgical service:  Hip pad",
        "Hygiene wipes",
        "Large gloves",
        "Sit-stand workstation",
    ],
    ("Diagnostic Testing", "MRI"): [
        "Cervical spine MRI without contrast",
        "Left knee MRI without contrast",
        "MR Arthrogram of the right shoulder",
        "MRI (magnetic resonance imaging) of the cervical spine",
        "MRI (magnetic resonance imaging) of the lumbar spine",
        "MRI Cervical Spine",
        "MRI Lumbosacral Spine without Contrast",
        "MRI Thoracic Spine",
        "MRI cervical spine without contrast",
        "MRI for the cervical spine",
        "MRI of Left lower extremity without contrast",
        "MRI of lumbar spine without contrast",
        "MRI of neck and right hand without contrast",
        "MRI of the Left shoulder without contrast",
        "MRI of the bilateral brain/brainstem without contrast",
        "MRI of the cervical spine",
        "MRI of the cervical spine without contrast",
        "MRI of the left hip",
        "MRI of the left knee without contrast",
        "MRI of the left shoulder",
        "MRI of the left wrist",
        "MRI of the lumbar spine",
        "MRI of the lumbar spine without contrast",
        "MRI of the lumbar without contrast",
        "MRI of the lumbosacral spine without contrast, 1.5 Tesla or higher only",
        "MRI of the neck without contrast",
        "MRI of the right foot",
        "MRI of the right knee",
        "MRI of the right knee without contrast",
        "MRI of the right shoulder",
        "MRI of the right shoulder without contrast",
        "MRI of the thoracic spine",
        "MRI of the thoracic spine without contrast, #1",
        "MRI scan of the cervical spine",
        "MRI without contrast of the right elbow",
        "MRI without contrast of the right hip",
        "MRI/CT of the spine and pelvis",
        "Magnetic resonance imaging (MRI) of the right shoulder",
        "Open MRI of the lumbosacral spine",
        "Right elbow MRI",
        "Single positional MRI of the cervical spine",
        "Single positional MRI of the lumbar spine",
        "Single positional MRI of the right hand",
    ],
    ("Diagnostic Testing", "CT"): [
        "CT scan of head",
        "CT scan of the cervical spine",
        "CT scan of the head",
        "CT scan of the thoracic spine",
        "Cervical CT scan",
        "Retrospective CT scan of the cervical spine (DOS 11/18/16)",
    ],
    ("Diagnostic Testing", "X-ray"): [
        "Cervical spine x-rays",
        "Lumbar spine x-rays",
        "X-Ray of the lumbar spine",
        "X-ray of the pelvis",
        "X-ray of the right knee",
        "X-rays of the cervical spine",
        "X-rays of the head",
        "X-rays of the left shoulder",
        "X-rays of the lumbar spine",
        "X-rays of the thoracic spine",
    ],
    ("Diagnostic Testing", "EMG/NCV"): [
        "EMG (electromyography)/NCV (nerve conduction velocity) of the bilateral upper extremities",
        "EMG and NCS of the right lower extremity",
        "EMG/NCS of the bilateral hand",
        "EMG/NCS of the bilateral upper extremities",
        "EMG/NCS of the right upper extremity was the original request. NCS of the right upper extremity was authorized by the Claims Administrator. The remaining IMR eligible portion of the original request, EMG of the right upper extremity is",
        "EMG/NCV of the bilateral lower extremities",
        "EMG/NCV of the bilateral upper extremities",
        "EMG/NCV of the lower extremities",
        "EMG/NCV of the upper extremities",
        "NCV/EMG of the bilateral upper extremity",
    ],
    ("Diagnostic Testing", "Other Diagnostics"): [
        "Electroencephalogram",
        "Functional capacity evaluation",
        "Jamar grip test",
        "Range of motion of test",
        "SSEP of the lumbar and lower extremities",
        "Trigger points impedance imaging (TPII)",
    ],
    ("Evaluation & Management", "Consultation/Referral"): [
        "Consult with hip replacement specialist to evaluation for a total hip arthroplasty",
        "Medication management consultation",
        "Neurosurgeon evaluation for the Low back/Pelvis",
        "Spine surgery evaluation for the lumbar",
        "TOC to ortho spine surgeon eval and treatment",
    ],
    ("Evaluation & Management", "Evaluation"): [
        "Initial exam",
    ],
    ("Home Health", "Nursing"): [
        "Daily RN for 4 weeks for wound care and monitoring of wound healing and home safety, medication management",
        "Wound care nurse, 1-2 visits to evaluate right hip incision, treat, and demonstrate treatment",
    ],
    ("Injection", "Epidural Steroid"): [
        "Left L5-S1 epidural steroid injection",
        "Neuroplasty, lumbar spine",
        "Right L4 transforaminal epidural steroid injection under fluoroscopic guidance",
        "Right L5 transforaminal epidural steroid injection under fluoroscopic guidance",
        "Right L5-S1 epidural steroid injection",
    ],
    ("Injection", "Facet/Medial Branch"): [
        "Facet joint injections L4-5, L5-S1",
    ],
    ("Injection", "Joint/Bursa"): [
        "Retrospective injection 5cc of lidocaine hcl 1percent and 1cc of dexamethasone 120mg to the right knee",
    ],
    ("Injection", "Radiofrequency Ablation/Neurolysis"): [
        "Injection of neurolytic substance, lumbar spine",
    ],
    ("Injection", "Platelet-Rich Plasma"): [
        "1 platelet rich plasma injection to left foot",
        "Platelet-rich plasma injection to the right knee",
    ],
    ("Pharmaceuticals", "Opioids"): [
        "Norco 10/325mg #60 was the original request. Norco 10/325mg #25 was authorized by the Claims Administrator. The remaining IMR eligible portion of the original request, Norco 10/325mg #35 is",
        "Norco 5/325mg oral tablet, one tablet twice daily 14 days #40",
        "Norco 7.5-325mg #112",
        "One month supply of Trezix capsule 320.5/30/16mg was the original request. The Claims Administrator authorized Trezix capsule 320.5/30/16mg #5, leaving the original request IMR eligible. The original request, one month supply of Trezix capsule 30.5/30/16mg is",
        "Post-op Norco 5/325mg #60, 1-2 tabs orally every 4-6 hrs as needed",
        "Post-op Percocet 5/325mg",
        "Ultram (tramadol) 50mg #90",
        "Ultram 50mg #30",
    ],
    ("Pharmaceuticals", "NSAIDs"): [
        "Celecoxib 200mg #90",
        "Diclofenac ER 100mg #60",
        "Diclofenac/misoprostol 75-0.2mg #60 with 2 refills",
        "Etodolac",
        "Meloxicam (Mobic) 7.5mg #30",
        "Motrin 600mg #40",
        "Naproxen 500mg #60",
        "Naproxen 550mg #60",
        "Voltaren 75mg #60 with 3 refills was the original request. Voltaren 75mg #60 was authorized by the Claims Administrator. The remaining IMR eligible portion of the original request, Three refills of Voltaren 75mg #60 is",
    ],
    ("Pharmaceuticals", "Muscle Relaxants"): [
        "Baclofen 20mg #60",
        "Cyclobenzaprine",
        "Cyclobenzaprine 7.5mg #60",
        "Cyclobenzaprine 7.5mg #90 was the original request. Cyclobenzaprine 7.5mg #63 was authorized by the Claims Administrator. The remaining IMR eligible portion of the original request, Cyclobenzaprine 7.5mg #27 is",
        "Flexeril 10mg #60",
        "Norflex 100mg #60",
        "Orphenadrine Citrate ER 100mg tabs #30",
        "Retrospective Cyclobenzaprine 5mg tab #30 DOS: 11/14/16",
        "Retrospective Cyclobenzaprine 7.5mg #60, per 12/07/2016 order was the original request. Retrospective Cyclobenzaprine 7.5mg #42, per 12/07/2016 order was authorized by the Claims Administrator. The remaining IMR eligible portion of the original request, Retrospective Cyclobenzaprine 7.5mg #18, per 12/07/2016 order is",
        "Tabradol 1mg/ml oral suspension, 250ml",
    ],
    ("Pharmaceuticals", "Benzodiazepines"): [
        "Diazepam 5mg #10",
    ],
    ("Pharmaceuticals", "Anti-epilepsy Drugs"): [
        "Fanatrex 25mg/ml oral suspension 420ml",
    ],
    ("Pharmaceuticals", "Proton Pump Inhibitors"): [
        "Omeprazole",
        "Pantoprazole 20mg #30",
        "Pantoprazole 40mg, one by mouth, twice a day #60 with one refill",
    ],
    ("Pharmaceuticals", "Topical Analgesics"): [
        "Diclofenac sodium 3% 300mg/g #1",
        "Flector 1.3% transdermal patch",
        "Lidocaine 5% patch #1",
        "Lidocaine ointment 5% #1",
        "Lidocaine ointment 5% 106.32gm",
        "Lidocaine patch",
        "Lidoderm patch, 12 hours on 12 hours off to affected area, #1 box with 1 refill, DOS: 11/11/2016",
        "Retrospective Lidopro 4%-27.5%-0.0325% 121gm #1, per 12/07/2016 order",
        "Voltaren gel apply to affected area 4 times a day, #60 grams with 1 refill, DOS: 11/11/2016",
    ],
    ("Pharmaceuticals", "Topical Compounds"): [
        "Dextromethorphan 5%/Amitriptyline 5%/Lidocaine/Capsaicin 0.025%, 120grams #1",
        "Flurbiprofen 10%/Dextromethorphan 5%/Lidocaine 5%, 120grams #1",
        "One container of Flurbiprofen 10%, Cyclobenzaprine 3%, Gabapentin 6%, Lidocaine 5%/Dextromethorphan",
    ],
    ("Pharmaceuticals", "Antiemetics"): [
        "Post-op Zofran",
    ],
    ("Pharmaceuticals", "Antihistamines"): [
        "Dicopanol 5mg/ml oral suspension, 150ml",
    ],
    ("Pharmaceuticals", "H2 Blockers"): [
        "Deprizine 15mg/ml oral suspension, 250ml",
        "Pepcid 20mg",
        "Retrospective Famotidine 20mg #60, per 12/07/2016 order",
    ],
    ("Pharmaceuticals", "Laxatives"): [
        "Post-op Colace 100mg #60, 1 tablet by mouth as needed",
    ],
    ("Programs", "Gym Membership"): [
        "Gym membership",
    ],
    ("Psych Services", "Psychological Evaluation/Testing"): [
        "Comprehensive psychological testing",
    ],
    ("Psych Services", "Biofeedback"): [
        "Four sessions of biofeedback two times a week times 2 weeks",
    ],
    ("Psych Services", "Psychiatric Care"): [
        "Partial Hospitalization day treatment was the original request. The Claims Administrator authorized an Evaluation only for a Partial Hospitalization day treatment, leaving the original request IMR eligible. The original request, Partial Hospitalization day treatment is",
    ],
    ("Rehabilitation", "Acupuncture"): [
        "Acupuncture 3 times a week for 2 weeks, neck, right hand and head",
        "Acupuncture for the cervical and thoracic spine two times a week times three weeks",
        "Acupuncture of the lumbar and cervical for eight sessions was the original request. Acupuncture of the lumbar and cervical for six sessions was authorized by the Claims Administrator. The remaining IMR eligible portion of the original request, Acupuncture of the lumbar and cervical for two sessions is",
        "Electro acupuncture to the low back two times a week times six weeks",
        "Initial acupuncture, 1 to 2 times per week for 4 weeks, for the neck",
        "Six sessions of acupuncture one time a week for six weeks",
        "Twelve acupuncture visits with Capsaicin patch, 2 times weekly for 6 weeks",
        "Twelve elect acupuncture visits (15 mins), 2 times weekly for 6 weeks",
        "Twelve infrared acupuncture visits, 2 times weekly for 6 weeks",
        "Twelve manual acupuncture visits (15 mins), 2 times weekly for 6 weeks",
    ],
    ("Rehabilitation", "Chiropractic"): [
        "Chiro with modalities 2 times a week for 6 weeks for neck, back",
        "Chiropractic care for the low back; six sessions",
        "Chiropractic care to the low back two times a week for four weeks",
        "Chiropractic therapy sessions for the cervical spine, #8 was the original request. Chiropractic therapy sessions for the cervical spine, #6 was authorized by the Claims Administrator. The remaining IMR eligible portion of the original request, Chiropractic therapy sessions for the cervical spine, #2 is",
        "Chiropractic treatment for cervical and lumbar spine, left wrist/hand, 3 times a week for 4 weeks",
        "Re-exam with chiropractor for the lumbar spine flare-up",
        "Spinal manipulation 1 times 8",
        "Spinal manipulation therapy 2 times a week for 4 weeks",
    ],
    ("Rehabilitation", "PT/OT"): [
        "Additional physical therapy lumbar spine two times a week for three weeks",
        "Additional physical therapy three times a week for two weeks of the right hip and foot",
        "Additional physical therapy three times a week over two weeks",
        "Additional physical therapy two times four visits (8) for the lumbar and bilateral knees",
        "Additional physical therapy, 1 to 2 times per week for 3 weeks, for the neck",
        "Associated surgical service: Physical Therapy sessions, 12",
        "Associated surgical service: Physical therapy, times 12",
        "Continue physical therapy 3 times a week for 2 weeks",
        "Eight (8) physical therapy sessions",
        "Eight occupational therapy sessions for the lumbar spine, left shoulder, left wrist and left knee was the original request. Six occupational therapy sessions for the left wrist was authorized by the Claims Administrator. The remaining IMR eligible portion of the original request, two occupational therapy sessions for the left wrist and eight occupational therapy sessions for the lumbar spine, left shoulder and left knee is",
        "Eight physical therapy sessions",
        "Eight physical therapy sessions for the lumbar spine, left shoulder, left wrist and left knee was the original request. Six physical therapy sessions for the lumbar spine, left shoulder and left knee was authorized by the Claims Administrator. The remaining IMR eligible portion of the original request, two physical therapy sessions for the lumbar spine, left shoulder and left knee and eight physical therapy sessions for the left wrist is",
        "Eight physical therapy sessions for the neck",
        "Four sessions of physical therapy two times a week times 2 weeks",
        "Four sessions of therapeutic exercise two times a week times 2 weeks",
        "Nine sessions of physical therapy of the right knee was the original request. Six sessions of physical therapy of the right knee was authorized by the Claims Administrator. The remaining IMR eligible portion of the original request, Three sessions of physical therapy of the right knee is",
        "Occupational therapy for nine sessions was the original request. Occupational therapy for three sessions was authorized by the Claims Administrator. The remaining IMR eligible portion of the original request, Occupational therapy for six sessions is",
        "PT/OT two to three times a week for six to eight weeks (24 sessions) left hand, right lower leg was the original request. PT/OT 6 sessions left hand, right lower leg was authorized by the Claims Administrator. The remaining IMR eligible portion of the original request, PT/OT 18 sessions left hand, right lower leg is",
        "Physical therapy 2 times a week for 6 weeks (12 sessions) to the right elbow was the original request. The Claims Administrator authorized 2 sessions of occupational therapy, leaving the original request IMR eligible. The original request, physical therapy 2 times a week for 6 weeks (12 sessions) to the right elbow is",
        "Physical therapy 2 times a week for 6 weeks bilateral shoulder, elbow and wrist",
        "Physical therapy 2-3 times a week for 6 weeks",
        "Physical therapy 3 times a week for 4 weeks for the lumbar spine and left shoulder",
        "Physical therapy 6 sessions 2 times a week for 3 weeks to the lumbar and cervical spine",
        "Physical therapy evaluation, cervical and thoracic spine",
        "Physical therapy for 12 sessions was the original request. Physical therapy for 6 sessions was authorized by the Claims Administrator. The remaining IMR eligible portion of the original request, Physical therapy for 6 sessions is",
        "Physical therapy for the cervical spine 2 times a week for 3 weeks",
        "Physical therapy for the lumbar spine 2 times a week for 3 weeks",
        "Physical therapy right knee 3 times a week for 3 weeks was the original request. Physical therapy right knee 3 times a week for 2 weeks was authorized by the Claims Administrator. The remaining IMR eligible portion of the original request, Physical therapy right knee 3 times a week for 1 week is",
        "Physical therapy three times a week for two weeks for the cervical, thoracic, and lumbar",
        "Physical therapy to the low back eight sessions was the original request. Physical therapy to the low back six sessions was authorized by the Claims Administrator. The remaining IMR eligible portion of the original request, Physical therapy to the low back two sessions is",
        "Physical therapy two times a week for six weeks (12 sessions) was the original request. Physical therapy 6 sessions was authorized by the Claims Administrator. The remaining IMR eligible portion of the original request, Physical therapy 6 sessions is",
        "Physical therapy, 2 times a week for 4 weeks, right knee",
        "Physical therapy, 6 sessions, cervical and thoracic spine",
        "Post operative physical therapy for the right knee 2 times a week for 6 weeks",
        "Post-op physical therapy 12-18 sessions",
        "Six physical therapy sessions two times a week for three weeks for the neck, left trapezius and low back",
        "Six physical therapy visits for the lumbar",
        "Twelve physical therapy sessions, three times weekly, for the right elbow",
        "Twelve physical therapy visits for the Cervical Spine",
        "Twelve physical therapy visits for the left hand/finger was the original request. Ten physical therapy visits for the left hand/finger was authorized by the Claims Administrator. The remaining IMR eligible portion of the original request, Two physical therapy visits for the left hand/finger",
        "Twelve physical therapy visits for the right shoulder was the original request. Nine physical therapy visits for the right shoulder was authorized by the Claims Administrator. The remaining IMR eligible portion of the original request, three physical therapy visits for the right shoulder is",
        "Twelve sessions of physical therapy for the right shoulder, right wrist and right hand, three times a week for four weeks",
        "by the Claims Administrator.  The remaining IMR eligible portion of the original request, Physical therapy to the lumbar spine 2 times a week for 2 weeks (4) is",
    ],
    ("Rehabilitation", "Inpatient Rehabilitation"): [
        "Two to three week trial of Acute Rehabilitation Unit with possible extension from one to three weeks was the original request. Two week trial of Acute Rehabilitation Unit was authorized by the Claims Administrator. The remaining IMR eligible portion of the original request, one week trial of Acute Rehabilitation Unit is",
    ],
    ("Rehabilitation", "Other Rehabilitation"): [
        "Electrical Muscle Stimulation 2 times a week for 4 weeks",
        "Electrical stimulation 1 times 8",
        "Four sessions of electrical stimulation two times a week times 2 weeks",
        "Four sessions of infrared therapy two times a week times 2 weeks",
        "Four sessions of manual therapy two times a week times 2 weeks",
        "Infrared heat to the low back two times a week times six weeks",
        "Myofascial release to the low back two times a week times six weeks",
        "Physical exam 2 times 8",
        "Pulsed Ultrasound 2 times a week for 4 weeks",
        "Ultrasound 1 times 8",
    ],
    ("Surgery", "Arthroscopic"): [
        "Arthroscopy of the left knee",
        "Left shoulder arthroscopy with Bankart repair, possible biceps tenodesis",
        "Operative arthroscopy, superior labral anterior posterior repair, right shoulder",
        "Right Shoulder Arthroscopy with rotator cuff repair vs debridement, subacromial decompression/acromioplasty and possible proximal biceps tenodynovitis",
        "Right knee arthroscopy with evaluation of ACL, medical meniscectomy",
        "Right shoulder arthroscopy with subacromial decompression, acromioplasty, Mumford, rotator cuff repair and shoulder debridement",
    ],
    ("Surgery", "Non-arthroscopic"): [
        "Retrospective: Open reduction internal fixation on left distal radius fracture with open carpal tunnel release DOS 12/13/2016 was the original request. Open reduction internal fixation on left distal radius fracture was authorized by the Claims Administrator. The remaining IMR eligible portion of the original request, with open carpal tunnel release is",
    ],
    ("Surgery", "Pre/Post-operative Services"): [
        "Assistant PA",
        "Assistant surgeon",
        "Associated surgical service:  Chest x-ray",
        "Associated surgical service:  EKG",
        "Associated surgical service:  Labs - CBC",
        "Associated surgical service:  Labs - Chem panel",
        "Associated surgical service:  Labs - PT/PTT",
        "Associated surgical service:  Medical clearance",
        "Associated surgical service:  UA",
        "PA assist",
        "Pre-op Clearance",
        "Pre-op chest x-ray",
        "Pre-op labs: CBC",
        "Pre-op labs: CMP",
        "Pre-op labs: PT/PTT",
        "Pre-op urinalysis",
        "Pre-operative BMP",
        "Pre-operative CBC",
        "Pre-operative EKG",
        "Pre-operative PT/PTT",
        "Pre-operative medical clearance",
        "Preoperative Medical Clearance",
    ],
    ("Therapies", "ESWT"): [
        "Extracorporeal shockwave therapy (ESWT)",
    ],
    ("Therapies", "Other Therapies"): [
        "Localized intense neurostimulation therapy [following TPII]",
    ],
    ("Transportation", "Medical Transportation"): [
        "Transportation to/from all medical appointments",
    ],
}


def expected_real_treatments() -> dict[str, Treatment]:
    return {
        heading: Treatment(*treatment)
        for treatment, headings in REAL_HEADINGS_BY_TREATMENT.items()
        for heading in headings
    }


def test_every_real_heading_is_reviewed(letters_dir):
    assert set(real_headings(letters_dir)) == set(expected_real_treatments())


def test_real_headings_classify_as_reviewed(letters_dir):
    expected = expected_real_treatments()
    wrong = {
        heading: (got, expected[heading])
        for heading in real_headings(letters_dir)
        if (got := classify_treatment(heading, stand_in_drug_request(heading))) != expected[heading]
    }
    assert not wrong


def test_no_real_heading_is_other(letters_dir):
    headings = real_headings(letters_dir)
    assert len(headings) == 303
    treatments = [classify_treatment(heading, stand_in_drug_request(heading)) for heading in headings]
    counts = Counter(treatment.category for treatment in treatments)
    print("\nTreatment categories over the real headings:", dict(counts.most_common()))
    assert counts["Other"] == 0


@pytest.mark.skipif(importlib.util.find_spec("kb.drugs") is None, reason="kb.drugs is not written yet")
def test_real_headings_with_the_real_drug_parser(letters_dir):

    expected = expected_real_treatments()
    wrong = {
        heading: (got.category, expected[heading].category)
        for heading in real_headings(letters_dir)
        if (got := classify_treatment(heading, parse_drug_request(heading))).category != expected[heading].category
    }
    assert not wrong


def test_apap_is_acetaminophen_not_an_auto_pap_machine():
    heading = "Hydrocodone/APAP 10/325mg #90"
    assert classify_treatment(heading, parse_drug_request(heading)).category == "Pharmaceuticals"
    assert classify_treatment("APAP machine supplies", None).category == "DMEPOS"


# --------------------------------------------------------------------------------------------
# What the letter around a heading says: attached consults, context rules (treatments.json)


@pytest.mark.parametrize("example", ATTACHED["examples"], ids=lambda e: e["heading"])
def test_the_primary_treatment_wins_over_an_attached_consult(example):
    assert classify_treatment(example["heading"]) == Treatment(example["category"], example["subcategory"])


@pytest.mark.parametrize(("rule", "example"), [(r, e) for r in CONTEXT_RULES for e in r.examples],
                         ids=lambda x: getattr(x, "id", None) or x.get("heading"))
def test_context_rule_examples(rule, example):
    context = TreatmentContext(example["lines"], example["rationale"])
    assert classify_treatment(example["heading"], None, context) == rule.treatment
    assert classify_treatment(example["heading"]) != rule.treatment  # the heading alone leaves it open


@pytest.mark.parametrize(("rule", "example"), [(r, e) for r in CONTEXT_RULES for e in r.counterexamples],
                         ids=lambda x: getattr(x, "id", None) or x.get("heading"))
def test_context_rule_counterexamples(rule, example):
    context = TreatmentContext(example["lines"], example["rationale"])
    assert classify_treatment(example["heading"], None, context) != rule.treatment


def test_context_rules_point_at_known_rules_and_categories():
    ids = {rule.id for rule in TREATMENT_RULES}
    listed = {(c["category"], s["subcategory"]) for c in TREATMENT_CATEGORIES for s in c["subcategories"]}
    for rule in CONTEXT_RULES:
        assert rule.when_rules <= ids, rule.id
        assert (rule.treatment.category, rule.treatment.subcategory) in listed, rule.id


@pytest.mark.parametrize(("heading", "subcategory"), [
    ("Diclofenac sodium 3% 300mg/g #1", "Topical Analgesics"), ("Ketoprofen 20% cream 120gm", "Topical Analgesics"),
    ("Butrans 10mcg/hr patch #4", "Opioids"), ("Diclofenac ER 100mg #60", "NSAIDs"),
    ("Duragesic 25mcg/hr patch #10", "Opioids"), ("Ketophene 20% cream 120gm", "Topical Compounds"),
])
def test_a_single_drug_spread_on_the_skin_is_a_topical_analgesic(heading, subcategory):
    assert classify_treatment(heading, parse_drug_request(heading)) == Treatment("Pharmaceuticals", subcategory)
