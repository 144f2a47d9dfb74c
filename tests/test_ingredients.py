"""Drugs by active ingredient: the table's products and their ingredients, workers'-comp kits and compounds,
products the table does not know (kept by name, explained from the rationale, listed by `kb status`), and
search and precedents for an ingredient counting every product holding it, against brute force."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from kb.cli import main
from kb.drugs import (
    DRUGS,
    INGREDIENTS_OF,
    PRODUCTS_WITH,
    TABLE,
    drug_filter_terms,
    drug_names,
    find_drugs,
    parse_drug_request,
    resolve_drug,
)
from kb.letters import parse_letter
from kb.models import BY_RATIONALE, BY_TABLE, UNRESOLVED
from kb.precedents import precedents
from kb.search_request import SearchRequest
from kb.unknown_products import explain_unknown_products, unknown_product_request
from tests.test_labelled_items import letter_text

KITS = [(row["generic"], example) for row in TABLE["drugs"] if row.get("compound") for example in row["examples"]]


# --------------------------------------------------------------------------------------------
# The table


def test_every_ingredient_is_a_drug_of_the_table_with_a_class():
    for generic, ingredients in INGREDIENTS_OF.items():
        assert ingredients, generic
        for ingredient in ingredients:
            assert ingredient.name in DRUGS, (generic, ingredient.name)
            assert ingredient.drug_class == DRUGS[ingredient.name].drug_class


def test_an_ingredient_is_a_product_of_one_ingredient():
    """Ingredients do not nest: "hydrocodone" is hydrocodone, never a combination."""
    for ingredients in INGREDIENTS_OF.values():
        for ingredient in ingredients:
            assert [i.name for i in INGREDIENTS_OF[ingredient.name]] == [ingredient.name]


@pytest.mark.parametrize(("name", "ingredients"), [
    ("Norco", ["hydrocodone", "acetaminophen"]), ("Percocet", ["oxycodone", "acetaminophen"]),
    ("Fioricet", ["butalbital", "acetaminophen", "caffeine"]), ("Vicoprofen", ["hydrocodone", "ibuprofen"]),
    ("Ultracet", ["tramadol", "acetaminophen"]), ("Terocin", ["capsaicin", "lidocaine", "menthol", "methyl salicylate"]),
    ("LidoPro", ["capsaicin", "lidocaine", "menthol", "methyl salicylate"]), ("Ketophene", ["ketoprofen"]),
    ("Cyclophene", ["cyclobenzaprine"]), ("AneCream", ["lidocaine"]), ("Flurflex", ["flurbiprofen", "cyclobenzaprine"]),
    ("TGHot", ["tramadol", "gabapentin", "menthol", "camphor", "capsaicin"]), ("Trezix", ["acetaminophen", "caffeine", "dihydrocodeine"]),
    ("Suboxone", ["buprenorphine", "naloxone"]), ("Voltaren Gel", ["diclofenac"]), ("Flexeril", ["cyclobenzaprine"]),
])
def test_combination_products_and_kits_list_every_ingredient(name, ingredients):
    (mention,) = find_drugs(f"{name} as requested")
    assert [i.name for i in mention.ingredients] == ingredients
    assert mention.resolution == BY_TABLE


@pytest.mark.parametrize(("generic", "example"), KITS)
def test_every_kit_example_is_a_compound_of_its_kit(generic, example):
    request = parse_drug_request(example)
    assert request is not None and generic in [m.generic for m in request.drugs]
    assert request.compound


def test_products_holding_an_ingredient():
    holding = set(PRODUCTS_WITH["hydrocodone"])
    assert {"hydrocodone", "hydrocodone/acetaminophen", "hydrocodone/ibuprofen"} <= holding
    assert "acetaminophen" not in holding
    assert {"hydrocodone/acetaminophen", "oxycodone/acetaminophen", "butalbital/acetaminophen/caffeine",
            "codeine/acetaminophen", "tramadol/acetaminophen"} <= set(PRODUCTS_WITH["acetaminophen"])


@pytest.mark.parametrize(("typed", "terms"), [
    ("hydrocodone", [("drug", "hydrocodone")]), ("Flexeril", [("drug", "cyclobenzaprine")]),
    ("norco", [("product", "hydrocodone/acetaminophen")]), ("Vicodin", [("product", "hydrocodone/acetaminophen")]),
    ("Ketophene", [("drug", "ketoprofen")]), ("Terocin", [("product", "capsaicin/lidocaine/menthol/methyl salicylate")]),
    ("Xylocream", [("drug", "xylocream"), ("product", "xylocream")]),
])
def test_what_a_drug_filter_stands_for(typed, terms):
    assert drug_filter_terms(typed) == terms


def test_an_ingredients_names_include_every_product_holding_it():
    names = {name.casefold() for name in drug_names("hydrocodone")}
    assert {"hydrocodone", "norco", "vicodin", "vicoprofen", "zohydro"} <= names


# --------------------------------------------------------------------------------------------
# Products the table does not know


@pytest.mark.parametrize("example", TABLE["unknown_products"]["examples"], ids=lambda e: e["name"])
def test_unknown_products_examples(example):
    request = unknown_product_request(example["heading"])
    assert request is not None
    (mention,) = request.drugs
    assert mention.brand == example["name"] and mention.resolution == UNRESOLVED
    assert example["heading"][mention.span.start:mention.span.end] == mention.text
    explained = explain_unknown_products(request, example["rationale"], find_drugs(example["rationale"]))
    (product,) = explained.drugs
    assert [i.name for i in product.ingredients] == example["ingredients"]
    assert product.resolution == (BY_RATIONALE if example["ingredients"] else UNRESOLVED)


@pytest.mark.parametrize("heading", [
    "MRI of the lumbar spine", "Hot/cold therapy wrap", "Large gloves", "Wrist braces #2", "Sit-stand workstation",
    "TENS unit, daily trial, cervical and thoracic spine, #30", "Physical therapy 2 times a week for 6 weeks",
])
def test_headings_that_do_not_read_like_drugs_name_no_unknown_product(heading):
    assert unknown_product_request(heading) is None


def _one_item_letter(heading: str, rationale: str) -> str:
    line = "Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s): Topical analgesics."
    return letter_text(1, 2019, [{"heading": heading, "decision": "Upheld", "ca_line": line, "reviewer_line": line,
                                  "rationale": rationale}])


def test_an_unknown_kits_ingredient_comes_from_its_rationale():
    letter = parse_letter(_one_item_letter(
        "Retrospective Painzolve cream 120gm DOS: 02/01/2019",
        "The MTUS does not recommend compounded topicals. The requested Painzolve (ketoprofen 10%, lidocaine 5%) "
        "contains ketoprofen, which is not FDA approved for topical use. The request is not medically necessary."))
    (item,) = letter.items
    (product,) = item.drugs
    assert (product.brand, product.resolution) == ("Painzolve", BY_RATIONALE)
    assert [i.name for i in item.ingredients] == ["ketoprofen", "lidocaine"]
    assert (item.treatment.category, item.treatment.subcategory) == ("Pharmaceuticals", "Topical Compounds")
    assert letter.text[product.span.start:product.span.end] == "Painzolve"


def test_an_unknown_product_nothing_explains_stays_unresolved_and_searchable_by_name():
    letter = parse_letter(_one_item_letter("Zorbex 10% gel #1", "No documentation supports it. The request is not "
                                                                "medically necessary."))
    (item,) = letter.items
    (product,) = item.drugs
    assert (product.brand, product.resolution, product.ingredients) == ("Zorbex", UNRESOLVED, ())
    assert item.treatment.category == "Pharmaceuticals"


# --------------------------------------------------------------------------------------------
# Search and precedents by ingredient, against the parsed letters


@pytest.fixture(scope="module")
def parsed_items(letters_dir, seeds_dir) -> dict[str, object]:
    items = {}
    for path in sorted(letters_dir.glob("*.txt")) + sorted(seeds_dir.glob("*.txt")):
        letter = parse_letter(path.read_text(encoding="utf-8"))
        from kb.index import letter_id_of
        items.update({f"{letter_id_of(letter)}/{item.ordinal}": item for item in letter.items})
    return items


def _ids(index, **params) -> set[str]:
    request = SearchRequest.from_params({**params, "per_page": "100"})
    results = index.search(request)
    found = {hit.passage_id for hit in results.hits}
    page = 1
    while len(found) < results.total:
        page += 1
        found |= {hit.passage_id for hit in index.search(SearchRequest.from_params({**params, "per_page": "100",
                                                                                    "page": str(page)})).hits}
    return found


def test_every_ingredient_filter_finds_every_product_holding_it(index, parsed_items):
    holding = Counter(i.name for item in parsed_items.values() for i in item.ingredients)
    assert {"hydrocodone", "acetaminophen", "lidocaine", "cyclobenzaprine"} <= set(holding)
    for ingredient, count in holding.items():
        expected = {pid for pid, item in parsed_items.items() if ingredient in {i.name for i in item.ingredients}}
        assert _ids(index, drug=ingredient) == expected, ingredient
        stats = precedents(index.match(SearchRequest.from_params({"drug": ingredient})))
        assert stats["summary"]["total"] == count == len(expected), ingredient
        assert sum(row["total"] for row in stats["products"]) >= count


def test_a_product_filter_finds_that_product(index, parsed_items):
    norco = {pid for pid, item in parsed_items.items() if "hydrocodone/acetaminophen" in [m.generic for m in item.drugs]}
    assert len(norco) >= 4
    assert _ids(index, drug="norco") == norco
    assert _ids(index, drug="Hydrocodone/APAP") == norco


def test_hydrocodone_and_norco_agree_on_the_norco_passages(index, parsed_items):
    norco = {pid for pid, item in parsed_items.items() if "hydrocodone/acetaminophen" in [m.generic for m in item.drugs]}
    by_ingredient = _ids(index, q="hydrocodone")
    by_brand = _ids(index, q="norco")
    assert norco <= by_ingredient and norco <= by_brand
    assert _ids(index, drug="norco") <= _ids(index, drug="hydrocodone")
    stats = precedents(index.match(SearchRequest.from_params({"drug": "hydrocodone"})))
    assert stats["summary"]["total"] >= len(norco)
    assert any(row["value"] == "hydrocodone/acetaminophen" for row in stats["products"])


def test_the_drug_facet_counts_ingredients_and_labels_them_plainly(index, parsed_items):
    results = index.search(SearchRequest.from_params({"expand": "drug"}))
    drug_facet = next(facet for facet in results.facets if facet["name"] == "drug")
    counts = {value["value"]: value["count"] for value in drug_facet["values"]}
    expected = Counter(i.name for item in parsed_items.values() for i in item.ingredients)
    assert counts == dict(expected)
    labels = {value["value"]: value["label"] for value in drug_facet["values"]}
    assert labels["hydrocodone"] == "hydrocodone"


def test_hits_show_the_product_with_its_ingredients(index):
    hits = index.search(SearchRequest.from_params({"drug": "hydrocodone", "per_page": "100"})).hits
    products = [product for hit in hits for product in hit.drugs]
    norco = [p for p in products if p["generic"] == "hydrocodone/acetaminophen"]
    assert norco and all(p["label"] == "Norco (hydrocodone/acetaminophen)" for p in norco)
    assert [i["name"] for i in norco[0]["ingredients"]] == ["hydrocodone", "acetaminophen"]


# --------------------------------------------------------------------------------------------
# kb status


def test_kb_status_lists_products_the_drug_table_does_not_know(tmp_path: Path):
    folder = tmp_path / "letters"
    folder.mkdir()
    line = "Decision based on MTUS Chronic Pain Medical Treatment 2016, Section(s): Topical analgesics."
    items = [
        {"heading": "Zorbex 10% gel #1", "decision": "Upheld", "ca_line": line, "reviewer_line": line,
         "rationale": "Nothing supports it. The request is not medically necessary."},
        {"heading": "Painzolve cream 120gm", "decision": "Upheld", "ca_line": line, "reviewer_line": line,
         "rationale": "Painzolve contains lidocaine and menthol. The request is not medically necessary."},
        {"heading": "Norco 10/325mg #60", "decision": "Upheld", "ca_line": line, "reviewer_line": line,
         "rationale": "The request is not medically necessary."},
    ]
    (folder / "a.txt").write_text(letter_text(1, 2020, items), encoding="utf-8")
    (folder / "b.txt").write_text(letter_text(2, 2021, items[:1]), encoding="utf-8")
    index_dir = tmp_path / "index"
    runner = CliRunner()
    assert runner.invoke(main, ["index", str(folder), "--index-dir", str(index_dir), "--jobs", "1"]).exit_code == 0
    result = runner.invoke(main, ["status", "--index-dir", str(index_dir)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "3 items name a product the drug table does not know: Zorbex (2), Painzolve (1)" in result.output
    assert resolve_drug("Zorbex") is None


def test_columns_of_a_generation_written_before_the_product_columns_open_empty(tmp_path: Path):
    import numpy as np

    from kb.columns import COLUMNS_FILE, Columns, ColumnsBuilder

    builder = ColumnsBuilder()
    builder.add(passage=True, year=2016, day=17000, values={"drug": ["carisoprodol"]})
    builder.build().save(tmp_path)
    with np.load(tmp_path / COLUMNS_FILE) as saved:
        older = {name: saved[name] for name in saved.files if not name.startswith(("product.", "unresolved."))}
    np.savez(tmp_path / COLUMNS_FILE, **older)
    columns = Columns.load(tmp_path)
    assert columns.facets["drug"].values.tolist() == ["carisoprodol"]
    assert columns.facets["product"].counts(columns.passage).tolist() == []
    assert not columns.facets["unresolved"].rows_with(["Zorbex"]).any()
