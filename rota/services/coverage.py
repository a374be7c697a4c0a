"""Long because the Coverage page's service is one piece: the period, the per-rule summary and gap list,
the heatmap with its clock-change rules, and who is on duty now all come from the same rota and engine.

Coverage for people: per-rule cover and gaps over a period of local days, a days-by-hours heatmap, the
England bank holidays in the period, and who is on duty at an instant.

Reads through the repository and computes with the engine; imports no Streamlit. Names and contact details
(`on_now`) are refused to commissioners here, not only hidden on the page.

Heatmap and clock changes: the heatmap has one row per local day and one column per local hour of the day
(00 to 23). On the autumn Sunday the hour from 01:00 happens twice (BST, then GMT); both real hours go into
the 01 cell, whose `real_minutes` is then 120 and whose `gap_minutes` is the sum of the two. On the spring
Sunday the hour from 01:00 does not exist: its cell has `real_minutes` 0 and no `share_in_gap` (shown blank).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

import polars as pl

from rota.engine import coverage, gaps, qualified_intervals, qualified_timeline
from rota.errors import InputError, PermissionDenied, Problem
from rota.model import UTC_US, Rota
from rota.output import duration_text
from rota.rules import Rule, parse_age_band
from rota.services.access import COVERAGE, Actor, pages_for, require_read_people
from rota.storage import Engine
from rota.storage.audit import data_version as _data_version
from rota.storage.rota import load_rota
from rota.timeutil import SERVICE_TZ, day_start, uk_local, zone_name
from rota.timeutil import bank_holidays as england_bank_holidays
from rota.vocab import responder_role_label

MAX_PERIOD_DAYS = 366
DEFAULT_PERIOD_DAYS = 28
# A shift lasts at most 7 days (docs/bundle.md, "Validation"), so the shifts touching [at, at + 8 days)
# include every shift that continues a duty running at `at`.
_DUTY_LOOKAHEAD = timedelta(days=8)
_INSTANT = timedelta(seconds=1)

RULE_SUMMARY_SCHEMA: dict[str, pl.DataType] = {
    "rule_id": pl.String(),
    "label": pl.String(),
    "role": pl.String(),
    "age_band": pl.String(),
    "required": pl.Int64(),
    "windows": pl.String(),
    "window_hours": pl.Float64(),
    "covered_hours": pl.Float64(),
    "share_covered": pl.Float64(),
    "gap_count": pl.Int64(),
    "gap_hours": pl.Float64(),
    "longest_gap_hours": pl.Float64(),
}
PAIR_SCHEMA: dict[str, pl.DataType] = {
    "role": pl.String(),
    "role_label": pl.String(),
    **{
        f"{what}_{band}": dtype
        for band in ("0_15", "16_17")
        for what, dtype in (
            ("rule", pl.String()),
            ("share", pl.Float64()),
            ("gap_count", pl.Int64()),
            ("gap_hours", pl.Float64()),
        )
    },
    "difference_points": pl.Float64(),
}
GAP_LIST_COLUMNS = (
    "rule_id",
    "label",
    "role",
    "age_band",
    "start",
    "end",
    "required",
    "available",
    "minutes",
    "duration",
    "start_local",
    "end_local",
    "weekday",
    "bank_holiday",
)
HEATMAP_SCHEMA: dict[str, pl.DataType] = {
    "rule_id": pl.String(),
    "day": pl.Date(),
    "hour": pl.Int8(),
    "real_minutes": pl.Int64(),
    "in_window": pl.Boolean(),
    "gap_minutes": pl.Float64(),
    "share_in_gap": pl.Float64(),
    "clock_change": pl.String(),
}
BANK_HOLIDAY_SCHEMA: dict[str, pl.DataType] = {"day": pl.Date(), "name": pl.String()}
ON_NOW_SCHEMA: dict[str, pl.DataType] = {
    "role": pl.String(),
    "responder_id": pl.String(),
    "name": pl.String(),
    "agency": pl.String(),
    "email": pl.String(),
    "phone": pl.String(),
    "kind": pl.String(),
    "on_duty_until": UTC_US,
    "until_local": pl.String(),
    "jar": pl.Boolean(),
    "jar_16_17": pl.Boolean(),
    "qualified": pl.Boolean(),
    "counts_for": pl.String(),
}
COVER_NOW_SCHEMA: dict[str, pl.DataType] = {
    "rule_id": pl.String(),
    "label": pl.String(),
    "role": pl.String(),
    "age_band": pl.String(),
    "required": pl.Int64(),
    "available": pl.Int64(),
    "in_window": pl.Boolean(),
    "covered": pl.Boolean(),
}


# ---------------------------------------------------------------------------------------------- periods


@dataclass(frozen=True)
class Period:
    """Whole local days `first` to `last` (inclusive), as the UTC instants [start, end)."""

    first: date
    last: date
    start: datetime
    end: datetime

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600


def make_period(first: date, last: date, tz: tzinfo = SERVICE_TZ) -> Period:
    """Check a period of local days and find its instants; InputError says what to change."""
    if last < first:
        raise InputError(
            Problem(
                "period",
                None,
                None,
                f"the end date {last:%d/%m/%Y} is before the start date {first:%d/%m/%Y}",
            )
        )
    days = (last - first).days + 1
    if days > MAX_PERIOD_DAYS:
        raise InputError(
            Problem(
                "period",
                None,
                None,
                f"the period has {days} days; pick at most {MAX_PERIOD_DAYS} days at a time",
            )
        )
    return Period(first, last, day_start(first, tz), day_start(last + timedelta(days=1), tz))


def default_period(today: date, tz: tzinfo = SERVICE_TZ) -> Period:
    """The next 28 days: today and the 27 days after it (the same range as `rota gaps` by default)."""
    return make_period(today, today + timedelta(days=DEFAULT_PERIOD_DAYS - 1), tz)


# ---------------------------------------------------------------------------------------------- helpers


def rule_label(rule: Rule) -> str:
    """For people: `Paediatrician 16-17`, `Paediatrician 0-17, Mon-Fri 09:00-17:00, 2 needed`."""
    label = f"{responder_role_label(rule.role)} {rule.age_band}"
    if rule.windows:
        label += ", " + "; ".join(w.text for w in rule.windows)
    if rule.min_count > 1:
        label += f", {rule.min_count} needed"
    return label


def data_version(engine: Engine) -> int:
    """A number that changes whenever the stored rota changes (every change is audited), for caches."""
    return _data_version(engine)


def bank_holidays(first: date, last: date) -> pl.DataFrame:
    """England bank holidays from `first` to `last` inclusive (columns day, name), as GOV.UK lists them:
    weekend dates are dropped and their weekday substitutes named `(substitute day)` (rota.timeutil)."""
    rows = [(d, name) for d, name in england_bank_holidays(first, last).items() if d.weekday() < 5]
    return pl.DataFrame(rows, schema=BANK_HOLIDAY_SCHEMA, orient="row")


def _window_minutes(rule: Rule, start: datetime, end: datetime, tz: tzinfo) -> float:
    """Minutes of [start, end) inside the rule's windows (overlapping windows count once)."""
    total = timedelta(0)
    run_start: datetime | None = None
    run_end: datetime | None = None
    for a, b in rule.window_intervals(start, end, tz):
        if run_end is None or a > run_end:
            if run_start is not None and run_end is not None:
                total += run_end - run_start
            run_start, run_end = a, b
        else:
            run_end = max(run_end, b)
    if run_start is not None and run_end is not None:
        total += run_end - run_start
    return total.total_seconds() / 60


def _require_coverage(actor: Actor) -> None:
    if COVERAGE not in pages_for(actor):
        raise PermissionDenied(f"the {actor.role} role cannot read coverage")


# ---------------------------------------------------------------------------------------------- report


@dataclass(frozen=True)
class CoverageReport:
    """Everything the Coverage page shows for one period (instants in UTC, local text for people).

    - `rules`: one row per rule (RULE_SUMMARY_SCHEMA): hours inside the rule's windows, hours covered, the
      share covered (null when the rule never applies in the period), the number of gaps (as `rota gaps`
      counts them: split where the count changes), their total and the longest, in hours.
    - `pairs`: per role, the first 0-15 rule beside the first 16-17 rule (PAIR_SCHEMA);
      `difference_points` is the 16-17 share minus the 0-15 share, in percentage points.
    - `gaps`: the engine's gaps, earliest first, with a label, local times as text, weekday, duration and
      the bank holidays they touch (GAP_LIST_COLUMNS).
    - `heatmap`: rule x local day x local hour (HEATMAP_SCHEMA); see the module docstring for clock changes.
    - `bank_holidays`: England bank holidays in the period.
    - `shift_count`, `last_shift_end`: the stored shifts touching the period and when the last one ends.
    """

    period: Period
    tz_name: str
    rules: pl.DataFrame
    pairs: pl.DataFrame
    gaps: pl.DataFrame
    heatmap: pl.DataFrame
    bank_holidays: pl.DataFrame
    shift_count: int
    last_shift_end: datetime | None = None

    @property
    def uncovered_tail(self) -> bool:
        """True when the stored shifts stop more than a day before the period ends (the rota has not
        been drawn up, or imported, that far ahead)."""
        return self.last_shift_end is not None and self.last_shift_end < self.period.end - timedelta(days=1)

    @property
    def gap_count(self) -> int:
        return self.gaps.height


def coverage_report(
    engine: Engine, actor: Actor, first: date, last: date, tz: tzinfo = SERVICE_TZ
) -> CoverageReport:
    """The coverage report for local days `first` to `last` inclusive, loading only the shifts and
    absences that overlap the period."""
    _require_coverage(actor)
    period = make_period(first, last, tz)
    rota = load_rota(engine, period.start, period.end)
    return build_report(rota, period, tz)


def rule_shares(
    engine: Engine, actor: Actor, periods: Sequence[tuple[str, date, date]], tz: tzinfo = SERVICE_TZ
) -> pl.DataFrame:
    """Each rule's cover in each of `periods` (a label, then the first and last local day), from one read
    of the rota: `period` then RULE_SUMMARY_SCHEMA's columns, the same figures as `coverage_report`'s
    `rules` for each period alone. For trends (the assurance pack's months and quarters)."""
    _require_coverage(actor)
    made = [(label, make_period(first, last, tz)) for label, first, last in periods]
    if not made:
        return pl.DataFrame(schema={"period": pl.String(), **RULE_SUMMARY_SCHEMA})
    rota = load_rota(engine, min(p.start for _, p in made), max(p.end for _, p in made))
    rules = rota.effective_rules()
    frames = [
        _summary(rules, gaps(rota, p.start, p.end, tz, rules), p, tz).select(
            pl.lit(label, dtype=pl.String()).alias("period"), pl.all()
        )
        for label, p in made
    ]
    return pl.concat(frames)


def build_report(rota: Rota, period: Period, tz: tzinfo = SERVICE_TZ) -> CoverageReport:
    """The report from rota frames (no database, no permission check: callers have done both)."""
    tz_name = zone_name(tz)
    rules = rota.effective_rules()
    found = gaps(rota, period.start, period.end, tz, rules)
    grid = coverage(rota, period.start, period.end, tz, rules)
    holidays_in = bank_holidays(period.first, period.last)
    summary = _summary(rules, found, period, tz)
    return CoverageReport(
        period=period,
        tz_name=tz_name,
        rules=summary,
        pairs=_pairs(rules, summary),
        gaps=_gap_list(found, rules, holidays_in, tz_name),
        heatmap=_heatmap(grid, rules, period, tz_name),
        bank_holidays=holidays_in,
        shift_count=rota.shifts.height,
        last_shift_end=rota.shifts["end"].max() if rota.shifts.height else None,  # type: ignore[arg-type]
    )


def _summary(rules: list[Rule], found: pl.DataFrame, period: Period, tz: tzinfo) -> pl.DataFrame:
    per_rule = found.group_by("rule_id").agg(
        pl.len().cast(pl.Int64).alias("gap_count"),
        pl.col("minutes").sum().alias("gap_minutes"),
        pl.col("minutes").max().alias("longest_minutes"),
    )
    stats = {r["rule_id"]: r for r in per_rule.iter_rows(named=True)}
    rows = []
    for rule in rules:
        window = _window_minutes(rule, period.start, period.end, tz)
        s = stats.get(rule.id, {})
        gap_minutes = float(s.get("gap_minutes") or 0.0)
        covered = max(window - gap_minutes, 0.0)
        rows.append(
            (
                rule.id,
                rule_label(rule),
                rule.role,
                rule.age_band,
                rule.min_count,
                "; ".join(w.text for w in rule.windows) or "always",
                window / 60,
                covered / 60,
                covered / window if window > 0 else None,
                int(s.get("gap_count") or 0),
                gap_minutes / 60,
                float(s.get("longest_minutes") or 0.0) / 60,
            )
        )
    return pl.DataFrame(rows, schema=RULE_SUMMARY_SCHEMA, orient="row")


def _band_slot(band: str) -> str | None:
    lo, hi = parse_age_band(band)
    if hi <= 15:
        return "0_15"
    if lo >= 16:
        return "16_17"
    return None


def _pairs(rules: list[Rule], summary: pl.DataFrame) -> pl.DataFrame:
    """Per role, the first rule for children up to 15 beside the first for 16-17-year-olds."""
    by_id = {r["rule_id"]: r for r in summary.iter_rows(named=True)}
    slots: dict[str, dict[str, str]] = {}
    for rule in rules:
        slot = _band_slot(rule.age_band)
        if slot is not None:
            slots.setdefault(rule.role, {}).setdefault(slot, rule.id)
    rows = []
    for role, chosen in slots.items():
        row: dict[str, object] = {"role": role, "role_label": responder_role_label(role)}
        for slot in ("0_15", "16_17"):
            rid = chosen.get(slot)
            s = by_id.get(rid) if rid else None
            row[f"rule_{slot}"] = rid
            row[f"share_{slot}"] = s["share_covered"] if s else None
            row[f"gap_count_{slot}"] = s["gap_count"] if s else None
            row[f"gap_hours_{slot}"] = s["gap_hours"] if s else None
        a, b = row["share_0_15"], row["share_16_17"]
        row["difference_points"] = (b - a) * 100 if isinstance(a, float) and isinstance(b, float) else None
        rows.append(row)
    return pl.DataFrame(rows, schema=PAIR_SCHEMA)


def _gap_list(
    found: pl.DataFrame, rules: list[Rule], holidays_in: pl.DataFrame, tz_name: str
) -> pl.DataFrame:
    labels = pl.DataFrame(
        {"rule_id": [r.id for r in rules], "label": [rule_label(r) for r in rules]},
        schema={"rule_id": pl.String, "label": pl.String},
    )
    local = "%d/%m/%Y %H:%M %Z"
    out = found.with_row_index("_row").join(labels, on="rule_id", how="left")
    start_local = pl.col("start").dt.convert_time_zone(tz_name)
    # the last instant in the gap, to find the local days it touches (end is exclusive)
    last_local = (pl.col("end") - timedelta(microseconds=1)).dt.convert_time_zone(tz_name)
    days = (
        out.select(
            "_row",
            pl.date_ranges(start_local.dt.date(), last_local.dt.date(), interval="1d").alias("day"),
        )
        .explode("day")
        .join(holidays_in, on="day", how="inner")
        .group_by("_row")
        .agg(pl.col("name").unique(maintain_order=True).str.join("; ").alias("bank_holiday"))
    )
    out = (
        out.join(days, on="_row", how="left")
        .sort("start", "_row")  # earliest first; gaps starting together in the rules' order
        .with_columns(
            pl.col("minutes").map_elements(duration_text, return_dtype=pl.String).alias("duration"),
            start_local.dt.strftime(local).alias("start_local"),
            pl.col("end").dt.convert_time_zone(tz_name).dt.strftime(local).alias("end_local"),
            start_local.dt.strftime("%a").alias("weekday"),
            pl.col("bank_holiday").fill_null(""),
        )
    )
    return out.select(GAP_LIST_COLUMNS)


def _heatmap(grid: pl.DataFrame, rules: list[Rule], period: Period, tz_name: str) -> pl.DataFrame:
    local = pl.col("hour_start").dt.convert_time_zone(tz_name)
    cells = (
        grid.with_columns(local.dt.date().alias("day"), local.dt.hour().cast(pl.Int8).alias("hour"))
        .group_by("rule_id", "day", "hour")
        .agg(
            (pl.len() * 60).cast(pl.Int64).alias("real_minutes"),
            (pl.col("required") > 0).any().alias("in_window"),
            pl.col("gap_minutes").sum().cast(pl.Float64).alias("gap_minutes"),
        )
    )
    full = (
        pl.DataFrame({"rule_id": [r.id for r in rules]}, schema={"rule_id": pl.String})
        .with_row_index("_order")
        .join(
            pl.DataFrame(
                {"day": pl.date_range(period.first, period.last, interval="1d", eager=True)}
            ).with_row_index("_day"),
            how="cross",
        )
        .join(pl.DataFrame({"hour": list(range(24))}, schema={"hour": pl.Int8}), how="cross")
    )
    return (
        full.join(cells, on=["rule_id", "day", "hour"], how="left")
        .sort("_order", "_day", "hour")
        .with_columns(
            pl.col("real_minutes").fill_null(0),
            pl.col("in_window").fill_null(False),
            pl.col("gap_minutes").fill_null(0.0),
        )
        .with_columns(
            pl.when(pl.col("in_window") & (pl.col("real_minutes") > 0))
            .then(pl.col("gap_minutes") / pl.col("real_minutes"))
            .otherwise(None)
            .alias("share_in_gap"),
            pl.when(pl.col("real_minutes") == 0)
            .then(pl.lit("clocks go forward: this hour does not exist"))
            .when(pl.col("real_minutes") > 60)
            .then(pl.lit("clocks go back: this hour happens twice"))
            .otherwise(pl.lit(""))
            .alias("clock_change"),
        )
        .select(list(HEATMAP_SCHEMA))
        .cast(HEATMAP_SCHEMA)  # type: ignore[arg-type]
    )


# ---------------------------------------------------------------------------------------------- now


def _rota_at(engine: Engine, at: datetime) -> Rota:
    if at.tzinfo is None:
        raise ValueError("`at` must be timezone-aware")
    return load_rota(engine, at, at + _DUTY_LOOKAHEAD)


def cover_now(engine: Engine, actor: Actor, at: datetime, tz: tzinfo = SERVICE_TZ) -> pl.DataFrame:
    """Per rule, how many qualified responders are on duty at `at` against how many are required
    (COVER_NOW_SCHEMA). Aggregate figures only, so every role may read it."""
    _require_coverage(actor)
    rota = _rota_at(engine, at)
    rules = rota.effective_rules()
    tl = qualified_timeline(rota, at, at + _INSTANT, tz, rules).filter(pl.col("start") == at)
    labels = pl.DataFrame(
        {"rule_id": [r.id for r in rules], "label": [rule_label(r) for r in rules]},
        schema={"rule_id": pl.String, "label": pl.String},
    )
    return (
        tl.join(labels, on="rule_id", how="left")
        .sort("_order")
        .with_columns((~pl.col("in_window") | (pl.col("available") >= pl.col("required"))).alias("covered"))
        .select(list(COVER_NOW_SCHEMA))
    )


def on_now(engine: Engine, actor: Actor, at: datetime, tz: tzinfo = SERVICE_TZ) -> pl.DataFrame:
    """Responders on duty at `at` (on a shift, active, not absent), with contact details, when their duty
    ends, whether they hold `jar` and `jar-16-17` then, and the rules they count for (ON_NOW_SCHEMA).

    Ordered by role (in the rota's role order), qualified first, then name. Commissioners are refused:
    they see aggregates only (`cover_now`)."""
    require_read_people(actor)
    rota = _rota_at(engine, at)
    rules = rota.effective_rules()
    at_lit = pl.lit(at).cast(UTC_US)
    active = rota.responders.filter(pl.col("active").fill_null(True))
    on_shift = rota.shifts.join(active.select("responder_id"), on="responder_id", how="semi").filter(
        (pl.col("start") <= at_lit) & (pl.col("end") > at_lit)
    )
    absent = rota.absences.filter((pl.col("start") <= at_lit) & (pl.col("end") > at_lit))
    on_duty = on_shift.join(absent.select("responder_id"), on="responder_id", how="anti")
    ids = on_duty["responder_id"].unique().to_list()
    if not ids:
        return pl.DataFrame(schema=ON_NOW_SCHEMA)

    counts_for: dict[str, list[str]] = {rid: [] for rid in ids}
    profiles: dict[tuple[str, tuple[str, ...]], set[str]] = {}
    for rule in rules:
        key = (rule.role, tuple(sorted(rule.competencies)))
        if key not in profiles:
            q = qualified_intervals(rota, rule, at, at + _INSTANT, tz)
            profiles[key] = set(q.filter(pl.col("start") == at_lit)["responder_id"].to_list())
        for rid in profiles[key]:
            if rid in counts_for:
                counts_for[rid].append(rule.id)

    today = at.astimezone(tz).date()
    held = (
        rota.training.filter(
            pl.col("responder_id").is_in(ids)
            & (pl.col("valid_from") <= today)
            & (pl.col("valid_until").is_null() | (pl.col("valid_until") >= today))
        )
        .group_by("responder_id")
        .agg(pl.col("competency"))
    )
    competencies = {r: set(c) for r, c in held.iter_rows()}
    until = _duty_until(rota, ids, at)
    kinds = on_duty.sort("start").group_by("responder_id").agg(pl.col("kind").first())
    kind_of = dict(kinds.iter_rows())
    role_order = {r: i for i, r in enumerate(rota.roles)}
    rows = []
    for r in active.filter(pl.col("responder_id").is_in(ids)).iter_rows(named=True):
        rid = r["responder_id"]
        rows.append(
            {
                "role": r["role"],
                "responder_id": rid,
                "name": r["name"],
                "agency": r["agency"],
                "email": r["email"],
                "phone": r["phone"],
                "kind": kind_of.get(rid),
                "on_duty_until": until[rid],
                "until_local": uk_local(until[rid], tz),
                "jar": "jar" in competencies.get(rid, set()),
                "jar_16_17": "jar-16-17" in competencies.get(rid, set()),
                "qualified": bool(counts_for[rid]),
                "counts_for": ", ".join(counts_for[rid]),
            }
        )
    rows.sort(key=lambda x: (role_order.get(str(x["role"]), len(role_order)), not x["qualified"], x["name"]))
    return pl.DataFrame(rows, schema=ON_NOW_SCHEMA)


def _duty_until(rota: Rota, ids: list[str], at: datetime) -> dict[str, datetime]:
    """For each responder on duty at `at`: the end of their continuous duty (shifts that touch or overlap
    join up), or the start of their next absence if that comes first."""
    out: dict[str, datetime] = {}
    shifts = rota.shifts.filter(pl.col("responder_id").is_in(ids)).sort("responder_id", "start")
    for rid, group in shifts.group_by("responder_id", maintain_order=True):
        end: datetime | None = None
        for start, stop in group.select("start", "end").iter_rows():
            if start <= (end or at):
                end = max(end or at, stop)
            elif end is not None:
                break
        out[str(rid[0])] = end or at
    absences = rota.absences.filter(
        pl.col("responder_id").is_in(ids) & (pl.col("start") > pl.lit(at).cast(UTC_US))
    )
    for rid, start in absences.group_by("responder_id").agg(pl.col("start").min()).iter_rows():
        if rid in out and start < out[rid]:
            out[rid] = start
    return out
