"""The dashboard's layers: pages lay out what services return, and no page imports the storage layer (the
engine comes from dashboard/components/context.py). import-linter checks the same and more (the contracts
in pyproject.toml); this test says it where the pages' tests are. Module sizes: tests/test_layers.py."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

DASHBOARD = Path(__file__).resolve().parents[2] / "dashboard"
PAGES = sorted(p for p in (DASHBOARD / "views").glob("*.py") if p.name != "__init__.py")


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


def test_every_page_is_a_script_of_the_app() -> None:
    """dashboard/app.py runs the pages by path; the package marker is not one of them."""
    app = (DASHBOARD / "app.py").read_text(encoding="utf-8")
    assert PAGES and all(p.name in app for p in PAGES)
