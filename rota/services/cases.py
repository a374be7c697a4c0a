"""CDOP case data (docs/cases.md) for people: importing a pseudonymised cases.csv and reading the cases.

Only the CDOP manager and administrators import cases or read them case by case; commissioners see
aggregates (completion measures with suppression) elsewhere. Permissions are checked here, before storage.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from pathlib import Path

import polars as pl

from rota.analytics.cases import read_cases
from rota.services.access import Actor, require_case_level, require_import_cases
from rota.storage import Engine
from rota.storage.audit import record_read
from rota.storage.cases import load_cases
from rota.storage.changes import KindCounts
from rota.storage.imports import import_cases
from rota.timeutil import SERVICE_TZ


def import_cases_file(
    engine: Engine, actor: Actor, path: Path, tz: tzinfo = SERVICE_TZ, replace: bool = False
) -> KindCounts:
    """Check `path` (a cases.csv) and store its cases all or nothing, matched by case_id.

    Raises PermissionDenied for anyone but the CDOP manager and administrators (before the file is read)
    and InputError, storing nothing, when any row is bad. `replace=True` makes the stored cases exactly
    the file's (stored cases not in it are deleted). Every change is audited under the actor's username.
    """
    require_import_cases(actor)
    cases = read_cases(Path(path), tz)
    return import_cases(engine, cases, actor=actor.username, source=Path(path).name, replace=replace)


def case_rows(
    engine: Engine,
    actor: Actor,
    start: datetime | None = None,
    end: datetime | None = None,
    *,
    via: str = "case rows",
) -> pl.DataFrame:
    """The stored cases notified in [start, end), case by case (CASES_SCHEMA, UTC): case-level access only.
    Every read is audited (action "read", entity "cases": `via`, the period and the number of rows)."""
    require_case_level(actor)
    rows = load_cases(engine, start, end)
    audit_case_read(engine, actor, via, rows.height, period=_period_text(start, end))
    return rows


def audit_case_read(
    engine: Engine, actor: Actor, via: str, rows: int, *, period: str = "all", filter: str | None = None
) -> None:
    """Write one audit entry for case-level data served to `actor` (action "read", entity "cases"): how
    (`via`: "case list", "download csv"...), the period and filter, and how many rows. No case data."""
    require_case_level(actor)
    what: dict[str, object] = {"via": via, "period": period, "rows": rows}
    if filter:
        what["filter"] = filter
    record_read(engine, actor.username, "cases", via, what)


def _period_text(start: datetime | None, end: datetime | None) -> str:
    if start is None and end is None:
        return "all"
    return f"{start.isoformat() if start else ''}/{end.isoformat() if end else ''}"
