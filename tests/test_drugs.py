"""Tests for kb.drugs: the drug table's integrity and examples, find_drugs on prose, parse_drug_request on
item headings (real ones from ../shared/letters/index.csv included), and the scan's speed on 1 MB."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import NamedTuple

import pytest

from kb.drugs import (
    CLASS_OF,
    DRUG_CLASSES,
    DRUGS,
    TABLE,
    find_drugs,
    name_key,
    parse_drug_request,
)

# --------------------------------------------------------------------------------------------------
# The table

EXAMPLES = [(generic, example) for generic, entry in DRUGS.items() for example in entry.examples]
NAMES = [(generic, name) for generic, entry in DRUGS.items() for name in entry.names]
BRANDS = [(generic, brand) for generic, entry in DRUGS.items() for brand in entry.brands]
ENTRY_FIELDS = {"generic", "class", "brands", "synonyms", "misspellings", "examples"}
OPTIONAL_FIELDS = {"ingredients", "compound"}


@pytest.mark.parametrize(("generic", "example"), EXAMPLES)
def test_every_example_yields_its_drug(generic: str, example: str) -> None:
    assert generic in [mention.generic for mention in find_drugs(example)]


@pytest.mark.parametrize(("generic", "name"), NAMES)
def test_every_name_alone_is_one_mention_of_its_drug(generic: str, name: str) -> None:
    # Catches a name swallowed by a longer one, or one the word boundaries cannot match.
    mentions = find_drugs(name)
    assert [(m.generic, m.text) for m in mentions] == [(generic, name)]


@pytest.mark.parametrize(("generic", "brand"), BRANDS)
def test_a_written_brand_is_reported_as_spelled_in_the_table(generic: str, brand: str) -> None:
    (mention,) = find_drugs(f"Requested: {brand.upper()} as needed")
    assert (mention.generic, mention.brand) == (generic, brand)


def test_the_table_holds_at_least_200_generics() -> None:
    assert len(DRUGS) >= 200


def test_every_entry_has_exactly_the_documented_fields() -> None:
    assert [row["generic"] for row in TABLE["drugs"] if not ENTRY_FIELDS <= set(row) <= ENTRY_FIELDS | OPTIONAL_FIELDS] == []


def test_generics_are_lower_case_and_unique() -> None:
    generics = [row["generic"] for row in TABLE["drugs"]]
    assert [g for g in generics if g != g.lower()] == []
    assert len(generics) == len(set(generics))


def test_every_class_is_listed_and_every_listed_class_is_used() -> None:
    assert {generic: c for generic, c in CLASS_OF.items() if c not in DRUG_CLASSES} == {}
    assert set(DRUG_CLASSES) - set(CLASS_OF.values()) == set()
    assert all(row["description"] for row in TABLE["classes"])


def test_no_name_is_claimed_by_two_generics() -> None:
    owners: dict[str, set[str]] = {}
    for generic, name in NAMES:
        owners.setdefault(name_key(name), set()).add(generic)
    assert {key: generics for key, generics in owners.items() if len(generics) > 1} == {}


def test_no_drug_name_is_also_a_not_drug_phrase() -> None:
    phrases = {name_key(phrase) for phrase in TABLE["not_drugs"]["phrases"]}
    assert [name for _, name in NAMES if name_key(name) in phrases] == []


def test_brands_are_capitalised_and_misspellings_lower_case() -> None:
    assert [brand for _, brand in BRANDS if not brand[0].isupper()] == []
    misspellings = [name for entry in DRUGS.values() for name in entry.misspellings]
    assert [name for name in misspellings if name != name.lower()] == []


def test_every_entry_has_an_example() -> None:
    assert [generic for generic, entry in DRUGS.items() if not entry.examples] == []


@pytest.mark.parametrize("example", TABLE["not_drugs"]["examples"])
def test_not_drug_phrases_hide_the_drug_name_inside_them(example: str) -> None:
    assert find_drugs(example) == []


# --------------------------------------------------------------------------------------------------
# find_drugs on prose


class Found(NamedTuple):
    generic: str
    text: str
    brand: str | None = None
    strength: str | None = None


PROSE = [
    ("Norco 10/325mg #60", [Found("hydrocodone/acetaminophen", "Norco", "Norco", "10/325mg")]),
    ("continue hydrocodone/APAP 5/325 mg", [Found("hydrocodone/acetaminophen", "hydrocodone/APAP", None, "5/325mg")]),
    ("hydrocodone / APAP", [Found("hydrocodone/acetaminophen", "hydrocodone / APAP")]),
    ("Lidocaine 5% patch", [Found("lidocaine", "Lidocaine", None, "5%")]),
    ("Ultram 50 mg every 6 hours", [Found("tramadol", "Ultram", "Ultram", "50mg")]),
    ("apply Voltaren\ngel twice daily", [Found("diclofenac topical", "Voltaren\ngel", "Voltaren Gel")]),
    ("apply Voltaren  gel", [Found("diclofenac topical", "Voltaren  gel", "Voltaren Gel")]),
    ("Voltaren 75mg", [Found("diclofenac", "Voltaren", "Voltaren", "75mg")]),
    ("Diclofenac-\nmisoprostol 75-0.2mg", [Found("diclofenac/misoprostol", "Diclofenac-\nmisoprostol", None, "75/0.2mg")]),
    ("Tylenol #3 at night", [Found("codeine/acetaminophen", "Tylenol #3", "Tylenol #3")]),
    ("Tylenol 325mg", [Found("acetaminophen", "Tylenol", "Tylenol", "325mg")]),
    ("Ultram (tramadol) 50mg", [Found("tramadol", "Ultram (tramadol)", "Ultram", "50mg")]),
    ("Meloxicam (Mobic) 7.5mg", [Found("meloxicam", "Meloxicam (Mobic)", "Mobic", "7.5mg")]),
    ("Norco (Percocet)", [Found("hydrocodone/acetaminophen", "Norco", "Norco"), Found("oxycodone/acetaminophen", "Percocet", "Percocet")]),
    ("flexaril 10mg", [Found("cyclobenzaprine", "flexaril", "Flexeril", "10mg")]),
    ("carisprodol", [Found("carisoprodol", "carisprodol")]),
    ("klonipin 1 mg", [Found("clonazepam", "klonipin", "Klonopin", "1mg")]),
    ("trazadone", [Found("trazodone", "trazadone")]),
    ("oxicodone 5mg", [Found("oxycodone", "oxicodone", None, "5mg")]),
    ("Depo Medrol 80mg", [Found("methylprednisolone", "Depo Medrol", "Depo-Medrol", "80mg")]),
    ("Norco10/325mg", [Found("hydrocodone/acetaminophen", "Norco", "Norco", "10/325mg")]),
    ("Orphenadrine Citrate ER 100mg", [Found("orphenadrine", "Orphenadrine Citrate", None, "100mg")]),
    ("lidocaine hcl 1percent", [Found("lidocaine", "lidocaine", None, "1%")]),
    ("Duragesic 25 mcg/hr", [Found("fentanyl", "Duragesic", "Duragesic", "25mcg/hr")]),
    ("Vitamin D 50,000 IU weekly", [Found("vitamin d", "Vitamin D", None, "50000iu")]),
    ("and tramadol 37.5/325 mg.", [Found("tramadol", "tramadol", None, "37.5/325mg")]),
    ("Tramadol 50-100mg every 6 hours", [Found("tramadol", "Tramadol", None, "50-100mg")]),
    ("LidoPro 4%-27.5%-0.0325%", [Found("capsaicin/lidocaine/menthol/methyl salicylate", "LidoPro", "LidoPro", "4%/27.5%/0.0325%")]),
    ("Fanatrex 25mg/ml oral suspension", [Found("gabapentin", "Fanatrex", "Fanatrex", "25mg/ml")]),
    ("Synvisc 16mg/2ml", [Found("hylan g-f 20", "Synvisc", "Synvisc", "16mg/2ml")]),
    ("Theramine #90", [Found("theramine", "Theramine", "Theramine")]),
    # Strengths that are not strengths: a count, a date, a bare dose-less number.
    ("Xanax 2 tablets at night", [Found("alprazolam", "Xanax", "Xanax")]),
    ("Norco 11/14/16 per the note", [Found("hydrocodone/acetaminophen", "Norco", "Norco")]),
    ("Norco 11/14 per the note", [Found("hydrocodone/acetaminophen", "Norco", "Norco")]),
    ("Norco 10/325 #60", [Found("hydrocodone/acetaminophen", "Norco", "Norco", "10/325")]),
    # Morphine equivalents are a measure, not a mention; the morphine after them is.
    (
        "not exceed 120 mg oral morphine equivalents; morphine 15mg",
        [Found("morphine", "morphine", None, "15mg")],
    ),
    ("Nissan Sentra", []),
    ("Sentra PM #60", [Found("sentra pm", "Sentra PM", "Sentra PM")]),
    ("Gel-One injection", [Found("hyaluronic acid", "Gel-One", "Gel-One")]),
    ("apply the gel one time daily", []),
]


@pytest.mark.parametrize(("text", "expected"), PROSE)
def test_find_drugs(text: str, expected: list[Found]) -> None:
    mentions = find_drugs(text)
    assert [Found(m.generic, m.text, m.brand, m.strength) for m in mentions] == expected


@pytest.mark.parametrize("text", [text for text, _ in PROSE] + [example for _, example in EXAMPLES])
def test_spans_point_at_the_mention_text(text: str) -> None:
    for mention in find_drugs(text):
        assert text[mention.span.start : mention.span.end] == mention.text
        assert mention.span.of(text) == mention.text
        assert mention.drug_class == CLASS_OF[mention.generic]


def test_mentions_are_in_order_and_never_overlap() -> None:
    text = " ".join(example for _, example in EXAMPLES)
    spans = [mention.span for mention in find_drugs(text)]
    assert all(left.end <= right.start for left, right in zip(spans, spans[1:]))


def test_empty_text_has_no_mentions() -> None:
    assert find_drugs("") == []


def test_mentions_are_found_whatever_the_case() -> None:
    assert [m.generic for m in find_drugs("NORCO, norco, NoRcO, CYCLOBENZAPRINE")] == [
        "hydrocodone/acetaminophen"
    ] * 3 + ["cyclobenzaprine"]


ORDINARY_CLINICAL_SENTENCES = [
    "The patient reported relief with rest and ice.",
    "Per the MTUS guidelines, the request is not medically necessary.",
    "The MTUS Chronic Pain Medical Treatment Guidelines recommend a trial of physical therapy.",
    "Official Disability Guidelines (ODG), Low Back, recommend against it.",
    "The injured worker is a 35 year old female who sustained an industrial injury.",
    "Non-steroidal anti-inflammatory drugs (NSAIDs) and muscle relaxants were tried.",
    "Opioids, antidepressants and anti-epilepsy drugs are discussed; proton pump inhibitors are not.",
    "Right L5-S1 epidural steroid injection under fluoroscopic guidance.",
    "A soft cervical collar, a lumbar support, a TENS unit and a hot/cold therapy wrap.",
    "Range of motion was limited; sensation was intact; reflexes were symmetric.",
    "The claimant drove a Nissan Sentra when she was rear-ended.",
    "He is well versed in the home exercise program and finds it a relief.",
    "Magnetic resonance imaging (MRI) of the lumbar spine without contrast.",
    "EMG/NCV of the bilateral upper extremities; CT scan of the head; X-ray of the pelvis.",
    "Urine drug screen was consistent; there was no aberrant behavior.",
    "She has non-insulin dependent diabetes mellitus and hypertension.",
    "The dose should not exceed 120 mg oral morphine equivalents per day.",
    "Follow-up in the Emergency Room (ER) was not required; the DS report was reviewed.",
    "Apply the ointment to the affected area; the cream and gel were not tolerated.",
    "The ambient temperature, a prolate shape and the provider's muse are ordinary words.",
    "Somatic complaints and somatization were assessed.",
]


@pytest.mark.parametrize("sentence", ORDINARY_CLINICAL_SENTENCES)
def test_no_false_positives_in_ordinary_clinical_prose(sentence: str) -> None:
    assert find_drugs(sentence) == []


# --------------------------------------------------------------------------------------------------
# parse_drug_request on item headings


class Request(NamedTuple):
    generics: tuple[str, ...]
    strengths: tuple[str | None, ...]
    form: str | None = None
    quantity: float | None = None
    unit: str | None = None
    compound: bool = False


HEADINGS = {
    # The seeds (2014-era letters).
    "Xanax 1mg QTY: 60.00": Request(("alprazolam",), ("1mg",), None, 60.0),
    "Soma 350mg QTY: 120.00": Request(("carisoprodol",), ("350mg",), None, 120.0),
    "Carisoprodol 350mg #60": Request(("carisoprodol",), ("350mg",), None, 60.0),
    "Triazolam 0.25mg #60": Request(("triazolam",), ("0.25mg",), None, 60.0),
    # Shapes from the documentation.
    "Qty 90 Tramadol 50mg": Request(("tramadol",), ("50mg",), None, 90.0),
    "Lorzone 750mg one by mouth three times a day #45": Request(("chlorzoxazone",), ("750mg",), None, 45.0),
    "Compound Cyclobenzaprine 5%, 240 grams": Request(("cyclobenzaprine",), ("5%",), None, 240.0, "g", True),
    "Compound: Flurbiprofen 20%/Baclofen 5%/Lidocaine 4% cream 180gm": Request(
        ("flurbiprofen", "baclofen", "lidocaine"), ("20%", "5%", "4%"), "cream", 180.0, "g", True
    ),
    "Three months coverage of Viagra 50mg": Request(("sildenafil",), ("50mg",)),
    "Norco 10/325mg #60 was the original request...": Request(("hydrocodone/acetaminophen",), ("10/325mg",), None, 60.0),
    "Lidocaine 4%/Ketoprofen 10% gel 120gm #1": Request(("lidocaine", "ketoprofen"), ("4%", "10%"), "gel", 120.0, "g", True),
    "Norco 10/325mg tablets #60 DOS 11/14/2016": Request(("hydrocodone/acetaminophen",), ("10/325mg",), "tablet", 60.0),
    "Nucynta ER 100mg #60": Request(("tapentadol",), ("100mg",), "extended release", 60.0),
    "Amrix 15mg ER capsule #30": Request(("cyclobenzaprine",), ("15mg",), "extended release capsule", 30.0),
    "Synvisc-One injection to the right knee": Request(("hylan g-f 20",), (None,), "injection"),
    "Gel-One": Request(("hyaluronic acid",), (None,)),
    "Terocin lotion 120ml": Request(("capsaicin/lidocaine/menthol/methyl salicylate",), (None,), "lotion", 120.0, "ml"),
    "Butrans 10mcg/hr patch #4": Request(("buprenorphine transdermal",), ("10mcg/hr",), "patch", 4.0),
    "Omeprazole DR 20mg #30": Request(("omeprazole",), ("20mg",), "delayed release", 30.0),
    "Norco 10/325mg #60 per Dr. Smith": Request(("hydrocodone/acetaminophen",), ("10/325mg",), None, 60.0),
    "Tylenol #3 #60": Request(("codeine/acetaminophen",), (None,), None, 60.0),
    "Norco (hydrocodone/APAP) 10/325 mg QTY: 90": Request(("hydrocodone/acetaminophen",), ("10/325mg",), None, 90.0),
    # Real headings from ../shared/letters.
    "Ultram 50mg #30": Request(("tramadol",), ("50mg",), None, 30.0),
    "Flexeril 10mg #60": Request(("cyclobenzaprine",), ("10mg",), None, 60.0),
    "Norflex 100mg #60": Request(("orphenadrine",), ("100mg",), None, 60.0),
    "Pepcid 20mg": Request(("famotidine",), ("20mg",)),
    "Norco 10/325mg #60 was the original request. Norco 10/325mg #25 was authorized by the Claims "
    "Administrator. The remaining IMR eligible portion of the original request, Norco 10/325mg #35 is": Request(
        ("hydrocodone/acetaminophen",), ("10/325mg",), None, 35.0
    ),
    "Diclofenac ER 100mg #60": Request(("diclofenac",), ("100mg",), "extended release", 60.0),
    "Cyclobenzaprine 7.5mg #90 was the original request. Cyclobenzaprine 7.5mg #63 was authorized by the "
    "Claims Administrator. The remaining IMR eligible portion of the original request, Cyclobenzaprine 7.5mg "
    "#27 is": Request(("cyclobenzaprine",), ("7.5mg",), None, 27.0),
    "Lidocaine ointment 5% 106.32gm": Request(("lidocaine",), ("5%",), "ointment", 106.32, "g"),
    "Cyclobenzaprine 7.5mg #60": Request(("cyclobenzaprine",), ("7.5mg",), None, 60.0),
    "Diazepam 5mg #10": Request(("diazepam",), ("5mg",), None, 10.0),
    "Voltaren gel apply to affected area 4 times a day, #60 grams with 1 refill, DOS: 11/11/2016": Request(
        ("diclofenac topical",), (None,), "gel", 60.0, "g"
    ),
    "Lidoderm patch, 12 hours on 12 hours off to affected area, #1 box with 1 refill, DOS: 11/11/2016": Request(
        ("lidocaine",), (None,), "patch", 1.0, "box"
    ),
    "Etodolac": Request(("etodolac",), (None,)),
    "Lidocaine patch": Request(("lidocaine",), (None,), "patch"),
    "Omeprazole": Request(("omeprazole",), (None,)),
    "Cyclobenzaprine": Request(("cyclobenzaprine",), (None,)),
    "Flector 1.3% transdermal patch": Request(("diclofenac topical",), ("1.3%",), "patch"),
    "Post-op Percocet 5/325mg": Request(("oxycodone/acetaminophen",), ("5/325mg",)),
    "Post-op Zofran": Request(("ondansetron",), (None,)),
    "Naproxen 550mg #60": Request(("naproxen",), ("550mg",), None, 60.0),
    "Orphenadrine Citrate ER 100mg tabs #30": Request(("orphenadrine",), ("100mg",), "extended release tablet", 30.0),
    "Lidocaine 5% patch #1": Request(("lidocaine",), ("5%",), "patch", 1.0),
    "Norco 5/325mg oral tablet, one tablet twice daily 14 days #40": Request(
        ("hydrocodone/acetaminophen",), ("5/325mg",), "tablet", 40.0
    ),
    "Retrospective Cyclobenzaprine 5mg tab #30 DOS: 11/14/16": Request(("cyclobenzaprine",), ("5mg",), "tablet", 30.0),
    "Pantoprazole 40mg, one by mouth, twice a day #60 with one refill": Request(("pantoprazole",), ("40mg",), None, 60.0),
    "Diclofenac sodium 3% 300mg/g #1": Request(("diclofenac",), ("3%",), None, 1.0),
    "Lidocaine ointment 5% #1": Request(("lidocaine",), ("5%",), "ointment", 1.0),
    "One container of Flurbiprofen 10%, Cyclobenzaprine 3%, Gabapentin 6%, Lidocaine 5%/Dextromethorphan": Request(
        ("flurbiprofen", "cyclobenzaprine", "gabapentin", "lidocaine", "dextromethorphan"),
        ("10%", "3%", "6%", "5%", None),
        compound=True,
    ),
    "One month supply of Trezix capsule 320.5/30/16mg was the original request. The Claims Administrator "
    "authorized Trezix capsule 320.5/30/16mg #5, leaving the original request IMR eligible. The original "
    "request, one month supply of Trezix capsule 30.5/30/16mg is": Request(
        ("acetaminophen/caffeine/dihydrocodeine",), ("30.5/30/16mg",), "capsule"
    ),
    # An acupuncture item that names a drug: the heading does name one, so this is not None.
    "Twelve acupuncture visits with Capsaicin patch, 2 times weekly for 6 weeks": Request(("capsaicin",), (None,), "patch"),
    "Retrospective Cyclobenzaprine 7.5mg #60, per 12/07/2016 order was the original request. Retrospective "
    "Cyclobenzaprine 7.5mg #42, per 12/07/2016 order was authorized by the Claims Administrator. The remaining "
    "IMR eligible portion of the original request, Retrospective Cyclobenzaprine 7.5mg #18, per 12/07/2016 order "
    "is": Request(("cyclobenzaprine",), ("7.5mg",), None, 18.0),
    "Retrospective Famotidine 20mg #60, per 12/07/2016 order": Request(("famotidine",), ("20mg",), None, 60.0),
    "Retrospective Lidopro 4%-27.5%-0.0325% 121gm #1, per 12/07/2016 order": Request(
        ("capsaicin/lidocaine/menthol/methyl salicylate",), ("4%/27.5%/0.0325%",), None, 121.0, "g"
    ),
    "Post-op Norco 5/325mg #60, 1-2 tabs orally every 4-6 hrs as needed": Request(
        ("hydrocodone/acetaminophen",), ("5/325mg",), "tablet", 60.0
    ),
    "Post-op Colace 100mg #60, 1 tablet by mouth as needed": Request(("docusate",), ("100mg",), "tablet", 60.0),
    "Voltaren 75mg #60 with 3 refills was the original request. Voltaren 75mg #60 was authorized by the Claims "
    "Administrator. The remaining IMR eligible portion of the original request, Three refills of Voltaren 75mg "
    "#60 is": Request(("diclofenac",), ("75mg",), None, 60.0),
    "Ultram (tramadol) 50mg #90": Request(("tramadol",), ("50mg",), None, 90.0),
    "Retrospective injection 5cc of lidocaine hcl 1percent and 1cc of dexamethasone 120mg to the right knee": Request(
        ("lidocaine", "dexamethasone"), ("1%", "120mg"), "injection", 5.0, "ml"
    ),
    "Diclofenac/misoprostol 75-0.2mg #60 with 2 refills": Request(("diclofenac/misoprostol",), ("75/0.2mg",), None, 60.0),
    "Celecoxib 200mg #90": Request(("celecoxib",), ("200mg",), None, 90.0),
    "Fanatrex 25mg/ml oral suspension 420ml": Request(("gabapentin",), ("25mg/ml",), "suspension", 420.0, "ml"),
    "Dicopanol 5mg/ml oral suspension, 150ml": Request(("diphenhydramine",), ("5mg/ml",), "suspension", 150.0, "ml"),
    "Deprizine 15mg/ml oral suspension, 250ml": Request(("ranitidine",), ("15mg/ml",), "suspension", 250.0, "ml"),
    "Tabradol 1mg/ml oral suspension, 250ml": Request(("cyclobenzaprine",), ("1mg/ml",), "suspension", 250.0, "ml"),
    "Naproxen 500mg #60": Request(("naproxen",), ("500mg",), None, 60.0),
    "Pantoprazole 20mg #30": Request(("pantoprazole",), ("20mg",), None, 30.0),
    "Dextromethorphan 5%/Amitriptyline 5%/Lidocaine/Capsaicin 0.025%, 120grams #1": Request(
        ("dextromethorphan", "amitriptyline", "lidocaine", "capsaicin"), ("5%", "5%", None, "0.025%"), None, 120.0, "g", True
    ),
    "Flurbiprofen 10%/Dextromethorphan 5%/Lidocaine 5%, 120grams #1": Request(
        ("flurbiprofen", "dextromethorphan", "lidocaine"), ("10%", "5%", "5%"), None, 120.0, "g", True
    ),
    "Baclofen 20mg #60": Request(("baclofen",), ("20mg",), None, 60.0),
    "Norco 7.5-325mg #112": Request(("hydrocodone/acetaminophen",), ("7.5/325mg",), None, 112.0),
    "Motrin 600mg #40": Request(("ibuprofen",), ("600mg",), None, 40.0),
    "Meloxicam (Mobic) 7.5mg #30": Request(("meloxicam",), ("7.5mg",), None, 30.0),
}


@pytest.mark.parametrize(("heading", "expected"), list(HEADINGS.items()))
def test_parse_drug_request(heading: str, expected: Request) -> None:
    request = parse_drug_request(heading)
    assert request is not None
    actual = Request(
        tuple(m.generic for m in request.drugs),
        tuple(m.strength for m in request.drugs),
        request.form,
        request.quantity,
        request.quantity_unit,
        request.compound,
    )
    assert actual == expected


@pytest.mark.parametrize("heading", list(HEADINGS))
def test_heading_spans_point_at_the_heading(heading: str) -> None:
    request = parse_drug_request(heading)
    assert request is not None
    assert all(heading[m.span.start : m.span.end] == m.text for m in request.drugs)


NOT_DRUG_HEADINGS = [
    "MRI of the right shoulder without contrast",
    "EMG/NCV of the lower extremities",
    "Continue physical therapy 3 times a week for 2 weeks",
    "Acupuncture 3 times a week for 2 weeks, neck, right hand and head",
    "Right L5-S1 epidural steroid injection",
    "Facet joint injections L4-5, L5-S1",
    "TENS unit, daily trial, cervical and thoracic spine, #30",
    "Wrist braces #2",
    "Chiropractic therapy sessions for the cervical spine, #8 was the original request.",
    "Platelet-rich plasma injection to the right knee",
    "Associated surgical service:  Vascutherm unit, 14 days rental",
    "Pre-op labs: PT/PTT",
    "Hot/cold therapy wrap",
    "Medication management consultation",
    "Transportation to/from all medical appointments",
    "Gym membership",
]


@pytest.mark.parametrize("heading", [*NOT_DRUG_HEADINGS, ""])
def test_headings_that_name_no_drug_give_none(heading: str) -> None:
    assert parse_drug_request(heading) is None


def real_headings(letters_dir: Path) -> list[str]:
    with (letters_dir / "index.csv").open(encoding="utf-8", newline="") as index:
        return [
            item.rsplit(" => ", 1)[0]
            for row in csv.DictReader(index)
            for item in row["items"].split(" || ")
        ]


def test_exactly_the_real_drug_headings_are_drug_requests(letters_dir: Path) -> None:
    headings = real_headings(letters_dir)
    recognised = {heading for heading in headings if parse_drug_request(heading) is not None}
    assert recognised == {heading for heading in headings if heading in HEADINGS}


def test_real_rationales_mention_only_known_words(letters_dir: Path) -> None:
    # Every mention in the real letters is a name the table lists: nothing found inside ordinary words.
    texts = [path.read_text(encoding="utf-8") for path in sorted(letters_dir.glob("*.txt"))]
    found = {name_key(m.text) for text in texts for m in find_drugs(text)}
    listed = {name_key(name) for _, name in NAMES}
    merged = {key for key in found if "(" in key}
    assert found - listed - merged == set()
    assert len(found) > 50


# --------------------------------------------------------------------------------------------------
# Speed: one compiled pattern, linear in the text, whatever the text holds

MEGABYTE = 1_000_000
PATHOLOGICAL_TEXTS = {
    "clinical prose": lambda n: ("The patient reported relief with Norco 10/325mg and Flexeril 10 mg at night. " * n)[:n],
    "one long line of names": lambda n: ("Voltaren gel, hydrocodone/APAP, Tylenol #3, " * n)[:n],
    "whitespace after a name": lambda n: "hydrocodone" + " " * (n - 12) + "x",
    "slash-joined numbers after a name": lambda n: ("Norco " + "1/" * n)[:n],
    "word starts with no drug": lambda n: ("ab " * n)[:n],
    "prefixes of names": lambda n: ("hydrocod lidoc cyclobenz " * n)[:n],
}


def seconds_to_find_drugs(text: str) -> float:
    """Processor time, which a busy machine does not inflate the way it does the wall clock."""
    started = time.process_time()
    find_drugs(text)
    return time.process_time() - started


@pytest.mark.parametrize("make_text", list(PATHOLOGICAL_TEXTS.values()), ids=list(PATHOLOGICAL_TEXTS))
def test_a_megabyte_is_scanned_well_within_two_seconds(make_text) -> None:
    assert seconds_to_find_drugs(make_text(MEGABYTE)) < 2.0


# A ratio of two timings: a busy neighbour on a shared machine can break it, so it runs on purpose (-m slow).
@pytest.mark.slow
@pytest.mark.parametrize("make_text", list(PATHOLOGICAL_TEXTS.values()), ids=list(PATHOLOGICAL_TEXTS))
def test_scan_time_grows_linearly(make_text) -> None:
    # Four times the text may take four times as long, with slack for timer noise, never sixteen times.
    small = min(seconds_to_find_drugs(make_text(MEGABYTE // 8)) for _ in range(3))
    large = min(seconds_to_find_drugs(make_text(MEGABYTE // 2)) for _ in range(2))
    assert large < 8 * small + 0.05


def test_parse_drug_request_survives_a_huge_heading() -> None:
    heading = "Norco 10/325mg " + " " * (MEGABYTE // 4) + "#60"
    started = time.process_time()
    request = parse_drug_request(heading)
    assert time.process_time() - started < 2.0
    assert request is not None and request.quantity == 60.0
