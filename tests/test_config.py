"""The one settings object (rota/config.py): every environment variable is in docs/configuration.md's table
and the other way round, no other module reads the environment, values are checked and secrets stay out of
messages, and the child population is worked out in one place."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from rota.config import DEFAULT_FROM, Settings, load_settings, variable_names
from rota.errors import InputError
from rota.services.forecasting import child_population, forecast_settings
from rota.storage.db import DatabaseURLError, configured_url, database_url, init_db
from rota.storage.settings import write_setting

ROOT = Path(__file__).resolve().parent.parent
TABLE_ROW = re.compile(r"^\| `(?P<name>[A-Z_]+)` \|(?P<rest>.*)\|\s*$")
READS_ENVIRONMENT = {"environ", "environb", "getenv", "getenvb"}
# rota/config.py reads the environment (pydantic-settings, and its cache's key); the one other use is
# `rota up` handing its environment (plus the database URL) to the dashboard it starts.
CONFIG = "rota/config.py"
CHILD_PROCESS_ENV = ("rota/cli/ops.py", "dict")


def documented() -> dict[str, list[str]]:
    """The rows of docs/configuration.md's table of variables: name -> the other cells."""
    rows = {}
    for line in (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8").splitlines():
        match = TABLE_ROW.match(line)
        if match:
            rows[match["name"]] = [c.strip() for c in match["rest"].split("|")]
    return rows


def test_every_variable_is_documented_and_every_documented_one_is_read() -> None:
    rows = documented()
    assert set(variable_names()) == set(rows)
    assert list(variable_names()) == list(rows)  # the same order: grouped by who reads them
    for name, cells in rows.items():
        assert len(cells) == 4 and all(cells), f"{name}: give type, default, what it does, who reads it"


def test_the_defaults_in_the_table_are_the_defaults_of_the_class() -> None:
    rows = documented()
    defaults = load_settings({})
    for field, info in Settings.model_fields.items():
        value = getattr(defaults, field)
        cell = rows[str(info.validation_alias)][1]
        if isinstance(value, bool):
            assert cell.startswith("yes" if value else "no"), field
        elif value is None or value == ():
            assert not cell.startswith("`"), field  # said in words: "none (...)", "the SQLite file ..."
        else:
            shown = f"{value:g}" if isinstance(value, float) else str(value)
            assert cell.startswith(f"`{shown}`"), field
    assert defaults.smtp_from == DEFAULT_FROM


def _environment_reads(path: Path) -> list[tuple[int, str | None]]:
    """Where `path` touches os.environ or os.getenv: (line, the name of the call it sits in, if any)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    calls: dict[int, str | None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            for arg in node.args:
                calls[id(arg)] = node.func.id
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in READS_ENVIRONMENT:
            found.append((node.lineno, calls.get(id(node))))
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            found += [(node.lineno, None) for a in node.names if a.name in READS_ENVIRONMENT]
    return found


def test_no_module_reads_the_environment_but_rota_config() -> None:
    offenders = []
    for package in ("rota", "dashboard"):
        for path in sorted((ROOT / package).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            for line, call in _environment_reads(path):
                if relative != CONFIG and (relative, call) != CHILD_PROCESS_ENV:
                    offenders.append(f"{relative}:{line}")
    assert offenders == [], "read settings through rota.config.load_settings()"


def test_the_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    path.write_text("import os\nfrom os import getenv\nx = os.environ.get('A')\ny = dict(os.environ)\n")
    assert sorted(_environment_reads(path), key=str) == [(2, None), (3, None), (4, "dict")]


def test_a_given_mapping_is_all_that_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROTA_SMTP_HOST", "smtp.process.example")
    monkeypatch.setenv("ROTA_TZ", "America/New_York")
    assert load_settings().smtp_host == "smtp.process.example"
    given = load_settings({"ROTA_SMTP_PORT": " 2525 ", "ROTA_ALERT_EMAIL": "a@example.org, b@example.org"})
    assert given.smtp_host is None and given.tz == ZoneInfo("Europe/London")
    assert given.smtp_port == 2525 and given.alert_email == ("a@example.org", "b@example.org")
    assert given.channels_text().startswith("stored only")


def test_empty_values_take_the_default_and_flags_read_yes_or_no() -> None:
    settings = load_settings({"ROTA_SMTP_PORT": "  ", "ROTA_TZ": "", "ROTA_EMBEDDED_SCHEDULER": "off"})
    assert settings.smtp_port == 25 and settings.tz == ZoneInfo("Europe/London")
    assert settings.embedded_scheduler is False
    assert load_settings({"ROTA_DEBUG": "yes", "ROTA_SMTP_STARTTLS": "1"}).debug is True
    assert load_settings({"ROTA_IMPORT_WATCH": "~/inbox"}).import_watch == Path("~/inbox").expanduser()


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"ROTA_SESSION_MINUTES": "ten"}, "ROTA_SESSION_MINUTES: 'ten' is not a whole number of at least 1"),
        ({"ROTA_SESSION_MINUTES": "0"}, "ROTA_SESSION_MINUTES: '0' is not a whole number of at least 1"),
        ({"ROTA_CHILD_POPULATION": "lots"}, "ROTA_CHILD_POPULATION: 'lots' is not a whole number"),
        ({"ROTA_SMTP_PORT": "70000"}, "ROTA_SMTP_PORT: '70000' is not a port number"),
        ({"ROTA_TZ": "Europe/Londres"}, "ROTA_TZ: unknown time zone 'Europe/Londres'"),
        ({"ROTA_DEBUG": "please"}, "ROTA_DEBUG: 'please': give 1 or 0"),
        ({"ROTA_IMPORT_MAX_MB": "0"}, "ROTA_IMPORT_MAX_MB: '0' is not a number of at least 0.001"),
        ({"ROTA_IMPORT_SETTLE_SECONDS": "inf"}, "ROTA_IMPORT_SETTLE_SECONDS: 'inf' is not a number"),
        ({"ROTA_SMTP_FROM": "rota"}, "ROTA_SMTP_FROM: 'rota' is not an e-mail address"),
    ],
)
def test_a_bad_value_names_its_variable(environ: dict[str, str], message: str) -> None:
    with pytest.raises(InputError) as info:
        load_settings(environ)
    assert message in info.value.message()


def test_every_bad_value_is_named_at_once() -> None:
    with pytest.raises(InputError) as info:
        load_settings({"ROTA_SMTP_PORT": "x", "ROTA_TZ": "Nowhere/Town"})
    text = info.value.message()
    assert text.startswith("2 problems:") and "ROTA_SMTP_PORT" in text and "ROTA_TZ" in text


def test_secrets_are_never_in_a_message_or_the_repr(monkeypatch: pytest.MonkeyPatch) -> None:
    secret_url = "postgresql+psycopg://rota:s3cret-pw@db.internal:notaport/rota"
    with pytest.raises(InputError) as info:
        load_settings(
            {"ROTA_DATABASE_URL": secret_url, "ROTA_ALERT_WEBHOOK": "hooks.example.org/T0/B0/Z9Z9Z9Z9"}
        )
    text = info.value.message()
    assert "ROTA_ALERT_WEBHOOK: not an http:// or https:// URL" in text
    assert "s3cret-pw" not in text and "Z9Z9Z9Z9" not in text
    assert info.value.__cause__ is None and info.value.__suppress_context__  # no pydantic traceback
    # The URL is parsed by the storage layer, which names the variable and masks the password.
    monkeypatch.setenv("ROTA_DATABASE_URL", secret_url)
    with pytest.raises(DatabaseURLError) as bad_url:
        configured_url()
    assert str(bad_url.value).startswith("ROTA_DATABASE_URL: cannot use the database URL")
    assert "rota:***@db.internal" in str(bad_url.value) and "s3cret-pw" not in str(bad_url.value)
    settings = load_settings(
        {
            "ROTA_DATABASE_URL": "postgresql://rota:s3cret-pw@db/rota",
            "ROTA_PASSWORD": "a long account password",
            "ROTA_SMTP_PASSWORD": "smtp-pa55word",
        }
    )
    assert "s3cret-pw" not in repr(settings) and "a long account password" not in repr(settings)
    assert "smtp-pa55word" not in repr(settings) and "smtp-pa55word" not in str(settings.model_dump())


def test_the_database_url_comes_from_the_option_else_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ROTA_DATABASE_URL", " postgresql://u@h/db ")
    assert database_url() == "postgresql+psycopg://u@h/db"
    assert database_url("sqlite:///given.db") == "sqlite:///given.db"
    monkeypatch.setenv("ROTA_DATABASE_URL", "")
    assert database_url().startswith("sqlite:///") and database_url().endswith("rota.db")


def test_the_child_population_stored_wins_else_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = init_db(f"sqlite:///{tmp_path / 'rota.db'}")
    monkeypatch.delenv("ROTA_CHILD_POPULATION", raising=False)
    assert child_population(engine) is None and child_population(None) is None
    monkeypatch.setenv("ROTA_CHILD_POPULATION", "226000")
    assert child_population(engine) == 226_000 and child_population(None) == 226_000
    write_setting(engine, "child_population", "380000", actor="test")
    assert child_population(engine) == 380_000
    assert forecast_settings(engine).child_population == 380_000
    monkeypatch.setenv("ROTA_CHILD_POPULATION", "many")
    with pytest.raises(InputError, match="ROTA_CHILD_POPULATION: 'many' is not a whole number"):
        child_population(None)
    engine.dispose()
