"""The dashboard's layers: pages lay out what services return. No page imports the storage layer (the engine
comes from dashboard/components/context.py), and a page or component over 450 lines says why at the top."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"
PAGES = sorted((DASHBOARD / "views").glob("*.py"))
MODULES = PAGES + sorted((DASHBOARD / "components").glob("*.py"))


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_pages_import_no_storage(page: Path) -> None:
    assert not {m for m in _imports(page) if m == "rota.storage" or m.startswith("rota.storage.")}


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_a_long_module_says_why(module: Path) -> None:
    text = module.read_text(encoding="utf-8")
    if text.count("\n") > 450:
        docstring = ast.get_docstring(ast.parse(text)) or ""
        assert "Over 450 lines" in docstring, f"{module.name}: say why at the top, or split it"
