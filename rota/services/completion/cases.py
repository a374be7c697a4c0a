"""Per-case flags (measures, in hours, covered, NCMD age band) and the case-level list built from them."""

from __future__ import annotations

from datetime import tzinfo

import polars as pl

from rota.analytics.completion import (
    MEASURES,
    covered,
    in_hours_flags,
    measures,
    ncmd_age_band,
)
from rota.analytics.reasons import with_reason_category
from rota.model import Rota
from rota.services.completion.common import (
    CASE_TABLE_SCHEMA,
)
from rota.timeutil import SERVICE_TZ, uk_local, zone_name


def per_case_flags(cases: pl.DataFrame, rota: Rota, tz: tzinfo) -> pl.DataFrame:
    """Per case meeting the JAR criteria: the measures (`rota.analytics.completion.measures`), whether it
    was notified in hours and while the rota covered it, its NCMD age band and its month (an index)."""
    m = measures(cases, tz)
    return m.with_columns(
        pl.Series("in_hours", in_hours_flags(m), dtype=pl.Boolean),
        covered(m, rota, tz).alias("covered"),
        ncmd_age_band().alias("age_band"),
        (pl.col("local").dt.year().cast(pl.Int64) * 12 + pl.col("local").dt.month().cast(pl.Int64) - 1).alias(
            "_month"
        ),
    )


def build_case_table(cases: pl.DataFrame, rota: Rota, tz: tzinfo = SERVICE_TZ) -> pl.DataFrame:
    """`case_table` from frames (no database, no permission check)."""
    return case_rows(cases, per_case_flags(cases, rota, tz), tz)


def case_rows(cases: pl.DataFrame, per_case: pl.DataFrame, tz: tzinfo) -> pl.DataFrame:
    if cases.height == 0:
        return pl.DataFrame(schema=CASE_TABLE_SCHEMA)
    cases = with_reason_category(cases)
    zone = zone_name(tz)
    flags = per_case.select("case_id", "in_hours", "covered", *MEASURES)
    local = pl.col("notified_at").dt.convert_time_zone(zone)
    out = (
        cases.join(flags, on="case_id", how="left")
        .with_columns(
            pl.col("notified_at")
            .map_elements(lambda t: uk_local(t, tz), return_dtype=pl.String)
            .alias("notified_local"),
            local.dt.date().alias("notified_day"),
            ncmd_age_band().alias("age_band"),
        )
        .sort("notified_at", "case_id", descending=True)
    )
    return out.select(list(CASE_TABLE_SCHEMA)).cast(CASE_TABLE_SCHEMA)  # type: ignore[arg-type]
