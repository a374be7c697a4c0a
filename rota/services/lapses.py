"""Training lapses (docs/dashboard.md): the certificates about to run out with no renewal recorded, and
the cover each lapse would remove.

A lapse's cost is worked out with the engine: the rota's gaps as stored (the training lapses) against the
same rota with that training renewed, over the weeks after the lapse; the difference is the cover lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

import polars as pl

from rota.engine.intervals import Interval, merge_intervals, subtract, total
from rota.engine.sweep import gaps
from rota.model import UTC_US, Rota
from rota.rules import Rule
from rota.services.access import Actor, can_edit_agency, require_read_forecast, require_read_people
from rota.services.coverage import rule_label
from rota.storage import Engine
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
_FAR = date(9999, 12, 31)


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


def _intervals(g: pl.DataFrame, rule_id: str, lo: datetime, hi: datetime) -> list[Interval]:
    rows = g.filter((pl.col("rule_id") == rule_id) & (pl.col("end") > lo) & (pl.col("start") < hi))
    return [(max(a, lo), min(b, hi)) for a, b in rows.select("start", "end").iter_rows()]


def _hours(intervals: list[Interval]) -> float:
    return total(intervals) / timedelta(hours=1)


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
            lost = subtract(
                _intervals(stored_gaps, rule.id, t.lo, t.hi), _intervals(renewed_gaps, rule.id, t.lo, t.hi)
            )
            if lost:
                lost_by_rule[rule.id] = lost
        # hours in which at least one rule loses cover (the rules of a role overlap in time)
        any_rule = merge_intervals(i for lost in lost_by_rule.values() for i in lost)
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
    """The sentence for one rule, from rule (its label for people), lost_hours and gaps_opened: like
    SIO 16-17 loses 36 h of cover (opens 3 gaps)."""
    hours = pl.col("lost_hours").round(1).cast(pl.String).str.replace(r"\.0$", "")
    gap_word = pl.when(pl.col("gaps_opened") == 1).then(pl.lit("gap")).otherwise(pl.lit("gaps"))
    return pl.format("{} loses {} h of cover (opens {} {})", "rule", hours, "gaps_opened", gap_word)


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
    labels = {r.id: rule_label(r) for r in rota.effective_rules()}
    impacts = (
        coverage_removed(rota, lapses, tz, weeks)
        .sort("lost_hours", "rule_id", descending=[True, False])
        .with_columns(pl.col("rule_id").replace_strict(labels, default=pl.col("rule_id")).alias("rule"))
        .with_columns(_impact_text().alias("impact"))
    )
    per_lapse = impacts.group_by(keys, maintain_order=True).agg(
        pl.col("lapse_lost_hours").first().alias("cover_lost_hours"),
        pl.col("gaps_opened").sum(),
        pl.col("rule").str.join(", ").alias("rules_affected"),
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


LAPSE_COUNT_SCHEMA: dict[str, pl.DataType] = {
    "agency": pl.String(),
    "role": pl.String(),
    "competency": pl.String(),
    "people": pl.Int64(),
    "cover_lost_hours": pl.Float64(),
}


def lapse_counts(
    engine: Engine,
    actor: Actor,
    first: date,
    last: date,
    tz: tzinfo = SERVICE_TZ,
    *,
    weeks: int = IMPACT_WEEKS,
) -> pl.DataFrame:
    """Aggregates for readers who may not see people (the assurance pack): per agency, role and competency,
    how many active responders' training lapses from `first` to `last` (local days) with no renewal
    recorded, and the hours of cover those lapses remove in the `weeks` after each (LAPSE_COUNT_SCHEMA;
    as `training_expiries` counts them, without names)."""
    require_read_forecast(actor)
    lo = day_start(first, tz)
    hi = day_start(last + timedelta(days=1 + 7 * weeks), tz)
    rota = load_rota(engine, lo, hi)
    lapses = upcoming_lapses(rota, first - timedelta(days=1), (last - first).days + 1).filter(
        pl.col("lapse_on").is_between(first, last)
    )
    if lapses.height == 0:
        return pl.DataFrame(schema=LAPSE_COUNT_SCHEMA)
    keys = [_RID, "competency", "lapse_on"]
    lost = (
        coverage_removed(rota, lapses, tz, weeks)
        .group_by(keys)
        .agg(pl.col("lapse_lost_hours").first().alias("cover_lost_hours"))
    )
    people = rota.responders.select(_RID, "role", "agency")
    return (
        lapses.join(people, on=_RID, how="left")
        .join(lost, on=keys, how="left")
        .group_by("agency", "role", "competency")
        .agg(
            pl.col(_RID).n_unique().cast(pl.Int64).alias("people"),
            pl.col("cover_lost_hours").fill_null(0.0).sum(),
        )
        .sort("agency", "role", "competency", nulls_last=True)
        .select(list(LAPSE_COUNT_SCHEMA))
        .cast(LAPSE_COUNT_SCHEMA)  # type: ignore[arg-type]
    )
