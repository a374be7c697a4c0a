"""A bad environment variable stops any `rota` command with exit 2 and a message naming the variable (never a
traceback, never a secret), before the command does anything; the good ones reach the commands."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from rota.cli.common import service_tz
from rota.storage.audit import audit_entries
from rota.storage.db import init_db

Run = Callable[..., tuple[int, str, str]]
SECRET = "s3cret-pw"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in ("ROTA_DATABASE_URL", "ROTA_DEBUG", "ROTA_TZ", "ROTA_ALERT_WEBHOOK", "ROTA_CHILD_POPULATION"):
        monkeypatch.delenv(name, raising=False)
    url = f"sqlite:///{tmp_path / 'rota.db'}"
    init_db(url).dispose()
    return url


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (
            "ROTA_SESSION_MINUTES",
            "half an hour",
            "ROTA_SESSION_MINUTES: 'half an hour' is not a whole number",
        ),
        ("ROTA_CHILD_POPULATION", "1e5", "ROTA_CHILD_POPULATION: '1e5' is not a whole number"),
        ("ROTA_TZ", "Europe/Londres", "ROTA_TZ: unknown time zone 'Europe/Londres'"),
        (
            "ROTA_ALERT_WEBHOOK",
            f"hooks.example.org/{SECRET}",
            "ROTA_ALERT_WEBHOOK: not an http:// or https:// URL",
        ),
        (
            "ROTA_DATABASE_URL",
            f"postgresql+psycopg://rota:{SECRET}@db:notaport/rota",
            "ROTA_DATABASE_URL: cannot use the database URL postgresql+psycopg://rota:***@db:notaport/rota",
        ),
    ],
)
@pytest.mark.parametrize("command", [("gaps",), ("settings",), ("alerts",)])
def test_a_bad_variable_is_exit_2_naming_it(
    run: Run,
    db: str,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    value: str,
    message: str,
    command: tuple[str, ...],
) -> None:
    monkeypatch.setenv(name, value)
    code, out, err = run("--db", db, *command)
    assert code == 2, err
    assert err.startswith(f"rota: error: {message}")
    assert "Traceback" not in err and SECRET not in out + err


def test_debug_does_not_turn_a_bad_variable_into_a_traceback(
    run: Run, db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROTA_DEBUG", "1")
    monkeypatch.setenv("ROTA_SMTP_PORT", "smtp")
    code, _, err = run("--db", db, "gaps")
    assert code == 2 and err.startswith("rota: error: ROTA_SMTP_PORT: 'smtp' is not a port number")


def test_the_zone_and_the_user_of_the_environment_reach_the_commands(
    run: Run, db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROTA_TZ", "UTC")
    monkeypatch.setenv("USER", "ada")
    code, _, err = run("--db", db, "settings", "set", "child_population", "113000")
    assert code == 0, err
    engine = init_db(db)
    assert audit_entries(engine, entity="setting").get_column("actor").to_list() == ["ada"]
    engine.dispose()
    assert service_tz(argparse.Namespace(tz=None)) == ZoneInfo("UTC")
    assert service_tz(argparse.Namespace(tz="Europe/London")) == ZoneInfo("Europe/London")  # --tz wins
