"""Module size, for rota/ and dashboard/ alike: no module over 700 lines, and one over 450 lines says why at
the top (its docstring starts "Long because ..." or "Over 450 lines: ..."). The imports between the layers
are checked by import-linter (the contracts in pyproject.toml, run by scripts/test)."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(
    path
    for package in ("rota", "dashboard")
    for path in (ROOT / package).rglob("*.py")
    if "migrations" not in path.relative_to(ROOT).parts
)
LONG = 450
LONGEST = 700


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _lines(path: Path) -> int:
    return path.read_text(encoding="utf-8").count("\n")


def _says_why(path: Path) -> bool:
    """Whether the first paragraph of the module's docstring says why it is long ("... long because ...")."""
    docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    return "long because" in " ".join(docstring.split("\n\n")[0].split()).lower()


@pytest.mark.parametrize("module", MODULES, ids=_name)
def test_a_long_module_says_why(module: Path) -> None:
    keeps_rule = _lines(module) <= LONG or _says_why(module)
    assert keeps_rule, f"{_name(module)}: {_lines(module)} lines; say why at the top (Long because ...)"


@pytest.mark.parametrize("module", MODULES, ids=_name)
def test_no_module_over_700_lines(module: Path) -> None:
    keeps_rule = _lines(module) <= LONGEST
    assert keeps_rule, f"{_name(module)}: {_lines(module)} lines; split it (at most {LONGEST})"


# ---------------------------------------------------------------------------------------------- the contracts
# import-linter runs in scripts/test on the real tree; here, on a copy with one forbidden import added, it
# must fail naming the contract, so a contract that no longer catches anything does not go unnoticed.
BREAKS = {
    "streamlit-in-rota": ("rota/engine/sweep.py", "import streamlit", "imports Streamlit"),
    "sql-in-a-service": ("rota/services/people.py", "import sqlalchemy", "SQLAlchemy, SQLModel or Alembic"),
    "storage-in-a-page": ("dashboard/views/coverage_page.py", "import rota.storage.db", "never import rota"),
    "service-in-the-engine": ("rota/engine/sweep.py", "import rota.services.people", "rota: entry points"),
}


@pytest.mark.parametrize("case", sorted(BREAKS))
def test_a_broken_contract_fails_lint_imports(case: str, tmp_path: Path) -> None:
    lint_imports = shutil.which("lint-imports")
    if lint_imports is None:
        pytest.skip("import-linter is not installed (the test extra)")
    for package in ("rota", "dashboard"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    module, line, contract = BREAKS[case]
    with (tmp_path / module).open("a", encoding="utf-8") as f:
        f.write(f"\n{line}  # deliberately forbidden\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    run = subprocess.run(
        [lint_imports, "--no-cache"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert run.returncode != 0
    assert any(contract in row and " BROKEN" in row for row in run.stdout.splitlines()), run.stdout
