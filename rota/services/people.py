"""Responders and their training: the filterable list, and the edits a coordinator makes for their own
agency (add or renew training, deactivate).

The training-expiry warnings, with the cover each lapse would remove, are in `rota.services.lapses`; their
names are re-exported here, where the responders page and the jobs have always found them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, tzinfo
from typing import Any

import polars as pl

from rota.errors import ConflictError, InputError
from rota.limits import DATE_RANGE_TEXT, ID_MAX, date_in_range, excerpt
from rota.services.access import Actor, can_edit_agency, require_edit_agency, require_read_people
from rota.services.gapalerts import reconcile_gap_alerts
from rota.services.lapses import BAND_LIMITS as BAND_LIMITS
from rota.services.lapses import BANDS as BANDS
from rota.services.lapses import EXPIRY_COLUMNS as EXPIRY_COLUMNS
from rota.services.lapses import HORIZON_DAYS as HORIZON_DAYS
from rota.services.lapses import IMPACT_COLUMNS as IMPACT_COLUMNS
from rota.services.lapses import IMPACT_WEEKS as IMPACT_WEEKS
from rota.services.lapses import coverage_removed as coverage_removed
from rota.services.lapses import expiries_for as expiries_for
from rota.services.lapses import lapse_warnings as lapse_warnings
from rota.services.lapses import rostered_after_lapse as rostered_after_lapse
from rota.services.lapses import training_expiries as training_expiries
from rota.services.lapses import upcoming_lapses as upcoming_lapses
from rota.services.lapses import validity_spells
from rota.storage import Connection, Engine
from rota.storage.audit import data_version as _data_version
from rota.storage.db import write_transaction
from rota.storage.people import (
    agency_names,
    insert_training_row,
    lock_responder,
    lock_training,
    responder_rows,
    training_exists,
    training_rows,
    update_responder_row,
    update_training_row,
)
from rota.timeutil import SERVICE_TZ, utc_now

RESPONDER_LIST_COLUMNS = (
    "responder_id",
    "name",
    "role",
    "agency",
    "email",
    "phone",
    "active",
    "competencies",
    "next_expiry",
    "version",
    "editable",
)

_RID = "responder_id"
_COMPETENCY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True)
class ResponderFilters:
    """What the responder list is narrowed to; None (or blank) = no filter."""

    role: str | None = None
    agency: str | None = None
    active: bool | None = None
    competency: str | None = None  # holds it, valid on the day asked about
    search: str | None = None  # part of the name or responder id, any case


# ---------------------------------------------------------------------------------------------- reading


def data_version(engine: Engine) -> int:
    """Goes up with every stored change (each is audited): pages key their caches on it."""
    return _data_version(engine)


def agencies(engine: Engine, actor: Actor) -> list[str]:
    """The agencies responders belong to, sorted (for filters)."""
    require_read_people(actor)
    return agency_names(engine)


def responder_training(engine: Engine, actor: Actor, responder_id: str) -> pl.DataFrame:
    """One responder's training records, newest first per competency, with `id` and `version` for edits:
    id, responder_id, competency, valid_from, valid_until, version."""
    require_read_people(actor)
    return training_rows(engine, responder_id).sort("competency", "valid_from", descending=[False, True])


def _valid_on(spells: pl.DataFrame, day: date) -> pl.DataFrame:
    return spells.filter(
        (pl.col("valid_from") <= day) & (pl.col("valid_until").is_null() | (pl.col("valid_until") >= day))
    )


def responder_list(
    engine: Engine,
    actor: Actor,
    filters: ResponderFilters | None = None,
    today: date | None = None,
    tz: tzinfo = SERVICE_TZ,
) -> pl.DataFrame:
    """Responders matching `filters`, by name, with the competencies they hold on `today` (comma-separated),
    the earliest day any of those runs out (`next_expiry`, null = none expires), the row `version` for
    edits, and whether `actor` may edit them. Commissioners are refused (PermissionDenied)."""
    require_read_people(actor)
    f = filters or ResponderFilters()
    today = today or utc_now().astimezone(tz).date()
    responders = responder_rows(engine)
    held = _valid_on(validity_spells(training_rows(engine)), today)
    per_person = held.group_by(_RID).agg(
        pl.col("competency").sort().str.join(", ").alias("competencies"),
        pl.col("valid_until").min().alias("next_expiry"),
    )
    df = responders.join(per_person, on=_RID, how="left").with_columns(
        pl.col("competencies").fill_null(""),
        pl.col("active").fill_null(True),
    )
    if f.role:
        df = df.filter(pl.col("role") == f.role)
    if f.agency:
        df = df.filter(pl.col("agency") == f.agency)
    if f.active is not None:
        df = df.filter(pl.col("active") == f.active)
    if f.competency:
        holders = held.filter(pl.col("competency") == f.competency).select(_RID)
        df = df.join(holders, on=_RID, how="semi")
    if f.search and f.search.strip():
        needle = f.search.strip().lower()
        df = df.filter(
            pl.col("name").str.to_lowercase().str.contains(needle, literal=True)
            | pl.col(_RID).str.to_lowercase().str.contains(needle, literal=True)
        )
    editable = [can_edit_agency(actor, a) for a in df.get_column("agency").to_list()]
    return (
        df.with_columns(pl.Series("editable", editable, dtype=pl.Boolean))
        .sort("name", _RID)
        .select(RESPONDER_LIST_COLUMNS)
    )


# ---------------------------------------------------------------------------------------------- editing


def _responder_for_update(conn: Connection, responder_id: str) -> dict[str, Any]:
    row = lock_responder(conn, responder_id)
    if row is None:
        raise InputError(f"there is no responder {responder_id!r}")
    return row


def _training_for_update(
    conn: Connection, actor: Actor, training_id: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The training record `training_id` and its responder, both locked for the change, once `actor` may
    edit the responder's agency; ConflictError when the record has gone since the page was read."""
    old = lock_training(conn, training_id)
    if old is None:
        raise ConflictError("that training record was removed by someone else; reload the page")
    responder = _responder_for_update(conn, old["responder_id"])
    require_edit_agency(actor, responder["agency"])
    return old, responder


def _changed_since_read(responder: dict[str, Any], old: dict[str, Any], verb: str) -> ConflictError:
    return ConflictError(
        f"{responder['name']}'s {old['competency']} record was changed by someone else since you "
        f"opened it; reload the page to see the change, then {verb} again"
    )


def _check_dates(valid_from: date, valid_until: date | None) -> None:
    # The same limits as an imported training.csv (docs/bundle.md, "Limits"): a date the engine, the
    # exports and PostgreSQL can all hold, and nothing a typing slip (year 0 or 9999) would put there.
    for label, value in (("valid from", valid_from), ("valid until", valid_until)):
        if value is not None and (not isinstance(value, date) or not date_in_range(value)):
            raise InputError(
                f"{label} ({value}) is outside the accepted dates ({DATE_RANGE_TEXT}); check the year"
            )
    if valid_until is not None and valid_until < valid_from:
        raise InputError(
            f"valid until ({valid_until:%d/%m/%Y}) is before valid from ({valid_from:%d/%m/%Y}); "
            "give a later end date, or leave it blank for no expiry"
        )


def _check_competency(competency: str) -> str:
    name = (competency or "").strip()
    if not _COMPETENCY.match(name) or len(name) > ID_MAX:
        raise InputError(
            f"competency {excerpt(competency or '')} is not a short name like jar or jar-16-17 "
            f"(letters, digits, '-', '_'; at most {ID_MAX} characters)"
        )
    return name


def _insert_training(
    conn: Connection,
    actor: Actor,
    responder_id: str,
    competency: str,
    valid_from: date,
    valid_until: date | None,
) -> dict[str, Any]:
    if training_exists(conn, responder_id, competency, valid_from):
        raise InputError(
            f"{responder_id} already has a {competency} record from {valid_from:%d/%m/%Y}; "
            "change that record's end date instead"
        )
    values = {
        "responder_id": responder_id,
        "competency": competency,
        "valid_from": valid_from,
        "valid_until": valid_until,
    }
    return insert_training_row(conn, actor.username, values)


def add_training(
    engine: Engine,
    actor: Actor,
    responder_id: str,
    competency: str,
    valid_from: date,
    valid_until: date | None = None,
) -> dict[str, Any]:
    """Record a certificate (valid from 00:00 on `valid_from` to the end of `valid_until`; None = no
    expiry) for a responder of an agency `actor` may edit. Audited; returns the stored row (id, version).
    Raises PermissionDenied or InputError, storing nothing."""
    competency = _check_competency(competency)
    _check_dates(valid_from, valid_until)
    with write_transaction(engine) as conn:
        responder = _responder_for_update(conn, responder_id)
        require_edit_agency(actor, responder["agency"])
        row = _insert_training(conn, actor, responder_id, competency, valid_from, valid_until)
    reconcile_gap_alerts(engine)
    return row


def renew_training(
    engine: Engine,
    actor: Actor,
    training_id: int,
    expected_version: int,
    renewed_on: date,
    valid_until: date | None,
) -> dict[str, Any]:
    """Record the renewal of the certificate `training_id` (as read at `expected_version`): a new
    certificate of the same competency from `renewed_on`. The old record is kept (the history of who was
    trained when). ConflictError when the old record changed or went since it was read."""
    _check_dates(renewed_on, valid_until)
    with write_transaction(engine) as conn:
        old, responder = _training_for_update(conn, actor, training_id)
        if old["version"] != expected_version:
            raise _changed_since_read(responder, old, "renew")
        if renewed_on <= old["valid_from"]:
            raise InputError(
                f"a renewal must start after the certificate it renews (from {old['valid_from']:%d/%m/%Y})"
            )
        row = _insert_training(conn, actor, old["responder_id"], old["competency"], renewed_on, valid_until)
    reconcile_gap_alerts(engine)
    return row


def update_training(
    engine: Engine, actor: Actor, training_id: int, expected_version: int, valid_until: date | None
) -> dict[str, Any]:
    """Correct the end date of a certificate (None = no expiry), with the optimistic version check.
    Audited; returns the stored row."""
    with write_transaction(engine) as conn:
        old, responder = _training_for_update(conn, actor, training_id)
        _check_dates(old["valid_from"], valid_until)
        new = update_training_row(conn, actor.username, old, expected_version, valid_until=valid_until)
        if new is None:
            raise _changed_since_read(responder, old, "edit")
    reconcile_gap_alerts(engine)
    return new


def set_responder_active(
    engine: Engine, actor: Actor, responder_id: str, expected_version: int, active: bool
) -> dict[str, Any]:
    """Deactivate (or reactivate) a responder of an agency `actor` may edit, with the optimistic version
    check. An inactive responder no longer counts for cover, even where still rostered. Audited; returns
    the stored row."""
    with write_transaction(engine) as conn:
        old = _responder_for_update(conn, responder_id)
        require_edit_agency(actor, old["agency"])
        if old["version"] != expected_version:
            raise ConflictError(
                f"{old['name']} was changed by someone else since you opened the page; reload and try again"
            )
        if bool(old["active"]) == active:
            return old
        new = update_responder_row(conn, actor.username, old, expected_version, active=active)
        if new is None:  # pragma: no cover - the row is locked and its version was checked above
            raise ConflictError(f"{old['name']} was changed by someone else; reload and try again")
    reconcile_gap_alerts(engine)
    return new
