"""Bulk frame I/O on SQLAlchemy core: rows in and out as polars frames (COPY on PostgreSQL, executemany on
SQLite, instants converted in bulk), shared by the storage modules (docs/performance.md)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
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
from sqlalchemy.sql.elements import ColumnElement

from rota.model import UTC_US

_IN_CHUNK = 5_000  # keys per IN (...) list: well under SQLite's and PostgreSQL's parameter limits
ISO_UTC = "%Y-%m-%dT%H:%M:%S%:z"
_SQLITE_STORED = "%Y-%m-%d %H:%M:%S%.f"  # how SQLAlchemy writes DATETIME into SQLite ...
_SQLITE_WRITE = "%Y-%m-%d %H:%M:%S%.6f"  # ... always with six decimals, so text order = time order
_PG_WRITE = "%Y-%m-%dT%H:%M:%S%.6f+00:00"

T = TypeVar("T")


def chunks(values: Sequence[T], size: int = _IN_CHUNK) -> Iterator[Sequence[T]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]


def instant_column(col: ColumnElement[Any], dialect: str) -> ColumnElement[Any]:
    """Select an instant in a form polars converts in bulk (no Python datetime per value)."""
    if dialect == "sqlite":
        return type_coerce(col, String)
    if dialect == "postgresql":
        return cast(func.floor(extract("epoch", col) * 1_000_000), BigInteger)
    return col


def raw_instant_dtype(dialect: str) -> pl.DataType:
    if dialect == "sqlite":
        return pl.String()
    if dialect == "postgresql":
        return pl.Int64()
    return UTC_US


def instant_to_utc(name: str, dialect: str) -> pl.Expr:
    if dialect == "sqlite":
        return pl.col(name).str.to_datetime(_SQLITE_STORED, time_unit="us", time_zone="UTC")
    if dialect == "postgresql":
        return pl.from_epoch(pl.col(name), time_unit="us").dt.replace_time_zone("UTC")
    return pl.col(name).cast(UTC_US)


def select_frame(
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
        instant_column(table.c[name], dialect).label(name) if name in instants else table.c[name]
        for name in schema
    ]
    stmt: Select[Any] = select(*cols)
    for cond in where:
        stmt = stmt.where(cond)
    if order_by:
        stmt = stmt.order_by(*(table.c[name] for name in order_by))
    result = conn.execute(stmt)
    if all(_unprocessed(c, conn) for c in stmt.selected_columns):
        # Plain tuples straight from the driver: SQLAlchemy would only wrap each value unchanged, and
        # building half a million Row objects (and polars reading them) is most of a national-size load.
        rows: Sequence[Any] = result.cursor.fetchall()
        result.close()
    else:
        rows = result.all()
    raw = {
        name: (raw_instant_dtype(dialect) if name in instants else dtype) for name, dtype in schema.items()
    }
    df = pl.DataFrame(rows, schema=raw, orient="row")
    if instants:
        df = df.with_columns(instant_to_utc(name, dialect) for name in instants)
    return df


def _unprocessed(column: ColumnElement[Any], conn: Connection) -> bool:
    """Whether the driver's value of `column` is what SQLAlchemy returns (no result processor)."""
    return column.type.dialect_impl(conn.dialect).result_processor(conn.dialect, None) is None


def select_frame_in(
    conn: Connection,
    table: Table,
    schema: Mapping[str, pl.DataType],
    key: str,
    values: Sequence[Any],
    *,
    where: Sequence[ColumnElement[bool]] = (),
) -> pl.DataFrame:
    """Like `select_frame`, for rows whose `key` is among `values` (in chunks; one array on PostgreSQL)."""
    if conn.dialect.name == "postgresql":
        # key = ANY(array): one parameter instead of thousands to render and parse.
        keys = bindparam("keys", value=list(values), type_=ARRAY(table.c[key].type))
        return select_frame(conn, table, schema, where=[table.c[key] == any_(keys), *where])
    frames = [
        select_frame(conn, table, schema, where=[table.c[key].in_(list(chunk)), *where])
        for chunk in chunks(values)
    ]
    return pl.concat(frames) if frames else pl.DataFrame(schema=dict(schema))


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


def insert_rows(conn: Connection, table: Table, df: pl.DataFrame) -> None:
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


def update_rows(
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


def delete_rows(conn: Connection, table: Table, pk: str, ids: Sequence[Any]) -> None:
    for chunk in chunks(ids):
        conn.execute(delete(table).where(table.c[pk].in_(list(chunk))))


def blank_to_null(name: str) -> pl.Expr:
    text = pl.col(name).str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text).alias(name)


def overlap(table: Table, start: datetime | None, end: datetime | None) -> list[ColumnElement[bool]]:
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
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction that sees one consistent state of every table."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":  # READ COMMITTED would give each SELECT its own snapshot
            conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn
