"""Long because the demand model is one piece: its design, prior, fit, predictive counts and the ways to
ask it (by hour, by age band, for a stretch of time) share the same cells and bands.

The demand model (docs/methods.md): the rate of JAR-eligible cases per real local hour, per age band.

Counts are rare (about one case a month in an area), so the model is a Poisson log-linear model with
shrunken effects, fitted by penalised maximum likelihood (a posterior mode):

    log rate(hour) = intercept + month effect + day-of-week effect + hour-of-day effect

- Month (12 levels) and hour of day (24 levels) are smoothed around their circle: neighbouring months and
  neighbouring hours are pulled towards each other (a cyclic random-walk prior), so a band with a handful of
  cases gets a flat profile and one with hundreds gets its real shape. Day of week is shrunk towards zero.
  Never 168 free hour-of-week cells: the hour-of-week shape is the sum of a day and an hour effect.
- The intercept has a prior from national rates (about 30 deaths per 100,000 children a year, about 30% of
  them sudden and unexpected, shared out by age) scaled by the configured child population; with years of
  local history the data outweigh it, with none the prior is the forecast.
- Forecast counts come from the predictive distribution: the expected count plus the uncertainty of the
  fitted level (Laplace approximation of the posterior), a Gamma-Poisson (negative binomial). Intervals are
  its quantiles.

Time handling: hours are real local hours (23 on the spring Sunday, 25 on the autumn one), so the exposure
of a history counts hours that happened, and month, day and hour of day are of local wall time.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

import numpy as np
import polars as pl

from rota.csvcheck import polars_zone
from rota.errors import InputError, Problem
from rota.model import UTC_US
from rota.timeutil import SERVICE_TZ, day_start

HOURS_PER_YEAR = 365.2425 * 24

# Share of sudden and unexpected child deaths by single year of age 0-17 (assumption used for the prior
# only; calibrated on the NCMD SUDIC report: infants are the largest group, 42% of deaths with no apparent
# cause are at 12 months or over, and trauma and suicide put a second peak in late adolescence).
AGE_SHARES: tuple[float, ...] = (
    0.44,  # under 1
    *(0.035,) * 4,  # 1-4
    *(0.012,) * 5,  # 5-9
    *(0.024,) * 5,  # 10-14
    0.05,  # 15
    0.09,  # 16
    0.10,  # 17
)

# Prior scales (standard deviations on the log scale), documented in docs/methods.md.
INTERCEPT_SD = 0.5  # a local rate within a factor of about 2.7 of the national one either way
MONTH_STEP_SD = 0.2  # next month's effect differs by about 20%
MONTH_LEVEL_SD = 0.5
DOW_SD = 0.2
HOUR_STEP_SD = 0.25  # next hour's effect differs by about 25%
HOUR_LEVEL_SD = 1.0
_FLAT = 1e-8  # precision of a flat prior

N_CELLS = 12 * 7 * 24
_P = 1 + 12 + 7 + 24


@dataclass(frozen=True)
class Prior:
    """National rates scaled by the child population; `child_population` None = no population prior."""

    child_population: int | None = None
    deaths_per_100k: float = 30.0
    unexpected_share: float = 0.30

    def yearly_cases(self, band: tuple[int, int]) -> float | None:
        """Expected JAR-eligible cases a year for an age band, from national rates."""
        if not self.child_population:
            return None
        share = sum(AGE_SHARES[band[0] : band[1] + 1])
        return self.child_population * self.deaths_per_100k / 100_000 * self.unexpected_share * share


def band_label(band: tuple[int, int]) -> str:
    return f"{band[0]}-{band[1]}"


def elementary_bands(bands: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Cut ages 0-17 at every band edge: the pieces each band is a union of (0-15 and 16-17 for the
    default rules); ages no band names form pieces too, so the pieces always cover 0-17."""
    cuts = {0, 18}
    for lo, hi in bands:
        cuts.update((lo, hi + 1))
    edges = sorted(cuts)
    return [(a, b - 1) for a, b in itertools.pairwise(edges)]


def _cell_expr(local: pl.Expr) -> pl.Expr:
    """Cell index month*168 + weekday*24 + hour of a local wall time (month 0-11, Monday = 0)."""
    return (
        (local.dt.month().cast(pl.Int64) - 1) * 168
        + (local.dt.weekday().cast(pl.Int64) - 1) * 24
        + local.dt.hour().cast(pl.Int64)
    )


def _local(expr: pl.Expr, tz: tzinfo) -> pl.Expr:
    key = polars_zone(tz)
    if key is None:
        return expr.map_elements(
            lambda t: t.astimezone(tz).replace(tzinfo=None), return_dtype=pl.Datetime("us")
        )
    return expr.dt.convert_time_zone(key).dt.replace_time_zone(None)


def floor_hour(t: datetime, tz: tzinfo = SERVICE_TZ) -> datetime:
    """The start of the real local hour holding `t` (UTC)."""
    local = t.astimezone(tz)
    return (
        local - timedelta(minutes=local.minute, seconds=local.second, microseconds=local.microsecond)
    ).astimezone(t.tzinfo)


def hour_grid(start: datetime, end: datetime, tz: tzinfo = SERVICE_TZ) -> pl.DataFrame:
    """The real local hours touching [start, end): hour_start (UTC), cell, and `fraction`, the share of
    the hour inside the range (1 except at the ends)."""
    first = floor_hour(start, tz)
    if end <= first:
        return pl.DataFrame(schema={"hour_start": UTC_US, "cell": pl.Int64, "fraction": pl.Float64})
    hours = pl.datetime_range(first, end, "1h", time_unit="us", time_zone="UTC", closed="left", eager=True)
    frame = pl.DataFrame({"hour_start": hours}).filter(pl.col("hour_start") < end)
    lo, hi = pl.lit(start).cast(UTC_US), pl.lit(end).cast(UTC_US)
    inside = (
        pl.min_horizontal(pl.col("hour_start") + pl.duration(hours=1), hi)
        - pl.max_horizontal(pl.col("hour_start"), lo)
    ).dt.total_seconds() / 3600
    return frame.with_columns(
        _cell_expr(_local(pl.col("hour_start"), tz)).alias("cell"), inside.alias("fraction")
    )


def _design() -> np.ndarray:
    """The 2,016 x 44 indicator matrix: intercept, month, weekday, hour of day."""
    cells = np.arange(N_CELLS)
    x = np.zeros((N_CELLS, _P))
    x[:, 0] = 1.0
    x[cells, 1 + cells // 168] = 1.0
    x[cells, 13 + (cells % 168) // 24] = 1.0
    x[cells, 20 + cells % 24] = 1.0
    return x


_X = _design()


def _cyclic_difference_precision(n: int, sd: float) -> np.ndarray:
    d = np.eye(n) - np.roll(np.eye(n), 1, axis=1)
    out: np.ndarray = d.T @ d / sd**2
    return out


def _prior_precision(intercept_sd: float | None) -> np.ndarray:
    p = np.zeros((_P, _P))
    p[0, 0] = _FLAT if intercept_sd is None else 1 / intercept_sd**2
    p[1:13, 1:13] = _cyclic_difference_precision(12, MONTH_STEP_SD) + np.eye(12) / MONTH_LEVEL_SD**2
    p[13:20, 13:20] = np.eye(7) / DOW_SD**2
    p[20:44, 20:44] = _cyclic_difference_precision(24, HOUR_STEP_SD) + np.eye(24) / HOUR_LEVEL_SD**2
    return p


def _fit(counts: np.ndarray, exposure: np.ndarray, prior_mean: float, precision: np.ndarray) -> np.ndarray:
    """Penalised Poisson maximum likelihood: Newton's method with step halving (the objective is concave)."""
    mean = np.zeros(_P)
    mean[0] = prior_mean
    beta = mean.copy()
    use = exposure > 0
    x, y, e = _X[use], counts[use], exposure[use]

    def objective(b: np.ndarray) -> float:
        eta = x @ b
        d = b - mean
        return float(y @ eta - e @ np.exp(eta) - 0.5 * d @ precision @ d)

    if y.sum() > 0:  # start the level at the data's own rate: a few Newton steps from there
        beta[0] = math.log(float(y.sum()) / float(e.sum()))
    current = objective(beta)
    for _ in range(50):
        mu = e * np.exp(x @ beta)
        grad = x.T @ (y - mu) - precision @ (beta - mean)
        hess = (x * mu[:, None]).T @ x + precision
        step = np.linalg.solve(hess, grad)
        if float(grad @ step) < 1e-10:  # the Newton decrement: converged
            break
        t = 1.0
        while t > 1e-8:
            candidate = beta + t * step
            value = objective(candidate)
            if value >= current:
                beta, current = candidate, value
                break
            t /= 2
        else:
            break
    return beta


@dataclass(frozen=True)
class BandModel:
    """The fitted rate for one age band: coefficients, their covariance, and how it was fitted."""

    band: tuple[int, int]
    coef: np.ndarray
    cov: np.ndarray
    cases: int | None  # None: withheld (rota.services.forecasting, for commissioners)
    exposure_hours: float
    prior_yearly: float | None

    @property
    def label(self) -> str:
        return band_label(self.band)

    @property
    def cell_rates(self) -> np.ndarray:
        """Expected cases in one hour of each of the 2,016 month x weekday x hour cells."""
        out: np.ndarray = np.exp(_X @ self.coef)
        return out

    def yearly_rate(self) -> float:
        """Expected cases a year averaged over the calendar (each cell weighted by its share of a year)."""
        return float(self.cell_rates.mean() * HOURS_PER_YEAR)


@dataclass(frozen=True)
class Prediction:
    """A forecast count: its mean and the shape of the negative binomial around it (None = Poisson)."""

    mean: float
    shape: float | None

    def interval(self, level: float) -> tuple[int, int]:
        tail = (1 - level) / 2
        return count_quantile(self.mean, self.shape, tail), count_quantile(self.mean, self.shape, 1 - tail)

    def log_score(self, observed: int) -> float:
        return float(_log_pmf(self.mean, self.shape, np.array([observed]))[0])

    def crps(self, observed: int) -> float:
        top = max(
            observed, int(self.mean + 12 * math.sqrt(self.mean + 1) + 20 + self.mean * 3 * (self._cv2()))
        )
        k = np.arange(top + 1)
        cdf = np.cumsum(np.exp(_log_pmf(self.mean, self.shape, k)))
        return float(np.sum((cdf - (k >= observed)) ** 2))

    def _cv2(self) -> float:
        return 0.0 if self.shape is None else 1 / self.shape


def _log_pmf(mean: float, shape: float | None, k: np.ndarray) -> np.ndarray:
    k = k.astype(float)
    lgk1 = np.array([math.lgamma(v + 1) for v in k])
    if mean <= 0:
        return np.where(k == 0, 0.0, -np.inf)
    if shape is None:
        out: np.ndarray = k * math.log(mean) - mean - lgk1
        return out
    r = shape
    lg = np.array([math.lgamma(v + r) for v in k]) - math.lgamma(r) - lgk1
    out = lg + r * math.log(r / (r + mean)) + k * math.log(mean / (r + mean))
    return out


def count_quantile(mean: float, shape: float | None, p: float) -> int:
    """The smallest k with P(count <= k) >= p under the Poisson (shape None) or negative binomial."""
    if mean <= 0:
        return 0
    spread = math.sqrt(mean + (mean * mean / shape if shape else 0.0))
    top = int(mean + 15 * spread + 30)
    k = np.arange(top + 1)
    cdf = np.cumsum(np.exp(_log_pmf(mean, shape, k)))
    idx = int(np.searchsorted(cdf, p - 1e-12, side="left"))
    return min(idx, top)


@dataclass(frozen=True)
class Demand:
    """Fitted demand for each elementary age band, and how to ask it about a stretch of time."""

    models: tuple[BandModel, ...]
    history_start: datetime
    history_end: datetime
    tz: tzinfo = SERVICE_TZ
    bands_asked: tuple[tuple[int, int], ...] = field(default_factory=tuple)

    def parts(self, band: tuple[int, int]) -> list[BandModel]:
        """The elementary models whose ages lie within `band`."""
        return [m for m in self.models if band[0] <= m.band[0] and m.band[1] <= band[1]]

    def hourly(self, start: datetime, end: datetime) -> pl.DataFrame:
        """Per real local hour touching [start, end): hour_start, fraction, and one column `rate_<band>`
        per elementary band with the expected cases in that hour (for the whole hour)."""
        grid = hour_grid(start, end, self.tz)
        cells = grid.get_column("cell").to_numpy()
        return grid.with_columns([pl.Series(f"rate_{m.label}", m.cell_rates[cells]) for m in self.models])

    def by_band(self, start: datetime, end: datetime, bands: Sequence[str]) -> pl.DataFrame:
        """Per real local hour touching [start, end) and age band (text like "16-17"): hour_start, age_band
        and expected (the band's expected cases in that whole hour), the capacity planner's demand."""
        hourly = self.hourly(start, end)
        frames = []
        for text in dict.fromkeys(bands):
            parts = [pl.col(f"rate_{m.label}") for m in self.parts(_band_of(text))]
            rate = pl.sum_horizontal(parts) if parts else pl.lit(0.0)
            frames.append(hourly.select("hour_start", pl.lit(text).alias("age_band"), rate.alias("expected")))
        return pl.concat(frames) if frames else pl.DataFrame()

    def predict(self, start: datetime, end: datetime, band: tuple[int, int] = (0, 17)) -> Prediction:
        """The forecast count of cases in `band` over [start, end)."""
        grid = hour_grid(start, end, self.tz)
        cells = grid.get_column("cell").to_numpy()
        fraction = grid.get_column("fraction").to_numpy()
        mean, var = 0.0, 0.0
        for m in self.parts(band):
            weights = fraction * m.cell_rates[cells]
            mu = float(weights.sum())
            if mu <= 0:
                continue
            gradient = (weights[:, None] * _X[cells]).sum(axis=0) / mu
            v = float(gradient @ m.cov @ gradient)  # variance of log(mean)
            mean += mu
            var += mu + mu * mu * v
        return prediction_from_moments(mean, var)

    def summary(self) -> list[dict[str, object]]:
        return [
            {
                "age_band": m.label,
                "cases_in_history": m.cases,
                "history_years": round(m.exposure_hours / HOURS_PER_YEAR, 2),
                "fitted_cases_per_year": round(m.yearly_rate(), 2),
                "prior_cases_per_year": None if m.prior_yearly is None else round(m.prior_yearly, 2),
            }
            for m in self.models
        ]


def _band_of(text: str) -> tuple[int, int]:
    lo, _, hi = text.partition("-")
    return int(lo), int(hi)


def prediction_from_moments(mean: float, variance: float) -> Prediction:
    """Poisson when the variance is the mean, else a negative binomial with that mean and variance."""
    extra = variance - mean
    if mean <= 0 or extra <= mean * 1e-9:
        return Prediction(mean, None)
    return Prediction(mean, mean * mean / extra)


def _jar_cases(cases: pl.DataFrame) -> pl.DataFrame:
    return cases.filter(pl.col("jar_criteria_met").fill_null(False) & pl.col("notified_at").is_not_null())


_NO_DATA = (
    "no JAR-eligible cases in the history and no child population configured: import cases or give the "
    "child population (--population, or the child_population setting)"
)


class _History:
    """Cell counts of a history, computed once so that many fits (a backtest) slice it cheaply."""

    def __init__(self, cases: pl.DataFrame, start: datetime, end: datetime, tz: tzinfo) -> None:
        self.start, self.end, self.tz = start, end, tz
        grid = hour_grid(start, end, tz)
        self.hours = grid.get_column("hour_start")
        self.cells = grid.get_column("cell").to_numpy()
        self.fraction = grid.get_column("fraction").to_numpy()
        jar = _jar_cases(cases).filter(
            (pl.col("notified_at") >= pl.lit(start).cast(UTC_US))
            & (pl.col("notified_at") < pl.lit(end).cast(UTC_US))
        )
        self.times = jar.get_column("notified_at")
        self.ages = jar.get_column("age_years").to_numpy()
        self.case_cells = jar.select(_cell_expr(_local(pl.col("notified_at"), tz))).to_series().to_numpy()
        self.case_us = self.times.dt.epoch("us").to_numpy()
        self.hour_us = self.hours.dt.epoch("us").to_numpy()

    def slice(self, until: datetime) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """Exposure per cell, case cells, ages and exposure hours for [start, until)."""
        cut = int(pl.Series([until]).cast(UTC_US).dt.epoch("us")[0])
        n_hours = int(np.searchsorted(self.hour_us, cut, side="left"))
        frac = self.fraction[:n_hours].copy()
        if n_hours and self.hour_us[n_hours - 1] + 3_600_000_000 > cut:  # a partial last hour
            frac[-1] = min(frac[-1], (cut - self.hour_us[n_hours - 1]) / 3_600_000_000)
        exposure = np.bincount(self.cells[:n_hours], weights=frac, minlength=N_CELLS)
        keep = self.case_us < cut
        return exposure, self.case_cells[keep], self.ages[keep], float(frac.sum())

    def fit(self, bands: Sequence[tuple[int, int]], prior: Prior, until: datetime | None = None) -> Demand:
        exposure, case_cells, ages, hours = self.slice(until or self.end)
        pieces = elementary_bands(bands)
        total = len(case_cells)
        models: list[BandModel] = []
        for band in pieces:
            in_band = (ages >= band[0]) & (ages <= band[1])
            counts = np.bincount(case_cells[in_band], minlength=N_CELLS).astype(float)
            yearly_prior = prior.yearly_cases(band)
            share = sum(AGE_SHARES[band[0] : band[1] + 1])
            if yearly_prior is not None:
                centre, sd = math.log(yearly_prior / HOURS_PER_YEAR), INTERCEPT_SD
            elif total > 0 and hours > 0:
                # no population: centre the band on the area's own all-ages rate times the national share
                centre, sd = math.log(total * share / hours), 1.0
            else:
                raise InputError(Problem("forecast", None, None, _NO_DATA))
            precision = _prior_precision(sd)
            beta = _fit(counts, exposure, centre, precision)
            mu = exposure * np.exp(_X @ beta)
            hess = (_X * mu[:, None]).T @ _X + precision
            cov = np.linalg.inv(hess)
            models.append(BandModel(band, beta, cov, int(in_band.sum()), hours, yearly_prior))
        return Demand(tuple(models), self.start, until or self.end, self.tz, tuple(bands))


def history_bounds(
    cases: pl.DataFrame, until: datetime, tz: tzinfo = SERVICE_TZ, start: datetime | None = None
) -> tuple[datetime, datetime]:
    """The default history: from the start of the local month of the first JAR-eligible case to `until`."""
    if start is None:
        times = _jar_cases(cases).get_column("notified_at")
        first = times.min() if times.len() else None
        if first is None or first >= until:  # type: ignore[operator]
            return until, until
        local = first.astimezone(tz)  # type: ignore[union-attr]
        start = day_start(local.date().replace(day=1), tz)
    return start, until


def fit_demand(
    cases: pl.DataFrame,
    bands: Sequence[tuple[int, int]],
    history_start: datetime,
    history_end: datetime,
    prior: Prior | None = None,
    tz: tzinfo = SERVICE_TZ,
) -> Demand:
    """Fit the demand model on the JAR-eligible cases notified in [history_start, history_end)."""
    history = _History(cases, history_start, history_end, tz)
    return history.fit(bands, prior or Prior())


__all__ = [
    "AGE_SHARES",
    "BandModel",
    "Demand",
    "Prediction",
    "Prior",
    "band_label",
    "count_quantile",
    "elementary_bands",
    "fit_demand",
    "history_bounds",
    "hour_grid",
]
