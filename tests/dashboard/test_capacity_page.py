"""The Capacity & forecast page through AppTest on the demo database, for every role that may open it.

The demo rota runs eight weeks ahead of today, so the default period (the next quarter) runs past it.
When the demo database holds no cases yet, five years drawn from a known demand model are added, with
the child population setting.
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rota.storage.cases import count_cases
from rota.storage.db import make_engine
from rota.storage.imports import import_cases
from rota.storage.rota import load_rota
from rota.storage.settings import read_settings, write_setting
from rota.timeutil import day_start
from tests.analytics.simulate import TrueModel
from tests.dashboard.apptest_helpers import clean
from tests.dashboard.conftest import DEMO_TODAY, AppFactory, signed_in

PAGE = "views/capacity_page.py"
PAGE_FILE = Path(__file__).resolve().parents[2] / "dashboard" / "views" / "capacity_page.py"
READERS = [("admin", None), ("cdop_manager", None), ("commissioner", None)]
HEADLINE = [
    "Expected JAR-eligible cases",
    "Expected cases meeting a gap in cover",
    "Expected cases, 0-15",
    "Meeting a gap, 0-15",
    "Expected cases, 16-17",
    "Meeting a gap, 16-17",
]


@pytest.fixture(autouse=True)
def with_cases(demo_db_url: str) -> str:
    """The demo database with cases to learn demand from and the child population."""
    engine = make_engine(demo_db_url)
    try:
        if count_cases(engine) == 0:
            start, end = day_start(DEMO_TODAY - timedelta(days=5 * 365)), day_start(DEMO_TODAY)
            import_cases(engine, TrueModel(cases_per_year=34).draw(start, end, 3), actor="test")
        if "child_population" not in read_settings(engine):
            write_setting(engine, "child_population", "380000", actor="test")
    finally:
        engine.dispose()
    return demo_db_url


def page_text(at: AppTest) -> str:
    """Everything a person can read on the page: text, tables, widget options and chart specs."""
    parts: list[str] = []
    kinds = ("title", "header", "subheader", "markdown", "caption", "info", "success", "warning", "error")
    for kind in kinds:
        parts.extend(str(e.value) for e in getattr(at, kind))
    parts.extend(f"{m.label} {m.value}" for m in at.metric)
    parts.extend(df.value.to_csv() for df in at.dataframe)
    parts.extend(chart.proto.spec for chart in at.get("plotly_chart"))
    for box in at.selectbox:
        parts.extend(box.options)  # as shown (formatted)
    return "\n".join(parts)


def demo_names(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        return load_rota(engine).responders["name"].to_list()
    finally:
        engine.dispose()


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def rule_table(at: AppTest):  # type: ignore[no-untyped-def]
    return next(df.value for df in at.dataframe if "Expected cases meeting the gap" in df.value.columns)


def try_sios_on_nights(at: AppTest, count: int = 2) -> AppTest:
    at.selectbox(key="capacity_add_role").set_value("sio")
    at.number_input(key="capacity_add_count").set_value(count)
    at.selectbox(key="capacity_add_hours").set_value("Nights 19:00-07:00")
    at.button(key="capacity_add_try").click().run()
    return at


# ---------------------------------------------------------------------------------------------- every reader


@pytest.mark.parametrize(("role", "agency"), READERS)
def test_readers_see_the_headline_table_and_charts(app_as: AppFactory, role: str, agency: str | None) -> None:
    at = app_as(role, agency, page=PAGE)
    clean(at)
    assert [t.value for t in at.title] == ["Capacity & forecast"]
    assert [m.label for m in at.metric] == HEADLINE  # 16-17 beside 0-15
    values = metrics(at)
    assert float(values["Expected JAR-eligible cases"]) > 0
    assert any("80% likely: " in c.value for c in at.caption)
    assert any("Chance of at least one" in c.value for c in at.caption)
    table = rule_table(at)
    assert list(table["Rule"]) == [
        "Paediatrician 0-15",
        "Paediatrician 16-17",
        "SIO 0-15",
        "SIO 16-17",
        "Ambulance 0-15",
        "Ambulance 16-17",
        "Paediatrician 0-17, Mon-Fri 09:00-17:00, 2 needed",
    ]
    assert {"Hours in gap", "80% likely range", "Chance of at least one"} <= set(table.columns)
    assert "Expected cases with no free responder" in table.columns
    # two charts, each with a text alternative and a table with downloads
    charts = at.get("plotly_chart")
    assert len(charts) == 2
    assert all(c.proto.alt for c in charts)
    assert "hour of the week" in charts[0].proto.alt and "by week" in charts[1].proto.alt
    downloads = [b.label for b in at.get("download_button")]
    assert downloads.count("Download CSV") == 3  # rules, hour of week, weekly
    # the demo rota is published fourteen weeks ahead: the default quarter is all rostered
    assert not any("not yet published" in w.value for w in at.warning)
    assert "How these numbers are worked out" in [e.label for e in at.expander]
    assert "docs/methods.md" in page_text(at)


def test_the_period_defaults_to_the_next_quarter(app_as: AppFactory) -> None:
    at = app_as("admin", page=PAGE)
    assert at.date_input(key="capacity_period").value == (DEMO_TODAY, DEMO_TODAY + timedelta(days=90))
    assert any("91 days" in c.value for c in at.caption)


def test_a_published_period_has_no_warning(app_as: AppFactory) -> None:
    at = app_as("cdop_manager", page=PAGE)
    at.date_input(key="capacity_period").set_value((DEMO_TODAY, DEMO_TODAY + timedelta(days=13))).run()
    clean(at)
    assert not any("not yet published" in w.value for w in at.warning)
    assert any("14 days" in c.value for c in at.caption)


def test_the_published_only_button_shortens_the_period(app_as: AppFactory) -> None:
    at = app_as("commissioner", page=PAGE)
    # the demo rota is published fourteen weeks ahead: a period to 20 weeks runs past it
    at.date_input(key="capacity_period").set_value((DEMO_TODAY, DEMO_TODAY + timedelta(days=140))).run()
    assert any("not yet published for the whole period" in w.value for w in at.warning)
    button = next(b for b in at.button if b.label.startswith("Forecast only the published rota"))
    button.click().run()
    clean(at)
    first, last = at.date_input(key="capacity_period").value
    # published 14 weeks (98 days) ahead; a duty that starts on the last rostered day may run up to a week on,
    # depending on the weekday the demo is built (it ended on day 100 on a Friday)
    assert first == DEMO_TODAY and DEMO_TODAY + timedelta(days=90) < last <= DEMO_TODAY + timedelta(days=105)
    assert not any("not yet published" in w.value for w in at.warning)


def test_too_long_a_period_is_a_message_not_a_traceback(app_as: AppFactory) -> None:
    at = app_as("admin", page=PAGE)
    at.date_input(key="capacity_period").set_value((DEMO_TODAY, DEMO_TODAY + timedelta(days=400))).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["The period has 401 days; pick at most 366 days at a time."]
    assert not at.metric


# ---------------------------------------------------------------------------------------------- scenarios


def test_commissioners_try_two_more_sios_for_nights(app_as: AppFactory) -> None:
    at = app_as("commissioner", page=PAGE)
    before = rule_table(at)
    try_sios_on_nights(at)
    clean(at)
    headline = [s.value for s in at.success]
    assert len(headline) == 1
    assert headline[0].startswith(
        "Adding 2 trained SIOs for nights (19:00-07:00) would cut the expected cases meeting no trained SIO"
    )
    after = rule_table(at)
    assert "Expected cases meeting the gap, with the changes" in after.columns
    changes = dict(zip(after["Rule"], after["Change"], strict=True))
    assert changes["SIO 0-15"] < 0 and changes["SIO 16-17"] < 0
    assert all(v == 0 for k, v in changes.items() if not k.startswith("SIO"))
    assert list(after["Expected cases meeting the gap"]) == list(before["Expected cases meeting the gap"])
    labels = [m.label for m in at.metric]
    assert "Meeting a gap, with the changes" in labels
    assert "Meeting a gap, 16-17, with the changes" in labels
    # dashed "with the changes" lines in both charts
    for chart in at.get("plotly_chart"):
        names = [t.get("name", "") for t in json.loads(chart.proto.spec)["data"]]
        assert any(n.endswith("with the changes") for n in names)
    # a rerun keeps the scenario; clearing it goes back to the rota as it is
    at.run()
    assert [s.value for s in at.success] == headline
    at.button(key="capacity_clear").click().run()
    clean(at)
    assert not at.success
    assert "Expected cases meeting the gap, with the changes" not in rule_table(at).columns


def test_a_second_change_can_be_added_to_the_first(app_as: AppFactory) -> None:
    at = try_sios_on_nights(app_as("admin", page=PAGE), count=1)
    one = float(rule_table(at).set_index("Rule").loc["SIO 0-15", "Change"])
    at.selectbox(key="capacity_add_role").set_value("sio")
    at.number_input(key="capacity_add_count").set_value(1)
    at.selectbox(key="capacity_add_hours").set_value("Weekends (Saturday and Sunday, all day)")
    at.button(key="capacity_add_add").click().run()
    clean(at)
    assert any("and adding 1 trained SIO for weekends" in m.value for m in at.markdown)
    two = float(rule_table(at).set_index("Rule").loc["SIO 0-15", "Change"])
    assert two < one


def test_bad_custom_hours_are_a_message_and_the_page_carries_on(app_as: AppFactory) -> None:
    at = app_as("commissioner", page=PAGE)
    at.selectbox(key="capacity_add_role").set_value("sio")
    at.selectbox(key="capacity_add_hours").set_value("Other hours (type them below)")
    at.text_input(key="capacity_add_custom").set_value("every night")
    at.button(key="capacity_add_try").click().run()
    assert not at.exception
    assert len(at.error) == 1 and "is not like 'Mon-Fri 09:00-17:00'" in at.error[0].value
    assert [m.label for m in at.metric] == HEADLINE  # the forecast without the change is still shown
    # and a good custom window works
    at.text_input(key="capacity_add_custom").set_value("Mon-Fri 17:00-09:00")
    at.button(key="capacity_add_try").click().run()
    clean(at)
    assert any("on Mon-Fri 17:00-09:00" in s.value for s in at.success)


def test_managers_can_let_training_lapse_and_remove_a_responder(app_as: AppFactory, demo_db_url: str) -> None:
    at = app_as("cdop_manager", page=PAGE)
    shown = at.selectbox(key="capacity_lapse_who").options
    index = next(i for i, o in enumerate(shown) if "(SIO," in o)
    name = shown[index].split(" (")[0]
    assert name in demo_names(demo_db_url)
    at.selectbox(key="capacity_lapse_who").select_index(index)
    at.selectbox(key="capacity_lapse_competency").set_value("jar")
    at.button(key="capacity_lapse_try").click().run()
    clean(at)
    assert any(f"Letting the jar training of {name} lapse on" in m.value for m in at.markdown)
    changes = dict(zip(rule_table(at)["Rule"], rule_table(at)["Change"], strict=True))
    assert changes["SIO 0-15"] >= 0
    assert all(v == 0 for k, v in changes.items() if not k.startswith("SIO"))
    at.selectbox(key="capacity_remove_who").select_index(index)
    at.button(key="capacity_remove_try").click().run()
    clean(at)
    assert any(f"Removing {name} from the rota" in m.value for m in at.markdown)


def test_commissioners_see_no_names_and_no_lapse_or_remove(app_as: AppFactory, demo_db_url: str) -> None:
    at = app_as("commissioner", page=PAGE)
    clean(at)
    text = page_text(at)
    for name in demo_names(demo_db_url):
        assert name not in text
    assert "example.org" not in text
    keys = {w.key for w in at.selectbox}
    assert "capacity_lapse_who" not in keys and "capacity_remove_who" not in keys
    assert "Let a responder's training lapse" not in text
    assert "Remove a responder" not in text
    assert not at.tabs


# ---------------------------------------------------------------------------------------------- agencies


def test_a_police_commissioner_sees_the_sio_rules_first_and_can_see_all(app_as: AppFactory) -> None:
    at = app_as("commissioner", "Vale Police", page=PAGE)
    clean(at)
    assert list(rule_table(at)["Rule"]) == ["SIO 0-15", "SIO 16-17"]
    assert at.selectbox(key="capacity_add_role").value == "sio"
    assert at.segmented_control(key="capacity_chart_role").value == "sio"
    assert [m.label for m in at.metric] == HEADLINE  # the area's headline stays whole
    at.toggle(key="capacity_all_partners").set_value(True).run()
    clean(at)
    table = rule_table(at)
    assert len(table) == 7
    assert dict(zip(table["Rule"], table["Your agency"], strict=True))["SIO 16-17"]
    assert not dict(zip(table["Rule"], table["Your agency"], strict=True))["Ambulance 16-17"]


# ---------------------------------------------------------------------------------------------- refused


def test_coordinators_have_no_such_page(app_as: AppFactory) -> None:
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app_as("coordinator", "Vale Police", page=PAGE)


def test_the_page_itself_refuses_coordinators(demo_db_url: str) -> None:
    at = AppTest.from_file(str(PAGE_FILE), default_timeout=30)
    at.session_state["user"] = signed_in("coordinator", "Vale Police")
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == ["Your role cannot open Capacity & forecast."]
    assert not at.metric
