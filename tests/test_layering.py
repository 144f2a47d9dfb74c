"""Dependencies point one way (style.md): models <- parsing <- index <- search <- web and cli.

Flask only in the web layer, Whoosh only in the index and search modules, click only in the CLI, and the
parsing modules do no file I/O beyond loading their reference data.
"""

from __future__ import annotations

import ast
from pathlib import Path

KB = Path(__file__).resolve().parents[1] / "kb"
PARSING = {"models", "letters", "drugs", "unknown_products", "guidelines", "treatments", "records", "synth", "dwc",
           "phrases", "regions", "bands", "diagnoses", "reasons", "wording", "why"}
# The fetcher writes letter files for the indexer: it may ask kb.extract whether a download is a PDF, never
# parse a letter or touch the index.
FETCHER = {"fetch", "fetch_ledger", "http_client"}
FETCHER_MAY_IMPORT = FETCHER | {"dwc", "extract", "__version__"}
ALLOWED = {
    "flask": {"web"},
    "werkzeug": {"web"},
    "whoosh": {"index", "search", "engines"},
    "tantivy": {"index", "search", "engines"},
    "click": {"cli"},
    "pypdfium2": {"extract"},
}


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _modules():
    for path in sorted(KB.rglob("*.py")):
        relative = path.relative_to(KB).with_suffix("")
        yield relative.parts[0], path


def test_libraries_are_imported_only_by_their_layer():
    for top, path in _modules():
        for name in _imports(path):
            library = name.split(".")[0]
            if library in ALLOWED:
                assert top in ALLOWED[library], f"{path.name} imports {library}"


def test_parsing_modules_depend_only_on_parsing_modules():
    for top, path in _modules():
        if top not in PARSING:
            continue
        kb_imports = {name.split(".")[1] for name in _imports(path) if name.startswith("kb.") and name.count(".") >= 1}
        assert kb_imports <= PARSING, f"{path.name} imports {kb_imports - PARSING}"


def test_the_fetcher_depends_only_on_the_layers_below_it():
    for top, path in _modules():
        if top not in FETCHER:
            continue
        kb_imports = {name.split(".")[1] for name in _imports(path) if name.startswith("kb.") and name.count(".") >= 1}
        assert kb_imports <= FETCHER_MAY_IMPORT, f"{path.name} imports {kb_imports - FETCHER_MAY_IMPORT}"
