"""What every `rota` command shares: exit codes, the usage error, the settings of the environment, and
reading the zone, output format, time range and database from the command's arguments."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from rota.redact import mask_url, redact, url_secrets
from rota.timeutil import TimeParseError, day_start, parse_bound, uk_local, utc_now, zone

if TYPE_CHECKING:
    from rota.config import Settings
    from rota.model import Rota

EXIT_INPUT = 2
EXIT_GAP = 3


class UsageError(Exception):
    """Wrong use of the command itself (exit 2)."""


def env_settings() -> Settings:
    """The settings of the environment (rota/config.py), read now: a bad value is an InputError naming its
    variable, which `main` prints before exiting 2 (ROTA_DATABASE_URL too, checked by the storage layer that
    parses it). Imported here only to keep `rota --help` fast."""
    from rota.config import load_settings
    from rota.storage.db import configured_url

    settings = load_settings()
    configured_url()
    return settings


def service_tz(args: argparse.Namespace) -> tzinfo:
    """--tz, else ROTA_TZ, else Europe/London."""
    given = getattr(args, "tz", None)
    return zone(given) if given else env_settings().tz


def run_by() -> str:
    """Who runs the command, for the audit log: `cli:` and the login name (env USER)."""
    return f"cli:{env_settings().user or 'unknown'}"


def actor_name(args: argparse.Namespace) -> str:
    """--actor, else the login name (env USER), else `cli`: the name written to the audit log."""
    return str(args.actor or env_settings().user or "cli")


def output_format(args: argparse.Namespace) -> str:
    return getattr(args, "format", None) or "table"


def time_range(args: argparse.Namespace, tz: tzinfo) -> tuple[datetime, datetime]:
    """--start and --end: today 00:00 and 28 days later unless given."""
    try:
        start = parse_bound(args.start, tz) if args.start else day_start(utc_now().astimezone(tz).date(), tz)
    except TimeParseError as exc:
        raise UsageError(f"--start: {exc}") from exc
    try:
        end = (
            parse_bound(args.end, tz)
            if args.end
            else day_start(start.astimezone(tz).date() + timedelta(days=28), tz)
        )
    except TimeParseError as exc:
        raise UsageError(f"--end: {exc}") from exc
    if end <= start:
        raise UsageError(f"--end ({uk_local(end, tz)}) must be after --start ({uk_local(start, tz)})")
    return start, end


# The imports of SQLAlchemy, the storage layer and the bundle reader below sit inside the functions only to
# keep `rota --help` (and the commands that need no database) fast to start.


def open_engine(args: argparse.Namespace, *, must_exist: bool = True):  # type: ignore[no-untyped-def]
    """The database of --db (else the environment's), reached now: a usage error names what is wrong."""
    from rota.storage.db import DatabaseURLError, StorageError, current_revision, database_url, make_engine

    url = database_url(getattr(args, "db", None))
    try:
        engine = make_engine(url)
        if must_exist:
            if current_revision(engine) is None:
                raise UsageError(
                    f"the database {safe_url(url)} is not set up yet: run `rota init` (or `rota demo`)"
                )
        else:
            with engine.connect():  # reach it now: a clear message rather than a failure half-way
                pass
    except DatabaseURLError as exc:  # a malformed URL; the message masks the password
        raise UsageError(str(exc)) from None
    except StorageError as exc:
        raise UsageError(f"cannot open the database {safe_url(url)}: {database_reason(exc, url)}") from None
    return engine


def database_reason(exc: BaseException, url: str) -> str:
    """The first line of a database error, with the driver's own error class, and never a password."""
    orig = getattr(exc, "orig", None)
    source = orig if orig is not None else exc
    lines = str(source).strip().splitlines()
    text = f"{source.__class__.__name__}: {lines[0] if lines else ''}".rstrip(": ")
    if "unable to open database file" in text:
        text += " (does its folder exist, and may rota write there?)"
    return redact(text, url_secrets(url))


def missing_table(exc: BaseException) -> bool:
    """Whether `exc` is the database saying a table does not exist (a schema from an older version)."""
    from rota.storage.db import missing_table as storage_missing_table

    return storage_missing_table(exc)


def safe_url(url: str) -> str:
    return mask_url(url)


def load_rota_for(args: argparse.Namespace, tz: tzinfo, start: datetime, end: datetime) -> Rota:
    """The rota of --bundle if given, else the stored rota over [start, end)."""
    if args.bundle is not None:
        from rota.bundle import read_bundle

        return read_bundle(args.bundle, tz)
    from rota.storage.rota import load_rota

    return load_rota(open_engine(args), start, end)
