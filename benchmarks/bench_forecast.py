"""Forecast speed (docs/performance.md: fit on 10 years of cases plus a one-year horizon in under 2 s).

Draws ten years of cases from a known demand model (by default about 34 JAR-eligible cases a year, the
demo footprint; `--cases-per-year 1100` is all of England), builds the demo rota for a year ahead, then
times: fitting the demand model, the one-year forecast with per-rule risk (gaps, Erlang-B, age bands),
a scenario, and a rolling-origin backtest.

    python benchmarks/bench_forecast.py [--cases-per-year 34] [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rota.analytics.demand import Prior
from rota.analytics.forecast import assess, backtest, fit_for, with_scenarios
from rota.analytics.scenarios import AddResponders
from rota.demo import build_demo
from rota.timeutil import day_start
from tests.analytics.simulate import TrueModel


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cases-per-year", type=float, default=34.0)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    today = date(2026, 11, 25)
    start = day_start(today)
    history_start = day_start(today.replace(year=today.year - 10))
    cases = TrueModel(cases_per_year=args.cases_per_year).draw(history_start, start, seed=1)
    # the demo rota planned a year ahead: shift the demo's last year forward by a year
    demo = build_demo(today - timedelta(days=365))
    rota = replace(demo)
    prior = Prior(child_population=380_000)
    print(
        f"{cases.height:,} cases over 10 years; rota of {rota.shifts.height:,} shifts, "
        f"{len(rota.effective_rules())} rules"
    )
    fits, risks, totals, scenarios = [], [], [], []
    for i in range(args.runs):
        t0 = time.perf_counter()
        demand = fit_for(rota, cases, start, prior)
        t1 = time.perf_counter()
        result = assess(rota, demand, start - timedelta(days=365), start)
        t2 = time.perf_counter()
        with_scenarios(rota, result, [AddResponders("sio", 2, "Mon-Sun 19:00-07:00")])
        t3 = time.perf_counter()
        fits.append(t1 - t0)
        risks.append(t2 - t1)
        totals.append(t2 - t0)
        scenarios.append(t3 - t2)
        print(
            f"run {i + 1}: fit {t1 - t0:.3f} s, one-year forecast and risk {t2 - t1:.3f} s, "
            f"total {t2 - t0:.3f} s; scenario {t3 - t2:.3f} s"
        )
    t0 = time.perf_counter()
    bt = backtest(cases, [(0, 15), (16, 17)], history_start, start, prior, step_days=28, min_train_days=730)
    t1 = time.perf_counter()
    print(
        f"median: fit {statistics.median(fits):.3f} s, forecast {statistics.median(risks):.3f} s, "
        f"total {statistics.median(totals):.3f} s (target 2 s); scenario {statistics.median(scenarios):.3f} s"
    )
    print(f"backtest: {bt.origins.height} origins in {t1 - t0:.2f} s; {bt.summary()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
