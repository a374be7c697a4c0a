"""Long because the risk model, its scenarios and its backtest share the Forecast they compute, and
the model is easiest to check read top to bottom in one place.

Forecast and risk (docs/methods.md, "Risk"): demand against rostered trained capacity, rule by rule.

For each rule over [start, end):
- `uncovered_hours`: time inside the rule's windows with fewer than min_count qualified responders;
- `expected_uncovered_cases`: the integral of the demand rate of the rule's age band over that time;
- `p_any_uncovered` = 1 - exp(-expected_uncovered_cases) (Poisson arrivals);
- `expected_lost_cases`: cases that would find no free trained responder. In a gap every case is lost; in
  covered time a case is lost when every available responder is already committed to earlier cases,
  with the Erlang-B loss formula: servers k = available // min_count (each case takes min_count
  responders), offered load A = (all-ages demand rate per hour) x mean commitment per case (default 4 h;
  every JAR needs each role, so the load on a role comes from cases of every age). Erlang-B does not
  depend on how commitment times are distributed, only on their mean.
`backtest` judges the demand model by rolling-origin forecasts against what happened.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

import numpy as np
import polars as pl

from rota.analytics.demand import (
    Demand,
    Prediction,
    Prior,
    _History,
    band_label,
    elementary_bands,
    history_bounds,
)
from rota.analytics.scenarios import Scenario, apply_scenarios
from rota.engine import qualified_timeline
from rota.model import UTC_US, Rota
from rota.rules import Rule, parse_age_band
from rota.timeutil import SERVICE_TZ, day_start, iso_local

DEFAULT_COMMITMENT_HOURS = 4.0
RULE_COLUMNS: tuple[str, ...] = (
    "rule_id",
    "age_band",
    "uncovered_hours",
    "expected_uncovered_cases",
    "p_any_uncovered",
    "expected_lost_cases",
)


def _sig(x: float, digits: int = 6) -> float:
    """Rounded to significant digits, so a small expected count keeps its precision."""
    return float(f"{x:.{digits}g}")


def erlang_b(servers: np.ndarray, load: np.ndarray) -> np.ndarray:
    """Erlang-B blocking probability B(k, A) by the stable recursion B(0) = 1,
    B(j) = A B(j-1) / (j + A B(j-1)), element-wise; k = 0 gives 1."""
    k = np.asarray(servers, dtype=np.int64)
    a = np.asarray(load, dtype=float)
    b = np.ones(np.broadcast(k, a).shape)
    top = int(k.max()) if k.size else 0
    for j in range(1, top + 1):
        step = a * b / (j + a * b)
        b = np.where(k >= j, step, b)
        if not np.any((k > j) & (b > 1e-300)):
            b = np.where(k > j, 0.0, b)
            break
    return b


@dataclass(frozen=True)
class Forecast:
    """The forecast over [start, end): demand, per-rule risk, per-band risk, and the hourly detail."""

    start: datetime
    end: datetime
    tz: tzinfo
    prediction: Prediction
    rules: pl.DataFrame  # RULE_COLUMNS + role, required, uncovered_low_80, uncovered_high_80
    bands: (
        pl.DataFrame
    )  # age_band, expected_cases, low_80, high_80, expected_uncovered_cases, p_any_uncovered
    hourly: pl.DataFrame  # hour_start, rule_id, role, age_band, rate, available, gap_minutes, expected_...
    demand_hourly: pl.DataFrame  # hour_start, fraction, rate (all ages), rate_<band>...
    demand: Demand
    commitment_hours: float

    @property
    def expected_cases(self) -> float:
        return self.prediction.mean

    @property
    def expected_cases_meeting_a_gap(self) -> float:
        """Expected cases notified while at least one rule for their age is in gap."""
        return float(self.bands.get_column("expected_uncovered_cases").sum())

    def as_json(self) -> dict[str, Any]:
        lo80, hi80 = self.prediction.interval(0.8)
        lo95, hi95 = self.prediction.interval(0.95)
        return {
            "start": iso_local(self.start, self.tz),
            "end": iso_local(self.end, self.tz),
            "expected_cases": _sig(self.prediction.mean),
            "interval_80": [lo80, hi80],
            "interval_95": [lo95, hi95],
            "rules": [
                {
                    "rule_id": r["rule_id"],
                    "role": r["role"],
                    "age_band": r["age_band"],
                    "required": r["required"],
                    "uncovered_hours": _sig(r["uncovered_hours"]),
                    "expected_uncovered_cases": _sig(r["expected_uncovered_cases"]),
                    "uncovered_cases_interval_80": [r["uncovered_low_80"], r["uncovered_high_80"]],
                    "p_any_uncovered": _sig(r["p_any_uncovered"]),
                    "expected_lost_cases": _sig(r["expected_lost_cases"]),
                }
                for r in self.rules.iter_rows(named=True)
            ],
            "age_bands": [
                {
                    "age_band": r["age_band"],
                    "expected_cases": _sig(r["expected_cases"]),
                    "interval_80": [r["low_80"], r["high_80"]],
                    "expected_cases_meeting_a_gap": _sig(r["expected_uncovered_cases"]),
                    "p_any_meeting_a_gap": _sig(r["p_any_uncovered"]),
                }
                for r in self.bands.iter_rows(named=True)
            ],
            "expected_cases_meeting_a_gap": _sig(self.expected_cases_meeting_a_gap),
            "mean_commitment_hours": self.commitment_hours,
            "model": {
                "history_start": iso_local(self.demand.history_start, self.tz),
                "history_end": iso_local(self.demand.history_end, self.tz),
                "bands": self.demand.summary(),
            },
        }


def _rule_bands(rules: Sequence[Rule]) -> list[tuple[int, int]]:
    return [parse_age_band(r.age_band) for r in rules]


def _rate_expr(demand: Demand, band: tuple[int, int]) -> pl.Expr:
    parts = [pl.col(f"rate_{m.label}") for m in demand.parts(band)]
    return pl.sum_horizontal(parts) if parts else pl.lit(0.0)


def assess(
    rota: Rota,
    demand: Demand,
    start: datetime,
    end: datetime,
    tz: tzinfo = SERVICE_TZ,
    commitment_hours: float = DEFAULT_COMMITMENT_HOURS,
) -> Forecast:
    """Risk of every rule of `rota` over [start, end) under `demand`."""
    if end <= start:
        raise ValueError("the forecast range must end after it starts")
    if not commitment_hours > 0:
        raise ValueError("the mean commitment per case must be positive")
    rules = rota.effective_rules()
    demand_hourly = demand.hourly(start, end)
    all_ages = _rate_expr(demand, (0, 17))
    demand_hourly = demand_hourly.with_columns(all_ages.alias("rate"))
    hours = demand_hourly.get_column("hour_start")
    timeline = qualified_timeline(rota, start, end, tz, rules, cuts=hours.to_list())
    bands = {r.id: parse_age_band(r.age_band) for r in rules}
    rate_by_rule = (
        pl.concat(
            [
                demand_hourly.select(
                    "hour_start",
                    pl.lit(r.id).alias("rule_id"),
                    _rate_expr(demand, bands[r.id]).alias("rate"),
                    pl.col("rate").alias("load_rate"),
                )
                for r in rules
            ]
        )
        if rules
        else pl.DataFrame(
            schema={"hour_start": UTC_US, "rule_id": pl.String, "rate": pl.Float64, "load_rate": pl.Float64}
        )
    )
    pieces = (
        timeline.sort("start")
        .join_asof(
            demand_hourly.select("hour_start").sort("hour_start"),
            left_on="start",
            right_on="hour_start",
            strategy="backward",
        )
        .join(rate_by_rule, on=["hour_start", "rule_id"], how="left")
        .with_columns(
            ((pl.col("end") - pl.col("start")).dt.total_seconds() / 3600).alias("_h"),
            (pl.col("in_window") & (pl.col("available") < pl.col("required"))).alias("_gap"),
        )
    )
    servers = (pieces.get_column("available") // pieces.get_column("required").clip(1, None)).to_numpy()
    load = (pieces.get_column("load_rate") * commitment_hours).to_numpy()
    blocking = erlang_b(servers, load)
    pieces = pieces.with_columns(pl.Series("_b", blocking)).with_columns(
        pl.when(pl.col("_gap")).then(pl.col("_h")).otherwise(0.0).alias("_gap_h"),
        pl.when(pl.col("_gap")).then(pl.col("rate") * pl.col("_h")).otherwise(0.0).alias("_unc"),
        pl.when(~pl.col("in_window"))
        .then(0.0)
        .when(pl.col("_gap"))
        .then(pl.col("rate") * pl.col("_h"))
        .otherwise(pl.col("rate") * pl.col("_h") * pl.col("_b"))
        .alias("_lost"),
        pl.when(pl.col("in_window"))
        .then(pl.col("available") * pl.col("_h"))
        .otherwise(0.0)
        .alias("_avail_h"),
        pl.when(pl.col("in_window")).then(pl.col("_h")).otherwise(0.0).alias("_win_h"),
    )
    hourly = (
        pieces.group_by("rule_id", "hour_start")
        .agg(
            pl.col("role", "age_band", "required", "rate", "_order").first(),
            pl.col("available").min().alias("available_min"),
            (pl.col("_avail_h").sum() / pl.col("_win_h").sum()).alias("available"),
            (pl.col("_gap_h").sum() * 60).alias("gap_minutes"),
            pl.col("_unc").sum().alias("expected_uncovered_cases"),
            pl.col("_lost").sum().alias("expected_lost_cases"),
            pl.col("in_window").any(),
        )
        .sort("hour_start", "_order")
    )
    per_rule = (
        pieces.group_by("rule_id")
        .agg(
            pl.col("role", "age_band", "required", "_order").first(),
            pl.col("_gap_h").sum().alias("uncovered_hours"),
            pl.col("_unc").sum().alias("expected_uncovered_cases"),
            pl.col("_lost").sum().alias("expected_lost_cases"),
        )
        .sort("_order")
    )
    # rules with no piece (an empty range) still get a row
    order = pl.DataFrame(
        {
            "rule_id": [r.id for r in rules],
            "role": [r.role for r in rules],
            "age_band": [r.age_band for r in rules],
            "required": [r.min_count for r in rules],
        },
        schema={"rule_id": pl.String, "role": pl.String, "age_band": pl.String, "required": pl.Int64},
    )
    per_rule = order.join(
        per_rule.select("rule_id", "uncovered_hours", "expected_uncovered_cases", "expected_lost_cases"),
        on="rule_id",
        how="left",
        maintain_order="left",
    ).with_columns(
        pl.col("uncovered_hours", "expected_uncovered_cases", "expected_lost_cases").fill_null(0.0)
    )
    lows, highs = [], []
    for r in per_rule.iter_rows(named=True):
        ratio = _level_ratio(demand, bands[r["rule_id"]], start, end)
        p = _scaled(r["expected_uncovered_cases"], ratio)
        lo, hi = p.interval(0.8)
        lows.append(lo)
        highs.append(hi)
    per_rule = per_rule.with_columns(
        (1 - (-pl.col("expected_uncovered_cases")).exp()).alias("p_any_uncovered"),
        pl.Series("uncovered_low_80", lows, dtype=pl.Int64),
        pl.Series("uncovered_high_80", highs, dtype=pl.Int64),
    )
    band_frame = _band_risk(pieces, rules, demand, start, end)
    return Forecast(
        start=start,
        end=end,
        tz=tz,
        prediction=demand.predict(start, end, (0, 17)),
        rules=per_rule,
        bands=band_frame,
        hourly=hourly,
        demand_hourly=demand_hourly,
        demand=demand,
        commitment_hours=commitment_hours,
    )


def _level_ratio(demand: Demand, band: tuple[int, int], start: datetime, end: datetime) -> float:
    """Squared coefficient of variation of the band's expected count (the level uncertainty)."""
    p = demand.predict(start, end, band)
    return 0.0 if p.shape is None else 1.0 / p.shape


def _scaled(mean: float, cv2: float) -> Prediction:
    if mean <= 0 or cv2 <= 0:
        return Prediction(max(mean, 0.0), None)
    return Prediction(mean, 1 / cv2)


def _band_risk(
    pieces: pl.DataFrame, rules: Sequence[Rule], demand: Demand, start: datetime, end: datetime
) -> pl.DataFrame:
    """Per elementary age band: forecast cases and the cases expected while ANY rule for that age is in
    gap (the union of the rules' gaps, so a case is counted once)."""
    rows: list[dict[str, Any]] = []
    gap = pieces.filter(pl.col("_gap")).select("rule_id", "hour_start", "start", "end")
    for model in demand.models:
        lo, hi = model.band
        applicable = [
            r.id for r in rules if parse_age_band(r.age_band)[0] <= lo and hi <= parse_age_band(r.age_band)[1]
        ]
        sub = gap.filter(pl.col("rule_id").is_in(applicable)).sort("hour_start", "start")
        if sub.height:
            merged = (
                sub.with_columns(
                    pl.col("end").cum_max().shift(1).over("hour_start").alias("_reach"),
                )
                .with_columns(
                    (pl.col("_reach").is_null() | (pl.col("start") > pl.col("_reach")))
                    .cum_sum()
                    .over("hour_start")
                    .alias("_grp")
                )
                .group_by("hour_start", "_grp")
                .agg(pl.col("start").min(), pl.col("end").max())
                .group_by("hour_start")
                .agg(((pl.col("end") - pl.col("start")).dt.total_seconds().sum() / 3600).alias("_h"))
            )
            rates = demand.hourly(start, end).select("hour_start", pl.col(f"rate_{model.label}").alias("_r"))
            expected = float(
                merged.join(rates, on="hour_start").select((pl.col("_h") * pl.col("_r")).sum()).item()
            )
        else:
            expected = 0.0
        p = demand.predict(start, end, model.band)
        low, high = p.interval(0.8)
        rows.append(
            {
                "age_band": model.label,
                "expected_cases": p.mean,
                "low_80": low,
                "high_80": high,
                "expected_uncovered_cases": expected,
                "p_any_uncovered": 1 - math.exp(-expected),
            }
        )
    return pl.DataFrame(
        rows,
        schema={
            "age_band": pl.String,
            "expected_cases": pl.Float64,
            "low_80": pl.Int64,
            "high_80": pl.Int64,
            "expected_uncovered_cases": pl.Float64,
            "p_any_uncovered": pl.Float64,
        },
    )


def fit_for(
    rota: Rota,
    cases: pl.DataFrame,
    history_end: datetime,
    prior: Prior | None = None,
    tz: tzinfo = SERVICE_TZ,
    history_start: datetime | None = None,
) -> Demand:
    """Fit the demand model for the age bands of `rota`'s rules on the cases before `history_end`."""
    lo, hi = history_bounds(cases, history_end, tz, history_start)
    return _History(cases, lo, hi, tz).fit(_rule_bands(rota.effective_rules()), prior or Prior())


def forecast(
    rota: Rota,
    cases: pl.DataFrame,
    start: datetime,
    end: datetime,
    tz: tzinfo = SERVICE_TZ,
    prior: Prior | None = None,
    commitment_hours: float = DEFAULT_COMMITMENT_HOURS,
    history_start: datetime | None = None,
    history_end: datetime | None = None,
) -> Forecast:
    """Fit on the history (by default up to `start`) and assess [start, end)."""
    demand = fit_for(rota, cases, history_end or start, prior, tz, history_start)
    return assess(rota, demand, start, end, tz, commitment_hours)


@dataclass(frozen=True)
class ScenarioResult:
    """A forecast before and after what-if changes, rule by rule."""

    base: Forecast
    changed: Forecast
    descriptions: tuple[str, ...]

    def comparison(self) -> pl.DataFrame:
        """Per rule: expected uncovered cases and lost cases before and after, and the change."""
        b = self.base.rules.select(
            "rule_id",
            "role",
            "age_band",
            "uncovered_hours",
            "expected_uncovered_cases",
            "expected_lost_cases",
        )
        c = self.changed.rules.select(
            "rule_id",
            pl.col("uncovered_hours").alias("uncovered_hours_after"),
            pl.col("expected_uncovered_cases").alias("expected_uncovered_cases_after"),
            pl.col("expected_lost_cases").alias("expected_lost_cases_after"),
        )
        return b.join(c, on="rule_id", how="left", maintain_order="left").with_columns(
            (pl.col("expected_uncovered_cases_after") - pl.col("expected_uncovered_cases")).alias(
                "expected_uncovered_cases_change"
            )
        )

    def as_json(self) -> dict[str, Any]:
        before = {r["rule_id"]: r for r in self.base.rules.iter_rows(named=True)}
        after = self.changed.as_json()
        return {
            "changes": list(self.descriptions),
            "expected_cases_meeting_a_gap": _sig(self.changed.expected_cases_meeting_a_gap),
            "expected_cases_meeting_a_gap_change": _sig(
                self.changed.expected_cases_meeting_a_gap - self.base.expected_cases_meeting_a_gap
            ),
            "rules": [
                {
                    **r,
                    "expected_uncovered_cases_change": _sig(
                        self.changed.rules.filter(pl.col("rule_id") == r["rule_id"])
                        .get_column("expected_uncovered_cases")
                        .item()
                        - before[r["rule_id"]]["expected_uncovered_cases"]
                    ),
                }
                for r in after["rules"]
            ],
        }


def with_scenarios(rota: Rota, base: Forecast, scenarios: Sequence[Scenario]) -> ScenarioResult:
    """Re-assess `base`'s range with the what-if changes applied to the rota (same demand)."""
    changed_rota = apply_scenarios(rota, scenarios, base.start, base.end, base.tz)
    changed = assess(changed_rota, base.demand, base.start, base.end, base.tz, base.commitment_hours)
    return ScenarioResult(base, changed, tuple(s.describe() for s in scenarios))


# ---------------------------------------------------------------------------------------------- backtest


@dataclass(frozen=True)
class Backtest:
    """Rolling-origin evaluation: one row per origin, and the summary figures."""

    origins: pl.DataFrame
    horizon_days: int
    step_days: int

    def summary(self) -> dict[str, Any]:
        o = self.origins
        n = o.height

        def mean(col: str) -> float | None:
            return None if n == 0 else round(float(o.get_column(col).mean()), 4)  # type: ignore[arg-type]

        crps, base = mean("crps"), mean("baseline_crps")
        return {
            "origins": n,
            "horizon_days": self.horizon_days,
            "step_days": self.step_days,
            "coverage_80": mean("in_80"),
            "coverage_95": mean("in_95"),
            "mean_log_score": mean("log_score"),
            "baseline_mean_log_score": mean("baseline_log_score"),
            "mean_crps": crps,
            "baseline_mean_crps": base,
            "crps_skill": None if not crps or not base else _sig(1 - crps / base),
        }

    def as_json(self, tz: tzinfo = SERVICE_TZ) -> dict[str, Any]:
        return {
            **self.summary(),
            "forecasts": [
                {
                    "origin": iso_local(r["origin"], tz),
                    "end": iso_local(r["end"], tz),
                    "expected_cases": _sig(r["expected_cases"]),
                    "interval_80": [r["low_80"], r["high_80"]],
                    "interval_95": [r["low_95"], r["high_95"]],
                    "observed": r["observed"],
                    "baseline_expected_cases": _sig(r["baseline_expected_cases"]),
                }
                for r in self.origins.iter_rows(named=True)
            ],
        }


def backtest(
    cases: pl.DataFrame,
    bands: Sequence[tuple[int, int]],
    history_start: datetime,
    history_end: datetime,
    prior: Prior | None = None,
    tz: tzinfo = SERVICE_TZ,
    horizon_days: int = 91,
    step_days: int = 28,
    min_train_days: int = 365,
) -> Backtest:
    """Refit at each origin (every `step_days` from `min_train_days` after the history starts) on the
    cases before it and forecast the next `horizon_days`; score against the count that happened, for the
    model and for the mean-rate baseline (the history's average rate, Poisson). Scores: log score (higher
    is better) and CRPS (lower is better); coverage of the 80% and 95% intervals."""
    if horizon_days < 1 or step_days < 1 or min_train_days < 1:
        raise ValueError("horizon, step and training days must be positive")
    prior = prior or Prior()
    history = _History(cases, history_start, history_end, tz)
    times = history.times
    first_day = history_start.astimezone(tz).date()
    rows: list[dict[str, Any]] = []
    k = 0
    while True:
        origin = day_start(first_day + timedelta(days=min_train_days + k * step_days), tz)
        stop = day_start(origin.astimezone(tz).date() + timedelta(days=horizon_days), tz)
        if stop > history_end:
            break
        k += 1
        demand = history.fit(bands, prior, until=origin)
        pred = demand.predict(origin, stop, (0, 17))
        observed = int(((times >= origin) & (times < stop)).sum())
        _, _, _, hours = history.slice(origin)
        n_train = int((times < origin).sum())
        base = Prediction(n_train / hours * (stop - origin).total_seconds() / 3600 if hours else 0.0, None)
        lo80, hi80 = pred.interval(0.8)
        lo95, hi95 = pred.interval(0.95)
        rows.append(
            {
                "origin": origin,
                "end": stop,
                "expected_cases": pred.mean,
                "low_80": lo80,
                "high_80": hi80,
                "low_95": lo95,
                "high_95": hi95,
                "observed": observed,
                "in_80": float(lo80 <= observed <= hi80),
                "in_95": float(lo95 <= observed <= hi95),
                "log_score": pred.log_score(observed),
                "crps": pred.crps(observed),
                "baseline_expected_cases": base.mean,
                "baseline_log_score": base.log_score(observed),
                "baseline_crps": base.crps(observed),
            }
        )
    schema: dict[str, pl.DataType] = {
        "origin": UTC_US,
        "end": UTC_US,
        "expected_cases": pl.Float64(),
        "low_80": pl.Int64(),
        "high_80": pl.Int64(),
        "low_95": pl.Int64(),
        "high_95": pl.Int64(),
        "observed": pl.Int64(),
        "in_80": pl.Float64(),
        "in_95": pl.Float64(),
        "log_score": pl.Float64(),
        "crps": pl.Float64(),
        "baseline_expected_cases": pl.Float64(),
        "baseline_log_score": pl.Float64(),
        "baseline_crps": pl.Float64(),
    }
    return Backtest(pl.DataFrame(rows, schema=schema), horizon_days, step_days)


__all__ = [
    "DEFAULT_COMMITMENT_HOURS",
    "RULE_COLUMNS",
    "Backtest",
    "Forecast",
    "ScenarioResult",
    "assess",
    "backtest",
    "band_label",
    "elementary_bands",
    "erlang_b",
    "fit_for",
    "forecast",
    "with_scenarios",
]
