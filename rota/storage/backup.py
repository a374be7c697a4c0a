"""`rota backup` and `rota restore` for the embedded SQLite database: a consistent copy taken while the
dashboard and scheduler keep running (SQLite's online backup API), and a restore that checks the file is a
rota database at a revision this version knows before it replaces the stored data.

PostgreSQL has its own tools; for it these say which pg_dump / pg_restore command to run instead.
"""

from __future__ import annotations

import os
import shlex
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from alembic.script import ScriptDirectory

from rota.files import create_private
from rota.redact import mask_url
from rota.storage.db import alembic_config, parse_url, sqlite_path
from rota.timeutil import SERVICE_TZ, utc_now

SQLITE_HEADER = b"SQLite format 3\x00"
ROTA_TABLES = ("responder", "shift", "audit_log")


class BackupError(Exception):
    """Why a backup or restore was refused (the command line prints it and exits 2)."""


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    size: int
    revision: str


def sqlite_file(url: str) -> Path | None:
    """The file of an SQLite URL, resolved; None for another database (or an in-memory one)."""
    path = sqlite_path(url)
    return None if path is None else path.resolve()


def libpq_url(url: str) -> str:
    """The URL as pg_dump and psql take it: no SQLAlchemy driver name, no password (use PGPASSWORD or
    ~/.pgpass)."""
    u = parse_url(url)._replace(drivername="postgresql", password=None)
    return u.render_as_string(hide_password=False)


def pg_dump_command(url: str, target: Path | str) -> str:
    return f"pg_dump --format=custom --file {shlex.quote(str(target))} {shlex.quote(libpq_url(url))}"


def pg_restore_command(url: str, source: Path | str) -> str:
    return (
        f"pg_restore --clean --if-exists --no-owner --dbname {shlex.quote(libpq_url(url))} "
        f"{shlex.quote(str(source))}"
    )


def known_revisions() -> set[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return {r.revision for r in script.walk_revisions()}


def _require_sqlite(url: str, what: str, hint: str) -> Path:
    path = sqlite_file(url)
    if path is not None:
        return path
    if parse_url(url).get_backend_name() == "postgresql":
        raise BackupError(
            f"rota {what} works on the embedded SQLite database; this one is PostgreSQL. Use its own tool:\n"
            f"  {hint}\n(see docs/operations.md, 'Backups')"
        )
    raise BackupError(f"rota {what} needs an SQLite database file, not {mask_url(url)}")


def check_rota_file(path: Path) -> str:
    """The Alembic revision of a rota SQLite file; BackupError if it is not one this version knows."""
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    with path.open("rb") as f:
        if f.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
            raise BackupError(f"{path}: not an SQLite database file")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        missing = [t for t in (*ROTA_TABLES, "alembic_version") if t not in tables]
        if missing:
            raise BackupError(f"{path}: not a rota database (no {', '.join(missing)} table)")
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        check = conn.execute("PRAGMA quick_check").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path}: unreadable: {exc}") from exc
    finally:
        conn.close()
    if check is None or check[0] != "ok":
        raise BackupError(f"{path}: the database is damaged ({check[0] if check else 'no answer'})")
    revision = str(row[0]) if row else ""
    if revision not in known_revisions():
        raise BackupError(
            f"{path}: schema revision {revision or '(none)'} is unknown to this version of rota "
            "(made by a newer version?); nothing was restored"
        )
    return revision


def _copy(source: Path, target: Path) -> None:
    """A consistent copy of `source` into `target` (SQLite's online backup; writers may go on), made as a
    0600 file like the database itself."""
    create_private(target)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(target, timeout=30)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
        finally:
            dst.close()
    finally:
        src.close()


def _stamp(now: datetime | None = None) -> str:
    return (now or utc_now()).astimezone(SERVICE_TZ).strftime("%Y%m%d-%H%M%S")


def backup(url: str, target: Path) -> BackupInfo:
    """Copy the SQLite database of `url` to `target` (a new file, or a folder to put `rota-<time>.db` in)."""
    path = _require_sqlite(url, "backup", pg_dump_command(url, target))
    if not path.is_file():
        raise BackupError(f"there is no database at {path} to back up")
    check_rota_file(path)
    if target.is_dir():
        target = target / f"rota-{_stamp()}.db"
    if target.exists():
        raise BackupError(f"{target} already exists; give a new file name or a folder")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent}: no such folder")
    partial = target.with_name(f".{target.name}.partial")
    try:
        _copy(path, partial)
        revision = check_rota_file(partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return BackupInfo(target, target.stat().st_size, revision)


@dataclass(frozen=True)
class RestoreInfo:
    source: Path
    database: Path
    revision: str
    previous: Path | None  # the copy of what was there before


def restore(url: str, source: Path) -> RestoreInfo:
    """Replace the SQLite database of `url` with the backup `source`, after checking it; what was there
    is first copied beside it (`<name>.before-restore-<time>`). Migrate afterwards (`init_db`)."""
    path = _require_sqlite(url, "restore", pg_restore_command(url, source))
    revision = check_rota_file(source)
    if source.resolve() == path:
        raise BackupError(f"{source} is the database itself")
    previous = None
    if path.is_file():
        previous = path.with_name(f"{path.name}.before-restore-{_stamp()}")
        _copy(path, previous)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    create_private(path)
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(path, timeout=30)
        try:
            src.backup(dst)  # page by page into the live file: its -wal and -shm stay consistent
        finally:
            dst.close()
    finally:
        src.close()
    return RestoreInfo(source, path, revision, previous)
