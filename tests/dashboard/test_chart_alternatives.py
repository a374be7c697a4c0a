"""Every chart has a text alternative: a description for screen readers (its `alt`) and a table of the same
figures in its section of the page (docs/dashboard.md, "Accessibility"). Checked on every page as every
role that may open it, with every tab of a page chosen in turn."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from rota.services import access
from rota.services.access import PAGES_BY_ROLE
from tests.dashboard.conftest import APP, AppFactory

POLICE = "Vale Police"
AGENCY = {"coordinator": POLICE}
HEADINGS = {"title", "header"}  # h1 and h2: the sections of a page
TABLES = {"dataframe", "arrow_data_frame", "table", "arrow_table", "data_editor"}
# A chart whose figures are in the table of another section: the section and where its rows are.
TABLE_ELSEWHERE = {"Timeline": "Shifts and absences"}  # the Rota editor's week: the grids under it
TAB_KEYS = ("admin_tab", "responders_tab")  # tabs drawn only once chosen (on_change="rerun")


def page_files() -> dict[str, str]:
    """Each page's title and file, as the router has them (dashboard/app.py runs only inside Streamlit)."""
    tree = ast.parse(Path(APP).read_text())
    table = next(
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id == "PAGE_FILES" for t in n.targets)
    )
    assert isinstance(table, ast.Dict)
    return {
        getattr(access, k.id): v.elts[0].value  # type: ignore[attr-defined, union-attr]
        for k, v in zip(table.keys, table.values, strict=True)
    }


PAGE_FILES = page_files()


def leaves(node: Any) -> Iterator[Any]:
    """The elements of the page in the order they are drawn."""
    children = getattr(node, "children", None)
    if children is None:
        yield node
        return
    for i in sorted(children):
        yield from leaves(children[i])


def charts_without_alternative(at: AppTest) -> list[str]:
    sections: dict[str, list[Any]] = {"": []}
    heading = ""
    for e in leaves(at.main):
        if e.type in HEADINGS:
            heading = str(e.value)
            sections[heading] = []
        sections[heading].append(e)
    missing = []
    for heading, section in sections.items():
        reach = section + sections.get(TABLE_ELSEWHERE.get(heading, ""), [])
        for chart in (e for e in section if e.type == "plotly_chart"):
            alt = chart.proto.alt.strip()
            if len(alt) < 30 or not any(e.type in TABLES for e in reach):
                missing.append(f"{alt or 'a chart without a description'!r} has no table beside it")
    return missing


def views(at: AppTest) -> Iterator[tuple[str, AppTest]]:
    """The page as opened, then with each other tab of its keyed tab set chosen."""
    yield "", at
    for key in TAB_KEYS:
        if key not in at.session_state:
            continue
        first = at.session_state[key]
        for label in [t.label for t in at.tabs]:
            if label == first:
                continue
            at.session_state[key] = label
            at.run()
            yield f", tab {label}", at


# Administrators see the CDOP manager's pages with the same charts (the Admin page's accounts part has none):
# one run of those six pages is enough.
CHART_ROLES = [role for role in sorted(PAGES_BY_ROLE) if role != "admin"]


def test_administrators_see_the_managers_pages() -> None:
    assert PAGES_BY_ROLE["admin"] == PAGES_BY_ROLE["cdop_manager"]


@pytest.mark.parametrize("role", CHART_ROLES)
def test_every_chart_has_a_description_and_a_table(app_as: AppFactory, role: str) -> None:
    seen = 0
    problems = []
    for title in PAGES_BY_ROLE[role]:
        at = app_as(role, AGENCY.get(role), page=f"views/{PAGE_FILES[title]}", timeout=60)
        assert not at.exception, [e.value for e in at.exception]
        for where, state in views(at):
            seen += len(state.get("plotly_chart"))
            problems += [f"{title}{where}: {p}" for p in charts_without_alternative(state)]
    assert seen > 0
    assert not problems, "\n".join(problems)
