"""Long because the Capacity & forecast page's service is one piece: the forecast, its settings and
history window, the what-if scenarios, and the tables the page draws, all read from one CapacityForecast.

Capacity and forecast for the dashboard (docs/methods.md, "Risk"; docs/dashboard.md): demand against
rostered trained capacity, expected cases meeting no trained responder per rule, and what-if scenarios.

Aggregates only: commissioners may read it all except scenarios that name a responder (letting one
person's training lapse, removing a person), which need the right to read people.

No differencing of case counts (docs/methods.md, "Suppression"): the demand model learns from whole
calendar quarters only, from the start of the quarter of the first case to the start of the quarter
holding the forecast's start (or today, if earlier), so moving the start within a quarter changes nothing
learnt from cases. The number of cases in that history is a running total over a window that grows by a
quarter at a time (two of them differ by one quarter's count), so commissioners are not given it (only
when it is 0); what they get is display-ready (`history` rows with `cases_in_history_shown`), and the
`Forecast` they receive carries no case count either.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import polars as pl

from rota.analytics.demand import Prior
from rota.analytics.forecast import (
    DEFAULT_COMMITMENT_HOURS,
    Forecast,
    ScenarioResult,
    assess,
    forecast,
    with_scenarios,
)
from rota.analytics.scenarios import AddResponders, LapseTraining, RemoveResponder, Scenario, TrainResponders
from rota.config import load_settings
from rota.errors import InputError, Problem
from rota.model import Rota
from rota.services.access import Actor, can_read_case_level, can_read_people, require_read_forecast
from rota.services.coverage import Period, make_period, rule_label
from rota.storage import Engine
from rota.storage.cases import load_cases
from rota.storage.people import stored_responders
from rota.storage.rota import load_rota
from rota.storage.settings import read_settings
from rota.timeutil import SERVICE_TZ, day_start, utc_now, zone_name

MAX_FORECAST_DAYS = 366
DEFAULT_FORECAST_DAYS = 91
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class ForecastSettings:
    """Where the prior and the congestion model take their figures from."""

    child_population: int | None = None
    commitment_hours: float = DEFAULT_COMMITMENT_HOURS


def child_population(engine: Engine | None) -> int | None:
    """The number of children aged 0-17 for the prior: the stored setting `child_population`, else
    ROTA_CHILD_POPULATION (rota/config.py, which refuses a value that is not a whole number), else None.
    With no database (`rota forecast` on files) only the environment is asked."""
    stored = (read_settings(engine).get("child_population") or "").strip() if engine is not None else ""
    if stored.isdigit():
        return int(stored)
    return load_settings().child_population


def forecast_settings(engine: Engine) -> ForecastSettings:
    """From the stored settings (`child_population`, `mean_commitment_hours`), else the environment
    (`ROTA_CHILD_POPULATION`), else none / 4 hours."""
    stored = read_settings(engine)
    population = child_population(engine)
    try:
        commitment = float(stored.get("mean_commitment_hours") or DEFAULT_COMMITMENT_HOURS)
    except ValueError:
        commitment = DEFAULT_COMMITMENT_HOURS
    return ForecastSettings(population, commitment if commitment > 0 else DEFAULT_COMMITMENT_HOURS)


WITHHELD = "not shown"  # how a history count withheld from commissioners reads


def quarter_start(t: datetime, tz: tzinfo = SERVICE_TZ) -> datetime:
    """The start (UTC) of the local calendar quarter holding `t`."""
    local = t.astimezone(tz).date()
    return day_start(date(local.year, 3 * ((local.month - 1) // 3) + 1, 1), tz)


def history_window(
    cases: pl.DataFrame, until: datetime, tz: tzinfo = SERVICE_TZ
) -> tuple[datetime, datetime]:
    """Whole calendar quarters of history for the demand model: from the start of the quarter of the first
    JAR-eligible case to the start of the quarter holding `until` (empty when no case comes before)."""
    end = quarter_start(until, tz)
    times = cases.filter(
        pl.col("jar_criteria_met").fill_null(False) & (pl.col("notified_at") < end)
    ).get_column("notified_at")
    if times.len() == 0:
        return end, end
    first: datetime = times.min()  # type: ignore[assignment]
    return quarter_start(first, tz), end


def default_forecast_period(today: date, tz: tzinfo = SERVICE_TZ) -> Period:
    """The next quarter: today and the 90 days after it."""
    return make_period(today, today + timedelta(days=DEFAULT_FORECAST_DAYS - 1), tz)


@dataclass(frozen=True)
class CapacityForecast:
    """Everything the Capacity & forecast page draws."""

    period: Period
    tz_name: str
    forecast: Forecast
    scenario: ScenarioResult | None
    rules: (
        pl.DataFrame
    )  # per rule: label, role, age_band, uncovered hours, expected uncovered (+80%), p_any, lost
    hour_of_week: (
        pl.DataFrame
    )  # day, hour, label, expected cases per year starting then, mean trained per rule
    weekly: (
        pl.DataFrame
    )  # week_start, expected_cases, expected uncovered cases, uncovered hours (per rule long)
    history: list[dict[str, object]]
    settings: ForecastSettings
    agency_roles: tuple[str, ...]  # the roles a commissioner's agency provides ((): all)
    last_shift_end: datetime | None = None  # when the last stored shift touching the period ends

    @property
    def unrostered_from(self) -> datetime | None:
        """When the stored rota stops: the period's start when no shift touches it, the end of the last
        shift when that is more than a day before the period ends (the rota is not drawn up or imported
        that far ahead, so the rest of the period counts as uncovered), else None."""
        if self.last_shift_end is None:
            return self.period.start
        if self.last_shift_end < self.period.end - timedelta(days=1):
            return max(self.last_shift_end, self.period.start)
        return None

    @property
    def expected_cases_unrostered(self) -> float:
        """Expected cases (all ages) notified after the stored rota stops (see `unrostered_from`)."""
        since = self.unrostered_from
        if since is None:
            return 0.0
        hourly = self.forecast.demand_hourly.filter(pl.col("hour_start") >= since)
        return float(hourly.select((pl.col("rate") * pl.col("fraction")).sum()).item())

    @property
    def expected_cases(self) -> float:
        return self.forecast.expected_cases

    @property
    def interval_80(self) -> tuple[int, int]:
        return self.forecast.prediction.interval(0.8)

    @property
    def expected_cases_meeting_a_gap(self) -> float:
        return self.forecast.expected_cases_meeting_a_gap


def agency_roles(engine: Engine, agency: str | None) -> tuple[str, ...]:
    """The responder roles an agency provides (from its stored responders); () when not known."""
    if not agency:
        return ()
    people = stored_responders(engine)
    if "agency" not in people.columns:
        return ()
    roles = people.filter(pl.col("agency") == agency).get_column("role").unique().sort().to_list()
    return tuple(str(r) for r in roles)


def _check_scenarios(actor: Actor, scenarios: Sequence[Scenario]) -> None:
    aggregate = (AddResponders, TrainResponders)  # no responder named
    if not can_read_people(actor) and any(not isinstance(s, aggregate) for s in scenarios):
        raise InputError(
            Problem(
                "scenario",
                None,
                None,
                "commissioners can try adding trained responders; scenarios about named responders "
                "are for the CDOP manager",
            )
        )


def capacity_forecast(
    engine: Engine,
    actor: Actor,
    first: date,
    last: date,
    tz: tzinfo = SERVICE_TZ,
    scenarios: Sequence[Scenario] = (),
    now: datetime | None = None,
    base: CapacityForecast | None = None,
) -> CapacityForecast:
    """The forecast for local days `first` to `last` inclusive, with `scenarios` compared against it.

    `base`: this period's forecast without scenarios, already worked out for the same data (a page's
    cache); its demand and risk are reused, so only the scenario is assessed."""
    require_read_forecast(actor)
    _check_scenarios(actor, scenarios)
    period = make_period(first, last, tz)
    if period.days > MAX_FORECAST_DAYS:
        raise InputError(
            Problem("period", None, None, f"forecast at most {MAX_FORECAST_DAYS} days ahead at a time")
        )
    rota = load_rota(engine, period.start, period.end)
    if base is not None and base.period == period and base.tz_name == zone_name(tz):
        settings, result = base.settings, base.forecast
    else:
        settings = forecast_settings(engine)
        cases = load_cases(engine)
        history_start, history_end = history_window(cases, min(period.start, now or utc_now()), tz)
        result = forecast(
            rota,
            cases,
            period.start,
            period.end,
            tz,
            Prior(child_population=settings.child_population),
            settings.commitment_hours,
            history_start=history_start,
            history_end=history_end,
        )
        if not can_read_case_level(actor):
            result = _without_case_counts(result)
    scenario = with_scenarios(rota, result, scenarios) if scenarios else None
    tz_name = zone_name(tz)
    labels = {r.id: rule_label(r) for r in rota.effective_rules()}
    rules = result.rules.with_columns(
        pl.col("rule_id").replace_strict(labels, default=pl.col("rule_id")).alias("label")
    )
    if scenario is not None:
        rules = rules.join(
            scenario.changed.rules.select(
                "rule_id",
                pl.col("uncovered_hours").alias("uncovered_hours_after"),
                pl.col("expected_uncovered_cases").alias("expected_uncovered_cases_after"),
                pl.col("expected_lost_cases").alias("expected_lost_cases_after"),
            ),
            on="rule_id",
            how="left",
            maintain_order="left",
        )
    return CapacityForecast(
        period=period,
        tz_name=tz_name,
        forecast=result,
        scenario=scenario,
        rules=rules,
        hour_of_week=_hour_of_week(result, tz_name, scenario),
        weekly=_weekly(result, tz_name, scenario),
        history=_history_rows(result, exact=can_read_case_level(actor)),
        settings=settings,
        agency_roles=agency_roles(engine, actor.agency) if actor.agency else (),
        last_shift_end=_last_shift_end(rota),
    )


@dataclass(frozen=True)
class PeriodChange:
    """A period's headline against the previous period of the same length (the days just before it),
    under the same demand model and with the rota stored for those days: `change` is this period minus
    the previous one."""

    previous: Period
    expected_cases: float  # the previous period's
    expected_cases_meeting_a_gap: float
    expected_cases_change: float
    meeting_a_gap_change: float


def change_since_previous(
    engine: Engine, actor: Actor, current: CapacityForecast, tz: tzinfo = SERVICE_TZ
) -> PeriodChange:
    """`current` (as the rota stands, without scenarios) against the previous period of as many days.
    The previous days are assessed with `current`'s demand model (no second fit: like for like, and the
    cost of one assessment), so the change is the change in cover and in the season, not in the model."""
    require_read_forecast(actor)
    days = timedelta(days=current.period.days)
    previous = make_period(current.period.first - days, current.period.first - timedelta(days=1), tz)
    rota = load_rota(engine, previous.start, previous.end)
    before = assess(
        rota, current.forecast.demand, previous.start, previous.end, tz, current.settings.commitment_hours
    )
    return PeriodChange(
        previous=previous,
        expected_cases=before.expected_cases,
        expected_cases_meeting_a_gap=before.expected_cases_meeting_a_gap,
        expected_cases_change=current.expected_cases - before.expected_cases,
        meeting_a_gap_change=current.expected_cases_meeting_a_gap - before.expected_cases_meeting_a_gap,
    )


def _without_case_counts(result: Forecast) -> Forecast:
    """`result` with the case counts of its demand model withheld (None) unless they are 0."""
    models = tuple(replace(m, cases=None if m.cases else 0) for m in result.demand.models)
    return replace(result, demand=replace(result.demand, models=models))


def _history_rows(result: Forecast, *, exact: bool) -> list[dict[str, object]]:
    """The demand model's summary per age band, display-ready: `cases_in_history_shown` is the count (exact
    roles), or for commissioners "0" when there are none and `WITHHELD` otherwise (see the module
    docstring)."""
    rows = result.demand.summary()
    for row in rows:
        count = row["cases_in_history"]
        if not exact and count:
            row["cases_in_history"] = None
        row["cases_in_history_shown"] = WITHHELD if row["cases_in_history"] is None else str(count)
    return rows


def _last_shift_end(rota: Rota) -> datetime | None:
    if rota.shifts.height == 0:
        return None
    end: datetime = rota.shifts.get_column("end").max()  # type: ignore[assignment]
    return end


@dataclass(frozen=True)
class Outlook:
    """The nightly forecast (job forecast-refresh) as stored: when it was made, its range, its figures."""

    created_at: datetime
    start: datetime
    end: datetime
    expected_cases: float
    interval_80: tuple[int, int]
    expected_cases_meeting_a_gap: float


def nightly_outlook(engine: Engine, actor: Actor, max_age: timedelta = timedelta(days=2)) -> Outlook | None:
    """The newest stored nightly forecast if it is recent (no computing: the Coverage page shows it)."""
    require_read_forecast(actor)
    from rota.storage.alerts import latest_forecast
    from rota.timeutil import parse_instant

    found = latest_forecast(engine)
    if found is None:
        return None
    created_at, payload = found
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    if (utc_now() - created_at) > max_age:
        return None
    try:
        low, high = payload["interval_80"]
        return Outlook(
            created_at=created_at,
            start=parse_instant(str(payload["start"])),
            end=parse_instant(str(payload["end"])),
            expected_cases=float(payload["expected_cases"]),
            interval_80=(int(low), int(high)),
            expected_cases_meeting_a_gap=float(payload.get("expected_cases_meeting_a_gap", 0.0)),
        )
    except (KeyError, TypeError, ValueError):
        return None


def _hour_of_week(result: Forecast, tz_name: str, scenario: ScenarioResult | None) -> pl.DataFrame:
    """Per rule and hour of the week (local): the demand (expected cases a year starting in that hour,
    all ages and the rule's band) and the mean number of trained responders rostered (within the rule's
    windows), with the scenario's figure beside it when there is one."""
    local = pl.col("hour_start").dt.convert_time_zone(tz_name)

    def shape(hourly: pl.DataFrame, suffix: str) -> pl.DataFrame:
        return (
            hourly.with_columns(
                (local.dt.weekday().cast(pl.Int64) - 1).alias("day"),
                local.dt.hour().cast(pl.Int64).alias("hour"),
            )
            .group_by("rule_id", "day", "hour")
            .agg(
                pl.col("role", "age_band", "_order").first(),
                (pl.col("rate").mean() * 24 * 365.2425 / 168).alias("band_cases_per_year"),
                pl.col("available").mean().alias(f"trained_on_duty{suffix}"),
                (pl.col("gap_minutes").sum() / 60).alias(f"uncovered_hours{suffix}"),
            )
        )

    out = shape(result.hourly, "")
    if scenario is not None:
        after = shape(scenario.changed.hourly, "_after").select(
            "rule_id", "day", "hour", "trained_on_duty_after", "uncovered_hours_after"
        )
        out = out.join(after, on=["rule_id", "day", "hour"], how="left")
    return out.sort("_order", "day", "hour").with_columns(
        (
            pl.col("day").replace_strict(dict(enumerate(DAY_NAMES)), return_dtype=pl.String)
            + pl.lit(" ")
            + pl.col("hour").cast(pl.String).str.zfill(2)
            + pl.lit(":00")
        ).alias("label")
    )


def _weekly(result: Forecast, tz_name: str, scenario: ScenarioResult | None) -> pl.DataFrame:
    """Per rule and week (weeks start on Monday, local): expected cases of the rule's band, uncovered
    hours and expected uncovered cases (and after the scenario)."""
    week = pl.col("hour_start").dt.convert_time_zone(tz_name).dt.truncate("1w").dt.date().alias("week_start")

    def per_week(hourly: pl.DataFrame, suffix: str) -> pl.DataFrame:
        return hourly.group_by("rule_id", week).agg(
            pl.col("role", "age_band", "_order").first(),
            (pl.col("gap_minutes").sum() / 60).alias(f"uncovered_hours{suffix}"),
            pl.col("expected_uncovered_cases").sum().alias(f"expected_uncovered_cases{suffix}"),
        )

    out = per_week(result.hourly, "")
    if scenario is not None:
        out = out.join(
            per_week(scenario.changed.hourly, "_after").select(
                "rule_id", "week_start", "uncovered_hours_after", "expected_uncovered_cases_after"
            ),
            on=["rule_id", "week_start"],
            how="left",
        )
    demand = (
        result.demand_hourly.with_columns(week)
        .group_by("week_start")
        .agg((pl.col("rate") * pl.col("fraction")).sum().alias("expected_cases"))
    )
    return out.join(demand, on="week_start", how="left").sort("_order", "week_start")


# ---------------------------------------------------------------------------------------------- display-ready
# What the Capacity & forecast page lays out, worked out here so the page only draws: what-if changes from
# the plain values a page keeps, chances, per-band and per-role comparisons, and the tables under the charts.

ScenarioKey = tuple[tuple[Any, ...], ...]  # what-if changes as plain hashable values (a page's cache key)
WITH_CHANGES = " with the changes"


def scenario_key(changes: Sequence[Mapping[str, Any]]) -> ScenarioKey:
    """What-if changes as a page keeps them (plain dicts, `kind` add, train, lapse or remove) as a hashable
    key. A `train` change: role, count, competencies and duties as (person, start, end) UTC."""
    out: list[tuple[Any, ...]] = []
    for c in changes:
        if c["kind"] == "add":
            out.append(("add", c["role"], int(c["count"]), c["window"], c.get("first"), None))
        elif c["kind"] == "train":
            duties = tuple((int(n), a, b) for n, a, b in c["duties"])
            out.append(("train", c["role"], int(c["count"]), tuple(c["competencies"]), duties))
        elif c["kind"] == "lapse":
            out.append(("lapse", c["responder_id"], c["competency"], c["on"]))
        else:
            out.append(("remove", c["responder_id"]))
    return tuple(out)


def scenarios_from(key: ScenarioKey) -> tuple[Scenario, ...]:
    """The scenarios a `scenario_key` stands for, to pass to `capacity_forecast`."""
    out: list[Scenario] = []
    for kind, *args in key:
        if kind == "add":
            out.append(AddResponders(*args))
        elif kind == "train":
            out.append(TrainResponders(*args))
        elif kind == "lapse":
            out.append(LapseTraining(*args))
        else:
            out.append(RemoveResponder(*args))
    return tuple(out)


def chance_of_any(expected: float) -> float:
    """Cases arrive at random (Poisson): the chance that at least one of `expected` cases happens."""
    return 1 - math.exp(-expected)


def bands_by_age(result: Forecast) -> dict[str, dict[str, Any]]:
    """The per-age-band rows of a forecast, youngest band first (0-15 before 16-17)."""
    rows = {str(r["age_band"]): r for r in result.bands.iter_rows(named=True)}
    return {band: rows[band] for band in sorted(rows, key=lambda b: int(b.split("-")[0]))}


@dataclass(frozen=True)
class ScenarioTotal:
    """Expected cases meeting a gap with the what-if changes, and the change from the rota as it is."""

    age_band: str | None  # None: all ages
    after: float
    change: float


def scenario_totals(cf: CapacityForecast) -> list[ScenarioTotal]:
    """All ages first, then each age band youngest first; [] without changes being tried."""
    if cf.scenario is None:
        return []
    before, after = cf.forecast, cf.scenario.changed
    out = [
        ScenarioTotal(
            None,
            after.expected_cases_meeting_a_gap,
            after.expected_cases_meeting_a_gap - before.expected_cases_meeting_a_gap,
        )
    ]
    after_bands = bands_by_age(after)
    for band, b in bands_by_age(before).items():
        a = after_bands[band]
        out.append(
            ScenarioTotal(
                band,
                a["expected_uncovered_cases"],
                a["expected_uncovered_cases"] - b["expected_uncovered_cases"],
            )
        )
    return out


@dataclass(frozen=True)
class RoleEffect:
    """What the what-if changes do to the rules of one role."""

    role: str
    before: float  # expected cases meeting a gap in the role's rules, summed (see `disjoint`)
    after: float
    one_needed: bool  # every rule of the role asks for one responder ("no trained SIO")
    disjoint: bool  # the rules' age bands do not overlap, so the sums count no case twice
    rules: list[dict[str, Any]]  # label, expected_uncovered_cases, expected_uncovered_cases_after

    @property
    def better(self) -> bool:
        return self.after < self.before


def scenario_effects(cf: CapacityForecast) -> list[RoleEffect]:
    """Per role whose rules the changes move (in the order of the rules); [] when they move none."""
    if "expected_uncovered_cases_after" not in cf.rules.columns:
        return []
    moved = cf.rules.filter(
        (pl.col("expected_uncovered_cases_after") - pl.col("expected_uncovered_cases")).abs() > 1e-6
    )
    out: list[RoleEffect] = []
    for role in dict.fromkeys(moved.get_column("role").to_list()):
        mine = moved.filter(pl.col("role") == role)
        out.append(
            RoleEffect(
                role=str(role),
                before=float(mine.get_column("expected_uncovered_cases").sum()),
                after=float(mine.get_column("expected_uncovered_cases_after").sum()),
                one_needed=bool((mine["required"] == 1).all()),
                disjoint=_disjoint(mine.get_column("age_band").to_list()),
                rules=mine.select(
                    "label", "expected_uncovered_cases", "expected_uncovered_cases_after"
                ).to_dicts(),
            )
        )
    return out


def _disjoint(bands: Sequence[str]) -> bool:
    spans = sorted(tuple(int(x) for x in b.split("-")) for b in bands)
    return all(a[1] < b[0] for a, b in itertools.pairwise(spans))


def rule_table(cf: CapacityForecast, rules: pl.DataFrame, mark_agency: bool) -> pl.DataFrame:
    """The rule-by-rule table as people read it: rounded figures, chances as whole percentages, and with
    the changes beside the rota as it is when changes are being tried."""
    after = "expected_uncovered_cases_after" in rules.columns
    changed = WITH_CHANGES

    def percent_any(col: str) -> pl.Expr:
        return ((1 - (-pl.col(col)).exp()) * 100).round(0)

    columns = [pl.col("label").alias("Rule")]
    if mark_agency:
        columns.append(pl.col("role").is_in(list(cf.agency_roles)).alias("Your agency"))
    columns.append(pl.col("uncovered_hours").round(1).alias("Hours in gap"))
    if after:
        columns.append(pl.col("uncovered_hours_after").round(1).alias(f"Hours in gap,{changed}"))
    columns.append(pl.col("expected_uncovered_cases").round(2).alias("Expected cases meeting the gap"))
    if after:
        columns += [
            pl.col("expected_uncovered_cases_after")
            .round(2)
            .alias(f"Expected cases meeting the gap,{changed}"),
            (pl.col("expected_uncovered_cases_after") - pl.col("expected_uncovered_cases"))
            .round(2)
            .alias("Change"),
        ]
    columns += [
        pl.format("{} to {}", "uncovered_low_80", "uncovered_high_80").alias("80% likely range"),
        percent_any("expected_uncovered_cases").alias("Chance of at least one"),
    ]
    if after:
        columns.append(
            percent_any("expected_uncovered_cases_after").alias(f"Chance of at least one,{changed}")
        )
    columns.append(pl.col("expected_lost_cases").round(2).alias("Expected cases with no free responder"))
    if after:
        columns.append(pl.col("expected_lost_cases_after").round(2).alias(f"No free responder,{changed}"))
    return rules.select(columns)


def hour_of_week_table(cf: CapacityForecast, role: str) -> pl.DataFrame:
    """One row per hour of the week: the demand of each age band and the trained responders on duty for
    each rule of `role` (and with the changes)."""
    how = cf.hour_of_week.filter(pl.col("role") == role)
    rules = cf.rules.filter(pl.col("role") == role)
    keys = ["day", "hour"]
    out = how.select(*keys, pl.col("label").alias("Hour of the week")).unique(keys)
    bands: set[str] = set()
    for rule in rules.iter_rows(named=True):
        mine = how.filter(pl.col("rule_id") == rule["rule_id"])
        cols = [pl.col("trained_on_duty").round(2).alias(f"{rule['label']}: trained on duty")]
        if "trained_on_duty_after" in mine.columns:
            cols.append(
                pl.col("trained_on_duty_after").round(2).alias(f"{rule['label']}: on duty with the changes")
            )
        if rule["age_band"] not in bands:
            bands.add(rule["age_band"])
            cols.insert(
                0,
                pl.col("band_cases_per_year")
                .round(3)
                .alias(f"Demand aged {rule['age_band']} (cases a year)"),
            )
        out = out.join(mine.select(*keys, *cols), on=keys, how="left")
    return out.sort(keys).drop(keys)


def weekly_table(cf: CapacityForecast, role: str) -> pl.DataFrame:
    """One row per week and rule of `role`: the demand, the hours in gap and the expected cases meeting
    them (and with the changes)."""
    weekly = cf.weekly.filter(pl.col("role") == role)
    labels = dict(cf.rules.select("rule_id", "label").iter_rows())
    cols = [
        pl.col("week_start").alias("Week from"),
        pl.col("rule_id").replace_strict(labels, default=pl.col("rule_id")).alias("Rule"),
        pl.col("expected_cases").round(3).alias("Expected cases, all ages"),
        pl.col("uncovered_hours").round(1).alias("Hours in gap"),
        pl.col("expected_uncovered_cases").round(3).alias("Expected cases meeting the gap"),
    ]
    if "expected_uncovered_cases_after" in weekly.columns:
        cols += [
            pl.col("uncovered_hours_after").round(1).alias("Hours in gap, with the changes"),
            pl.col("expected_uncovered_cases_after")
            .round(3)
            .alias("Expected cases meeting the gap, with the changes"),
        ]
    return weekly.sort("week_start", "_order").select(cols)


__all__ = [
    "DEFAULT_FORECAST_DAYS",
    "WITH_CHANGES",
    "CapacityForecast",
    "ForecastSettings",
    "Outlook",
    "PeriodChange",
    "RoleEffect",
    "ScenarioKey",
    "ScenarioTotal",
    "agency_roles",
    "bands_by_age",
    "capacity_forecast",
    "chance_of_any",
    "change_since_previous",
    "child_population",
    "default_forecast_period",
    "forecast_settings",
    "history_window",
    "hour_of_week_table",
    "nightly_outlook",
    "quarter_start",
    "rule_table",
    "scenario_effects",
    "scenario_key",
    "scenario_totals",
    "scenarios_from",
    "weekly_table",
]
