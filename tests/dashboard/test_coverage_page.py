"""The Coverage page through AppTest on the demo database, for every role and signed out."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from rota.model import Rota, conform
from rota.services.coverage import bank_holidays
from rota.services.gapalerts import reconcile_gap_alerts
from rota.storage.db import make_engine
from rota.storage.imports import import_rota
from rota.storage.rota import load_rota
from rota.timeutil import day_start
from tests.dashboard.conftest import APP, DEMO_TODAY, AppFactory, signed_in

PAGE = "views/coverage_page.py"
ROLES = [("admin", None), ("cdop_manager", None), ("coordinator", "Vale Police"), ("commissioner", None)]


def page_text(at: AppTest) -> str:
    """Everything a person can read on the page: text elements, tables and chart specs."""
    parts: list[str] = []
    kinds = ("title", "header", "subheader", "markdown", "caption", "info", "success", "warning", "error")
    for kind in kinds:
        parts.extend(str(e.value) for e in getattr(at, kind))
    parts.extend(f"{m.label} {m.value}" for m in at.metric)
    parts.extend(df.value.to_csv() for df in at.dataframe)
    parts.extend(chart.proto.spec for chart in at.get("plotly_chart"))
    return "\n".join(parts)


def demo_names(url: str) -> list[str]:
    engine = make_engine(url)
    try:
        return load_rota(engine).responders["name"].to_list()
    finally:
        engine.dispose()


def panel_titles(at: AppTest) -> list[str]:
    """The first line of each heatmap panel's title."""
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    return [a["text"].split("<br>")[0] for a in spec["layout"]["annotations"]]


def name_tables(at: AppTest) -> list[list[str]]:
    return [list(df.value["Name"]) for df in at.dataframe if "Name" in df.value.columns]


@pytest.mark.parametrize(("role", "agency"), ROLES)
def test_every_role_sees_cover_gaps_heatmaps_and_downloads(
    app_as: AppFactory, role: str, agency: str | None
) -> None:
    at = app_as(role, agency, page=PAGE)
    assert not at.exception
    assert not at.error
    assert [t.value for t in at.title] == ["Coverage"]
    labels = [m.label for m in at.metric]
    # 16-17 beside 0-15 for each role
    assert labels == [
        "Paediatrician, 0-15",
        "Paediatrician, 16-17",
        "SIO, 0-15",
        "SIO, 16-17",
        "Ambulance, 0-15",
        "Ambulance, 16-17",
    ]
    assert all(m.value.endswith("%") for m in at.metric)
    # one heatmap with a panel per paediatrician rule (0-15, 16-17 and office hours), with a text alternative
    charts = at.get("plotly_chart")
    assert len(charts) == 1
    assert panel_titles(at)[:2] == ["Paediatrician 0-15", "Paediatrician 16-17"]
    assert "Heatmap of each local day by hour" in charts[0].proto.alt
    # the rule table, the heatmap table and the gap list can be downloaded as CSV and Excel
    downloads = [b.label for b in at.get("download_button")]
    assert downloads.count("Download CSV") == 3
    assert downloads.count("Download Excel") == 3
    gap_table = next(df.value for df in at.dataframe if "Length" in df.value.columns)
    assert len(gap_table) > 0  # the demo has gaps in the coming weeks
    assert "On duty now" in page_text(at)


def test_managers_see_who_is_on_now_with_contact_details(app_as: AppFactory, demo_db_url: str) -> None:
    at = app_as("cdop_manager", page=PAGE)
    tables = name_tables(at)
    assert tables, "no table of people on duty"
    names = {n for table in tables for n in table}
    assert names <= set(demo_names(demo_db_url))
    emails = [e for df in at.dataframe if "Email" in df.value.columns for e in df.value["Email"]]
    assert any(str(e).startswith("mailto:") and e.endswith("@example.org") for e in emails)
    phones = [p for df in at.dataframe if "Phone" in df.value.columns for p in df.value["Phone"]]
    assert phones and set(phones) <= demo_phones(demo_db_url)


def headings(at: AppTest) -> list[tuple[str, str]]:
    """The page's headings in order: (title | header | subheader, text)."""
    return [(e.type, str(e.value)) for e in at.main if e.type in ("title", "header", "subheader")]


def demo_phones(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        return set(load_rota(engine).responders["phone"].drop_nulls().to_list())
    finally:
        engine.dispose()


def test_the_page_opens_with_the_next_72_hours_and_phone_numbers(
    app_as: AppFactory, demo_db_url: str
) -> None:
    at = app_as("cdop_manager", page=PAGE)
    assert not at.exception
    found = headings(at)
    assert found[:2] == [("title", "Coverage"), ("header", "Next 72 hours")]
    assert all(kind == "header" for kind, _ in found[2:])
    section = [m.value for m in at.markdown]
    for role in ("Paediatrician", "SIO", "Ambulance"):
        assert f"**{role}**" in section
    # each role: 0-15 beside 16-17, covered or the gaps with their times
    bands = [v for v in section if v.startswith((":material/check_circle:", ":material/warning:"))]
    assert len(bands) == 6
    assert [("0-15" in v, "16-17" in v) for v in bands] == [(True, False), (False, True)] * 3
    assert all("Covered" in v or " gap" in v for v in bands)
    # who is on duty, with the phone numbers stored for them (the demo's: Ofcom's drama range)
    text = "\n".join(section)
    shown = {p for p in demo_phones(demo_db_url) if p in text}
    assert shown and all(p.startswith("07700 900") for p in shown)
    assert "On duty now:" in text
    assert at.caption[0].value.startswith("From now, ")


def test_commissioners_get_the_next_72_hours_without_names_or_phones(
    app_as: AppFactory, demo_db_url: str
) -> None:
    at = app_as("commissioner", page=PAGE)
    assert not at.exception
    assert headings(at)[:2] == [("title", "Coverage"), ("header", "Next 72 hours")]
    text = page_text(at)
    assert "07700" not in text
    for name in demo_names(demo_db_url):
        assert name not in text
    counts = [c.value for c in at.caption if c.value.startswith("People on duty in the 72 hours: ")]
    assert len(counts) == 3 and all("not shown to commissioners" in c for c in counts)
    assert all(int(c.split(": ")[1].split(".")[0]) > 0 for c in counts)


def test_the_gap_list_is_earliest_first_and_the_banner_counts_the_same_gaps(
    app_as: AppFactory, demo_db_url: str
) -> None:
    engine = make_engine(demo_db_url)
    try:
        reconcile_gap_alerts(engine)  # what every save does: the demo database has no alerts stored yet
    finally:
        engine.dispose()
    at = app_as("cdop_manager", page=PAGE)
    assert not at.exception
    gap_table = next(df.value for df in at.dataframe if "Length" in df.value.columns)
    starts = list(gap_table["Start"])
    assert len(starts) > 1 and starts == sorted(starts)
    caption = next(c.value for c in at.caption if "earliest first" in c.value)
    ahead = int(caption.split("earliest first; ")[1].split(" of them")[0])
    (banner,) = [w.value for w in at.warning if "open gap alert" in w.value]
    assert banner.startswith(f"**{ahead} open gap alert")
    assert "from now to the end of " in banner and "(the horizon of the gap list below)" in banner
    rules = set(gap_table["Rule"])
    named = banner.split("**")[3]
    assert named in rules  # the earliest gap's rule, named as the gap list names it
    assert "Acknowledge alerts on the Admin page." in banner


def test_coordinators_see_names_too(app_as: AppFactory) -> None:
    at = app_as("coordinator", "Vale Police", page=PAGE)
    assert name_tables(at)


def test_commissioners_see_no_names_or_contacts(app_as: AppFactory, demo_db_url: str) -> None:
    at = app_as("commissioner", page=PAGE)
    assert not at.exception
    assert not name_tables(at)
    text = page_text(at)
    assert "example.org" not in text
    for name in demo_names(demo_db_url):
        assert name not in text
    assert any("not shown to commissioners" in c.value for c in at.caption)
    # the aggregate counts are still there
    assert any("Qualified on duty" in df.value.columns for df in at.dataframe)


def test_signed_out_sees_the_sign_in_form_not_the_page(app_as: AppFactory) -> None:
    at = app_as(None)
    assert not at.exception
    assert "Coverage" not in [t.value for t in at.title]
    assert [t.label for t in at.text_input][:2] == ["Username", "Password"]
    assert "Sign in" in [b.label for b in at.get("form_submit_button")] or any(
        b.label == "Sign in" for b in at.button
    )
    assert not at.metric
    assert not at.get("plotly_chart")


def test_the_period_defaults_to_the_next_28_days(app_as: AppFactory) -> None:
    at = app_as("admin", page=PAGE)
    picker = at.date_input(key="coverage_period")
    assert picker.value == (DEMO_TODAY, DEMO_TODAY + timedelta(days=27))
    assert any("28 days" in c.value for c in at.caption)


def test_changing_the_period_recomputes_and_marks_bank_holidays(app_as: AppFactory) -> None:
    at = app_as("admin", page=PAGE)
    past = bank_holidays(DEMO_TODAY - timedelta(days=330), DEMO_TODAY - timedelta(days=1))
    holiday, name = past.row(-1)
    first, last = holiday - timedelta(days=1), holiday + timedelta(days=1)
    at.date_input(key="coverage_period").set_value((first, last)).run()
    assert not at.exception and not at.error
    assert any("3 days" in c.value for c in at.caption)
    text = page_text(at)
    assert "Bank holidays in this period" in text and name in text
    # the heatmap's day axis marks the bank holiday
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    days = spec["data"][0]["y"]
    assert len(days) == 3
    assert [d for d in days if "BH" in d] == [f"<b>{holiday:%a %d/%m/%Y} BH</b>"]


def clock_change_days(first: date, last: date) -> list[date]:
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return [d for d in days if day_start(d + timedelta(days=1)) - day_start(d) != timedelta(hours=24)]


def test_clock_change_days_show_their_real_hours(app_as: AppFactory) -> None:
    at = app_as("admin", page=PAGE)
    changes = clock_change_days(DEMO_TODAY - timedelta(days=330), DEMO_TODAY - timedelta(days=1))
    assert changes, "the demo's past year has a clock change"
    for day in changes:
        at.date_input(key="coverage_period").set_value((day, day)).run()
        assert not at.exception and not at.error
        hours = (day_start(day + timedelta(days=1)) - day_start(day)) // timedelta(hours=1)
        assert any(f"1 day, {hours} hours" in c.value for c in at.caption)
        spec = json.loads(at.get("plotly_chart")[0].proto.spec)
        main = next(trace for trace in spec["data"] if "hovertext" in trace)
        assert main["y"] == [f"{day:%a %d/%m/%Y} ({hours} h)"]
        hover = main["hovertext"][0][1]
        assert ("happens twice" in hover) if hours == 25 else ("does not exist" in hover)


def test_a_role_switch_shows_that_roles_heatmaps(app_as: AppFactory) -> None:
    at = app_as("admin", page=PAGE)
    at.segmented_control(key="coverage_heatmap_role").set_value("sio").run()
    assert panel_titles(at) == ["SIO 0-15", "SIO 16-17"]


def test_the_gap_list_can_be_filtered_by_rule(app_as: AppFactory) -> None:
    at = app_as("admin", page=PAGE)
    at.multiselect(key="coverage_gap_rules").set_value(["Ambulance 16-17"]).run()
    gap_table = next(df.value for df in at.dataframe if "Length" in df.value.columns)
    assert set(gap_table["Rule"]) == {"Ambulance 16-17"}


def test_too_long_a_period_is_a_message_not_a_traceback(app_as: AppFactory) -> None:
    at = app_as("admin", page=PAGE)
    at.date_input(key="coverage_period").set_value((DEMO_TODAY, DEMO_TODAY + timedelta(days=400))).run()
    assert not at.exception
    assert [e.value for e in at.error] == ["The period has 401 days; pick at most 366 days at a time."]
    assert not at.metric


def test_periods_beyond_the_stored_rota_say_so(app_as: AppFactory) -> None:
    at = app_as("cdop_manager", page=PAGE)
    picker = at.date_input(key="coverage_period")
    picker.set_value((DEMO_TODAY + timedelta(days=200), DEMO_TODAY + timedelta(days=210))).run()
    assert not at.exception
    assert any("No shifts are stored for this period" in i.value for i in at.info)
    picker.set_value((DEMO_TODAY + timedelta(days=90), DEMO_TODAY + timedelta(days=120))).run()
    assert any("No shifts are stored after" in w.value for w in at.warning)


def _fully_covered_db(path: Path, first: date) -> str:
    """One responder per role, trained for both age bands, on duty for a week from `first`."""
    roles = ["paediatrician", "sio", "ambulance"]
    ids = [f"R{i}" for i in range(3)]
    start = day_start(first - timedelta(days=1))
    rota = Rota(
        responders=conform(
            "responders",
            pl.DataFrame({"responder_id": ids, "name": ["A Test", "B Test", "C Test"], "role": roles}),
        ),
        training=conform(
            "training",
            pl.DataFrame(
                {
                    "responder_id": ids * 2,
                    "competency": ["jar"] * 3 + ["jar-16-17"] * 3,
                    "valid_from": [date(2020, 1, 1)] * 6,
                }
            ),
        ),
        shifts=conform(
            "shifts",
            pl.DataFrame(
                {
                    "shift_id": ids,
                    "responder_id": ids,
                    "start": [start] * 3,
                    "end": [start + timedelta(days=7)] * 3,
                }
            ),
        ),
    )
    from rota.storage.db import init_db

    url = f"sqlite:///{path}"
    engine = init_db(url)
    import_rota(engine, rota, actor="test")
    engine.dispose()
    return url


def test_a_period_without_gaps_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = _fully_covered_db(tmp_path / "full.db", DEMO_TODAY)
    monkeypatch.setenv("ROTA_DATABASE_URL", url)
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["user"] = signed_in("admin")
    at.run()
    at.date_input(key="coverage_period").set_value((DEMO_TODAY, DEMO_TODAY + timedelta(days=2))).run()
    assert not at.exception
    assert [s.value for s in at.success] == ["No gaps in this period: every rule is met at every minute."]
    assert all(m.value == "100.0%" for m in at.metric)
    st.cache_data.clear()
    st.cache_resource.clear()


def test_a_link_with_a_day_opens_the_period_on_that_day(app_as: AppFactory) -> None:
    """The Completion page links to Coverage with ?day=YYYY-MM-DD for the day of a case."""
    at = app_as("cdop_manager", page=PAGE)
    day = DEMO_TODAY - timedelta(days=30)
    at.query_params["day"] = day.isoformat()
    at.run()
    assert not at.exception
    assert at.date_input(key="coverage_period").value == (day, day)
    # the user can still change it afterwards: the link is applied once
    at.date_input(key="coverage_period").set_value((DEMO_TODAY, DEMO_TODAY + timedelta(days=2))).run()
    assert at.date_input(key="coverage_period").value == (DEMO_TODAY, DEMO_TODAY + timedelta(days=2))


def test_the_nightly_forecast_is_shown_to_forecast_readers_only(app_as: AppFactory, demo_db_url: str) -> None:
    """The forecast-refresh job stores the next 91 days' forecast; Coverage shows it without computing."""
    from rota.jobs import forecast_refresh
    from rota.storage.db import make_engine

    engine = make_engine(demo_db_url)
    outcome = forecast_refresh(engine)
    engine.dispose()
    assert outcome.ok, outcome.message
    for role, agency in (("cdop_manager", None), ("commissioner", None)):
        at = app_as(role, agency, page=PAGE)
        assert not at.exception
        outlook = [c.value for c in at.caption if c.value.startswith("Outlook from the nightly forecast")]
        assert len(outlook) == 1 and "JAR-eligible cases are expected" in outlook[0]
    at = app_as("coordinator", "Vale Police", page=PAGE)
    assert not any(c.value.startswith("Outlook from the nightly forecast") for c in at.caption)


def test_times_in_the_next_72_hours_read_at_a_glance() -> None:
    from dashboard.components.next72 import span_text, when_text
    from rota.timeutil import SERVICE_TZ, parse_instant

    def t(text: str) -> datetime:
        return parse_instant(text, SERVICE_TZ)

    now = t("2026-10-23T09:05+01:00")  # a Friday; the clocks go back on Sunday 25/10
    assert when_text(now, now, SERVICE_TZ) == "now"
    assert when_text(t("2026-10-23T17:59+01:00"), now, SERVICE_TZ) == "Today 17:59"
    assert when_text(t("2026-10-23T18:00+01:00"), now, SERVICE_TZ) == "Tonight 18:00"
    assert when_text(t("2026-10-24T08:00+01:00"), now, SERVICE_TZ) == "Tomorrow 08:00"
    assert (
        when_text(t("2026-10-25T01:30+00:00"), now, SERVICE_TZ) == "Sun 25/10/2026 01:30 GMT"
    )  # the second 01:30
    assert span_text(t("2026-10-24T09:00+01:00"), t("2026-10-24T17:00+01:00"), now, SERVICE_TZ) == (
        "Tomorrow 09:00 to 17:00"
    )
    assert span_text(now, t("2026-10-24T08:00+01:00"), now, SERVICE_TZ) == "now to Tomorrow 08:00"


def _draw_many_on_duty() -> None:
    """A large deployment's Next 72 hours: 20 on duty now and 3 later, drawn by the component."""
    from datetime import UTC, datetime, timedelta

    from dashboard.components.next72 import draw_next_72_hours
    from rota.services.outlook import BandOutlook, Duty, Outlook, RoleOutlook

    now = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)

    def duty(i: int, start: datetime) -> Duty:
        return Duty(
            f"P{i}", f"Dr Fictional {i}", f"07700 900{i:03d}", "Trust", "oncall", start,
            start + timedelta(hours=12), ("0-15", "16-17"), absent=False,
        )  # fmt: skip

    duties = [duty(i, now - timedelta(hours=1)) for i in range(20)]
    duties += [duty(100 + i, now + timedelta(hours=10 + i)) for i in range(3)]
    role = RoleOutlook(
        "paediatrician", "Paediatrician", (BandOutlook("0-15", ("p",)), BandOutlook("16-17", ("p",))), 23,
        tuple(duties),
    )  # fmt: skip
    draw_next_72_hours(Outlook(now, now + timedelta(hours=72), "Europe/London", (role,), True), now)


def test_many_people_on_duty_are_a_table_a_few_are_listed_in_words() -> None:
    at = AppTest.from_function(_draw_many_on_duty).run()
    assert not at.exception
    # 20 on duty now: the count at a glance; the table (with phone numbers) drawn only once opened
    labels = [e.label for e in at.expander]
    assert labels == ["On duty now: 20 people", "Later in the 72 hours: 3 more shifts"]
    assert not at.dataframe
    text = "\n".join(m.value for m in at.markdown)
    assert "07700 900" not in text
    at.session_state["next72_now_paediatrician"] = True
    at.run()
    (now_table,) = [d.value for d in at.dataframe]
    assert len(now_table) == 20 and now_table["Phone"].str.startswith("07700 900").all()
    assert now_table["On duty"].iloc[0] == "now to Tonight 20:00"
    # three later shifts: in words, with their phone numbers, once opened
    at.session_state["next72_later_paediatrician"] = True
    at.run()
    text = "\n".join(m.value for m in at.markdown)
    assert all(f"07700 900{100 + i}" in text for i in range(3))
