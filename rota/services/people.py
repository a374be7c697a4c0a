"""Responders and their training: the filterable list, training-expiry warnings with the cover each lapse
would remove, and the edits a coordinator makes for their own agency (add or renew training, deactivate).

A lapse's cost is worked out with the engine: the rota's gaps as stored (the training lapses) against the
same rota with that training renewed, over the weeks after the lapse; the difference is the cover lost.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

import polars as pl

from rota.engine.sweep import gaps
from rota.errors import ConflictError, InputError
from rota.limits import DATE_RANGE_TEXT, ID_MAX, date_in_range, excerpt
from rota.model import UTC_US, Rota
from rota.rules import Rule
from rota.services.access import Actor, can_edit_agency, require_edit_agency, require_read_people
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
from rota.storage.rota import load_rota
from rota.timeutil import SERVICE_TZ, day_start, utc_now

BAND_LIMITS: tuple[tuple[int, str], ...] = (
    (30, "within 30 days"),
    (60, "31-60 days"),
    (90, "61-90 days"),
)
BANDS: tuple[str, ...] = tuple(label for _, label in BAND_LIMITS)
HORIZON_DAYS = 90
IMPACT_WEEKS = 8

RESPONDER_LIST_COLUMNS = (
    "responder_id",
    "name",
    "role",
    "agency",
    "email",
    "active",
    "competencies",
    "next_expiry",
    "version",
    "editable",
)
EXPIRY_COLUMNS = (
    "responder_id",
    "name",
    "role",
    "agency",
    "competency",
    "valid_until",
    "lapse_on",
    "days_to_lapse",
    "band",
    "rostered_hours",
    "cover_lost_hours",
    "gaps_opened",
    "rules_affected",
    "impact",
    "editable",
)
IMPACT_COLUMNS = (
    "responder_id",
    "competency",
    "lapse_on",
    "rule_id",
    "lost_hours",
    "gaps_opened",
    "lapse_lost_hours",
)

_RID = "responder_id"
_COMPETENCY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")
_FAR = date(9999, 12, 31)


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


def validity_spells(training: pl.DataFrame) -> pl.DataFrame:
    """Per responder and competency, the unbroken spells of validity: overlapping or back-to-back
    certificates joined (a renewal before the old one ran out continues the spell).

    Columns: responder_id, competency, valid_from, valid_until (inclusive; null = no expiry).
    """
    keys = [_RID, "competency"]
    if training.height == 0:
        return training.select(*keys, "valid_from", "valid_until")
    until = pl.col("valid_until").fill_null(_FAR)
    df = training.select(*keys, "valid_from", until.alias("_until")).sort(*keys, "valid_from")
    reach = pl.col("_until").cum_max().shift(1).over(keys)
    spells = (
        df.with_columns(
            (reach.is_null() | (pl.col("valid_from") > reach + timedelta(days=1)))
            .cast(pl.UInt32)
            .cum_sum()
            .over(keys)
            .alias("_spell")
        )
        .group_by(*keys, "_spell")
        .agg(pl.col("valid_from").min(), pl.col("_until").max())
        .select(
            *keys,
            "valid_from",
            pl.when(pl.col("_until") == _FAR).then(None).otherwise(pl.col("_until")).alias("valid_until"),
        )
    )
    return spells.sort(*keys, "valid_from")


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


def _band(days: pl.Expr) -> pl.Expr:
    (d1, b1), (d2, b2), (d3, b3) = BAND_LIMITS
    return (
        pl.when(days <= d1)
        .then(pl.lit(b1))
        .when(days <= d2)
        .then(pl.lit(b2))
        .when(days <= d3)
        .then(pl.lit(b3))
        .otherwise(pl.lit(None, dtype=pl.String()))
    )


def upcoming_lapses(rota: Rota, today: date, horizon_days: int = HORIZON_DAYS) -> pl.DataFrame:
    """Active responders' competencies whose unbroken validity ends within `horizon_days` of `today` with
    no renewal recorded: responder_id, competency, valid_until (last valid day), lapse_on (the first
    day without), days_to_lapse (1 = tomorrow) and band."""
    active = rota.responders.filter(pl.col("active").fill_null(True)).select(_RID)
    spells = validity_spells(rota.training.join(active, on=_RID, how="semi"))
    last = today + timedelta(days=horizon_days - 1)
    return (
        spells.filter(pl.col("valid_until").is_between(today, last))
        .select(
            _RID,
            "competency",
            "valid_until",
            (pl.col("valid_until") + timedelta(days=1)).alias("lapse_on"),
        )
        .with_columns(
            (pl.col("lapse_on") - pl.lit(today)).dt.total_days().cast(pl.Int64).alias("days_to_lapse")
        )
        .with_columns(_band(pl.col("days_to_lapse")).alias("band"))
        .sort("lapse_on", _RID, "competency")
    )


Interval = tuple[datetime, datetime]


def _intervals(g: pl.DataFrame, rule_id: str, lo: datetime, hi: datetime) -> list[Interval]:
    rows = g.filter((pl.col("rule_id") == rule_id) & (pl.col("end") > lo) & (pl.col("start") < hi))
    return [(max(a, lo), min(b, hi)) for a, b in rows.select("start", "end").iter_rows()]


def _minus(base: list[Interval], cut: list[Interval]) -> list[Interval]:
    """The time in `base` and not in `cut`, as maximal intervals (touching pieces joined)."""
    out: list[Interval] = []
    for a, b in sorted(base):
        cur = a
        for c, d in sorted(cut):
            if d <= cur or c >= b:
                continue
            if c > cur:
                out.append((cur, c))
            cur = max(cur, d)
            if cur >= b:
                break
        if cur < b:
            out.append((cur, b))
    merged: list[Interval] = []
    for a, b in out:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _hours(intervals: list[Interval]) -> float:
    return sum((b - a).total_seconds() for a, b in intervals) / 3600


def _role_rota(rota: Rota, role: str, lo: datetime, hi: datetime) -> Rota:
    """Only what the rules of one role can see, between lo and hi (the engine's work shrinks with it)."""
    ids = rota.responders.filter(pl.col("role") == role).select(_RID)
    window = (pl.col("end") > pl.lit(lo).cast(UTC_US)) & (pl.col("start") < pl.lit(hi).cast(UTC_US))
    return replace(
        rota,
        responders=rota.responders.join(ids, on=_RID, how="semi"),
        training=rota.training.join(ids, on=_RID, how="semi"),
        shifts=rota.shifts.join(ids, on=_RID, how="semi").filter(window),
        absences=rota.absences.join(ids, on=_RID, how="semi").filter(window),
    )


@dataclass(frozen=True)
class _Lapse:
    responder_id: str
    competency: str
    lapse_on: date
    role: str
    rules: list[Rule]
    lo: datetime
    hi: datetime


def rostered_after_lapse(
    rota: Rota, lapses: pl.DataFrame, tz: tzinfo = SERVICE_TZ, weeks: int = IMPACT_WEEKS
) -> pl.DataFrame:
    """Hours each lapsing responder is rostered in the `weeks` after the lapse (overlapping shifts once):
    responder_id, competency, lapse_on, rostered_hours."""
    keys = [_RID, "competency", "lapse_on"]
    if lapses.height == 0:
        return lapses.select(keys).with_columns(pl.lit(0.0).alias("rostered_hours"))
    days = lapses.get_column("lapse_on").unique().to_list()
    starts = {d: day_start(d, tz) for d in days}
    ends = {d: day_start(d + timedelta(weeks=weeks), tz) for d in days}
    win = lapses.select(keys).with_columns(
        pl.col("lapse_on").replace_strict(starts, return_dtype=UTC_US).alias("_lo"),
        pl.col("lapse_on").replace_strict(ends, return_dtype=UTC_US).alias("_hi"),
    )
    pieces = (
        win.join(rota.shifts.select(_RID, "start", "end"), on=_RID)
        .filter((pl.col("end") > pl.col("_lo")) & (pl.col("start") < pl.col("_hi")))
        .select(
            *keys,
            pl.max_horizontal("start", "_lo").alias("start"),
            pl.min_horizontal("end", "_hi").alias("end"),
        )
        .sort(*keys, "start")
    )
    # overlapping shifts of one person count once: join them before adding up
    reach = pl.col("end").cum_max().shift(1).over(keys)
    hours = (
        pieces.with_columns(
            (reach.is_null() | (pl.col("start") > reach)).cast(pl.UInt32).cum_sum().alias("_g")
        )
        .group_by(*keys, "_g")
        .agg(pl.col("start").min(), pl.col("end").max())
        .group_by(keys)
        .agg(((pl.col("end") - pl.col("start")).dt.total_seconds().sum() / 3600).alias("rostered_hours"))
    )
    return (
        lapses.select(keys)
        .join(hours, on=keys, how="left")
        .with_columns(pl.col("rostered_hours").fill_null(0.0))
    )


def coverage_removed(
    rota: Rota,
    lapses: pl.DataFrame,
    tz: tzinfo = SERVICE_TZ,
    weeks: int = IMPACT_WEEKS,
    rules: Sequence[Rule] | None = None,
) -> pl.DataFrame:
    """For each lapse (responder_id, competency, lapse_on) and each rule it touches, the gap time the lapse
    adds in the `weeks` after it: the engine's gaps with the rota as stored, against the same rota with
    that competency renewed from the lapse day. Rules without a loss are left out.

    Columns: responder_id, competency, lapse_on, rule_id, lost_hours, gaps_opened (separate stretches of
    newly uncovered time) and lapse_lost_hours (the hours in which any of the lapse's rules loses cover,
    each hour once). Only responders rostered after their lapse can lose cover, so only those reach the
    engine.
    """
    schema = {
        _RID: pl.String(),
        "competency": pl.String(),
        "lapse_on": pl.Date(),
        "rule_id": pl.String(),
        "lost_hours": pl.Float64(),
        "gaps_opened": pl.Int64(),
        "lapse_lost_hours": pl.Float64(),
    }
    rules = list(rules) if rules is not None else rota.effective_rules()
    rostered = rostered_after_lapse(rota, lapses, tz, weeks).filter(pl.col("rostered_hours") > 0)
    roles: dict[str, str] = dict(rota.responders.select(_RID, "role").iter_rows())
    todo: list[_Lapse] = []
    for rid, competency, lapse_on in rostered.select(_RID, "competency", "lapse_on").iter_rows():
        role = roles.get(rid)
        touched = [r for r in rules if r.role == role and competency in r.competencies]
        if role is not None and touched:
            lo = day_start(lapse_on, tz)
            hi = day_start(lapse_on + timedelta(weeks=weeks), tz)
            todo.append(_Lapse(rid, competency, lapse_on, role, touched, lo, hi))
    # The rota as stored: once per role, over the span of all that role's lapse windows.
    as_stored: dict[str, tuple[Rota, pl.DataFrame]] = {}
    for role in sorted({t.role for t in todo}):
        mine = [t for t in todo if t.role == role]
        lo, hi = min(t.lo for t in mine), max(t.hi for t in mine)
        small = _role_rota(rota, role, lo, hi)
        as_stored[role] = (small, gaps(small, lo, hi, tz, [r for r in rules if r.role == role]))
    rows: list[dict[str, Any]] = []
    for t in todo:
        small, stored_gaps = as_stored[t.role]
        renewal = pl.DataFrame(
            {
                _RID: [t.responder_id],
                "competency": [t.competency],
                "valid_from": [t.lapse_on],
                "valid_until": [None],
            },
            schema=small.training.schema,
        )
        renewed = replace(small, training=pl.concat([small.training, renewal]))
        renewed_gaps = gaps(renewed, t.lo, t.hi, tz, t.rules)
        lost_by_rule: dict[str, list[Interval]] = {}
        for rule in t.rules:
            lost = _minus(
                _intervals(stored_gaps, rule.id, t.lo, t.hi), _intervals(renewed_gaps, rule.id, t.lo, t.hi)
            )
            if lost:
                lost_by_rule[rule.id] = lost
        # hours in which at least one rule loses cover (the rules of a role overlap in time)
        any_rule = _minus([i for lost in lost_by_rule.values() for i in lost], [])
        for rule_id, lost in lost_by_rule.items():
            rows.append(
                {
                    _RID: t.responder_id,
                    "competency": t.competency,
                    "lapse_on": t.lapse_on,
                    "rule_id": rule_id,
                    "lost_hours": _hours(lost),
                    "gaps_opened": len(lost),
                    "lapse_lost_hours": _hours(any_rule),
                }
            )
    return pl.DataFrame(rows, schema=schema)


def _impact_text() -> pl.Expr:
    """The sentence for one rule, from rule_id, lost_hours and gaps_opened: like
    sio-16-17 loses 36 h of cover (opens 3 gaps)."""
    hours = pl.col("lost_hours").round(1).cast(pl.String).str.replace(r"\.0$", "")
    gap_word = pl.when(pl.col("gaps_opened") == 1).then(pl.lit("gap")).otherwise(pl.lit("gaps"))
    return pl.format("{} loses {} h of cover (opens {} {})", "rule_id", hours, "gaps_opened", gap_word)


def training_expiries(
    engine: Engine,
    actor: Actor,
    today: date | None = None,
    tz: tzinfo = SERVICE_TZ,
    *,
    horizon_days: int = HORIZON_DAYS,
    weeks: int = IMPACT_WEEKS,
) -> pl.DataFrame:
    """Training that lapses within `horizon_days` of `today` (active responders, no renewal recorded),
    soonest first, banded within 30 / 31-60 / 61-90 days, with the cover each lapse would remove in the
    `weeks` after it (`cover_lost_hours`, `gaps_opened`, `rules_affected`, and a sentence in `impact`)
    and the hours the responder is still rostered then. Commissioners are refused."""
    require_read_people(actor)
    today = today or utc_now().astimezone(tz).date()
    lo = day_start(today, tz)
    hi = day_start(today + timedelta(days=horizon_days + 7 * weeks + 1), tz)
    rota = load_rota(engine, lo, hi)
    return expiries_for(rota, actor, today, tz, horizon_days=horizon_days, weeks=weeks)


def expiries_for(
    rota: Rota,
    actor: Actor,
    today: date,
    tz: tzinfo = SERVICE_TZ,
    *,
    horizon_days: int = HORIZON_DAYS,
    weeks: int = IMPACT_WEEKS,
) -> pl.DataFrame:
    """`training_expiries` on a rota already in memory."""
    require_read_people(actor)
    keys = [_RID, "competency", "lapse_on"]
    lapses = upcoming_lapses(rota, today, horizon_days)
    rostered = rostered_after_lapse(rota, lapses, tz, weeks)
    impacts = (
        coverage_removed(rota, lapses, tz, weeks)
        .sort("lost_hours", "rule_id", descending=[True, False])
        .with_columns(_impact_text().alias("impact"))
    )
    per_lapse = impacts.group_by(keys, maintain_order=True).agg(
        pl.col("lapse_lost_hours").first().alias("cover_lost_hours"),
        pl.col("gaps_opened").sum(),
        pl.col("rule_id").str.join(", ").alias("rules_affected"),
        pl.col("impact").str.join("; "),
    )
    people = rota.responders.select(_RID, "name", "role", "agency")
    df = (
        lapses.join(people, on=_RID, how="left")
        .join(rostered, on=keys, how="left")
        .join(per_lapse, on=keys, how="left")
        .with_columns(
            pl.col("cover_lost_hours").fill_null(0.0),
            pl.col("gaps_opened").fill_null(0).cast(pl.Int64),
            pl.col("rules_affected").fill_null(""),
            pl.col("impact").fill_null(""),
        )
    )
    editable = [can_edit_agency(actor, a) for a in df.get_column("agency").to_list()]
    return df.with_columns(pl.Series("editable", editable, dtype=pl.Boolean)).select(EXPIRY_COLUMNS)


def lapse_warnings(expiries: pl.DataFrame) -> list[str]:
    """One sentence per lapse that removes cover, e.g. "If DI Ada Testwood's jar lapses on 12/01/2027,
    sio-16-17 loses 36 h of cover (opens 3 gaps)." (UK dates), costliest first."""
    out = []
    costly = expiries.filter(pl.col("cover_lost_hours") > 0).sort("cover_lost_hours", descending=True)
    for name, rid, competency, lapse_on, impact in costly.select(
        "name", _RID, "competency", "lapse_on", "impact"
    ).iter_rows():
        who = name or rid
        out.append(f"If {who}'s {competency} lapses on {lapse_on:%d/%m/%Y}, {impact}.")
    return out


# ---------------------------------------------------------------------------------------------- editing


def _responder_for_update(conn: Connection, responder_id: str) -> dict[str, Any]:
    row = lock_responder(conn, responder_id)
    if row is None:
        raise InputError(f"there is no responder {responder_id!r}")
    return row


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
        return _insert_training(conn, actor, responder_id, competency, valid_from, valid_until)


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
        old = lock_training(conn, training_id)
        if old is None:
            raise ConflictError("that training record was removed by someone else; reload the page")
        responder = _responder_for_update(conn, old["responder_id"])
        require_edit_agency(actor, responder["agency"])
        if old["version"] != expected_version:
            raise ConflictError(
                f"{responder['name']}'s {old['competency']} record was changed by someone else since you "
                "opened it; reload the page to see the change, then renew again"
            )
        if renewed_on <= old["valid_from"]:
            raise InputError(
                f"a renewal must start after the certificate it renews (from {old['valid_from']:%d/%m/%Y})"
            )
        return _insert_training(conn, actor, old["responder_id"], old["competency"], renewed_on, valid_until)


def update_training(
    engine: Engine, actor: Actor, training_id: int, expected_version: int, valid_until: date | None
) -> dict[str, Any]:
    """Correct the end date of a certificate (None = no expiry), with the optimistic version check.
    Audited; returns the stored row."""
    with write_transaction(engine) as conn:
        old = lock_training(conn, training_id)
        if old is None:
            raise ConflictError("that training record was removed by someone else; reload the page")
        responder = _responder_for_update(conn, old["responder_id"])
        require_edit_agency(actor, responder["agency"])
        _check_dates(old["valid_from"], valid_until)
        new = update_training_row(conn, actor.username, old, expected_version, valid_until=valid_until)
        if new is None:
            raise ConflictError(
                f"{responder['name']}'s {old['competency']} record was changed by someone else since you "
                "opened it; reload the page to see the change, then edit again"
            )
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
        return new
