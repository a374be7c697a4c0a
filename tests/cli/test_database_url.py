"""A database URL is never printed or logged with its password: malformed URLs and unreachable databases
exit 2 with a clear message on every path (`--db`, ROTA_DATABASE_URL; gaps, init, the scheduler, jobs)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from rota.config import load_settings
from rota.redact import install_log_redaction, mask_url, redact
from rota.storage.db import DatabaseURLError, make_engine

Run = Callable[..., tuple[int, str, str]]
SECRET = "s3cret"

BAD_URLS = {
    "port": "postgresql+psycopg://u:s3cret@host:notaport/db",
    "no host": "postgresql://u:s3cret@/db?x",
    "no folder": "sqlite:////nonexistent/dir/x.db",
    "no such database kind": "bogus://u:s3cret@h/db",
    "refused": "postgresql+psycopg://u:s3cret@127.0.0.1:1/db",
    "not a URL": "u:s3cret@h",
    "password in the query": "postgresql+psycopg://u@127.0.0.1:1/db?password=s3cret",
}
COMMANDS = {
    "gaps": ("gaps", "--start", "2026-10-25", "--end", "2026-10-26"),
    "init": ("init",),
    "scheduler": ("scheduler",),
    "gap-scan": ("jobs", "run", "gap-scan"),
    "backup": ("backup", "{tmp}/b.db"),
}


@pytest.fixture(autouse=True)
def _quiet_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ROTA_DATABASE_URL", "ROTA_DEBUG", "ROTA_ALERT_WEBHOOK", "ROTA_SMTP_HOST"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("url", BAD_URLS.values(), ids=list(BAD_URLS))
@pytest.mark.parametrize("given", ["--db", "env"])
def test_bad_database_url_exits_2_without_the_password(
    run: Run,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
    url: str,
    command: str,
    given: str,
) -> None:
    caplog.set_level(logging.DEBUG)
    argv = [a.format(tmp=tmp_path) for a in COMMANDS[command]]
    if given == "env":
        monkeypatch.setenv("ROTA_DATABASE_URL", url)
        code, out, err = run(*argv)
    else:
        code, out, err = run("--db", url, *argv)
    assert code == 2, err
    assert err.startswith("rota: error: ") and "database" in err
    assert "Traceback" not in err
    for text in (out, err, caplog.text):
        assert SECRET not in text


def test_the_message_names_what_is_wrong(run: Run) -> None:
    assert "the port is not a number" in run("--db", BAD_URLS["port"], "gaps")[2]
    assert "u:***@host:notaport/db" in run("--db", BAD_URLS["port"], "gaps")[2]
    assert "unknown kind of database 'bogus'" in run("--db", BAD_URLS["no such database kind"], "init")[2]
    assert "does its folder exist" in run("--db", BAD_URLS["no folder"], "init")[2]
    assert "Connection refused" in run("--db", BAD_URLS["refused"], "scheduler")[2]


def test_make_engine_raises_a_masked_error_with_no_chained_original() -> None:
    with pytest.raises(DatabaseURLError) as info:
        make_engine(BAD_URLS["port"])
    assert SECRET not in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_scheduler_in_a_real_process_with_a_bad_environment_url(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROTA_")}
    env["ROTA_DATABASE_URL"] = BAD_URLS["port"]
    proc = subprocess.run(
        [sys.executable, "-m", "rota.cli", "scheduler"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert "u:***@host:notaport/db" in proc.stderr
    assert SECRET not in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgresql+psycopg://u:s3cret@host/db", "postgresql+psycopg://u:***@host/db"),
        ("postgresql://u:s3c@ret@h/db", "postgresql://u:***@h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
        (
            "postgresql://h/db?sslmode=require&password=s3cret",
            "postgresql://h/db?sslmode=require&password=***",
        ),
        ("u:s3cret@h/db", "u:***@h/db"),
    ],
)
def test_mask_url(text: str, masked: str) -> None:
    assert mask_url(text) == masked


def test_redact_finds_urls_in_free_text_and_the_given_secrets() -> None:
    text = "cannot reach 'postgresql://u:s3cret@h/db' (host s3cret-h)"
    assert redact(text) == "cannot reach 'postgresql://u:***@h/db' (host s3cret-h)"
    assert redact(text, ["s3cret"]) == "cannot reach 'postgresql://u:***@h/db' (host ***-h)"


def test_log_records_are_redacted_whatever_logs_them(caplog: pytest.LogCaptureFixture) -> None:
    install_log_redaction()
    caplog.set_level(logging.INFO)
    logging.getLogger("apscheduler.jobstores").info("store at %s", "postgresql://u:s3cret@h/db")
    try:
        raise RuntimeError("could not connect to postgresql://u:s3cret@h/db")
    except RuntimeError:
        logging.getLogger("rota.scheduler").exception("job gap-scan raised")
    assert "postgresql://u:***@h/db" in caplog.text
    assert SECRET not in caplog.text
    assert all(SECRET not in r.getMessage() for r in caplog.records)


def test_webhook_url_and_smtp_password_are_never_shown() -> None:
    hook = "https://hooks.example.org/services/T000/B000/XXXXXXXXXXXX"
    settings = load_settings({"ROTA_ALERT_WEBHOOK": hook, "ROTA_SMTP_PASSWORD": "smtp-pa55word"})
    assert hook not in repr(settings) and "smtp-pa55word" not in repr(settings)
    assert (
        redact(f"webhook {hook} failed; login smtp-pa55word refused")
        == "webhook *** failed; login *** refused"
    )
    with pytest.raises(Exception) as info:
        load_settings({"ROTA_ALERT_WEBHOOK": "hooks.example.org/services/T000/B000/YYYYYYYY"})
    assert "YYYYYYYY" not in str(info.value)
