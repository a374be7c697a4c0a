"""Cases drawn from a known demand model, for checking that the forecast recovers it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import polars as pl

from rota.analytics.demand import hour_grid
from rota.timeutil import SERVICE_TZ


@dataclass(frozen=True)
class TrueModel:
    """log rate = level + winter wave + weekend lift + a morning-peaked daily wave (local time)."""

    cases_per_year: float = 40.0
    winter: float = 0.25  # peak log effect in January
    weekend: float = 0.15
    daily: float = 0.5  # amplitude of the hour-of-day wave, peak around 09:00
    share_16_17: float = 0.2

    def hourly(self, start: datetime, end: datetime) -> pl.DataFrame:
        """hour_start and the true expected cases in each whole hour."""
        grid = hour_grid(start, end, SERVICE_TZ)
        cells = grid.get_column("cell").to_numpy()
        month, day, hour = cells // 168, (cells % 168) // 24, cells % 24
        effect = (
            self.winter * np.cos(2 * np.pi * month / 12)
            + np.where(day >= 5, self.weekend, 0.0)
            + self.daily * np.sin(2 * np.pi * (hour - 3) / 24)
        )
        # level: a calendar-average of cases_per_year
        one_year = hour_grid(
            datetime(2019, 1, 1, tzinfo=start.tzinfo), datetime(2020, 1, 1, tzinfo=start.tzinfo)
        )
        c = one_year.get_column("cell").to_numpy()
        m, d, h = c // 168, (c % 168) // 24, c % 24
        norm = np.exp(
            self.winter * np.cos(2 * np.pi * m / 12)
            + np.where(d >= 5, self.weekend, 0.0)
            + self.daily * np.sin(2 * np.pi * (h - 3) / 24)
        ).sum()
        rate = np.exp(effect) * self.cases_per_year / norm
        return grid.select("hour_start").with_columns(pl.Series("rate", rate))

    def draw(self, start: datetime, end: datetime, seed: int) -> pl.DataFrame:
        """JAR-eligible cases over [start, end) with uniform times within each hour."""
        rng = np.random.default_rng(seed)
        hourly = self.hourly(start, end)
        n = rng.poisson(hourly.get_column("rate").to_numpy())
        idx = np.repeat(np.arange(len(n)), n)
        starts = hourly.get_column("hour_start").to_numpy()[idx]
        times = starts + (rng.random(len(idx)) * 3_600_000_000).astype("timedelta64[us]")
        ages = np.where(rng.random(len(idx)) < self.share_16_17, 16, rng.integers(0, 16, len(idx)))
        return pl.DataFrame(
            {
                "case_id": [f"SIM-{i:05d}" for i in range(len(idx))],
                "notified_at": pl.Series(times).dt.replace_time_zone("UTC"),
                "age_years": ages.astype(np.int64),
                "jar_criteria_met": [True] * len(idx),
                "jar_triggered": [True] * len(idx),
            }
        )
