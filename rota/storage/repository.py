"""The rota in the database: fast loads into `rota.model` frames, all-or-nothing imports, the audit log.

Loads and imports use SQLAlchemy core and bulk statements (executemany on SQLite, COPY on PostgreSQL, with
instants formatted by polars), not ORM objects, so that a year of a national rota moves in seconds.
Every change is written to `audit_log` in the same transaction: `entity` is the table name and `entity_id`
the row's natural key (responder_id; `responder_id/competency/valid_from` for training; shift_id;
`responder_id/start/end` in UTC for absences; rule_id; the role name; `rota` for an import's summary);
cases are entity `case` (case_id) with `cases` for an import's summary, settings entity `setting` (key).
`before` and `after` are compact JSON of the row's data fields, instants as UTC ISO 8601.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

import polars as pl
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Connection,
    Engine,
    Select,
    String,
    Table,
    any_,
    bindparam,
    cast,
    delete,
    extract,
    func,
    insert,
    select,
    type_coerce,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from rota.analytics.cases import CASES_SCHEMA
from rota.analytics.reasons import with_reason_category
from rota.errors import InputError, Problem
from rota.model import (
    ABSENCES_SCHEMA,
    RESPONDERS_SCHEMA,
    SHIFTS_SCHEMA,
    TRAINING_SCHEMA,
    UTC_US,
    Rota,
    conform,
)
from rota.rules import DEFAULT_ROLES, Rule, RuleError, make_rule
from rota.storage.db import write_transaction
from rota.storage.models import (
    ABSENCE,
    AUDIT_ACTIONS,
    AUDIT_LOG,
    CASE_RECORD,
    COVERAGE_RULE,
    RESPONDER,
    ROLE,
    SETTING,
    SHIFT,
    TRAINING,
    AuditLog,
)
from rota.timeutil import utc_now

T = TypeVar("T")

IMPORT_KINDS: tuple[str, ...] = ("roles", "responders", "training", "shifts", "absences", "rules")
AUDIT_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.Int64(),
    "at": UTC_US,
    "actor": pl.String(),
    "action": pl.String(),
    "entity": pl.String(),
    "entity_id": pl.String(),
    "before": pl.String(),
    "after": pl.String(),
}
STORED_RESPONDERS_SCHEMA: dict[str, pl.DataType] = {
    "responder_id": pl.String(),
    "role": pl.String(),
    "agency": pl.String(),
    "active": pl.Boolean(),
}
_IN_CHUNK = 5_000  # keys per IN (...) list: well under SQLite's and PostgreSQL's parameter limits
_ISO_UTC = "%Y-%m-%dT%H:%M:%S%:z"
_SQLITE_STORED = "%Y-%m-%d %H:%M:%S%.f"  # how SQLAlchemy writes DATETIME into SQLite ...
_SQLITE_WRITE = "%Y-%m-%d %H:%M:%S%.6f"  # ... always with six decimals, so text order = time order
_PG_WRITE = "%Y-%m-%dT%H:%M:%S%.6f+00:00"
_OLD = "__old"
_FOUND = "__found"


# ---------------------------------------------------------------------------------------------- summary


@dataclass
class KindCounts:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    unchanged: int = 0

    @property
    def changes(self) -> int:
        return self.created + self.updated + self.deleted


@dataclass
class ImportSummary:
    """What an import did, per kind (roles, responders, training, shifts, absences, rules)."""

    kinds: dict[str, KindCounts] = field(default_factory=lambda: {k: KindCounts() for k in IMPORT_KINDS})

    def __getitem__(self, kind: str) -> KindCounts:
        return self.kinds[kind]

    @property
    def changes(self) -> int:
        return sum(c.changes for c in self.kinds.values())

    def as_dict(self) -> dict[str, dict[str, int]]:
        return {
            kind: {
                "created": c.created,
                "updated": c.updated,
                "deleted": c.deleted,
                "unchanged": c.unchanged,
            }
            for kind, c in self.kinds.items()
        }

    def __str__(self) -> str:
        parts = []
        for kind, c in self.kinds.items():
            bits = [
                f"{n} {what}"
                for what, n in (("created", c.created), ("updated", c.updated), ("deleted", c.deleted))
                if n
            ]
            if bits:
                parts.append(f"{kind}: {', '.join(bits)}")
        return "; ".join(parts) if parts else "nothing changed"


# ---------------------------------------------------------------------------------------------- helpers


def _chunks(values: Sequence[T], size: int = _IN_CHUNK) -> Iterator[Sequence[T]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _instant_column(col: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """Select an instant in a form polars converts in bulk (no Python datetime per value)."""
    if dialect == "sqlite":
        return type_coerce(col, String)
    if dialect == "postgresql":
        return cast(func.floor(extract("epoch", col) * 1_000_000), BigInteger)
    return col


def _raw_instant_dtype(dialect: str) -> pl.DataType:
    if dialect == "sqlite":
        return pl.String()
    if dialect == "postgresql":
        return pl.Int64()
    return UTC_US


def _instant_to_utc(name: str, dialect: str) -> pl.Expr:
    if dialect == "sqlite":
        return pl.col(name).str.to_datetime(_SQLITE_STORED, time_unit="us", time_zone="UTC")
    if dialect == "postgresql":
        return pl.from_epoch(pl.col(name), time_unit="us").dt.replace_time_zone("UTC")
    return pl.col(name).cast(UTC_US)


def _select_frame(
    conn: Connection,
    table: Table,
    schema: Mapping[str, pl.DataType],
    *,
    where: Sequence[ColumnElement[bool]] = (),
    order_by: Sequence[str] = (),
) -> pl.DataFrame:
    """Rows of `table` as a frame with exactly `schema` (instant columns come back as UTC)."""
    dialect = conn.dialect.name
    instants = [name for name, dtype in schema.items() if dtype == UTC_US]
    cols = [
        _instant_column(table.c[name], dialect).label(name) if name in instants else table.c[name]
        for name in schema
    ]
    stmt: Select[Any] = select(*cols)
    for cond in where:
        stmt = stmt.where(cond)
    if order_by:
        stmt = stmt.order_by(*(table.c[name] for name in order_by))
    rows = conn.execute(stmt).all()
    raw = {
        name: (_raw_instant_dtype(dialect) if name in instants else dtype) for name, dtype in schema.items()
    }
    df = pl.DataFrame(rows, schema=raw, orient="row")
    if instants:
        df = df.with_columns(_instant_to_utc(name, dialect) for name in instants)
    return df


def _select_frame_in(
    conn: Connection,
    table: Table,
    schema: Mapping[str, pl.DataType],
    key: str,
    values: Sequence[Any],
    *,
    where: Sequence[ColumnElement[bool]] = (),
) -> pl.DataFrame:
    """Like `_select_frame`, for rows whose `key` is among `values` (in chunks; one array on PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        # key = ANY(array): one parameter instead of thousands to render and parse.
        keys = bindparam("keys", value=list(values), type_=ARRAY(table.c[key].type))
        return _select_frame(conn, table, schema, where=[table.c[key] == any_(keys), *where])
    frames = [
        _select_frame(conn, table, schema, where=[table.c[key].in_(list(chunk)), *where])
        for chunk in _chunks(values)
    ]
    return pl.concat(frames) if frames else pl.DataFrame(schema=dict(schema))


def _json_default(value: object) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime in an audit record")
        return value.astimezone(UTC).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} to the audit log")


def to_audit_json(row: Mapping[str, Any] | None) -> str | None:
    """Compact JSON of a row for the audit log (instants as UTC ISO 8601, dates as YYYY-MM-DD)."""
    if row is None:
        return None
    return json.dumps(dict(row), default=_json_default, separators=(",", ":"), ensure_ascii=False)


def _json_rows(df: pl.DataFrame, columns: Sequence[str], suffix: str = "") -> pl.Expr:
    """A vectorised `to_audit_json` over the rows of `df` (same format)."""
    exprs = []
    for name in columns:
        src = pl.col(name + suffix)
        dtype = df.schema[name + suffix]
        if isinstance(dtype, pl.Datetime):
            exprs.append(src.dt.convert_time_zone("UTC").dt.to_string(_ISO_UTC).alias(name))
        elif dtype == pl.Date():
            exprs.append(src.dt.to_string("%Y-%m-%d").alias(name))
        else:
            exprs.append(src.alias(name))
    return pl.struct(exprs).struct.json_encode()


def _changed_mask(columns: Sequence[str]) -> pl.Expr:
    if not columns:
        return pl.lit(False)
    return pl.any_horizontal([pl.col(c).ne_missing(pl.col(c + _OLD)) for c in columns])


# ---------------------------------------------------------------------------------------------- audit


def record_audit(
    session_or_conn: Session | Connection,
    actor: str,
    action: str,
    entity: str,
    entity_id: str,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> None:
    """Append one entry to the audit log, in the caller's transaction (committed with its change)."""
    if action not in AUDIT_ACTIONS:
        raise ValueError(f"audit action must be one of {', '.join(AUDIT_ACTIONS)}, not {action!r}")
    values: dict[str, Any] = {
        "at": utc_now(),
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": str(entity_id),
        "before": to_audit_json(before),
        "after": to_audit_json(after),
    }
    if isinstance(session_or_conn, Session):
        session_or_conn.add(AuditLog(**values))
    else:
        session_or_conn.execute(insert(AUDIT_LOG).values(**values))


def record_read(engine: Engine, actor: str, entity: str, entity_id: str, what: Mapping[str, Any]) -> None:
    """Audit a read of case-level data (action "read"): who, when (the entry's time), and `what` was read
    (how, the filter or period, the number of rows). `what` must hold no case data itself."""
    if not actor or not actor.strip():
        raise ValueError("record_read needs the actor (who is reading) for the audit log")
    with write_transaction(engine) as conn:
        record_audit(conn, actor, "read", entity, entity_id, None, what)


class _AuditBuffer:
    """Audit rows gathered during an import and written in one executemany at the end."""

    def __init__(self) -> None:
        self._frames: list[pl.DataFrame] = []

    def add(self, frame: pl.DataFrame) -> None:
        """`frame` has columns entity, action, entity_id, before, after (all strings)."""
        if frame.height:
            self._frames.append(frame.select("entity", "action", "entity_id", "before", "after"))

    def add_one(
        self, entity: str, action: str, entity_id: str, before: str | None, after: str | None
    ) -> None:
        self.add(
            pl.DataFrame(
                {
                    "entity": [entity],
                    "action": [action],
                    "entity_id": [entity_id],
                    "before": [before],
                    "after": [after],
                },
                schema={c: pl.String() for c in ("entity", "action", "entity_id", "before", "after")},
            )
        )

    def __len__(self) -> int:
        return sum(f.height for f in self._frames)

    def write(self, conn: Connection, actor: str, at: datetime) -> None:
        if not self._frames:
            return
        rows = pl.concat(self._frames).select(
            pl.lit(at, dtype=UTC_US).alias("at"), pl.lit(actor).alias("actor"), pl.all()
        )
        _insert_rows(conn, AUDIT_LOG, rows)


def _audit_frame(
    df: pl.DataFrame,
    entity: str,
    action: str,
    entity_id: pl.Expr,
    columns: Sequence[str],
    *,
    before_suffix: str | None,
    after_suffix: str | None,
) -> pl.DataFrame:
    none = pl.lit(None, dtype=pl.String())
    return df.select(
        pl.lit(entity).alias("entity"),
        pl.lit(action).alias("action"),
        entity_id.cast(pl.String()).alias("entity_id"),
        (none if before_suffix is None else _json_rows(df, columns, before_suffix)).alias("before"),
        (none if after_suffix is None else _json_rows(df, columns, after_suffix)).alias("after"),
    )


# ---------------------------------------------------------------------------------------------- loading


def _rules_from_rows(rows: Sequence[Any]) -> tuple[Rule, ...]:
    out = []
    for r in rows:
        try:
            out.append(
                make_rule(
                    {
                        "id": r.rule_id,
                        "role": r.role,
                        "min_count": r.min_count,
                        "competencies": list(r.competencies or []),
                        "age_band": r.age_band,
                        "windows": list(r.windows or []),
                    }
                )
            )
        except RuleError as exc:  # only possible if someone edited the table by hand
            raise InputError(
                Problem("coverage_rule", None, r.rule_id, f"stored rule is unusable: {exc}")
            ) from exc
    return tuple(out)


def _overlap(table: Table, start: datetime | None, end: datetime | None) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if start is not None:
        conds.append(table.c.end > start)
    if end is not None:
        conds.append(table.c.start < end)
    return conds


@contextmanager
def connected(source: Engine | Connection) -> Iterator[Connection]:
    """A connection: the caller's own (inside its transaction), or a new one from the engine."""
    if isinstance(source, Connection):
        yield source
    else:
        with source.connect() as conn:
            yield conn


@contextmanager
def _snapshot(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction that sees one consistent state of every table."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":  # READ COMMITTED would give each SELECT its own snapshot
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


def load_rota(engine: Engine, start: datetime | None = None, end: datetime | None = None) -> Rota:
    """The stored rota as frames; with `start`/`end`, only shifts and absences overlapping [start, end).

    Rules come in their stored order (none stored = `rules=()`, meaning the defaults); roles are the
    default roles followed by the configured ones.
    """
    for bound in (start, end):
        if bound is not None and bound.tzinfo is None:
            raise ValueError("load_rota needs aware datetimes for start and end")
    with _snapshot(engine) as conn:
        responders = _select_frame(conn, RESPONDER, RESPONDERS_SCHEMA, order_by=["responder_id"])
        training = _select_frame(
            conn, TRAINING, TRAINING_SCHEMA, order_by=["responder_id", "competency", "valid_from"]
        )
        shifts = _select_frame(
            conn,
            SHIFT,
            SHIFTS_SCHEMA,
            where=_overlap(SHIFT, start, end),
            order_by=["start", "responder_id", "shift_id"],
        )
        absences = _select_frame(
            conn,
            ABSENCE,
            ABSENCES_SCHEMA,
            where=_overlap(ABSENCE, start, end),
            order_by=["start", "responder_id", "end"],
        )
        rule_rows = conn.execute(select(COVERAGE_RULE).order_by(COVERAGE_RULE.c.position)).all()
        extra_roles = conn.execute(select(ROLE.c.name).order_by(ROLE.c.name)).scalars().all()
    roles = DEFAULT_ROLES + tuple(r for r in extra_roles if r not in DEFAULT_ROLES)
    return Rota(
        responders=responders,
        training=training,
        shifts=shifts,
        absences=absences,
        rules=_rules_from_rows(rule_rows),
        roles=roles,
    )


def stored_responders(engine: Engine) -> pl.DataFrame:
    """responder_id, role, agency, active of every stored responder (for the bundle reader's checks)."""
    with engine.connect() as conn:
        return _select_frame(conn, RESPONDER, STORED_RESPONDERS_SCHEMA, order_by=["responder_id"])


def audit_entries(
    engine: Engine, limit: int | None = 1000, entity: str | None = None, actor: str | None = None
) -> pl.DataFrame:
    """The newest audit entries first (id, at, actor, action, entity, entity_id, before, after)."""
    where: list[ColumnElement[bool]] = []
    if entity is not None:
        where.append(AUDIT_LOG.c.entity == entity)
    if actor is not None:
        where.append(AUDIT_LOG.c.actor == actor)
    with engine.connect() as conn:
        return _select_audit(conn, where, limit)


# ---------------------------------------------------------------------------------------------- import


def _duplicates(df: pl.DataFrame, key: list[str], kind: str) -> list[Problem]:
    dup = df.filter(pl.struct(key).is_duplicated() & pl.all_horizontal(pl.col(k).is_not_null() for k in key))
    if not dup.height:
        return []
    problems = []
    for row in dup.select(key).unique(maintain_order=True).head(50).iter_rows():
        shown = ", ".join(f"{k}={v}" for k, v in zip(key, row, strict=True))
        problems.append(Problem(kind, None, "/".join(key), f"{shown} appears more than once"))
    return problems


def _classify(
    incoming: pl.DataFrame, stored: pl.DataFrame, key: list[str], compare: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame, int]:
    """Split incoming rows into new ones and changed ones (with the stored values as `<col>__old`)."""
    renamed = stored.rename({c: c + _OLD for c in compare}).with_columns(pl.lit(True).alias(_FOUND))
    joined = incoming.join(renamed, on=key, how="left")
    new = joined.filter(pl.col(_FOUND).is_null()).select(incoming.columns)
    matched = joined.filter(pl.col(_FOUND).is_not_null())
    changed = matched.filter(_changed_mask(compare))
    return new, changed, matched.height - changed.height


def _driver_values(df: pl.DataFrame, dialect: str) -> pl.DataFrame:
    """Instants and dates as the text the database stores or parses, formatted in bulk by polars.

    For SQLite this is exactly what SQLAlchemy's DATETIME/DATE types write (so comparisons with values
    bound through SQLAlchemy stay correct); PostgreSQL parses ISO 8601 with an explicit UTC offset.
    """
    stamp = _SQLITE_WRITE if dialect == "sqlite" else _PG_WRITE
    out = []
    for name, dtype in df.schema.items():
        if isinstance(dtype, pl.Datetime):
            out.append(pl.col(name).dt.convert_time_zone("UTC").dt.to_string(stamp))
        elif dtype == pl.Date():
            out.append(pl.col(name).dt.to_string("%Y-%m-%d"))
        else:
            out.append(pl.col(name))
    return df.select(out)


def _quoted(conn: Connection, names: Sequence[str]) -> list[str]:
    prep = conn.dialect.identifier_preparer
    return [prep.quote(n) for n in names]


def _copy_rows(conn: Connection, table_sql: str, columns: Sequence[str], df: pl.DataFrame) -> None:
    """PostgreSQL COPY ... FROM STDIN on the transaction's own connection (the fastest bulk load)."""
    dbapi = conn.connection.driver_connection
    if dbapi is None:  # pragma: no cover - a live Connection always has one
        raise RuntimeError("no database connection")
    sql = f"COPY {table_sql} ({', '.join(_quoted(conn, columns))}) FROM STDIN"
    try:
        with dbapi.cursor() as cur, cur.copy(sql) as copy:
            for row in df.iter_rows():
                copy.write_row(row)
    except conn.dialect.loaded_dbapi.IntegrityError as exc:
        raise IntegrityError(sql, None, exc) from exc


def _insert_rows(conn: Connection, table: Table, df: pl.DataFrame) -> None:
    """INSERT every row of `df` (columns named as the table's) in one bulk statement."""
    if not df.height:
        return
    dialect = conn.dialect.name
    columns = list(df.columns)
    if dialect == "postgresql":
        _copy_rows(
            conn, conn.dialect.identifier_preparer.format_table(table), columns, _driver_values(df, dialect)
        )
    elif dialect == "sqlite":
        sql = (
            f"INSERT INTO {conn.dialect.identifier_preparer.format_table(table)} "
            f"({', '.join(_quoted(conn, columns))}) VALUES ({', '.join('?' for _ in columns)})"
        )
        conn.exec_driver_sql(sql, _driver_values(df, dialect).rows())
    else:
        conn.execute(insert(table), df.to_dicts())


def _update_rows(
    conn: Connection, table: Table, pk: str, df: pl.DataFrame, columns: Sequence[str], **constants: Any
) -> None:
    """UPDATE ... SET columns, constants, version = version + 1 WHERE pk = each row's pk, in bulk."""
    if not df.height:
        return
    dialect = conn.dialect.name
    frame = df.select(*columns, *(pl.lit(v).alias(k) for k, v in constants.items()), pl.col(pk).alias("b_pk"))
    set_cols = [*columns, *constants]
    prep = conn.dialect.identifier_preparer
    table_sql = prep.format_table(table)
    if dialect == "postgresql":
        # COPY the new values into a scratch table, then one UPDATE ... FROM.
        conn.exec_driver_sql(
            f"CREATE TEMPORARY TABLE rota_update ON COMMIT DROP AS SELECT "
            f"{', '.join(_quoted(conn, set_cols))}, {prep.quote(pk)} AS b_pk FROM {table_sql} WITH NO DATA"
        )
        _copy_rows(conn, "rota_update", list(frame.columns), _driver_values(frame, dialect))
        sets = ", ".join(f"{q} = u.{q}" for q in _quoted(conn, set_cols))
        conn.exec_driver_sql(
            f"UPDATE {table_sql} SET {sets}, version = {table_sql}.version + 1 "
            f"FROM rota_update AS u WHERE {table_sql}.{prep.quote(pk)} = u.b_pk"
        )
        conn.exec_driver_sql("DROP TABLE rota_update")
    elif dialect == "sqlite":
        sets = ", ".join(f"{q} = ?" for q in _quoted(conn, set_cols))
        sql = f"UPDATE {table_sql} SET {sets}, version = version + 1 WHERE {prep.quote(pk)} = ?"
        conn.exec_driver_sql(sql, _driver_values(frame, dialect).rows())
    else:
        stmt = update(table).where(table.c[pk] == bindparam("b_pk")).values(version=table.c.version + 1)
        conn.execute(stmt, frame.to_dicts())


def _delete_rows(conn: Connection, table: Table, pk: str, ids: Sequence[Any]) -> None:
    for chunk in _chunks(ids):
        conn.execute(delete(table).where(table.c[pk].in_(list(chunk))))


def _blank_to_null(name: str) -> pl.Expr:
    text = pl.col(name).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text).alias(name)


def _prepare(rota: Rota) -> dict[str, pl.DataFrame]:
    """The frames in canonical shape, with the database's defaults filled in."""
    return {
        "responders": conform("responders", rota.responders).with_columns(
            pl.col("active").fill_null(True), _blank_to_null("agency"), _blank_to_null("email")
        ),
        "training": conform("training", rota.training),
        "shifts": conform("shifts", rota.shifts).with_columns(
            _blank_to_null("shift_id"), pl.col("kind").fill_null("oncall")
        ),
        "absences": conform("absences", rota.absences),
    }


def _check_input(frames: dict[str, pl.DataFrame], wanted: set[str], known: set[str]) -> None:
    problems: list[Problem] = []
    if "responders" in wanted:
        problems += _duplicates(frames["responders"], ["responder_id"], "responders")
    if "training" in wanted:
        problems += _duplicates(frames["training"], ["responder_id", "competency", "valid_from"], "training")
    if "shifts" in wanted:
        problems += _duplicates(frames["shifts"], ["shift_id"], "shifts")
    if "absences" in wanted:
        problems += _duplicates(frames["absences"], ["responder_id", "start", "end"], "absences")
    known_ids = pl.Series(sorted(known), dtype=pl.String())
    for kind in ("training", "shifts", "absences"):
        if kind not in wanted:
            continue
        unknown = (
            frames[kind]
            .filter(pl.col("responder_id").is_not_null() & ~pl.col("responder_id").is_in(known_ids.implode()))
            .group_by("responder_id")
            .len()
            .sort("responder_id")
        )
        for rid, n in unknown.head(50).iter_rows():
            problems.append(
                Problem(
                    kind,
                    None,
                    "responder_id",
                    f"unknown responder {rid!r} ({n} rows): neither stored nor among the imported responders",
                )
            )
    if problems:
        raise InputError(problems)


def _import_roles(conn: Connection, rota: Rota, audit: _AuditBuffer, counts: KindCounts) -> None:
    stored = set(conn.execute(select(ROLE.c.name)).scalars().all())
    extra = [r for r in dict.fromkeys(rota.roles) if r not in DEFAULT_ROLES and r not in stored]
    counts.unchanged = len([r for r in rota.roles if r in stored])
    if extra:
        conn.execute(insert(ROLE), [{"name": r} for r in extra])
        for r in extra:
            audit.add_one("role", "create", r, None, to_audit_json({"name": r}))
    counts.created = len(extra)


def _upsert(
    conn: Connection,
    audit: _AuditBuffer,
    counts: KindCounts,
    *,
    table: Table,
    entity: str,
    incoming: pl.DataFrame,
    stored: pl.DataFrame,
    key: list[str],
    compare: list[str],
    pk: str,
    entity_id: pl.Expr,
    insert_constants: Mapping[str, Any] | None = None,
    update_constants: Mapping[str, Any] | None = None,
) -> None:
    """Insert new rows, update changed ones (version + 1), leave identical ones alone; audit each change."""
    columns = list(incoming.columns)
    new, changed, unchanged = _classify(incoming, stored, key, compare)
    _insert_rows(
        conn, table, new.with_columns(pl.lit(v).alias(k) for k, v in (insert_constants or {}).items())
    )
    _update_rows(conn, table, pk, changed, compare, **(update_constants or {}))
    audit.add(_audit_frame(new, entity, "create", entity_id, columns, before_suffix=None, after_suffix=""))
    if changed.height:
        # The "before" image: the key columns as they are, the compared ones from the stored row.
        before = changed.with_columns(
            *(pl.col(c).alias(c + "__b") for c in columns if c not in compare),
            *(pl.col(c + _OLD).alias(c + "__b") for c in compare),
        )
        audit.add(
            _audit_frame(before, entity, "update", entity_id, columns, before_suffix="__b", after_suffix="")
        )
    counts.created += new.height
    counts.updated += changed.height
    counts.unchanged += unchanged


def _delete_audited(
    conn: Connection,
    audit: _AuditBuffer,
    counts: KindCounts,
    *,
    table: Table,
    entity: str,
    doomed: pl.DataFrame,
    columns: Sequence[str],
    pk: str,
    entity_id: pl.Expr,
) -> None:
    if not doomed.height:
        return
    _delete_rows(conn, table, pk, doomed.get_column(pk).to_list())
    audit.add(_audit_frame(doomed, entity, "delete", entity_id, columns, before_suffix="", after_suffix=None))
    counts.deleted += doomed.height


def _import_responders(
    conn: Connection, df: pl.DataFrame, audit: _AuditBuffer, counts: KindCounts, now: datetime
) -> None:
    ids = df.get_column("responder_id").drop_nulls().unique().to_list()
    stored = _select_frame_in(conn, RESPONDER, RESPONDERS_SCHEMA, "responder_id", ids)
    _upsert(
        conn,
        audit,
        counts,
        table=RESPONDER,
        entity="responder",
        incoming=df,
        stored=stored,
        key=["responder_id"],
        compare=["name", "role", "agency", "email", "active"],
        pk="responder_id",
        entity_id=pl.col("responder_id"),
        insert_constants={"version": 1, "updated_at": now},
        update_constants={"updated_at": now},
    )


_TRAINING_ID = pl.concat_str(
    [pl.col("responder_id"), pl.col("competency"), pl.col("valid_from").dt.to_string("%Y-%m-%d")],
    separator="/",
)
_ABSENCE_ID = pl.concat_str(
    [pl.col("responder_id"), pl.col("start").dt.to_string(_ISO_UTC), pl.col("end").dt.to_string(_ISO_UTC)],
    separator="/",
)


def _import_training(conn: Connection, df: pl.DataFrame, audit: _AuditBuffer, counts: KindCounts) -> None:
    ids = df.get_column("responder_id").drop_nulls().unique().to_list()
    schema = {"id": pl.Int64(), **TRAINING_SCHEMA}
    stored = _select_frame_in(conn, TRAINING, schema, "responder_id", ids)
    _upsert(
        conn,
        audit,
        counts,
        table=TRAINING,
        entity="training",
        incoming=df,
        stored=stored,
        key=["responder_id", "competency", "valid_from"],
        compare=["valid_until"],
        pk="id",
        entity_id=_TRAINING_ID,
        insert_constants={"version": 1},
    )


def _span(frames: Sequence[pl.DataFrame]) -> tuple[datetime, datetime, list[str]] | None:
    """[min start, max end) over the frames, and the responders in them; None when they are empty."""
    rows = [f.select("responder_id", "start", "end") for f in frames if f.height]
    if not rows:
        return None
    both = pl.concat(rows)
    lo, hi = both.get_column("start").min(), both.get_column("end").max()
    if not isinstance(lo, datetime) or not isinstance(hi, datetime):
        return None
    return lo, hi, both.get_column("responder_id").drop_nulls().unique().sort().to_list()


def _in_span(table: Table, lo: datetime, hi: datetime) -> list[ColumnElement[bool]]:
    return [table.c.start >= lo, table.c.start < hi]


def _new_ids(n: int) -> pl.Series:
    """`n` new shift ids: 32 hex digits, time-ordered (millisecond clock, then a counter) with 48 random
    bits, so that they are unique and a large import appends to the key index instead of scattering."""
    prefix = f"{time.time_ns() // 1_000_000:012x}7"
    noise = secrets.token_hex(6 * n)
    return pl.Series(
        "shift_id", [f"{prefix}{i:07x}{noise[12 * i : 12 * i + 12]}" for i in range(n)], dtype=pl.String()
    )


def _match_blank_shifts(shifts: pl.DataFrame, pool: pl.DataFrame) -> pl.DataFrame:
    """Give id-less incoming shifts the id of an identical stored shift in the replaced span.

    Re-importing the same id-less rota with --replace then keeps ids (calendar UIDs) and changes nothing.
    """
    key = ["responder_id", "start", "end"]
    blank = shifts.filter(pl.col("shift_id").is_null())
    if not blank.height or not pool.height:
        return shifts
    occ = pl.int_range(pl.len()).over(key).alias("__occ")
    blank = blank.with_columns(occ)
    pool = pool.select(*key, pl.col("shift_id").alias("__match")).with_columns(occ)
    matched = blank.join(pool, on=[*key, "__occ"], how="left").with_columns(
        pl.col("__match").alias("shift_id")
    )
    return pl.concat([shifts.filter(pl.col("shift_id").is_not_null()), matched.select(shifts.columns)])


def _import_shifts(
    conn: Connection,
    df: pl.DataFrame,
    audit: _AuditBuffer,
    counts: KindCounts,
    span: tuple[datetime, datetime, list[str]] | None,
) -> None:
    columns = list(SHIFTS_SCHEMA)
    stored_schema = dict(SHIFTS_SCHEMA)
    if span is not None:
        lo, hi, responders = span
        scope = _select_frame_in(
            conn, SHIFT, stored_schema, "responder_id", responders, where=_in_span(SHIFT, lo, hi)
        )
        explicit = df.get_column("shift_id").drop_nulls()
        df = _match_blank_shifts(df, scope.filter(~pl.col("shift_id").is_in(explicit.implode())))
        doomed = scope.filter(~pl.col("shift_id").is_in(df.get_column("shift_id").drop_nulls().implode()))
        _delete_audited(
            conn,
            audit,
            counts,
            table=SHIFT,
            entity="shift",
            doomed=doomed,
            columns=columns,
            pk="shift_id",
            entity_id=pl.col("shift_id"),
        )
    # Only shifts that came with an id can already be stored; the others are new by definition.
    ids = df.get_column("shift_id").drop_nulls().to_list()
    stored = _select_frame_in(conn, SHIFT, stored_schema, "shift_id", ids)
    blank = df.get_column("shift_id").is_null()
    if blank.any():
        filled = df.get_column("shift_id").clone().scatter(blank.arg_true(), _new_ids(int(blank.sum())))
        df = df.with_columns(filled.alias("shift_id"))
    _upsert(
        conn,
        audit,
        counts,
        table=SHIFT,
        entity="shift",
        incoming=df,
        stored=stored,
        key=["shift_id"],
        compare=["responder_id", "start", "end", "kind"],
        pk="shift_id",
        entity_id=pl.col("shift_id"),
        insert_constants={"version": 1},
    )


def _import_absences(
    conn: Connection,
    df: pl.DataFrame,
    audit: _AuditBuffer,
    counts: KindCounts,
    span: tuple[datetime, datetime, list[str]] | None,
) -> None:
    key = ["responder_id", "start", "end"]
    columns = list(ABSENCES_SCHEMA)
    schema = {"id": pl.Int64(), **ABSENCES_SCHEMA}
    if span is not None:
        lo, hi, responders = span
        scope = _select_frame_in(
            conn, ABSENCE, schema, "responder_id", responders, where=_in_span(ABSENCE, lo, hi)
        )
        doomed = scope.join(df.select(key), on=key, how="anti")
        _delete_audited(
            conn,
            audit,
            counts,
            table=ABSENCE,
            entity="absence",
            doomed=doomed,
            columns=columns,
            pk="id",
            entity_id=_ABSENCE_ID,
        )
    if not df.height:
        return
    lo_in, hi_in = df.get_column("start").min(), df.get_column("start").max()
    where = [ABSENCE.c.start >= lo_in, ABSENCE.c.start <= hi_in] if isinstance(lo_in, datetime) else []
    ids = df.get_column("responder_id").drop_nulls().unique().to_list()
    stored = _select_frame_in(conn, ABSENCE, schema, "responder_id", ids, where=where)
    _upsert(
        conn,
        audit,
        counts,
        table=ABSENCE,
        entity="absence",
        incoming=df,
        stored=stored,
        key=key,
        compare=["reason"],
        pk="id",
        entity_id=_ABSENCE_ID,
        insert_constants={"version": 1},
    )


def _rule_row(rule: Rule, position: int) -> dict[str, Any]:
    return {
        "rule_id": rule.id,
        "role": rule.role,
        "min_count": rule.min_count,
        "competencies": list(rule.competencies),
        "age_band": rule.age_band,
        "windows": [w.text for w in rule.windows],
        "position": position,
    }


def _import_rules(conn: Connection, rules: Sequence[Rule], audit: _AuditBuffer, counts: KindCounts) -> None:
    """Replace the stored rules with `rules`, in their order."""
    ids = [r.id for r in rules]
    dups = sorted({i for i in ids if ids.count(i) > 1})
    if dups:
        raise InputError(
            [Problem("rules", None, "id", f"rule id {d!r} appears more than once") for d in dups]
        )
    fields = ["rule_id", "role", "min_count", "competencies", "age_band", "windows", "position"]
    stored = {
        r.rule_id: {
            f: (list(getattr(r, f)) if f in ("competencies", "windows") else getattr(r, f)) for f in fields
        }
        for r in conn.execute(select(COVERAGE_RULE)).all()
    }
    wanted = {r.id: _rule_row(r, i) for i, r in enumerate(rules)}
    for rid in [rid for rid in stored if rid not in wanted]:
        conn.execute(delete(COVERAGE_RULE).where(COVERAGE_RULE.c.rule_id == rid))
        audit.add_one("coverage_rule", "delete", rid, to_audit_json(stored[rid]), None)
        counts.deleted += 1
    for rid, row in wanted.items():
        old = stored.get(rid)
        if old is None:
            conn.execute(insert(COVERAGE_RULE).values(version=1, **row))
            audit.add_one("coverage_rule", "create", rid, None, to_audit_json(row))
            counts.created += 1
        elif old != row:
            values = {k: v for k, v in row.items() if k != "rule_id"}
            conn.execute(
                update(COVERAGE_RULE)
                .where(COVERAGE_RULE.c.rule_id == rid)
                .values(version=COVERAGE_RULE.c.version + 1, **values)
            )
            audit.add_one("coverage_rule", "update", rid, to_audit_json(old), to_audit_json(row))
            counts.updated += 1
        else:
            counts.unchanged += 1


def _integrity_message(exc: IntegrityError) -> str:
    detail = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
    low = detail.lower()
    if "foreign key" in low:
        why = "a row names a responder who is not stored"
    elif "check" in low:
        why = "a value is out of range (for example an end not after its start, or an unknown shift kind)"
    elif "unique" in low or "duplicate" in low:
        why = "two rows have the same key"
    elif "null" in low:
        why = "a required value is missing"
    else:
        why = "a row breaks a database rule"
    return f"the database refused the import, so nothing was stored: {why} ({detail})"


def import_rota(
    engine: Engine,
    rota: Rota,
    *,
    actor: str,
    replace: bool = False,
    kinds: set[str] | None = None,
    source: str = "import",
) -> ImportSummary:
    """Store `rota` in one all-or-nothing transaction and return what changed.

    Responders are matched by responder_id, training by (responder_id, competency, valid_from), shifts by
    shift_id (blank = new, given a new id) and absences by (responder_id, start, end). Identical rows are left
    alone and not audited. Non-empty `rota.rules` replace the stored rules; extra roles are added.
    `replace=True` first removes the stored shifts and absences of the responders in the imported shifts
    and absences that start within their time span [earliest start, latest end); an id-less shift that
    is identical to one of them keeps that one's id. `kinds` limits the import to some of
    roles, responders, training, shifts, absences and rules (default: all).
    Raises InputError (nothing stored) for duplicate keys, unknown responders or a row the database refuses.
    """
    summary, _ = import_rota_and_cases(
        engine, rota, None, actor=actor, replace=replace, kinds=kinds, source=source
    )
    assert summary is not None
    return summary


def import_rota_and_cases(
    engine: Engine,
    rota: Rota | None,
    cases: pl.DataFrame | None,
    *,
    actor: str,
    replace: bool = False,
    kinds: set[str] | None = None,
    source: str = "import",
    cases_source: str | None = None,
    check: Callable[[Connection], None] | None = None,
) -> tuple[ImportSummary | None, KindCounts | None]:
    """Store a rota (as `import_rota`) and cases (as `import_cases`) in ONE transaction: both or neither.

    `check(conn)` runs first inside the write transaction (on SQLite it holds the write lock): the import
    service re-checks permissions there, so nothing can change between the check and the write; it raises
    to store nothing."""
    if not actor or not actor.strip():
        raise ValueError("an import needs the actor (who is importing) for the audit log")
    wanted = set(IMPORT_KINDS) if kinds is None else set(kinds)
    unknown_kinds = sorted(wanted - set(IMPORT_KINDS))
    if unknown_kinds:
        raise InputError(f"unknown kind(s) {', '.join(unknown_kinds)}; use {', '.join(IMPORT_KINDS)}")
    frames = _prepare(rota) if rota is not None else None
    case_frame = _prepare_cases(cases) if cases is not None else None
    summary = ImportSummary() if rota is not None else None
    counts = KindCounts() if cases is not None else None
    audit = _AuditBuffer()
    now = utc_now()
    try:
        with write_transaction(engine) as conn:
            if check is not None:
                check(conn)
            if rota is not None and frames is not None and summary is not None:
                _store_rota(conn, rota, frames, wanted, replace, source, audit, summary, now)
            if case_frame is not None and counts is not None:
                _store_cases(conn, case_frame, replace, cases_source or source, audit, counts, now)
            audit.write(conn, actor.strip(), now)
    except IntegrityError as exc:
        raise InputError(_integrity_message(exc)) from exc
    return summary, counts


def _store_rota(
    conn: Connection,
    rota: Rota,
    frames: dict[str, pl.DataFrame],
    wanted: set[str],
    replace: bool,
    source: str,
    audit: _AuditBuffer,
    summary: ImportSummary,
    now: datetime,
) -> None:
    known = set(conn.execute(select(RESPONDER.c.responder_id)).scalars().all())
    if "responders" in wanted:
        known.update(frames["responders"].get_column("responder_id").drop_nulls().to_list())
    _check_input(frames, wanted, known)
    if "roles" in wanted:
        _import_roles(conn, rota, audit, summary["roles"])
    if "responders" in wanted and frames["responders"].height:
        _import_responders(conn, frames["responders"], audit, summary["responders"], now)
    if "training" in wanted and frames["training"].height:
        _import_training(conn, frames["training"], audit, summary["training"])
    replaced = [frames[k] for k in ("shifts", "absences") if k in wanted]
    span = _span(replaced) if replace else None
    if "shifts" in wanted and (frames["shifts"].height or span is not None):
        _import_shifts(conn, frames["shifts"], audit, summary["shifts"], span)
    if "absences" in wanted and (frames["absences"].height or span is not None):
        _import_absences(conn, frames["absences"], audit, summary["absences"], span)
    if "rules" in wanted and rota.rules:
        _import_rules(conn, rota.rules, audit, summary["rules"])
    if summary.changes:
        audit.add_one(
            "rota",
            "import",
            source,
            None,
            to_audit_json({"replace": replace, "kinds": sorted(wanted), "summary": summary.as_dict()}),
        )


def reset_rota(engine: Engine, *, actor: str) -> ImportSummary:
    """Delete the whole stored rota (responders, training, shifts, absences, rules, extra roles), audited.

    The audit log itself is kept: it is append-only. Cases and settings are not part of the rota and stay
    (`reset_cases` deletes the cases). Used before loading the demo data afresh.
    """
    if not actor or not actor.strip():
        raise ValueError("reset_rota needs the actor (who is deleting) for the audit log")
    summary = ImportSummary()
    audit = _AuditBuffer()
    with write_transaction(engine) as conn:
        parts: list[tuple[str, Table, str, Mapping[str, pl.DataType], pl.Expr]] = [
            ("shifts", SHIFT, "shift", SHIFTS_SCHEMA, pl.col("shift_id")),
            ("absences", ABSENCE, "absence", ABSENCES_SCHEMA, _ABSENCE_ID),
            ("training", TRAINING, "training", TRAINING_SCHEMA, _TRAINING_ID),
            ("responders", RESPONDER, "responder", RESPONDERS_SCHEMA, pl.col("responder_id")),
        ]
        for kind, table, entity, schema, entity_id in parts:
            rows = _select_frame(conn, table, schema)
            if rows.height:
                conn.execute(delete(table))
                audit.add(
                    _audit_frame(
                        rows, entity, "delete", entity_id, list(schema), before_suffix="", after_suffix=None
                    )
                )
                summary[kind].deleted = rows.height
            if kind == "training":  # rules and roles name no responder, but go before them for a tidy log
                _import_rules(conn, (), audit, summary["rules"])
                for name in conn.execute(select(ROLE.c.name)).scalars().all():
                    audit.add_one("role", "delete", name, to_audit_json({"name": name}), None)
                    summary["roles"].deleted += 1
                conn.execute(delete(ROLE))
        if summary.changes:
            audit.add_one("rota", "delete", "all", None, to_audit_json({"summary": summary.as_dict()}))
        audit.write(conn, actor.strip(), utc_now())
    return summary


# ---------------------------------------------------------------------------------------- cases, settings
# CDOP cases (SPEC section 6) are kept apart from the rota: `reset_rota` leaves them alone, and they are
# imported, replaced and reset on their own. Each case is audited as entity "case" (entity_id = case_id).

CASE_KEY = "case_id"
_CASE_COMPARE: tuple[str, ...] = tuple(c for c in CASES_SCHEMA if c != CASE_KEY)
_CASE_REQUIRED: tuple[str, ...] = ("case_id", "notified_at", "age_years", "jar_criteria_met", "jar_triggered")


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
        return _select_frame(conn, CASE_RECORD, CASES_SCHEMA, where=where, order_by=["notified_at", CASE_KEY])


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
    missing = [c for c in _CASE_REQUIRED if c not in cases.columns]
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
            exprs.append(_blank_to_null(name).cast(dtype))
        else:
            exprs.append(pl.col(name).cast(dtype).alias(name))
    df = cases.select(exprs)
    problems: list[Problem] = []
    for name in _CASE_REQUIRED:
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
    problems += _duplicates(df, [CASE_KEY], "cases")
    if problems:
        raise InputError(problems)
    return with_reason_category(df)  # always stored, so commissioners' counts never need the free text


def import_cases(
    engine: Engine,
    cases: pl.DataFrame,
    *,
    actor: str,
    source: str | None = None,
    replace: bool = False,
) -> KindCounts:
    """Store `cases` (columns of CASES_SCHEMA) in one all-or-nothing transaction; return what changed.

    Cases are matched by case_id: a new id is added, a stored one updated when any value differs (version
    + 1), identical ones are left alone and counted as unchanged. `replace=True` makes the stored cases
    exactly these: every stored case not among them is deleted first. Each case added, changed or deleted
    is written to the audit log (entity "case"), with one summary entry (entity "cases", action "import").
    Raises InputError (nothing stored) for blank required values, ages out of range or duplicate ids.
    """
    _, counts = import_rota_and_cases(
        engine, None, cases, actor=actor, replace=replace, cases_source=source or "import"
    )
    assert counts is not None
    return counts


def _store_cases(
    conn: Connection,
    df: pl.DataFrame,
    replace: bool,
    source: str,
    audit: _AuditBuffer,
    counts: KindCounts,
    now: datetime,
) -> None:
    columns = list(CASES_SCHEMA)
    if replace:
        stored = _select_frame(conn, CASE_RECORD, CASES_SCHEMA)
        doomed = stored.join(df.select(CASE_KEY), on=CASE_KEY, how="anti")
        _delete_audited(
            conn,
            audit,
            counts,
            table=CASE_RECORD,
            entity="case",
            doomed=doomed,
            columns=columns,
            pk=CASE_KEY,
            entity_id=pl.col(CASE_KEY),
        )
        stored = stored.join(doomed.select(CASE_KEY), on=CASE_KEY, how="anti")
    else:
        stored = _select_frame_in(
            conn, CASE_RECORD, CASES_SCHEMA, CASE_KEY, df.get_column(CASE_KEY).to_list()
        )
    _upsert(
        conn,
        audit,
        counts,
        table=CASE_RECORD,
        entity="case",
        incoming=df,
        stored=stored,
        key=[CASE_KEY],
        compare=list(_CASE_COMPARE),
        pk=CASE_KEY,
        entity_id=pl.col(CASE_KEY),
        insert_constants={"version": 1, "updated_at": now},
        update_constants={"updated_at": now},
    )
    if counts.changes:
        summary = {
            "created": counts.created,
            "updated": counts.updated,
            "deleted": counts.deleted,
            "unchanged": counts.unchanged,
        }
        audit.add_one(
            "cases",
            "import",
            source or "import",
            None,
            to_audit_json({"replace": replace, "summary": summary}),
        )


def reset_cases(engine: Engine, *, actor: str) -> KindCounts:
    """Delete every stored case, each one audited (the audit log itself is kept)."""
    if not actor or not actor.strip():
        raise ValueError("reset_cases needs the actor (who is deleting) for the audit log")
    counts = KindCounts()
    audit = _AuditBuffer()
    with write_transaction(engine) as conn:
        stored = _select_frame(conn, CASE_RECORD, CASES_SCHEMA)
        if stored.height:
            conn.execute(delete(CASE_RECORD))
            audit.add(
                _audit_frame(
                    stored,
                    "case",
                    "delete",
                    pl.col(CASE_KEY),
                    list(CASES_SCHEMA),
                    before_suffix="",
                    after_suffix=None,
                )
            )
            counts.deleted = stored.height
            audit.add_one("cases", "delete", "all", None, to_audit_json({"deleted": stored.height}))
        audit.write(conn, actor.strip(), utc_now())
    return counts


def read_settings(engine: Engine) -> dict[str, str]:
    """Every stored product setting, key -> value (for example `child_population` -> "380000")."""
    with engine.connect() as conn:
        rows = conn.execute(select(SETTING.c.key, SETTING.c.value).order_by(SETTING.c.key)).all()
    return {str(k): str(v) for k, v in rows}


def write_setting(engine: Engine, key: str, value: str | None, *, actor: str) -> None:
    """Store one setting (None deletes it), audited as entity "setting"; an unchanged value writes nothing."""
    if not actor or not actor.strip():
        raise ValueError("write_setting needs the actor (who is changing it) for the audit log")
    key = key.strip() if isinstance(key, str) else ""
    if not key:
        raise InputError(Problem("setting", None, "key", "a setting needs a name"))
    with write_transaction(engine) as conn:
        old = conn.execute(select(SETTING.c.value).where(SETTING.c.key == key)).scalar_one_or_none()
        now = utc_now()
        if value is None:
            if old is None:
                return
            conn.execute(delete(SETTING).where(SETTING.c.key == key))
            record_audit(conn, actor.strip(), "delete", "setting", key, {"key": key, "value": old}, None)
        elif old is None:
            conn.execute(insert(SETTING).values(key=key, value=value, updated_at=now))
            record_audit(conn, actor.strip(), "create", "setting", key, None, {"key": key, "value": value})
        elif old != value:
            conn.execute(update(SETTING).where(SETTING.c.key == key).values(value=value, updated_at=now))
            record_audit(
                conn,
                actor.strip(),
                "update",
                "setting",
                key,
                {"key": key, "value": old},
                {"key": key, "value": value},
            )


# ------------------------------------------------------------------------------------- people, rules, audit


RESPONDER_ROWS_SCHEMA: dict[str, pl.DataType] = {**RESPONDERS_SCHEMA, "version": pl.Int64()}
TRAINING_ROWS_SCHEMA: dict[str, pl.DataType] = {"id": pl.Int64(), **TRAINING_SCHEMA, "version": pl.Int64()}


def responder_rows(engine: Engine) -> pl.DataFrame:
    """Every stored responder with its `version` (for optimistic edits), by responder_id."""
    with engine.connect() as conn:
        return _select_frame(conn, RESPONDER, RESPONDER_ROWS_SCHEMA, order_by=["responder_id"])


def training_rows(engine: Engine, responder_id: str | None = None) -> pl.DataFrame:
    """Training records with their database `id` and `version`: of one responder, or all of them."""
    where = [TRAINING.c.responder_id == responder_id] if responder_id is not None else []
    with engine.connect() as conn:
        return _select_frame(
            conn,
            TRAINING,
            TRAINING_ROWS_SCHEMA,
            where=where,
            order_by=["responder_id", "competency", "valid_from"],
        )


def data_version(engine: Engine) -> int:
    """A number that goes up whenever stored data changes (every change is audited): the newest audit id
    of a change. Audited reads (action "read") change nothing, so they leave it alone: otherwise every read
    of the case list would make the pages work everything out again, and read (and audit) again.

    Dashboard pages key their caches on it. Newest first by primary key, so the scan stops at the first
    change (reads are few between changes).
    """
    query = (
        select(AUDIT_LOG.c.id).where(AUDIT_LOG.c.action != "read").order_by(AUDIT_LOG.c.id.desc()).limit(1)
    )
    with engine.connect() as conn:
        return int(conn.execute(query).scalar() or 0)


def search_audit(
    engine: Engine,
    *,
    actor: str | None = None,
    entity: str | None = None,
    action: str | None = None,
    entity_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int | None = 500,
) -> pl.DataFrame:
    """Audit entries matching every filter given, newest first (columns as `audit_entries`).

    actor, entity and action match exactly; entity_id matches when it contains the text (any case);
    `at` must lie in [since, until).
    """
    where: list[ColumnElement[bool]] = []
    for col, value in (("actor", actor), ("entity", entity), ("action", action)):
        if value is not None:
            where.append(AUDIT_LOG.c[col] == value)
    if entity_id:
        where.append(func.lower(AUDIT_LOG.c.entity_id).contains(entity_id.lower(), autoescape=True))
    for bound in (since, until):
        if bound is not None and bound.tzinfo is None:
            raise ValueError("search_audit needs aware datetimes")
    if since is not None:
        where.append(AUDIT_LOG.c.at >= since)
    if until is not None:
        where.append(AUDIT_LOG.c.at < until)
    with engine.connect() as conn:
        return _select_audit(conn, where, limit)


def _select_audit(conn: Connection, where: list[ColumnElement[bool]], limit: int | None) -> pl.DataFrame:
    dialect = conn.dialect.name
    cols = [
        _instant_column(AUDIT_LOG.c.at, dialect).label("at") if name == "at" else AUDIT_LOG.c[name]
        for name in AUDIT_SCHEMA
    ]
    stmt = select(*cols).where(*where).order_by(AUDIT_LOG.c.id.desc())
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = conn.execute(stmt).all()
    raw = {
        name: (_raw_instant_dtype(dialect) if name == "at" else dtype) for name, dtype in AUDIT_SCHEMA.items()
    }
    return pl.DataFrame(rows, schema=raw, orient="row").with_columns(_instant_to_utc("at", dialect))


def audit_facets(engine: Engine) -> dict[str, list[str]]:
    """The distinct actors, entities and actions in the audit log, sorted (for filter choices)."""
    with engine.connect() as conn:
        return {
            col: sorted(str(v) for v in conn.execute(select(AUDIT_LOG.c[col]).distinct()).scalars().all())
            for col in ("actor", "entity", "action")
        }


def rule_versions(engine: Engine) -> dict[str, int]:
    """rule_id -> version of every stored coverage rule (empty: the default rules are in force)."""
    with engine.connect() as conn:
        rows = conn.execute(select(COVERAGE_RULE.c.rule_id, COVERAGE_RULE.c.version)).all()
    return {str(rid): int(version) for rid, version in rows}


def replace_rules(
    engine: Engine,
    rules: Sequence[Rule],
    *,
    actor: str,
    expected_versions: Mapping[str, int] | None = None,
) -> KindCounts:
    """Store `rules` (in their order) in place of the stored ones, auditing each rule created, changed or
    removed. With `expected_versions` (rule_id -> version as read), raise ConflictError and store nothing
    when the stored rules are no longer exactly those."""
    from rota.errors import ConflictError

    if not actor or not actor.strip():
        raise ValueError("replace_rules needs the actor (who is changing the rules) for the audit log")
    counts = KindCounts()
    audit = _AuditBuffer()
    with write_transaction(engine) as conn:
        if expected_versions is not None:
            rows = conn.execute(select(COVERAGE_RULE.c.rule_id, COVERAGE_RULE.c.version)).all()
            stored = {str(rid): int(version) for rid, version in rows}
            if stored != dict(expected_versions):
                raise ConflictError(
                    "the coverage rules were changed by someone else since you opened them; "
                    "reload the page to see their change, then edit again"
                )
        _import_rules(conn, rules, audit, counts)
        audit.write(conn, actor.strip(), utc_now())
    return counts


# ---------------------------------------------------------------------------------------------- single rows
# Versioned single-row changes for editors (optimistic locking): each update or delete names the version
# the row was read at, and touches nothing when the stored version has moved on since.

VERSIONED_TABLES: dict[str, tuple[Table, str]] = {
    "responder": (RESPONDER, "responder_id"),
    "training": (TRAINING, "id"),
    "shift": (SHIFT, "shift_id"),
    "absence": (ABSENCE, "id"),
}
VERSIONED_SHIFTS_SCHEMA: dict[str, pl.DataType] = {**SHIFTS_SCHEMA, "version": pl.Int64()}
VERSIONED_ABSENCES_SCHEMA: dict[str, pl.DataType] = {
    "id": pl.Int64(),
    **ABSENCES_SCHEMA,
    "version": pl.Int64(),
}


def _versioned(entity: str) -> tuple[Table, str]:
    try:
        return VERSIONED_TABLES[entity]
    except KeyError:
        raise ValueError(f"no versioned table for {entity!r}") from None


def new_shift_id() -> str:
    """A new shift id in the same form as an import's (time-ordered, 32 hex digits)."""
    value: str = _new_ids(1)[0]
    return value


def versioned_rows(
    conn: Connection,
    entity: str,
    *,
    keys: Sequence[Any] | None = None,
    responder_ids: Sequence[str] | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> pl.DataFrame:
    """Shifts or absences with their primary key and `version`, by key or by responder and overlap.

    Shifts: shift_id, responder_id, start, end, kind, version. Absences: id, responder_id, start, end,
    reason, version. `start`/`end` keep the rows overlapping [start, end).
    """
    if entity not in ("shift", "absence"):
        raise ValueError("versioned_rows reads shifts or absences")
    table, pk = _versioned(entity)
    schema = VERSIONED_SHIFTS_SCHEMA if entity == "shift" else VERSIONED_ABSENCES_SCHEMA
    where = _overlap(table, start, end)
    if keys is not None:
        frame = _select_frame_in(conn, table, schema, pk, list(keys), where=where)
    elif responder_ids is not None:
        frame = _select_frame_in(conn, table, schema, "responder_id", list(responder_ids), where=where)
    else:
        frame = _select_frame(conn, table, schema, where=where)
    return frame.sort("start", "responder_id", pk)


def responder_agencies(conn: Connection, responder_ids: Sequence[str]) -> dict[str, str | None]:
    """The stored agency of each of these responders (responders not stored are left out)."""
    if not responder_ids:
        return {}
    rows = _select_frame_in(
        conn, RESPONDER, {"responder_id": pl.String(), "agency": pl.String()}, "responder_id", responder_ids
    )
    return dict(rows.iter_rows())


def agency_names(engine: Engine) -> list[str]:
    """The distinct agencies of the stored responders, sorted (responders without one are left out)."""
    with engine.connect() as conn:
        stmt = select(RESPONDER.c.agency).where(RESPONDER.c.agency.is_not(None)).distinct()
        return sorted(a for a in conn.execute(stmt).scalars().all() if a)


def insert_versioned(conn: Connection, entity: str, values: Mapping[str, Any]) -> Any:
    """Insert one row at version 1 and return its primary key."""
    table, pk = _versioned(entity)
    result = conn.execute(insert(table).values(**values, version=1).returning(table.c[pk]))
    return result.scalar_one()


def update_versioned(
    conn: Connection, entity: str, key: Any, version: int, values: Mapping[str, Any]
) -> bool:
    """UPDATE ... SET values, version = version + 1 WHERE pk = key AND version = version.

    False (nothing changed) when the row is gone or its version has moved on.
    """
    table, pk = _versioned(entity)
    stmt = (
        update(table)
        .where(table.c[pk] == key, table.c.version == version)
        .values(**values, version=table.c.version + 1)
    )
    return conn.execute(stmt).rowcount == 1


def delete_versioned(conn: Connection, entity: str, key: Any, version: int) -> bool:
    """DELETE ... WHERE pk = key AND version = version; False when the row is gone or has changed."""
    table, pk = _versioned(entity)
    return conn.execute(delete(table).where(table.c[pk] == key, table.c.version == version)).rowcount == 1


def stored_rules(source: Engine | Connection) -> tuple[tuple[Rule, ...], tuple[str, ...]]:
    """The stored coverage rules in order (empty: the defaults apply) and the roles (defaults first);
    from an engine, or inside a caller's transaction."""
    with connected(source) as conn:
        rule_rows = conn.execute(select(COVERAGE_RULE).order_by(COVERAGE_RULE.c.position)).all()
        extra_roles = conn.execute(select(ROLE.c.name).order_by(ROLE.c.name)).scalars().all()
    roles = DEFAULT_ROLES + tuple(r for r in extra_roles if r not in DEFAULT_ROLES)
    return _rules_from_rows(rule_rows), roles


def held_competencies(engine: Engine) -> list[str]:
    """The distinct competencies in the stored training records, sorted."""
    with engine.connect() as conn:
        return sorted(str(c) for c in conn.execute(select(TRAINING.c.competency).distinct()).scalars().all())
