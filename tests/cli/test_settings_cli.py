"""`rota settings`: the child population and the other figures the forecast and completion pages use."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from rota.storage.audit import audit_entries
from rota.storage.db import init_db, make_engine
from rota.storage.settings import read_settings

Run = Callable[..., tuple[int, str, str]]


def test_set_list_and_unset_are_checked_and_audited(db_url: str, run: Run) -> None:
    init_db(db_url).dispose()
    code, out, err = run("--db", db_url, "settings", "set", "child_population", "113000", "--actor", "ana")
    assert code == 0, err
    assert out.strip() == "child_population = 113000"
    code, out, _ = run("--db", db_url, "settings", "set", "completion_target.home_visit", "0.75")
    assert code == 0
    code, out, _ = run("--db", db_url, "--format", "json", "settings")
    assert json.loads(out) == {"child_population": "113000", "completion_target.home_visit": "0.75"}
    code, out, _ = run("--db", db_url, "settings", "list")
    assert "mean_commitment_hours = (not set)" in out
    code, out, _ = run("--db", db_url, "settings", "unset", "child_population")
    assert code == 0
    engine = make_engine(db_url)
    assert read_settings(engine) == {"completion_target.home_visit": "0.75"}
    log = audit_entries(engine)
    engine.dispose()
    assert "setting" in log.get_column("entity").to_list()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("set", "child_population", "lots"), "is not a number"),
        (("set", "child_population", "0"), "must be at least 1"),
        (("set", "completion_target", "1.5"), "must be from 0.0 to 1.0"),
        (("set", "colour", "blue"), "unknown setting 'colour'"),
        (("set", "completion_target.nothing", "0.5"), "unknown setting"),
        (("set", "child_population"), "needs a value"),
        (("unset",), "needs the setting's name"),
    ],
)
def test_bad_settings_exit_2(db_url: str, run: Run, argv: tuple[str, ...], message: str) -> None:
    init_db(db_url).dispose()
    code, _, err = run("--db", db_url, "settings", *argv)
    assert code == 2
    assert message in err and "Traceback" not in err
    engine = make_engine(db_url)
    assert read_settings(engine) == {}
    engine.dispose()


def test_the_forecast_uses_the_stored_population(
    db_url: str, run: Run, tmp_path: pytest.TempPathFactory
) -> None:
    init_db(db_url).dispose()
    run("--db", db_url, "settings", "set", "child_population", "113000")
    code, out, err = run("--db", db_url, "forecast", "--start", "2027-01-04", "--end", "2027-01-05")
    assert code == 0, err
    payload = json.loads(out)
    # no cases, no rota: the prior alone, 24 hours of 10.2 cases a year
    assert payload["expected_cases"] == pytest.approx(113_000 * 30e-5 * 0.3 * 24 / (365.2425 * 24), rel=1e-3)
    assert all(r["uncovered_hours"] == 24 for r in payload["rules"])
