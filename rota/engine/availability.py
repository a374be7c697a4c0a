"""Who could fill a gap: the availability rules on the rota's frames. A responder of the rule's role is
free to cover [start, end) when active, trained in the rule's competencies through the whole gap, not
absent, not already on duty, and rested at least 11 hours after their previous shift and before their
next one. Frames in, frames out: no storage, no permissions (rota/services/editing/gaps.py does those).
"""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

import polars as pl

from rota.engine.intervals import Interval
from rota.engine.sweep import qualified_intervals
from rota.model import UTC_US, Rota
from rota.rules import Rule
from rota.timeutil import SERVICE_TZ, uk_local
from rota.vocab import DEFAULT_SHIFT_KIND

MIN_REST = timedelta(hours=11)

AVAILABILITY_SCHEMA: dict[str, pl.DataType] = {
    "responder_id": pl.String(),
    "name": pl.String(),
    "agency": pl.String(),
    "email": pl.String(),
    "phone": pl.String(),
    "free": pl.Boolean(),
    "reason": pl.String(),
    "previous_shift_end": UTC_US,
    "next_shift_start": UTC_US,
    "rest_before_hours": pl.Float64(),
    "rest_after_hours": pl.Float64(),
}


def find_rule(rota: Rota, rule_id: str) -> Rule | None:
    """The rota's effective rule named `rule_id`, or None."""
    return next((rule for rule in rota.effective_rules() if rule.id == rule_id), None)


def _trained_through(
    rota: Rota, people: pl.DataFrame, rule: Rule, start: datetime, end: datetime, tz: tzinfo
) -> set[str]:
    """Who holds the rule's competencies through all of [start, end): the engine's own test, on a
    make-believe shift over the gap for each of `people`."""
    ids = people.get_column("responder_id")
    probe = Rota(
        responders=people,
        training=rota.training,
        shifts=pl.DataFrame({"shift_id": ids, "responder_id": ids}).with_columns(
            pl.lit(start).alias("start"),
            pl.lit(end).alias("end"),
            pl.lit(DEFAULT_SHIFT_KIND.value).alias("kind"),
        ),
    ).conformed()
    need = (end - start).total_seconds()
    return set(
        qualified_intervals(probe, rule, start, end, tz)
        .group_by("responder_id")
        .agg((pl.col("end") - pl.col("start")).dt.total_seconds().sum().alias("s"))
        .filter(pl.col("s") >= need)
        .get_column("responder_id")
        .to_list()
    )


def _rest_frame(rota: Rota, people: pl.DataFrame, start: datetime, end: datetime) -> pl.DataFrame:
    """Each person's previous shift end and next shift start around the gap, and the hours of rest."""
    lo, hi = pl.lit(start).cast(UTC_US), pl.lit(end).cast(UTC_US)
    mine = rota.shifts.join(people.select("responder_id"), on="responder_id", how="semi")
    prev = (
        mine.filter(pl.col("end") <= lo)
        .group_by("responder_id")
        .agg(pl.col("end").max().alias("previous_shift_end"))
    )
    nxt = (
        mine.filter(pl.col("start") >= hi)
        .group_by("responder_id")
        .agg(pl.col("start").min().alias("next_shift_start"))
    )
    return (
        people.select("responder_id", "name", "agency", "email", "phone")
        .join(prev, on="responder_id", how="left")
        .join(nxt, on="responder_id", how="left")
        .with_columns(
            ((lo - pl.col("previous_shift_end")).dt.total_seconds() / 3600).alias("rest_before_hours"),
            ((pl.col("next_shift_start") - hi).dt.total_seconds() / 3600).alias("rest_after_hours"),
        )
    )


def candidates(
    rota: Rota, rule: Rule, gap: Interval, tz: tzinfo = SERVICE_TZ, agency: str | None = None
) -> pl.DataFrame:
    """Every active responder of the rule's role (of `agency`, if given) in `rota`, whether they are free
    to cover the gap [start, end) and if not why (AVAILABILITY_SCHEMA), free ones first. `rota` must hold
    the shifts, absences and training from at least 8 days either side of the gap, so that rest is
    judged against real neighbouring shifts."""
    start, end = gap
    if start.tzinfo is None or end.tzinfo is None or end <= start:
        raise ValueError("a gap needs an aware start and a later end")
    people = rota.responders.filter((pl.col("role") == rule.role) & pl.col("active").fill_null(True))
    if agency is not None:
        people = people.filter(pl.col("agency") == agency)
    trained = _trained_through(rota, people, rule, start, end, tz)
    lo, hi = pl.lit(start).cast(UTC_US), pl.lit(end).cast(UTC_US)
    on_duty = rota.shifts.filter((pl.col("start") < hi) & (pl.col("end") > lo))
    away = rota.absences.filter((pl.col("start") < hi) & (pl.col("end") > lo))
    duty = set(on_duty.get_column("responder_id").to_list())
    leave = dict(away.group_by("responder_id").agg(pl.col("reason").first()).iter_rows())
    frame = _rest_frame(rota, people, start, end)
    comps = ", ".join(rule.competencies)
    min_hours = MIN_REST.total_seconds() / 3600
    reasons = []
    for row in frame.iter_rows(named=True):
        rid = row["responder_id"]
        why: str | None = None
        if rid not in trained:
            why = f"not trained ({comps}) through the whole gap"
        elif rid in leave:
            why = f"absent ({leave[rid] or 'leave'}) during the gap"
        elif rid in duty:
            why = "already on duty during the gap"
        elif row["rest_before_hours"] is not None and row["rest_before_hours"] < min_hours:
            why = (
                f"only {row['rest_before_hours']:.1f} h rest after the shift ending "
                f"{uk_local(row['previous_shift_end'], tz)} (needs {min_hours:.0f} h)"
            )
        elif row["rest_after_hours"] is not None and row["rest_after_hours"] < min_hours:
            why = (
                f"only {row['rest_after_hours']:.1f} h rest before the shift starting "
                f"{uk_local(row['next_shift_start'], tz)} (needs {min_hours:.0f} h)"
            )
        reasons.append(why)
    frame = frame.with_columns(pl.Series("reason", reasons, dtype=pl.String())).with_columns(
        pl.col("reason").is_null().alias("free")
    )
    return frame.select(list(AVAILABILITY_SCHEMA)).sort(["free", "name"], descending=[True, False])


def free_only(found: pl.DataFrame) -> pl.DataFrame:
    """The free rows of `candidates`, without the free and reason columns."""
    return found.filter(pl.col("free")).drop("free", "reason")
