"""Capacity & forecast's "What it would take" through AppTest on the demo database, for the CDOP manager and
a commissioner: the planner runs only on the button, for two days in which no SIO holds the 16-17
training (so the SIO 16-17 rule is in gap all the time and no fill can close it), and "Try it" puts its
training answer among the what-if changes, which then show fewer expected cases meeting a gap."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import delete, select
from streamlit.testing.v1 import AppTest

from rota.storage.db import make_engine
from rota.storage.models import RESPONDER, TRAINING
from tests.dashboard.conftest import DEMO_TODAY, AppFactory
from tests.dashboard.test_capacity_page import PAGE, clean, rule_table

PERIOD = (DEMO_TODAY, DEMO_TODAY + timedelta(days=1))


@pytest.fixture
def no_sio_for_16_17(demo_db_url: str) -> str:
    """The demo database with every SIO's 16-17 training gone."""
    engine = make_engine(demo_db_url)
    try:
        with engine.begin() as conn:
            sios = select(RESPONDER.c.responder_id).where(RESPONDER.c.role == "sio")
            gone = conn.execute(
                delete(TRAINING).where(
                    (TRAINING.c.competency == "jar-16-17") & TRAINING.c.responder_id.in_(sios)
                )
            )
            assert gone.rowcount > 0
    finally:
        engine.dispose()
    return demo_db_url


def two_days(app_as: AppFactory, role: str) -> AppTest:
    at = app_as(role, page=PAGE, timeout=60)
    at.date_input(key="capacity_period").set_value(PERIOD).run()
    clean(at)
    return at


def headers(at: AppTest) -> list[str]:
    return [str(h.value) for h in at.header]


def training_table(at: AppTest):  # type: ignore[no-untyped-def]
    return next((df.value for df in at.dataframe if "People" in df.value.columns), None)


def markdown(at: AppTest) -> list[str]:
    return [str(m.value) for m in at.markdown]


def work_it_out(at: AppTest) -> AppTest:
    at.button(key="capacity_take_run").click().run()
    clean(at)
    return at


def check_the_answer(at: AppTest) -> int:
    """The training table and its sentence; the number of SIOs to train."""
    table = training_table(at)
    assert table is not None
    assert list(table.columns) == ["Role", "People", "Training", "Agency", "Hours of duty"]
    (row,) = table.to_dict("records")
    assert (row["Role"], row["Training"], row["Agency"]) == ("SIO", "jar, jar-16-17", "Vale Police")
    people = int(row["People"])
    assert people >= 1
    assert 0 < row["Hours of duty"] <= 48  # two days, at most the whole of them
    noun = "SIO" if people == 1 else "SIOs"
    assert any(
        m.startswith(
            f"{people} more {noun} trained in jar, jar-16-17 (Vale Police) would close the gaps the planner "
            "cannot fill with today's staff"
        )
        for m in markdown(at)
    )
    assert any(m.startswith("**Expected cases meeting a gap in these days:**") for m in markdown(at))
    planned = f"Planned for {PERIOD[0]:%d/%m/%Y} to {PERIOD[1]:%d/%m/%Y} (2 days)."
    assert planned in [c.value for c in at.caption]
    return people


def try_it(at: AppTest, people: int) -> None:
    before = rule_table(at).set_index("Rule")
    at.button(key="capacity_take_try_0").click().run()
    clean(at)
    noun = "SIO" if people == 1 else "SIOs"
    tried = [m for m in markdown(at) if m.startswith("**Changes being tried:**")]
    assert len(tried) == 1
    assert tried[0].startswith(
        f"**Changes being tried:** Training {people} more {noun} in jar, jar-16-17 (Vale Police) for the "
        "planner's "
    )
    table = rule_table(at).set_index("Rule")
    # the new people close the SIO 16-17 gaps they are on duty for; nothing else moves
    assert table.loc["SIO 16-17", "Expected cases meeting the gap, with the changes"] < float(
        before.loc["SIO 16-17", "Expected cases meeting the gap"]
    )
    assert table.loc["SIO 16-17", "Change"] < 0
    assert all(table.loc[r, "Change"] == 0 for r in table.index if not r.startswith("SIO"))
    overall = next(m for m in at.metric if m.label == "Meeting a gap, with the changes")
    assert str(overall.delta).startswith("-")
    # the answer is kept: still there after the rerun, without working it out again
    assert training_table(at) is not None


@pytest.mark.usefixtures("no_sio_for_16_17")
def test_the_manager_works_out_what_it_would_take_and_tries_it(app_as: AppFactory) -> None:
    at = two_days(app_as, "cdop_manager")
    found = headers(at)
    assert found.index("What it would take") == found.index("What if...?") - 1
    # never on opening the page; 28 days unless asked for fewer (the period here is two days)
    assert training_table(at) is None and "capacity_take" not in at.session_state
    assert at.segmented_control(key="capacity_take_days").value == "28"
    work_it_out(at)
    people = check_the_answer(at)
    # the fills: extra duties for today's staff (the demo's SIOs can fill other gaps, not 16-17)
    assert any(m.startswith("**Extra duties for today's staff:**") for m in markdown(at))
    try_it(at, people)


@pytest.mark.usefixtures("no_sio_for_16_17")
def test_a_commissioner_gets_the_training_answer_but_no_fills(app_as: AppFactory) -> None:
    at = two_days(app_as, "commissioner")
    assert "What it would take" in headers(at)
    work_it_out(at)
    people = check_the_answer(at)
    assert not any("Extra duties" in m for m in markdown(at))
    try_it(at, people)
