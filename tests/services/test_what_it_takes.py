"""Capacity & forecast's "What it would take" service: which days it plans (from today, at most 28) and
who may ask. The answer itself is checked through the page (tests/dashboard/test_capacity_takes.py)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from rota.errors import InputError, PermissionDenied
from rota.services.access import Actor
from rota.services.what_it_takes import PLAN_DAYS, planned_days, what_it_would_take
from rota.storage.db import init_db
from rota.timeutil import SERVICE_TZ, day_start

TODAY = date(2026, 3, 10)
NOW = day_start(TODAY, SERVICE_TZ) + timedelta(hours=9, minutes=30)


def test_a_quarter_is_planned_for_its_first_28_days() -> None:
    first, last = planned_days(TODAY, TODAY + timedelta(days=90), now=NOW)
    assert (first, last) == (TODAY, TODAY + timedelta(days=PLAN_DAYS - 1))


def test_a_short_period_is_planned_whole_and_a_started_one_from_today() -> None:
    assert planned_days(TODAY + timedelta(days=3), TODAY + timedelta(days=9), now=NOW) == (
        TODAY + timedelta(days=3),
        TODAY + timedelta(days=9),
    )
    assert planned_days(TODAY - timedelta(days=5), TODAY + timedelta(days=40), now=NOW) == (
        TODAY,
        TODAY + timedelta(days=27),
    )
    late = datetime.fromisoformat("2026-06-30T23:30:00+00:00")  # 00:30 on 01/07 in London (BST)
    assert planned_days(date(2026, 6, 1), date(2026, 7, 31), now=late)[0] == date(2026, 7, 1)


def test_fewer_days_on_request() -> None:
    assert planned_days(TODAY, TODAY + timedelta(days=90), now=NOW, days=7) == (
        TODAY,
        TODAY + timedelta(days=6),
    )
    for days in (0, PLAN_DAYS + 1):
        with pytest.raises(InputError, match="from 1 to 28 days"):
            planned_days(TODAY, TODAY + timedelta(days=90), now=NOW, days=days)


def test_a_period_that_has_ended_is_refused() -> None:
    with pytest.raises(InputError, match="has not ended"):
        planned_days(TODAY - timedelta(days=30), TODAY - timedelta(days=1), now=NOW)


def test_coordinators_may_not_ask(tmp_path: Path) -> None:
    engine = init_db(f"sqlite:///{tmp_path / 'rota.db'}")
    try:
        with pytest.raises(PermissionDenied):
            what_it_would_take(engine, Actor("c", "coordinator", "Vale Police", "C"), TODAY, TODAY, now=NOW)
    finally:
        engine.dispose()
