"""All-or-nothing imports of a rota and its cases: one write transaction, every change audited."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl
from sqlalchemy import Connection, Engine
from sqlalchemy.exc import IntegrityError

from rota.errors import InputError
from rota.model import Rota
from rota.storage.audit import AuditBuffer
from rota.storage.cases import _prepare_cases, _store_cases
from rota.storage.changes import KindCounts
from rota.storage.db import write_transaction
from rota.storage.rota import IMPORT_KINDS, ImportSummary, _prepare, _store_rota
from rota.timeutil import utc_now


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
    audit = AuditBuffer()
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
