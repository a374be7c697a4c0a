"""The rota in the database: loads into `rota.model` frames, the rota part of an import, and reset."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import polars as pl
from sqlalchemy import Connection, Engine, Table, delete, insert, select
from sqlalchemy.sql.elements import ColumnElement

from rota.errors import InputError, Problem
from rota.model import ABSENCES_SCHEMA, RESPONDERS_SCHEMA, SHIFTS_SCHEMA, TRAINING_SCHEMA, Rota, conform
from rota.rules import DEFAULT_ROLES
from rota.storage.audit import AuditBuffer, to_audit_json
from rota.storage.changes import Audited, KindCounts, clear_audited, delete_audited, duplicates, upsert
from rota.storage.db import write_transaction
from rota.storage.frames import ISO_UTC, blank_to_null, overlap, select_frame, select_frame_in, snapshot
from rota.storage.models import ABSENCE, COVERAGE_RULE, RESPONDER, ROLE, SHIFT, TRAINING
from rota.storage.people import TRAINING_ID
from rota.storage.rules import import_rules, rules_from_rows
from rota.storage.versioned import new_shift_ids
from rota.timeutil import utc_now
from rota.vocab import DEFAULT_SHIFT_KIND, AuditAction

IMPORT_KINDS: tuple[str, ...] = ("roles", "responders", "training", "shifts", "absences", "rules")


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
        return {kind: c.as_dict() for kind, c in self.kinds.items()}

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


def load_rota(engine: Engine, start: datetime | None = None, end: datetime | None = None) -> Rota:
    """The stored rota as frames; with `start`/`end`, only shifts and absences overlapping [start, end).

    Rules come in their stored order (none stored = `rules=()`, meaning the defaults); roles are the
    default roles followed by the configured ones.
    """
    for bound in (start, end):
        if bound is not None and bound.tzinfo is None:
            raise ValueError("load_rota needs aware datetimes for start and end")
    with snapshot(engine) as conn:
        responders = select_frame(conn, RESPONDER, RESPONDERS_SCHEMA, order_by=["responder_id"])
        training = select_frame(
            conn, TRAINING, TRAINING_SCHEMA, order_by=["responder_id", "competency", "valid_from"]
        )
        shifts, absences = (
            select_frame(conn, table, schema, where=overlap(table, start, end), order_by=order)
            for table, schema, order in (
                (SHIFT, SHIFTS_SCHEMA, ["start", "responder_id", "shift_id"]),
                (ABSENCE, ABSENCES_SCHEMA, ["start", "responder_id", "end"]),
            )
        )
        rule_rows = conn.execute(select(COVERAGE_RULE).order_by(COVERAGE_RULE.c.position)).all()
        extra_roles = conn.execute(select(ROLE.c.name).order_by(ROLE.c.name)).scalars().all()
    roles = DEFAULT_ROLES + tuple(r for r in extra_roles if r not in DEFAULT_ROLES)
    return Rota(
        responders=responders,
        training=training,
        shifts=shifts,
        absences=absences,
        rules=rules_from_rows(rule_rows),
        roles=roles,
    )


def _prepare(rota: Rota) -> dict[str, pl.DataFrame]:
    """The frames in canonical shape, with the database's defaults filled in."""
    return {
        "responders": conform("responders", rota.responders).with_columns(
            pl.col("active").fill_null(True),
            blank_to_null("agency"),
            blank_to_null("email"),
            blank_to_null("phone"),
        ),
        "training": conform("training", rota.training),
        "shifts": conform("shifts", rota.shifts).with_columns(
            blank_to_null("shift_id"), pl.col("kind").fill_null(DEFAULT_SHIFT_KIND.value)
        ),
        "absences": conform("absences", rota.absences),
    }


def _check_input(frames: dict[str, pl.DataFrame], wanted: set[str], known: set[str]) -> None:
    problems: list[Problem] = []
    if "responders" in wanted:
        problems += duplicates(frames["responders"], ["responder_id"], "responders")
    if "training" in wanted:
        problems += duplicates(frames["training"], ["responder_id", "competency", "valid_from"], "training")
    if "shifts" in wanted:
        problems += duplicates(frames["shifts"], ["shift_id"], "shifts")
    if "absences" in wanted:
        problems += duplicates(frames["absences"], ["responder_id", "start", "end"], "absences")
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


def _import_roles(conn: Connection, rota: Rota, audit: AuditBuffer, counts: KindCounts) -> None:
    stored = set(conn.execute(select(ROLE.c.name)).scalars().all())
    extra = [r for r in dict.fromkeys(rota.roles) if r not in DEFAULT_ROLES and r not in stored]
    counts.unchanged = len([r for r in rota.roles if r in stored])
    if extra:
        conn.execute(insert(ROLE), [{"name": r} for r in extra])
        for r in extra:
            audit.add_one("role", AuditAction.CREATE.value, r, None, to_audit_json({"name": r}))
    counts.created = len(extra)


def _import_responders(
    conn: Connection, df: pl.DataFrame, audit: AuditBuffer, counts: KindCounts, now: datetime
) -> None:
    ids = df.get_column("responder_id").drop_nulls().unique().to_list()
    stored = select_frame_in(conn, RESPONDER, RESPONDERS_SCHEMA, "responder_id", ids)
    upsert(
        conn,
        audit,
        counts,
        _RESPONDERS,
        df,
        stored,
        key=["responder_id"],
        compare=["name", "role", "agency", "email", "phone", "active"],
        insert_constants={"updated_at": now},
        update_constants={"updated_at": now},
    )


_ABSENCE_ID = pl.concat_str(
    [pl.col("responder_id"), pl.col("start").dt.to_string(ISO_UTC), pl.col("end").dt.to_string(ISO_UTC)],
    separator="/",
)
_RESPONDERS = Audited(RESPONDER, "responder", "responder_id", pl.col("responder_id"))
_TRAINING = Audited(TRAINING, "training", "id", TRAINING_ID)
_SHIFTS = Audited(SHIFT, "shift", "shift_id", pl.col("shift_id"))
_ABSENCES = Audited(ABSENCE, "absence", "id", _ABSENCE_ID)


def _import_training(conn: Connection, df: pl.DataFrame, audit: AuditBuffer, counts: KindCounts) -> None:
    ids = df.get_column("responder_id").drop_nulls().unique().to_list()
    schema = {"id": pl.Int64(), **TRAINING_SCHEMA}
    stored = select_frame_in(conn, TRAINING, schema, "responder_id", ids)
    key = ["responder_id", "competency", "valid_from"]
    upsert(conn, audit, counts, _TRAINING, df, stored, key=key, compare=["valid_until"])


# The span an import with --replace replaces: [earliest start, latest end) and the responders in it.
_Span = tuple[datetime, datetime, list[str]]


def _span(frames: Sequence[pl.DataFrame]) -> _Span | None:
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
    conn: Connection, df: pl.DataFrame, audit: AuditBuffer, counts: KindCounts, span: _Span | None
) -> None:
    columns = list(SHIFTS_SCHEMA)
    stored_schema = dict(SHIFTS_SCHEMA)
    if span is not None:
        lo, hi, responders = span
        scope = select_frame_in(
            conn, SHIFT, stored_schema, "responder_id", responders, where=_in_span(SHIFT, lo, hi)
        )
        explicit = df.get_column("shift_id").drop_nulls()
        df = _match_blank_shifts(df, scope.filter(~pl.col("shift_id").is_in(explicit.implode())))
        doomed = scope.filter(~pl.col("shift_id").is_in(df.get_column("shift_id").drop_nulls().implode()))
        delete_audited(conn, audit, counts, _SHIFTS, doomed, columns)
    # Only shifts that came with an id can already be stored; the others are new by definition.
    ids = df.get_column("shift_id").drop_nulls().to_list()
    stored = select_frame_in(conn, SHIFT, stored_schema, "shift_id", ids)
    blank = df.get_column("shift_id").is_null()
    if blank.any():
        filled = df.get_column("shift_id").clone().scatter(blank.arg_true(), new_shift_ids(int(blank.sum())))
        df = df.with_columns(filled.alias("shift_id"))
    compare = ["responder_id", "start", "end", "kind"]
    upsert(conn, audit, counts, _SHIFTS, df, stored, key=["shift_id"], compare=compare)


def _import_absences(
    conn: Connection, df: pl.DataFrame, audit: AuditBuffer, counts: KindCounts, span: _Span | None
) -> None:
    key = ["responder_id", "start", "end"]
    columns = list(ABSENCES_SCHEMA)
    schema = {"id": pl.Int64(), **ABSENCES_SCHEMA}
    if span is not None:
        lo, hi, responders = span
        scope = select_frame_in(
            conn, ABSENCE, schema, "responder_id", responders, where=_in_span(ABSENCE, lo, hi)
        )
        doomed = scope.join(df.select(key), on=key, how="anti")
        delete_audited(conn, audit, counts, _ABSENCES, doomed, columns)
    if not df.height:
        return
    lo_in, hi_in = df.get_column("start").min(), df.get_column("start").max()
    where = [ABSENCE.c.start >= lo_in, ABSENCE.c.start <= hi_in] if isinstance(lo_in, datetime) else []
    ids = df.get_column("responder_id").drop_nulls().unique().to_list()
    stored = select_frame_in(conn, ABSENCE, schema, "responder_id", ids, where=where)
    upsert(conn, audit, counts, _ABSENCES, df, stored, key=key, compare=["reason"])


def _store_rota(
    conn: Connection,
    rota: Rota,
    frames: dict[str, pl.DataFrame],
    wanted: set[str],
    replace: bool,
    source: str,
    audit: AuditBuffer,
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
        import_rules(conn, rota.rules, audit, summary["rules"])
    if summary.changes:
        audit.add_one(
            "rota",
            AuditAction.IMPORT.value,
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
    audit = AuditBuffer()
    with write_transaction(engine) as conn:
        parts: list[tuple[str, Audited, Mapping[str, pl.DataType]]] = [
            ("shifts", _SHIFTS, SHIFTS_SCHEMA),
            ("absences", _ABSENCES, ABSENCES_SCHEMA),
            ("training", _TRAINING, TRAINING_SCHEMA),
            ("responders", _RESPONDERS, RESPONDERS_SCHEMA),
        ]
        for kind, target, schema in parts:
            summary[kind].deleted = clear_audited(conn, audit, target, schema)
            if kind == "training":  # rules and roles name no responder, but go before them for a tidy log
                import_rules(conn, (), audit, summary["rules"])
                for name in conn.execute(select(ROLE.c.name)).scalars().all():
                    audit.add_one("role", AuditAction.DELETE.value, name, to_audit_json({"name": name}), None)
                    summary["roles"].deleted += 1
                conn.execute(delete(ROLE))
        if summary.changes:
            audit.add_one(
                "rota", AuditAction.DELETE.value, "all", None, to_audit_json({"summary": summary.as_dict()})
            )
        audit.write(conn, actor.strip(), utc_now())
    return summary
