"""Files the product creates are readable by their owner only (0600) under the usual umask of 022: the
SQLite database and its side files, backups, restores, exported bundles and workbooks, calendars."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from rota.storage.db import make_engine

Run = Callable[..., tuple[int, str, str]]


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def _usual_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


@pytest.fixture
def db(tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "data" / "rota.db"
    path.parent.mkdir()
    return path, f"sqlite:///{path}"


def test_init_creates_the_database_0600_and_its_side_files_follow(run: Run, db: tuple[Path, str]) -> None:
    path, url = db
    code, _, err = run("--db", url, "init")
    assert code == 0, err
    assert mode(path) == 0o600
    engine = make_engine(url)
    try:
        with engine.begin() as conn:  # WAL mode: the -wal and -shm files exist while it is open
            conn.execute(text("CREATE TABLE scratch (x INTEGER)"))
        side = [path.with_name(path.name + s) for s in ("-wal", "-shm")]
        assert all(p.exists() for p in side)
        assert [mode(p) for p in side] == [0o600, 0o600]
    finally:
        engine.dispose()


def test_init_narrows_a_database_left_readable_by_others(run: Run, db: tuple[Path, str]) -> None:
    path, url = db
    assert run("--db", url, "init")[0] == 0
    path.chmod(0o644)  # as an older version made it
    assert run("--db", url, "init")[0] == 0
    assert mode(path) == 0o600


def test_import_backup_export_and_restore_write_0600_files(
    run: Run, db: tuple[Path, str], bundle: Path, tmp_path: Path
) -> None:
    path, url = db
    assert run("--db", url, "init")[0] == 0
    code, _, err = run("--db", url, "import", str(bundle))
    assert code == 0, err
    assert mode(path) == 0o600

    backup = tmp_path / "backup.db"
    code, _, err = run("--db", url, "backup", str(backup))
    assert code == 0, err
    assert mode(backup) == 0o600

    out = tmp_path / "export"
    out.mkdir()
    (out / "shifts.csv").write_text("old\n", encoding="utf-8")
    (out / "shifts.csv").chmod(0o644)  # an earlier export, readable by others: replaced by a private one
    code, _, err = run("--db", url, "export", str(out))
    assert code == 0, err
    files = sorted(out.iterdir())
    assert [p.name for p in files] == ["absences.csv", "responders.csv", "shifts.csv", "training.csv"]
    assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}

    book = tmp_path / "rota.xlsx"
    code, _, err = run("--db", url, "export", str(book))
    assert code == 0, err
    assert mode(book) == 0o600

    calendar = tmp_path / "p1.ics"
    code, _, err = run("--db", url, "ics", "--responder", "P1", "--start", "2026-10-01", "-o", str(calendar))
    assert code == 0, err
    assert mode(calendar) == 0o600

    restored = tmp_path / "restored" / "rota.db"
    code, _, err = run("--db", f"sqlite:///{restored}", "restore", str(backup))
    assert code == 0, err
    assert mode(restored) == 0o600
    code, _, err = run("--db", url, "restore", str(backup))
    assert code == 0, err
    (before,) = path.parent.glob("rota.db.before-restore-*")
    assert mode(before) == 0o600 and mode(path) == 0o600
