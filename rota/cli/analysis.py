"""`rota completion`, `rota forecast` and `rota spc`: the completion measures, the demand forecast with its
scenarios and backtest, and an XmR chart of any series."""

from __future__ import annotations

import argparse
import sys
from datetime import timedelta, tzinfo
from typing import TYPE_CHECKING

from rota.cli.common import UsageError, load_rota_for, open_engine, output_format, service_tz
from rota.output import render
from rota.timeutil import TimeParseError, day_start, parse_bound, uk_local, utc_now

if TYPE_CHECKING:
    import polars as pl

    from rota.storage import Engine

# The analytics, storage and bundle reader are imported inside the commands only to keep `rota --help` fast.


def cmd_completion(args: argparse.Namespace) -> int:
    from rota.analytics.completion import completion, period_bounds

    tz = service_tz(args)
    engine = None
    if args.cases is not None:
        from rota.analytics.cases import read_cases

        cases = read_cases(args.cases, tz)
    else:
        from rota.storage.cases import load_cases

        engine = open_engine(args)
        cases = load_cases(engine)
        if cases.height == 0:
            print(
                "rota: no cases are stored yet: `rota import cases.csv` stores them (or give --cases FILE)",
                file=sys.stderr,
            )
    rota = None
    if args.split == "coverage":
        if args.bundle is not None:
            from rota.bundle import read_bundle

            rota = read_bundle(args.bundle, tz)
        else:
            from rota.storage.rota import load_rota

            bounds = period_bounds(cases)
            engine = engine or open_engine(args)
            rota = load_rota(engine, *bounds) if bounds else load_rota(engine)
    result = completion(cases, by=args.by, split=args.split, rota=rota, tz=tz)
    fmt = output_format(args)
    print(render(result, fmt, tz) if fmt != "table" else _completion_table(result, tz))
    return 0


def _completion_table(result: pl.DataFrame, tz: tzinfo) -> str:
    """For people: the measures' and splits' plain names, and rates as per cents with one decimal."""
    import polars as pl

    from rota.services.completion import SPLIT_LABELS
    from rota.vocab import Measure

    shown = result.with_columns(
        pl.col("split").replace(SPLIT_LABELS),
        pl.col("measure").replace({m.value: m.label for m in Measure}),
        pl.when(pl.col("rate").is_null())
        .then(pl.lit(""))
        .otherwise((pl.col("rate") * 100).round(1).cast(pl.String) + "%")
        .alias("rate"),
    )
    headers = ["period", "cases", "measure", "met", "of", "rate"]
    return render(shown, "table", tz, headers)


def _scenarios(args: argparse.Namespace) -> list[object]:
    from rota.analytics.scenarios import AddResponders, LapseTraining, RemoveResponder
    from rota.timeutil import parse_date

    out: list[object] = []
    for text in args.add:
        head, _, window = text.partition("@")
        role, _, count = head.partition(":")
        if not role.strip() or not count.strip().isdigit():
            raise UsageError(
                f"--add {text!r}: write ROLE:N or ROLE:N@WINDOW, like 'sio:2@Mon-Sun 19:00-07:00'"
            )
        out.append(AddResponders(role.strip(), int(count), window.strip() or None))
    for text in args.lapse:
        parts = text.split(":")
        if len(parts) != 3 or not all(p.strip() for p in parts):
            raise UsageError(
                f"--lapse {text!r}: write RESPONDER_ID:COMPETENCY:DATE, like 'P004:jar:2027-01-31'"
            )
        try:
            on = parse_date(parts[2].strip())
        except TimeParseError as exc:
            raise UsageError(f"--lapse {text!r}: {exc}") from exc
        out.append(LapseTraining(parts[0].strip(), parts[1].strip(), on))
    out.extend(RemoveResponder(r.strip()) for r in args.remove)
    return out


def _population(args: argparse.Namespace, engine: Engine | None) -> int | None:
    if args.population is not None:
        if args.population < 1:
            raise UsageError(f"--population {args.population}: give the number of children aged 0-17")
        return int(args.population)
    from rota.services.forecasting import child_population

    return child_population(engine)


def cmd_forecast(args: argparse.Namespace) -> int:
    import json

    from rota.analytics.demand import Prior, history_bounds
    from rota.analytics.forecast import DEFAULT_COMMITMENT_HOURS, backtest, forecast, with_scenarios

    tz = service_tz(args)
    try:
        start = parse_bound(args.start, tz) if args.start else day_start(utc_now().astimezone(tz).date(), tz)
        end = (
            parse_bound(args.end, tz)
            if args.end
            else day_start(start.astimezone(tz).date() + timedelta(days=91), tz)
        )
        h_start = parse_bound(args.history_start, tz) if args.history_start else None
        h_end = parse_bound(args.history_end, tz) if args.history_end else None
    except TimeParseError as exc:
        raise UsageError(f"forecast range: {exc}") from exc
    if end <= start and not args.backtest:
        raise UsageError(f"--end ({uk_local(end, tz)}) must be after --start ({uk_local(start, tz)})")
    commitment = DEFAULT_COMMITMENT_HOURS if args.commitment_hours is None else args.commitment_hours
    if not commitment > 0:
        raise UsageError(f"--commitment-hours {args.commitment_hours}: give a positive number of hours")
    engine = None
    if args.cases is None or args.bundle is None:
        engine = open_engine(args)
    if args.cases is not None:
        from rota.analytics.cases import read_cases

        cases = read_cases(args.cases, tz)
    else:
        from rota.storage.cases import load_cases

        assert engine is not None  # opened above whenever --cases is not given
        cases = load_cases(engine)
    prior = Prior(child_population=_population(args, engine))
    fmt = getattr(args, "format", None) or "json"
    if args.backtest:
        from rota.rules import parse_age_band

        if args.bundle is not None:
            from rota.bundle import read_bundle

            rules = read_bundle(args.bundle, tz).effective_rules()
        else:
            from rota.storage.rules import stored_rules

            rules = list(stored_rules(engine)[0])  # type: ignore[arg-type]
            if not rules:
                from rota.rules import default_rules

                rules = default_rules()
        until = h_end or (parse_bound(args.end, tz) if args.end else utc_now())
        first = h_start or (parse_bound(args.start, tz) if args.start else None)
        lo, hi = history_bounds(cases, until, tz, first)
        try:
            result = backtest(
                cases,
                [parse_age_band(r.age_band) for r in rules],
                lo,
                hi,
                prior,
                tz,
                horizon_days=args.horizon_days,
                step_days=args.step_days,
                min_train_days=args.min_train_days,
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        if result.origins.height == 0:
            raise UsageError(
                "the history is too short for a backtest: it needs --min-train-days plus --horizon-days "
                "of cases (shorten them, or give a longer history)"
            )
        out = result.as_json(tz)
        if fmt == "table":
            for key, value in out.items():
                if key != "forecasts":
                    print(f"{key}: {value}")
        else:
            print(json.dumps(out, indent=2))
        return 0
    rota = load_rota_for(args, tz, start, end)
    history_end = h_end or min(start, utc_now())
    result_f = forecast(rota, cases, start, end, tz, prior, commitment, h_start, history_end)
    payload = result_f.as_json()
    scenarios = _scenarios(args)
    if scenarios:
        payload["scenario"] = with_scenarios(rota, result_f, scenarios).as_json()  # type: ignore[arg-type]
    if fmt == "table":
        print(_forecast_table(payload))
    else:
        print(json.dumps(payload, indent=2))
    return 0


def _forecast_table(payload: dict[str, object]) -> str:
    lines = [
        f"Forecast {payload['start']} to {payload['end']}",
        f"Expected JAR-eligible cases: {payload['expected_cases']:.1f} "
        f"(80% interval {payload['interval_80']}, 95% interval {payload['interval_95']})",
        f"Expected cases meeting a gap in cover: {payload['expected_cases_meeting_a_gap']:.2f}",
        "",
        f"{'rule':<24} {'uncovered h':>12} {'exp. uncovered':>15} {'P(any)':>8} {'exp. lost':>10}",
    ]
    for r in payload["rules"]:  # type: ignore[attr-defined]
        lines.append(
            f"{r['rule_id']:<24} {r['uncovered_hours']:>12.1f} {r['expected_uncovered_cases']:>15.3f} "
            f"{r['p_any_uncovered']:>8.1%} {r['expected_lost_cases']:>10.3f}"
        )
    scenario = payload.get("scenario")
    if isinstance(scenario, dict):
        lines += ["", "Scenario: " + "; ".join(scenario["changes"])]
        for r in scenario["rules"]:
            lines.append(
                f"{r['rule_id']:<24} {r['expected_uncovered_cases']:>15.3f} "
                f"(change {r['expected_uncovered_cases_change']:+.3f})"
            )
    return "\n".join(lines)


def cmd_spc(args: argparse.Namespace) -> int:
    import json
    import math

    from rota.analytics.spc import read_series, result_table, xmr

    if args.target is not None and not math.isfinite(args.target):
        raise UsageError(f"--target {args.target} is not a finite number")
    if args.baseline is not None and args.baseline < 2:
        raise UsageError(f"--baseline {args.baseline}: the baseline needs at least 2 points")
    values = read_series(args.file, args.column)
    try:
        result = xmr(values, args.improvement, args.target, args.baseline)
    except ValueError as exc:
        raise UsageError(f"{args.file}, column {args.column}: {exc}") from exc
    fmt = getattr(args, "format", None) or "json"
    if fmt == "table":
        print(result_table(result))
    elif fmt == "csv":
        print("point,value,signal,type")
        for i, p in enumerate(result.points, start=1):
            print(f"{i},{p.value!r},{p.signal or ''},{p.type}")
    else:
        print(json.dumps(result.as_dict(), indent=2))
    return 0
