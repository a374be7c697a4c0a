"""The Completion page through AppTest on the demo database (about five years of demo cases): what the
CDOP manager and administrators see, what commissioners see (suppressed, no cases), and coordinators
without the page."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from rota.analytics.completion import MEASURES
from rota.services.completion import MEASURE_LABELS, SPLIT_LABELS
from rota.storage.db import init_db
from rota.storage.imports import import_rota
from tests.dashboard.conftest import APP, DEMO_TODAY, AppFactory, signed_in

PAGE = "views/completion_page.py"
PAGE_FILE = Path(APP).parent / PAGE
TITLE = "Completion"
SECTIONS = [
    "Trend of each measure",
    "In hours and out of hours",
    "Age bands, with 16-17-year-olds",
    "Were the incomplete responses in uncovered hours?",
    "Reasons responses were incomplete",
]


def texts(elements: object) -> list[str]:
    return [str(e.value) for e in elements]  # type: ignore[attr-defined]


def table_with(at: AppTest, column: str) -> pd.DataFrame | None:
    return next((df.value for df in at.dataframe if column in df.value.columns), None)


def spc_charts(at: AppTest) -> list[object]:
    return [c for c in at.get("plotly_chart") if "p-chart" in c.proto.alt]


def is_safe_count(text: str) -> bool:
    """A count as a commissioner may see it: hidden, zero, or 5 and over."""
    return text in ("<5", "*") or (text.isdigit() and (int(text) == 0 or int(text) >= 5))


@pytest.mark.parametrize("role", ["admin", "cdop_manager"])
def test_managers_see_charts_splits_and_the_cases(app_as: AppFactory, role: str) -> None:
    at = app_as(role, page=PAGE)
    assert not at.exception
    assert not at.error
    assert texts(at.title) == [TITLE]
    assert texts(at.header) == [*SECTIONS, "Cases"]
    # a p-chart per measure, each with a text alternative, and one table of every chart's points
    charts = spc_charts(at)
    assert len(charts) == len(MEASURES)
    for chart in charts:
        assert "The numbers are in the table below the charts." in chart.proto.alt
    points = [df.value for df in at.dataframe if "Upper limit" in df.value.columns]
    assert len(points) == 1 and points[0]["Measure"].nunique() == len(MEASURES)
    badges = [m for m in texts(at.markdown) if "-badge[" in m]
    assert len(badges) >= len(MEASURES)  # a variation badge each, an assurance badge where there is a target
    assert any("Common cause variation" in b or "Special cause" in b for b in badges)
    assert any("target" in b for b in badges)
    # exact counts, no suppression note
    assert not any("<5" in i for i in texts(at.info))
    hours = table_with(at, "Group")
    assert hours is not None and list(hours["Group"])[:2] == [
        SPLIT_LABELS["in_hours"],
        SPLIT_LABELS["out_of_hours"],
    ]
    assert re.fullmatch(r"\d+ of \d+ \(\d+\.\d%\)", hours.iloc[0][MEASURE_LABELS["paediatrician"]])
    # the case-level list: pseudonymised references, local times
    cases = table_with(at, "Case")
    assert cases is not None and len(cases) > 100
    assert all(re.fullmatch(r"JAR-\d{4}-\d{4}", c) for c in cases["Case"])
    assert str(cases["Notified"].dt.tz) == "Europe/London"
    assert any(
        re.search(r"cases meeting the JAR criteria, notified from \d\d/\d\d/\d{4} to", c)
        for c in texts(at.caption)
    )


def test_the_age_table_highlights_16_17(app_as: AppFactory) -> None:
    at = app_as("cdop_manager", page=PAGE)
    element = next(
        df
        for df in at.dataframe
        if "Group" in df.value.columns and SPLIT_LABELS["16-17"] in list(df.value["Group"])
    )
    groups = list(element.value["Group"])
    assert groups.index(SPLIT_LABELS["16-17"]) == groups.index(SPLIT_LABELS["15-17"]) + 1
    styles = element.proto.arrow_data.styler.styles  # the highlight, a warm yellow tint, on the 16-17 row
    row = groups.index(SPLIT_LABELS["16-17"])
    assert re.search(rf"_row{row}_col0[^{{]*\{{[^}}]*FFF4D6", styles, re.IGNORECASE)


def test_the_granularity_switches_the_charts(app_as: AppFactory) -> None:
    at = app_as("cdop_manager", page=PAGE)
    control = at.segmented_control(key="completion_by")
    assert control.value == "recent"
    assert list(control.options) == ["Last 12 months, by quarter", "Month", "Quarter", "Year"]
    control.set_value("year").run()
    assert not at.exception
    points = next(df.value for df in at.dataframe if "Upper limit" in df.value.columns)
    assert all(re.fullmatch(r"\d{4}", p) for p in points["Period"])
    at.segmented_control(key="completion_by").set_value("month").run()
    points = next(df.value for df in at.dataframe if "Upper limit" in df.value.columns)
    assert len(points) > 40 and all(re.fullmatch(r"[A-Z][a-z]{2} \d{4}", p) for p in points["Period"])


def test_a_case_links_to_coverage_on_its_day(app_as: AppFactory) -> None:
    at = app_as("cdop_manager", page=PAGE)
    assert not at.get("page_link")
    cases = table_with(at, "Case")
    assert cases is not None
    newest = cases.iloc[0]
    at.selectbox(key="completion_case_day").set_value(newest["Case"]).run()
    assert not at.exception
    links = at.get("page_link")
    assert len(links) == 1
    day = newest["Notified"].date()
    assert links[0].proto.label == f"Coverage on {day:%a %d/%m/%Y}"
    assert links[0].proto.query_string == f"day={day.isoformat()}"
    assert any(f"Opens the Coverage page on {day:%d/%m/%Y}" in c for c in texts(at.caption))


def test_only_incomplete_cases_can_be_listed(app_as: AppFactory) -> None:
    at = app_as("admin", page=PAGE)
    everyone = table_with(at, "Case")
    at.toggle(key="completion_cases_incomplete").set_value(True).run()
    incomplete = table_with(at, "Case")
    assert everyone is not None and incomplete is not None
    assert 0 < len(incomplete) < len(everyone)
    assert not incomplete[MEASURE_LABELS["fully_completed"]].fillna(False).any()


def test_commissioners_see_suppressed_aggregates_and_no_cases(app_as: AppFactory) -> None:
    at = app_as("commissioner", page=PAGE)
    assert not at.exception
    assert not at.error
    assert texts(at.title) == [TITLE]
    assert texts(at.header) == SECTIONS  # no case-level section
    assert table_with(at, "Case") is None
    assert not at.get("page_link")
    note = next(i for i in texts(at.info) if "Small numbers are hidden" in i)
    assert '"<5"' in note and '"*"' in note
    # the last 12 months by quarter first, then quarters and years only
    assert list(at.segmented_control(key="completion_by").options) == [
        "Last 12 months, by quarter",
        "Quarter",
        "Year",
    ]
    # the markers are on the page, and no count from 1 to 4 is in plain sight
    cells = [str(v) for df in at.dataframe for v in df.value.to_numpy().ravel()]
    assert any(c.startswith("<5") for c in cells)
    assert any(c.startswith("* ") or c == "*" for c in cells)
    crosstab = table_with(at, "Not fully completed")
    reasons = table_with(at, "Reason")
    assert crosstab is not None and reasons is not None
    for column in ("Fully completed", "Not fully completed", "Cases"):
        assert all(is_safe_count(str(v)) for v in crosstab[column]), column
    assert all(is_safe_count(str(v)) for v in reasons["Cases"])
    for df in at.dataframe:
        for column in df.value.columns:
            for v in df.value[column]:
                m = re.fullmatch(r"(<5|\*|\d+) of (<5|\*|\d+)(?: \(.*\))?", str(v))
                if m:
                    assert is_safe_count(m.group(1)) and is_safe_count(m.group(2)), v
    # SPC points whose counts are hidden are left out (gaps in the line), and the page says so
    at.segmented_control(key="completion_by").set_value("quarter").run()
    for df in at.dataframe:
        if "Upper limit" in df.value.columns:
            assert all(int(n) >= 5 or int(n) == 0 for n in df.value["Met"])
    assert any("not shown (gaps in the line)" in c for c in texts(at.caption) + texts(at.info))
    # no exact dates of the first and last case
    assert not any(re.search(r"notified from \d\d/\d\d/\d{4}", c) for c in texts(at.caption))


def test_a_cached_exact_view_never_reaches_a_commissioner(app_as: AppFactory) -> None:
    # the views are cached by kind (exact or suppressed), not by person: the manager's comes first here
    manager = app_as("cdop_manager", page=PAGE)
    assert table_with(manager, "Case") is not None
    commissioner = app_as("commissioner", page=PAGE)
    assert table_with(commissioner, "Case") is None
    assert any("Small numbers are hidden" in i for i in texts(commissioner.info))
    again = app_as("admin", page=PAGE)
    assert table_with(again, "Case") is not None
    assert not any("Small numbers are hidden" in i for i in texts(again.info))


def test_commissioners_can_switch_to_years(app_as: AppFactory) -> None:
    at = app_as("commissioner", page=PAGE)
    at.segmented_control(key="completion_by").set_value("year").run()
    assert not at.exception and not at.error
    assert spc_charts(at)


def test_coordinators_do_not_get_the_page(app_as: AppFactory) -> None:
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app_as("coordinator", "Vale Police", page=PAGE)


def test_the_page_itself_refuses_a_coordinator(demo_db_url: str) -> None:
    at = AppTest.from_file(str(PAGE_FILE), default_timeout=30)
    at.session_state["user"] = signed_in("coordinator", "Vale Police")
    at.run()
    assert not at.exception
    assert texts(at.error) == [f"Your role cannot open {TITLE}."]
    assert not at.dataframe and not at.title


def test_without_cases_the_page_says_how_to_import_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rota.demo import build_demo

    url = f"sqlite:///{tmp_path / 'empty.db'}"
    engine = init_db(url)
    import_rota(engine, build_demo(DEMO_TODAY), actor="test")
    engine.dispose()
    monkeypatch.setenv("ROTA_DATABASE_URL", url)
    st.cache_data.clear()
    st.cache_resource.clear()
    try:
        for role in ("cdop_manager", "commissioner"):
            at = AppTest.from_file(APP, default_timeout=30)
            at.session_state["user"] = signed_in(role)
            at.run()
            at.switch_page(PAGE).run()
            assert not at.exception and not at.error
            assert texts(at.info) == ["No cases stored yet: import cases.csv with `rota import`."]
            assert not at.get("plotly_chart")
    finally:
        st.cache_data.clear()
        st.cache_resource.clear()


def test_the_case_list_is_audited_once_per_view_not_per_rerun(app_as: AppFactory, demo_db_url: str) -> None:
    """Reading the case list on the page writes one audit entry (action read, no case data in it); reruns
    of the same view reuse it and write nothing more; a commissioner's view of the page writes none."""
    from rota.storage.audit import audit_entries
    from rota.storage.db import make_engine

    def reads() -> list[dict[str, object]]:
        engine = make_engine(demo_db_url)
        try:
            return [r for r in audit_entries(engine).to_dicts() if r["action"] == "read"]
        finally:
            engine.dispose()

    at = app_as("commissioner", page=PAGE)
    assert not at.exception and reads() == []
    at = app_as("cdop_manager", page=PAGE)
    assert not at.exception
    first = reads()
    assert [(r["actor"], r["entity"]) for r in first] == [("test-cdop_manager", "cases")]
    assert "JAR-" not in str(first[0]["after"])  # what was read and how many rows, never the rows
    at.run()
    at.run()
    assert len(reads()) == 1, [r["after"] for r in reads()]
