"""Loading the demo as a use case: its day and password are checked before anything is stored, and one
load leaves the demo rota, cases, setting and an account per role (the output is tested in tests/cli)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from rota.errors import InputError
from rota.services.auth import authenticate
from rota.services.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, check_demo_day, check_demo_password, load_demo
from rota.storage.cases import load_cases
from rota.storage.db import init_db
from rota.storage.settings import read_settings
from rota.timeutil import SERVICE_TZ


@pytest.mark.parametrize("day", [date(1909, 12, 31), date(2091, 1, 1)])
def test_a_day_out_of_range_is_refused(day: date) -> None:
    with pytest.raises(ValueError, match="give a day from 1910 to 2090 for the demo"):
        check_demo_day(day)


def test_a_short_password_is_refused() -> None:
    check_demo_password(DEMO_PASSWORD)
    with pytest.raises(InputError, match="at least 12 characters"):
        check_demo_password("short")


def test_load_demo_stores_the_demo_and_one_account_per_role(tmp_path: Path) -> None:
    engine = init_db(f"sqlite:///{tmp_path}/demo.db")
    demo = load_demo(engine, date(2026, 3, 2), seed=7, tz=SERVICE_TZ, password="a demo password!")
    assert demo.rota.responders.height > 0 and demo.cases.height > 0
    assert load_cases(engine).height == demo.cases.height
    assert read_settings(engine)["child_population"] == str(demo.child_population)
    roles = {a.role for a in demo.accounts}
    assert roles == {a.role for a in DEMO_ACCOUNTS} and len(roles) == 4
    assert authenticate(engine, "manager", "a demo password!").role == "cdop_manager"
    engine.dispose()
