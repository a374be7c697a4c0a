"""CDOP cases in the database, apart from the rota: `reset_rota` leaves them alone, and they are imported,
replaced and reset on their own (docs/cases.md). Each case is audited as entity "case" (case_id)."""

from __future__ import annotations

from datetime import datetime

import polars as pl
from sqlalchemy import Connection, Engine, func, select
from sqlalchemy.sql.elements import ColumnElement

from rota.analytics.cases import CASES_SCHEMA
from rota.analytics.reasons import with_reason_category
from rota.errors import InputError, Problem
from rota.model import CASES
from rota.storage.audit import AuditBuffer, to_audit_json
from rota.storage.changes import Audited, KindCounts, clear_audited, delete_audited, duplicates, upsert
from rota.storage.db import write_transaction
from rota.storage.frames import blank_to_null, select_frame, select_frame_in
from rota.storage.models import CASE_RECORD
from rota.timeutil import utc_now
from rota.vocab import AuditAction

CASE_KEY = "case_id"
_CASE_COMPARE: tuple[str, ...] = tuple(c for c in CASES_SCHEMA if c != CASE_KEY)
_CASES = Audited(CASE_RECORD, "case", CASE_KEY, pl.col(CASE_KEY))


def load_cases(engine: Engine, start: datetime | None = None, end: datetime | None = None) -> pl.DataFrame:
    """The stored cases notified in [start, end) (either bound optional), by notified_at then case_id.

    Exactly the columns and types of `rota.analytics.cases.CASES_SCHEMA`, instants in UTC; an empty frame
    with that schema when there are none.
    """
    for bound in (start, end):
        if bound is not None and bound.tzinfo is None:
            raise ValueError("load_cases needs aware datetimes for start and end")
    where: list[ColumnElement[bool]] = []
    if start is not None:
        where.append(CASE_RECORD.c.notified_at >= start)
    if end is not None:
        where.append(CASE_RECORD.c.notified_at < end)
    with engine.connect() as conn:
        return select_frame(conn, CASE_RECORD, CASES_SCHEMA, where=where, order_by=["notified_at", CASE_KEY])


def count_cases(engine: Engine) -> int:
    """How many cases are stored."""
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(CASE_RECORD)).scalar_one())


def _prepare_cases(cases: pl.DataFrame) -> pl.DataFrame:
    """`cases` with exactly the CASES_SCHEMA columns (instants in UTC, blank text as null), checked."""
    unknown = [c for c in cases.columns if c not in CASES_SCHEMA]
    if unknown:
        raise InputError(
            [
                Problem("cases", None, c, f"not a case column; the columns are {', '.join(CASES_SCHEMA)}")
                for c in unknown
            ]
        )
    missing = [c for c in CASES.required if c not in cases.columns]
    if missing:
        raise InputError([Problem("cases", None, c, "required column is missing") for c in missing])
    exprs: list[pl.Expr] = []
    for name, dtype in CASES_SCHEMA.items():
        if name not in cases.columns:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
        elif isinstance(dtype, pl.Datetime):
            col = pl.col(name)
            source = cases.schema[name]
            if not isinstance(source, pl.Datetime) or source.time_zone is None:
                raise InputError(
                    Problem("cases", None, name, "instants must be time-zone aware (UTC), not wall times")
                )
            exprs.append(col.dt.convert_time_zone("UTC").cast(dtype).alias(name))
        elif dtype == pl.String() and name != CASE_KEY:
            exprs.append(blank_to_null(name).cast(dtype))
        else:
            exprs.append(pl.col(name).cast(dtype).alias(name))
    df = cases.select(exprs)
    problems: list[Problem] = []
    for name in CASES.required:
        blank = df.get_column(name).is_null()
        if name == CASE_KEY:
            blank = blank | (df.get_column(name).str.strip_chars() == "").fill_null(True)
        n = int(blank.sum())
        if n:
            problems.append(Problem("cases", None, name, f"{name} is blank in {n} rows; it is required"))
    bad_age = df.filter(~pl.col("age_years").is_between(0, 17))
    for cid, age in bad_age.select(CASE_KEY, "age_years").head(50).iter_rows():
        problems.append(Problem("cases", None, "age_years", f"case {cid}: age {age} is not from 0 to 17"))
    bad_days = df.filter(
        pl.col("age_days").is_not_null()
        & ((pl.col("age_years") != 0) | ~pl.col("age_days").is_between(0, 364))
    )
    for cid, days in bad_days.select(CASE_KEY, "age_days").head(50).iter_rows():
        problems.append(
            Problem("cases", None, "age_days", f"case {cid}: age_days {days} is for infants only, 0 to 364")
        )
    problems += duplicates(df, [CASE_KEY], "cases")
    if problems:
        raise InputError(problems)
    return with_reason_category(df)  # always stored, so commissioners' counts never need the free text


def _store_cases(
    conn: Connection,
    df: pl.DataFrame,
    replace: bool,
    source: str,
    audit: AuditBuffer,
    counts: KindCounts,
    now: datetime,
) -> None:
    columns = list(CASES_SCHEMA)
    if replace:
        stored = select_frame(conn, CASE_RECORD, CASES_SCHEMA)
        doomed = stored.join(df.select(CASE_KEY), on=CASE_KEY, how="anti")
        delete_audited(conn, audit, counts, _CASES, doomed, columns)
        stored = stored.join(doomed.select(CASE_KEY), on=CASE_KEY, how="anti")
    else:
        stored = select_frame_in(conn, CASE_RECORD, CASES_SCHEMA, CASE_KEY, df.get_column(CASE_KEY).to_list())
    upsert(
        conn,
        audit,
        counts,
        _CASES,
        df,
        stored,
        key=[CASE_KEY],
        compare=list(_CASE_COMPARE),
        insert_constants={"updated_at": now},
        update_constants={"updated_at": now},
    )
    if counts.changes:
        summary = {"replace": replace, "summary": counts.as_dict()}
        audit.add_one("cases", AuditAction.IMPORT.value, source or "import", None, to_audit_json(summary))


def reset_cases(engine: Engine, *, actor: str) -> KindCounts:
    """Delete every stored case, each one audited (the audit log itself is kept)."""
    if not actor or not actor.strip():
        raise ValueError("reset_cases needs the actor (who is deleting) for the audit log")
    counts = KindCounts()
    audit = AuditBuffer()
    with write_transaction(engine) as conn:
        counts.deleted = clear_audited(conn, audit, _CASES, CASES_SCHEMA)
        if counts.deleted:
            audit.add_one(
                "cases", AuditAction.DELETE.value, "all", None, to_audit_json({"deleted": counts.deleted})
            )
        audit.write(conn, actor.strip(), utc_now())
    return counts
