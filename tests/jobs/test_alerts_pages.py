"""The dashboard through AppTest: the alerts banner on Coverage, and on Admin the jobs' last and next runs
with the open alerts and an Acknowledge action."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from rota import scheduler as rota_scheduler
from rota.jobs import gap_scan
from rota.model import Rota, conform
from rota.services.access import Actor
from rota.services.alerts import list_alerts
from rota.storage.audit import audit_entries
from rota.storage.db import init_db, make_engine
from rota.storage.imports import import_rota
from rota.timeutil import SERVICE_TZ, uk_local, utc_now
from tests.dashboard.conftest import signed_in
from tests.jobs.conftest import settings_for, small_rota

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "app.py")
COVERAGE = "views/coverage_page.py"
ADMIN_PAGE = "views/admin_page.py"


@pytest.fixture
def alerted_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The small rota around now, scanned: four open gap alerts in the coming week."""
    url = f"sqlite:///{tmp_path / 'rota.db'}"
    engine = init_db(url)
    now = utc_now().replace(minute=0, second=0, microsecond=0)
    import_rota(engine, small_rota(now), actor="test")
    gap_scan(engine, settings_for(), now=now)
    engine.dispose()
    monkeypatch.setenv("ROTA_DATABASE_URL", url)
    for name in ("ROTA_SMTP_HOST", "ROTA_ALERT_WEBHOOK", "ROTA_IMPORT_WATCH"):
        monkeypatch.delenv(name, raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield url
    st.cache_data.clear()
    st.cache_resource.clear()


def app_as(role: str, page: str, agency: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state["user"] = signed_in(role, agency)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize(("role", "agency"), [("admin", None), ("coordinator", "Vale Police")])
def test_coverage_opens_with_the_open_gap_alerts(alerted_url: str, role: str, agency: str | None) -> None:
    at = app_as(role, COVERAGE, agency)
    (banner,) = [w.value for w in at.warning if "open gap alert" in w.value]
    engine = make_engine(alerted_url)
    earliest = list_alerts(engine, Actor("t", "admin")).sort("start", "id").row(0, named=True)
    engine.dispose()
    # the horizon of the gap list beside it (the default period, 28 days from today), and the same count
    last = (utc_now().astimezone(SERVICE_TZ).date() + timedelta(days=27)).strftime("%a %d/%m/%Y")
    assert banner.startswith(
        f"**4 open gap alerts** from now to the end of {last} (the horizon of the gap list below); "
        f"the earliest, **{earliest['role'].capitalize()} {earliest['age_band']}**, starts "
    )
    assert uk_local(earliest["start"], SERVICE_TZ) in banner
    caption = next(c.value for c in at.caption if "earliest first" in c.value)
    assert "4 gaps" in caption and "; 4 of them under way or still to come" in caption
    assert ("Acknowledge alerts on the Admin page" in banner) == (role == "admin")


def test_admin_lists_jobs_and_alerts_and_acknowledges_one(alerted_url: str) -> None:
    engine = make_engine(alerted_url)
    running = rota_scheduler.start(engine, settings_for())  # so the jobs have next runs
    rota_scheduler.stop(running)
    at = app_as("cdop_manager", ADMIN_PAGE)
    assert not at.error
    assert "Jobs and alerts" in [s.value for s in at.header]
    jobs, alerts = (t.value for t in at.table)
    assert list(jobs["Job"]) == [
        "gap-scan",
        "training-expiry",
        "forecast-refresh",
        "import-watch",
        "assurance-pack",
    ]
    assert jobs["Status"][0] == "ok" and jobs["Last result"][0].startswith(
        "4 gaps in the next 30 days: 4 new"
    )
    assert jobs["Next run"][1].endswith((" GMT", " BST")) and jobs["Last run"][1] == "never"
    assert jobs["Next run"][3] == "not scheduled"  # no ROTA_IMPORT_WATCH
    assert len(alerts) == 4 and set(alerts["Kind"]) == {"Gap"}
    first = int(alerts["Id"][0])
    at.selectbox(key="alert_ack_pick").set_value(first)
    next(b for b in at.button if b.label == "Acknowledge").click().run()
    assert not at.exception and not at.error
    assert [s.value for s in at.success] == [f"Alert {first} acknowledged."]
    shown = at.table[1].value
    assert shown["Acknowledged"][0].startswith("test-cdop_manager, ")
    audit = audit_entries(engine, entity="alert")
    assert audit.select("actor", "action", "entity_id").rows() == [
        ("test-cdop_manager", "update", str(first))
    ]
    assert (
        at.selectbox(key="alert_ack_pick").options == [str(i) for i in alerts["Id"][1:]]
        or len(at.selectbox(key="alert_ack_pick").options) == 3
    )
    engine.dispose()


def test_admin_without_any_run_says_the_scheduler_has_not_started(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROTA_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    st.cache_data.clear()
    st.cache_resource.clear()
    at = app_as("admin", ADMIN_PAGE)
    assert not at.error
    captions = [c.value for c in at.caption]
    assert any("the scheduler has not started on this database" in c for c in captions)
    assert any(c.startswith("No open alerts") for c in captions)
    assert list(at.table[0].value["Last run"]) == ["never"] * 5
    st.cache_data.clear()
    st.cache_resource.clear()


def test_the_banner_stays_away_when_nothing_is_open(alerted_url: str) -> None:
    engine = init_db(alerted_url)
    now = utc_now()
    cover = Rota(
        shifts=conform(
            "shifts",
            pl.DataFrame(
                {
                    "shift_id": ["cover-P1", "cover-A1"],
                    "responder_id": ["P1", "A1"],
                    "start": [now + timedelta(days=1)] * 2,
                    "end": [now + timedelta(days=6)] * 2,
                }
            ),
        )
    )
    import_rota(engine, cover, actor="test", kinds={"shifts"})
    assert "4 resolved" in gap_scan(engine, settings_for(), now=now).message  # every gap is covered
    engine.dispose()
    at = app_as("commissioner", COVERAGE)
    assert not any("open gap alert" in w.value for w in at.warning)
