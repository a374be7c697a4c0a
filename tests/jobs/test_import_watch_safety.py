"""The watched import folder takes regular files only, leaves fresh files alone, refuses big ones, writes
short 0600 reports, and a run killed mid-way does not block the folder (docs/operations.md)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine, insert

from rota.config import load_settings
from rota.jobs import import_watch
from rota.storage.alerts import job_runs
from rota.storage.models import JOB_RUN
from rota.storage.rota import load_rota
from rota.timeutil import utc_now
from tests.jobs.conftest import NOW, settings_for

SECRET = "s3cret-token-do-not-leak"
GOOD_SHIFTS = "shift_id,responder_id,start,end\nW1,S1,2026-12-06 12:00,2026-12-06 16:00\n"


def _settled(path: Path, seconds_ago: float = 120) -> None:
    past = time.time() - seconds_ago
    os.utime(path, (past, past), follow_symlinks=False)


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "outside" / "secret.csv"
    path.parent.mkdir()
    path.write_text(f"{SECRET},x\n1,2\n")
    return path


def _watch(engine: Engine, inbox: Path, **env: object) -> tuple[str, str]:
    outcome = import_watch(engine, settings_for(ROTA_IMPORT_WATCH=inbox, **env), now=NOW)
    return outcome.status, outcome.message


def _reports(inbox: Path) -> str:
    return "".join(p.read_text() for p in inbox.rglob("*.report.txt"))


def test_a_symlink_to_a_file_outside_is_refused_unread(engine: Engine, inbox: Path, secret: Path) -> None:
    (inbox / "shifts.csv").symlink_to(secret)
    _settled(inbox / "shifts.csv")
    status, message = _watch(engine, inbox)
    assert status == "failed" and "shifts.csv -> failed/" in message
    report = _reports(inbox)
    assert "is a symbolic link" in report and "nothing was read" in report
    assert SECRET not in report and SECRET not in message
    assert secret.read_text().startswith(SECRET)  # the target is where it was
    [moved] = [p for p in (inbox / "failed").iterdir() if not p.name.endswith(".report.txt")]
    assert moved.is_symlink()  # the link itself was moved, not what it points to


def test_a_bundle_folder_holding_a_symlink_is_refused(engine: Engine, inbox: Path, secret: Path) -> None:
    bundle = inbox / "bundle"
    bundle.mkdir()
    (bundle / "responders.csv").symlink_to(secret)
    _settled(bundle / "responders.csv")
    _settled(bundle)
    status, _ = _watch(engine, inbox)
    assert status == "failed"
    report = _reports(inbox)
    assert "bundle/responders.csv is a symbolic link" in report and SECRET not in report


@pytest.mark.parametrize("sub", ["done", "failed"])
def test_a_symlinked_done_or_failed_folder_stops_the_job_and_nothing_moves(
    engine: Engine, inbox: Path, tmp_path: Path, sub: str
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (inbox / sub).symlink_to(elsewhere, target_is_directory=True)
    _settled(_write(inbox, "shifts-week49.csv", GOOD_SHIFTS))
    status, message = _watch(engine, inbox)
    assert status == "failed"
    assert f"{sub}/ in the watched folder is a symbolic link" in message
    assert list(elsewhere.iterdir()) == []
    assert (inbox / "shifts-week49.csv").is_file()
    assert load_rota(engine).shifts.filter(pl.col("shift_id") == "W1").height == 0


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def test_a_named_pipe_does_not_block_the_folder(engine: Engine, inbox: Path) -> None:
    fifo = inbox / "shifts.csv"
    os.mkfifo(fifo)
    _settled(fifo)
    _settled(_write(inbox, "shifts-week49.csv", GOOD_SHIFTS))
    outcome: list[tuple[str, str]] = []
    worker = threading.Thread(target=lambda: outcome.append(_watch(engine, inbox)), daemon=True)
    worker.start()
    worker.join(timeout=30)
    if worker.is_alive():  # unblock the reader so that the test process can end
        with open(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK), "w"):
            pass
        pytest.fail("the watched folder blocked on a named pipe")
    status, message = outcome[0]
    assert status == "failed" and "not a regular file" in _reports(inbox)
    assert "shifts-week49.csv -> done/" in message  # the other file was imported


def test_a_hard_link_is_refused(engine: Engine, inbox: Path, tmp_path: Path) -> None:
    original = _write(tmp_path, "original.csv", GOOD_SHIFTS)
    os.link(original, inbox / "shifts.csv")
    _settled(inbox / "shifts.csv")
    status, _ = _watch(engine, inbox)
    assert status == "failed" and "has other hard links" in _reports(inbox)


def test_a_file_changed_within_the_settle_time_is_left_alone(engine: Engine, inbox: Path) -> None:
    path = _write(inbox, "shifts-week49.csv", GOOD_SHIFTS)
    _settled(path, seconds_ago=30)  # still being copied, as far as anyone can tell
    assert _watch(engine, inbox) == ("ok", "nothing to import (1 still being written)")
    assert path.is_file()
    status, message = _watch(engine, inbox, ROTA_IMPORT_SETTLE_SECONDS=10)
    assert status == "ok" and "done/" in message
    assert load_settings({}).import_settle_seconds == 60


def test_a_file_over_the_size_limit_is_refused_unread(engine: Engine, inbox: Path) -> None:
    rows = "".join(f"W{i},S1,2026-12-06 12:00,2026-12-06 16:00\n" for i in range(1000))
    _settled(_write(inbox, "shifts-big.csv", "shift_id,responder_id,start,end\n" + rows))
    status, _ = _watch(engine, inbox, ROTA_IMPORT_MAX_MB=0.01)
    assert status == "failed"
    assert "the watched folder takes files up to 0.01 MB (ROTA_IMPORT_MAX_MB)" in _reports(inbox)
    assert load_rota(engine).shifts.filter(pl.col("shift_id") == "W1").height == 0
    assert load_settings({}).import_max_mb == 200


def test_reports_are_short_escaped_and_private(engine: Engine, inbox: Path) -> None:
    value = "A" * 5000 + "\x1b[31m\r" + SECRET
    rows = "".join(f"{value}{i},2026-12-06 12:00,2026-12-06 16:00\n" for i in range(3000))
    _settled(_write(inbox, "shifts-bad.csv", "responder_id,start,end\n" + rows))
    status, message = _watch(engine, inbox)
    assert status == "failed" and "3000 problems" in message
    [report_path] = (inbox / "failed").glob("*.report.txt")
    assert stat.S_IMODE(report_path.stat().st_mode) == 0o600
    report = report_path.read_text()
    assert len(report.encode()) < 64 * 1024
    assert "... and 2900 more problems" in report
    assert "\x1b" not in report and "\r" not in report and SECRET not in report and "A" * 50 not in report
    assert all(len(line) <= 300 for line in report.splitlines())


def test_a_run_killed_mid_way_is_recognised_at_once(engine: Engine, inbox: Path, db_url: str) -> None:
    code = (
        "import os, signal, sys\n"
        "from rota.storage.alerts import begin_run\n"
        "from rota.storage.db import make_engine\n"
        "from rota.timeutil import utc_now\n"
        "begin_run(make_engine(sys.argv[1]), 'import-watch', utc_now())\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run([sys.executable, "-c", code, db_url], env=env, check=False, timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert job_runs(engine, "import-watch")["status"].to_list() == ["running"]
    _settled(_write(inbox, "shifts-week49.csv", GOOD_SHIFTS))
    status, message = _watch(engine, inbox)
    assert status == "ok" and "done/" in message
    runs = job_runs(engine, "import-watch")
    assert runs["status"].to_list() == ["ok", "failed"]
    assert runs["message"][1].startswith("interrupted: the process stopped before the run ended")


def test_a_run_of_another_host_holds_the_folder_while_its_lease_lasts(engine: Engine, inbox: Path) -> None:
    def running(alive_ago: timedelta) -> None:
        at = utc_now() - alive_ago
        with engine.begin() as conn:
            conn.execute(
                insert(JOB_RUN).values(
                    job="import-watch",
                    started_at=at - timedelta(minutes=1),
                    status="running",
                    message=f"running: pid 1 on another-host; alive at {at:%Y-%m-%dT%H:%M:%SZ}",
                )
            )

    running(timedelta(seconds=20))
    assert _watch(engine, inbox)[0] == "skipped"
    with engine.begin() as conn:
        conn.execute(JOB_RUN.delete())
    running(timedelta(minutes=10))  # no heartbeat for ten minutes: that process is gone
    assert _watch(engine, inbox) == ("ok", "nothing to import")
