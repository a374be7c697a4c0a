"""The operations commands: `rota jobs list|run`, `rota alerts`, `rota backup` and `rota restore`; on the
demo database, `rota jobs run gap-scan` stores and sends alerts for the coming gaps, and again sends
nothing new."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from rota.cli import main
from rota.storage.db import current_revision, init_db, make_engine
from rota.storage.imports import import_rota
from rota.storage.rota import load_rota
from tests.jobs.conftest import Mailbox, Receiver, small_rota

Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    def _run(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse's own exits
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return _run


@pytest.fixture
def mail_env(monkeypatch: pytest.MonkeyPatch, smtp: Mailbox, webhook: Receiver) -> None:
    monkeypatch.setenv("ROTA_SMTP_HOST", smtp.host)
    monkeypatch.setenv("ROTA_SMTP_PORT", str(smtp.port))
    monkeypatch.setenv("ROTA_SMTP_FROM", "rota@example.org")
    monkeypatch.setenv("ROTA_ALERT_EMAIL", "cdop.manager@example.org")
    monkeypatch.setenv("ROTA_ALERT_WEBHOOK", webhook.url)
    monkeypatch.delenv("ROTA_IMPORT_WATCH", raising=False)


def test_on_the_demo_a_gap_scan_stores_and_sends_alerts_then_nothing_new(
    run: Run, tmp_path: Path, mail_env: None, smtp: Mailbox, webhook: Receiver
) -> None:
    db = f"sqlite:///{tmp_path / 'rota.db'}"
    code, _, err = run("demo", "--db", db)
    assert code == 0, err
    code, out, _ = run("jobs", "list", "--db", db)
    assert code == 0
    assert [line.split()[0] for line in out.splitlines()[2:7]] == [
        "gap-scan",
        "training-expiry",
        "forecast-refresh",
        "import-watch",
        "assurance-pack",
    ]
    assert "No next runs: no scheduler has started on this database yet" in out
    code, out, err = run("jobs", "run", "gap-scan", "--db", db)
    assert code == 0, out + err
    assert out.startswith("gap-scan: ok: ")
    # `rota demo`, like every change to the rota, stored the gap alerts already; the scan sends them
    assert out.split("days: ")[1].startswith("0 new, ")
    new = int(out.split("0 new, ")[1].split(" already")[0])
    assert new > 5  # the demo has gaps in the coming weeks
    assert f"e-mailed {new} gaps in one digest; posted {new} gaps to the webhook" in out
    assert len(smtp.messages) == 1 and len(webhook.bodies) == 1 and webhook.bodies[0]["count"] == new
    code, out, _ = run("jobs", "run", "gap-scan", "--db", db)
    assert code == 0 and f": 0 new, {new} already alerted" in out and "nothing new to send" in out
    assert len(smtp.messages) == 1 and len(webhook.bodies) == 1
    code, out, _ = run("alerts", "--db", db)
    alerts = json.loads(out)
    assert len(alerts) == new
    assert {"kind", "rule_id", "start", "end", "created_at"} <= set(alerts[0])
    assert alerts[0]["kind"] == "gap" and alerts[0]["start"][-6:] in ("+00:00", "+01:00")
    code, out, _ = run("jobs", "list", "--db", db, "--format", "json")
    listed = {j["job"]: j for j in json.loads(out)}
    assert listed["gap-scan"]["last_status"] == "ok" and listed["import-watch"]["last_run"] is None


def test_alerts_all_and_acknowledge(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = f"sqlite:///{tmp_path / 'rota.db'}"
    engine = init_db(db)
    import_rota(engine, small_rota(), actor="test")
    from rota.jobs import gap_scan
    from tests.jobs.conftest import NOW, settings_for

    gap_scan(engine, settings_for(), now=NOW)
    gap_scan(engine, settings_for(), now=NOW.replace(month=12, day=4))  # the paediatric gaps are over
    engine.dispose()
    code, out, _ = run("alerts", "--db", db)
    assert code == 0 and len(json.loads(out)) == 2
    code, out, _ = run("alerts", "--all", "--db", db)
    every = json.loads(out)
    assert len(every) == 4 and sorted(a["resolution"] or "open" for a in every) == [
        "open",
        "open",
        "passed",
        "passed",
    ]
    first = json.loads(run("alerts", "--db", db)[1])[0]["id"]
    monkeypatch.setenv("USER", "ops")
    assert run("alerts", "--ack", str(first), "--db", db)[:2] == (0, f"Alert {first} acknowledged.\n")
    assert run("alerts", "--ack", str(first), "--db", db)[1] == f"Alert {first} was already acknowledged.\n"
    acknowledged = json.loads(run("alerts", "--db", db)[1])[0]
    assert acknowledged["acknowledged_by"] == "cli:ops"
    code, _, err = run("alerts", "--ack", "999", "--db", db)
    assert code == 2 and "there is no alert 999" in err and "Traceback" not in err
    code, out, _ = run("alerts", "--db", db, "--format", "table")
    assert code == 0 and "Ambulance 0-15: 0 of 1 qualified on duty" in out


def test_bad_job_names_and_settings_are_exit_2(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = f"sqlite:///{tmp_path / 'rota.db'}"
    init_db(db).dispose()
    code, _, err = run("jobs", "run", "gap-sweep", "--db", db)
    assert code == 2 and "invalid choice: 'gap-sweep'" in err
    monkeypatch.setenv("ROTA_SMTP_PORT", "twenty-five")
    code, _, err = run("jobs", "run", "gap-scan", "--db", db)
    assert code == 2 and "ROTA_SMTP_PORT: 'twenty-five' is not a port number" in err
    monkeypatch.setenv("ROTA_SMTP_PORT", "25")
    monkeypatch.setenv("ROTA_ALERT_EMAIL", "duty desk")
    code, _, err = run("scheduler", "--db", db)
    assert code == 2 and "ROTA_ALERT_EMAIL: 'duty desk' is not an e-mail address" in err


def test_backup_and_restore_of_the_sqlite_database(run: Run, tmp_path: Path) -> None:
    path = tmp_path / "rota.db"
    db = f"sqlite:///{path}"
    engine = init_db(db)
    import_rota(engine, small_rota(), actor="test")
    shifts = load_rota(engine).shifts.height
    code, out, err = run("backup", str(tmp_path), "--db", db)
    assert code == 0, err
    copy = Path(out.split("Backed up to ")[1].split(" (")[0])
    assert copy.parent == tmp_path and copy.name.startswith("rota-")
    assert f"schema revision {current_revision(engine)}" in out
    with sqlite3.connect(copy) as conn:
        assert conn.execute("SELECT count(*) FROM shift").fetchone() == (shifts,)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    code, _, err = run("backup", str(copy), "--db", db)
    assert code == 2 and "already exists" in err
    # the rota changes; restoring brings back the copy, and keeps what was there beside it
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM shift")
    assert load_rota(engine).shifts.height == 0
    code, out, err = run("restore", str(copy), "--db", db)
    assert code == 0, err
    assert load_rota(engine).shifts.height == shifts
    kept = Path(out.split("is kept in ")[1].rstrip(".\n"))
    assert kept.is_file() and kept.name.startswith("rota.db.before-restore-")
    engine.dispose()


def test_restore_refuses_what_is_not_a_known_rota_database(run: Run, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'rota.db'}"
    init_db(db).dispose()
    text = tmp_path / "notes.db"
    text.write_text("hello")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    newer = tmp_path / "newer.db"
    assert run("backup", str(newer), "--db", db)[0] == 0
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    for source, reason in [
        (tmp_path / "missing.db", "no such file"),
        (text, "not an SQLite database file"),
        (other, "not a rota database (no responder, shift, audit_log, alembic_version table)"),
        (newer, "schema revision 0099 is unknown to this version of rota"),
    ]:
        code, _, err = run("restore", str(source), "--db", db)
        assert code == 2 and reason in err, err
        assert "Traceback" not in err
    engine = make_engine(db)
    assert load_rota(engine).responders.height == 0
    engine.dispose()


def test_postgresql_gets_the_pg_dump_and_pg_restore_commands(run: Run, tmp_path: Path) -> None:
    url = "postgresql+psycopg://rota:secret@db.example.org:5432/rota"
    code, out, err = run("backup", str(tmp_path / "rota.dump"), "--db", url)
    assert code == 2 and out == ""
    assert (
        f"pg_dump --format=custom --file {tmp_path / 'rota.dump'} postgresql://rota@db.example.org:5432/rota"
        in err
    )
    assert "secret" not in err
    code, _, err = run("restore", str(tmp_path / "rota.dump"), "--db", url)
    assert code == 2
    assert (
        "pg_restore --clean --if-exists --no-owner --dbname postgresql://rota@db.example.org:5432/rota" in err
    )
