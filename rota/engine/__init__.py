"""The coverage engine: qualified responder counts, gaps and the hourly grid, as a sweep in polars."""

from rota.engine.sweep import (
    GAP_COLUMNS,
    GRID_COLUMNS,
    coverage,
    gaps,
    hour_starts,
    qualified_intervals,
    qualified_timeline,
)

__all__ = [
    "GAP_COLUMNS",
    "GRID_COLUMNS",
    "coverage",
    "gaps",
    "hour_starts",
    "qualified_intervals",
    "qualified_timeline",
]
