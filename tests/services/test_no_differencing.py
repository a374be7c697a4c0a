"""No differencing of case counts (docs/methods.md, "Small-number suppression"): through every
commissioner-facing service, nothing a commissioner can obtain changes when one single case is added,
except whole calendar quarter or year counts that are 0 or at least the configured threshold (or hidden);
stepping the forecast's start day by day over a year, or choosing overlapping periods, gives nothing more."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from sqlalchemy import Engine

from rota.analytics.cases import parse_cases
from rota.services.access import Actor
from rota.services.completion import completion_view
from rota.services.forecasting import capacity_forecast, history_window, quarter_start
from rota.storage.db import init_db
from rota.storage.imports import import_cases
from rota.storage.settings import write_setting
from rota.timeutil import SERVICE_TZ

COMMISSIONER = Actor("cara", "commissioner", "ICB")
NOW = datetime(2026, 12, 3, 10, tzinfo=UTC)
HEADER = "case_id,notified_at,age_years,jar_criteria_met,jar_triggered,paediatrician_at,reason_incomplete"
YEAR = [date(2025, 1, 1) + timedelta(days=i) for i in range(365)]
# every day around the extra case's quarter, and the first and last day of every quarter (a forecast per
# day of the whole year through the service takes minutes; history_window is checked on every day)
STEPPED = sorted(
    {d for d in YEAR if date(2025, 5, 1) <= d <= date(2025, 7, 7)}
    | {d for d in YEAR if d.day == 1 and d.month in (1, 4, 7, 10)}
    | {d - timedelta(days=1) for d in YEAR if d.day == 1 and d.month in (4, 7, 10)}
    | {date(2025, 12, 31)}
)


def _cases(extra: date | None = None) -> pl.DataFrame:
    """About one JAR case a fortnight over 2024-2025 (single deaths), plus one more on `extra`."""
    rows = []
    day = date(2024, 1, 3)
    i = 0
    while day < date(2026, 1, 1):
        age = (3, 16, 0, 9, 17)[i % 5]
        rows.append(
            f"C-{i:04d},{day.isoformat()} 0{i % 10}:30,{age},yes,yes,,no trained paediatrician on call"
        )
        day += timedelta(days=13 + i % 3)
        i += 1
    if extra is not None:
        rows.append(f"X-0001,{extra.isoformat()} 21:15,16,yes,no,,family declined")
    return parse_cases(("\n".join([HEADER, *rows]) + "\n").encode())


@pytest.fixture
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, Engine]]:
    """The same cases without and with one single extra death (16-year-old, 14 May 2025)."""
    made = []
    for name, extra in (("without", None), ("with", date(2025, 5, 14))):
        eng = init_db(f"sqlite:///{tmp_path_factory.mktemp(name) / 'rota.db'}")
        write_setting(eng, "child_population", "380000", actor="test")
        import_cases(eng, _cases(extra), actor="test")
        made.append(eng)
    yield made[0], made[1]
    for eng in made:
        eng.dispose()


def _published(view_levels: pl.DataFrame) -> dict[tuple[str, str, str, str], str | None]:
    out = {}
    for r in view_levels.iter_rows(named=True):
        for c in ("numerator", "denominator", "not_met"):
            out[(r["period"], r["split"], r["measure"], c)] = r[f"{c}_shown"]
    return out


def _check_only_whole_periods_changed(a: pl.DataFrame, b: pl.DataFrame, threshold: int) -> None:
    assert set(a["level"].unique()) <= {"quarter", "year"} and set(b["level"].unique()) <= {"quarter", "year"}
    pa, pb = _published(a), _published(b)
    assert pa.keys() <= pb.keys() or pb.keys() <= pa.keys()
    for key in pa.keys() | pb.keys():
        before, after = pa.get(key), pb.get(key)
        for shown in (before, after):
            if shown is not None and shown.isdigit():
                assert int(shown) == 0 or int(shown) >= threshold, (key, shown)
    changed = {k for k in pa.keys() & pb.keys() if pa[k] != pb[k]}
    # Only the quarter and year of the extra case hold other counts. Elsewhere a count may only switch
    # between shown and hidden (secondary suppression picks other cells), never show another value.
    for k in changed:
        if k[0] not in ("2025-Q2", "2025"):
            assert not (str(pa[k]).isdigit() and str(pb[k]).isdigit()), (k, pa[k], pb[k])


@pytest.mark.parametrize("threshold", [5, 7])
def test_completion_one_more_case_changes_only_its_whole_quarter_and_year(
    engines: tuple[Engine, Engine], threshold: int
) -> None:
    without, with_one = engines
    for eng in engines:
        write_setting(eng, "suppression_threshold", str(threshold), actor="test")
    a = completion_view(without, COMMISSIONER, "quarter", now=NOW)
    b = completion_view(with_one, COMMISSIONER, "quarter", now=NOW)
    assert a.threshold == b.threshold == threshold and a.primary_mark == f"<{threshold}"  # from the setting
    _check_only_whole_periods_changed(a.levels, b.levels, threshold)
    # the view is the same whichever granularity is asked for: no overlapping windows to compare
    assert completion_view(with_one, COMMISSIONER, "year", now=NOW).levels.equals(b.levels)
    # the headline, splits, cross-tab and reasons are for the latest whole year (2025), as a year count
    assert (b.overall_level, b.overall_period) == ("year", "2025")
    assert (
        b.reasons["reason"]
        .is_in(["No trained responder available (gap in the rota)", "Family declined"])
        .all()
    )


def test_completion_hides_the_quarter_still_under_way(engines: tuple[Engine, Engine]) -> None:
    _, with_one = engines
    mid_quarter = datetime(2025, 5, 20, tzinfo=UTC)  # the extra case's quarter has not ended yet
    view = completion_view(with_one, COMMISSIONER, "quarter", now=mid_quarter)
    assert "2025-Q2" not in view.levels["period"].to_list() and "2025" not in view.levels["period"].to_list()
    same = completion_view(with_one, COMMISSIONER, "quarter", now=datetime(2025, 6, 30, tzinfo=UTC))
    assert view.levels.equals(same.levels)  # nothing changes day by day inside the quarter


def test_the_forecast_history_is_whole_quarters_for_every_start_day_of_a_year(
    engines: tuple[Engine, Engine],
) -> None:
    without, with_one = engines
    cases = {e: _load(e) for e in engines}
    for first in YEAR:
        start = datetime(first.year, first.month, first.day, tzinfo=UTC)
        lo, hi = history_window(cases[with_one], start, SERVICE_TZ)
        assert hi == quarter_start(start, SERVICE_TZ) and lo == quarter_start(lo, SERVICE_TZ)
        # the extra case (14 May 2025) enters the history only once its whole quarter has ended
        lo0, hi0 = history_window(cases[without], start, SERVICE_TZ)
        assert (lo0, hi0) == (lo, hi)


def _load(engine: Engine) -> pl.DataFrame:
    from rota.storage.cases import load_cases

    return load_cases(engine)


def _commissioner_figures(engine: Engine, first: date) -> tuple[object, ...]:
    cf = capacity_forecast(engine, COMMISSIONER, first, first, now=NOW)
    demand = cf.forecast.demand
    return (
        tuple(tuple(sorted(r.items())) for r in cf.history),
        tuple(m.cases for m in demand.models),
        demand.history_start,
        demand.history_end,
        round(cf.expected_cases, 12),
    )


@pytest.mark.slow
def test_stepping_the_forecast_start_day_by_day_reveals_no_single_case(
    engines: tuple[Engine, Engine],
) -> None:
    without, with_one = engines
    seen: dict[tuple[Engine, datetime], tuple[object, ...]] = {}
    by_quarter: dict[tuple[Engine, datetime], set[tuple[object, ...]]] = {}
    for first in STEPPED:
        for eng in engines:
            figures = _commissioner_figures(eng, first)
            history = figures[:4]
            q = quarter_start(datetime(first.year, first.month, first.day, 12, tzinfo=UTC), SERVICE_TZ)
            by_quarter.setdefault((eng, q), set()).add(history)
            seen[(eng, datetime(first.year, first.month, first.day, tzinfo=UTC))] = figures
            # no count of cases reaches a commissioner (0 only when there are none)
            for row in figures[0]:
                count = dict(row)["cases_in_history"]  # type: ignore[arg-type]
                assert count in (None, 0)
            assert all(c in (None, 0) for c in figures[1])  # type: ignore[union-attr]
    # everything learnt from cases is the same for every start day of a quarter: stepping by a day gives
    # nothing; and the extra case (2025-Q2) changes nothing before its quarter has ended
    assert all(len(v) == 1 for v in by_quarter.values())
    for first in STEPPED:
        key = datetime(first.year, first.month, first.day, tzinfo=UTC)
        if key < datetime(2025, 7, 1, tzinfo=UTC):
            assert seen[(without, key)] == seen[(with_one, key)], first
