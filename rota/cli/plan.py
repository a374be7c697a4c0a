"""`rota plan` (SPEC 13, docs/planner.md): extra on-call duties that close the riskiest gaps first, and how
many more trained people each role needs for the rest. Nothing is stored."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rota.cli.common import UsageError, open_engine, output_format, service_tz, time_range
from rota.timeutil import uk_local


def _limits(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from rota.planner import PlanLimits

    return PlanLimits(
        rest_hours=args.rest_hours,
        max_weekly_hours=args.max_weekly_hours,
        max_consecutive_nights=args.max_consecutive_nights,
        max_shift_hours=args.max_shift_hours,
    )


def _bundle_cases(args: argparse.Namespace, tz):  # type: ignore[no-untyped-def]
    """The cases for the demand with --bundle: --cases, else the bundle's cases.csv, else the stored cases
    when a database is set up, else none (the national-rate prior, or every hour alike)."""
    from rota.analytics.cases import read_cases

    if args.cases is not None:
        return read_cases(args.cases, tz), None
    inside = Path(args.bundle) / "cases.csv"
    if Path(args.bundle).is_dir() and inside.is_file():
        return read_cases(inside, tz), None
    try:
        engine = open_engine(args)
    except UsageError:
        return None, None
    from rota.storage.cases import load_cases

    return load_cases(engine), engine


def cmd_plan(args: argparse.Namespace) -> int:
    from rota.services.access import ADMIN, Actor
    from rota.services.forecasting import child_population
    from rota.services.planning import plan_gaps, plan_payload, plan_rota

    tz = service_tz(args)
    fmt = output_format(args)
    if fmt == "csv":
        raise UsageError("--format csv: the plan is written as a table or as JSON (--format json)")
    start, end = time_range(args, tz)
    limits = _limits(args)
    if args.population is not None and args.population < 1:
        raise UsageError(f"--population {args.population}: give the number of children aged 0-17")
    if args.bundle is not None:
        from rota.bundle import read_bundle

        rota = read_bundle(args.bundle, tz)
        cases, engine = _bundle_cases(args, tz)
        answer = plan_rota(
            rota,
            cases,
            start,
            end,
            limits=limits,
            agency=args.agency,
            population=args.population or child_population(engine),
            time_limit_s=args.time_limit,
            tz=tz,
        )
    else:
        if args.cases is not None:
            raise UsageError("--cases goes with --bundle; without it the stored cases are used")
        answer = plan_gaps(
            open_engine(args),
            Actor("cli", ADMIN),  # whoever runs it owns the database
            start,
            end,
            limits=limits,
            agency=args.agency,
            time_limit_s=args.time_limit,
            tz=tz,
        )
    payload = plan_payload(answer, tz)
    print(json.dumps(payload, indent=2) if fmt == "json" else plan_table(payload))
    return 0


def _when(text: str) -> str:
    from datetime import datetime

    return uk_local(datetime.fromisoformat(text))


def plan_table(payload: dict) -> str:  # type: ignore[type-arg]
    """The answer for people: status, the fills, the training needed, the expected cases before and after."""
    flat = " (no cases to learn from: every gap hour weighs the same)" if payload["demand"] == "flat" else ""
    lines = [
        f"Plan from {_when(payload['start'])} to {_when(payload['end'])}"
        + (f" for {payload['agency']}" if payload["agency"] else "")
        + f": {payload['status']}",
        f"Demand: {payload['demand']}{flat}",
        f"Gaps: {len(payload['gaps_before'])} before, {len(payload['gaps_after'])} after",
    ]
    before, after = payload["expected_uncovered_cases_before"], payload["expected_uncovered_cases_after"]
    if before is not None:
        lines.append(f"Expected cases meeting a gap: {before:.3f} before, {after:.3f} after")
    if payload["relative_gap"] not in (None, 0):
        lines.append(f"Not proven best: within {payload['relative_gap']:.1%} of the solver's bound")
    fills = payload.get("fills")
    if fills:
        lines += ["", "Fills (extra on-call duties):"]
        width = max(len(f["responder_id"]) for f in fills)
        for f in fills:
            lines.append(
                f"  {f['responder_id']:<{width}}  {_when(f['start'])} to {_when(f['end'])}  "
                f"{f['hours']:>5.2f} h  closes {', '.join(f['closes'])}"
            )
    elif fills is not None:
        lines += ["", "No fills proposed."]
    needs = payload["training_needed"]
    if needs:
        lines += ["", "Training needed to close the rest:"]
        for n in needs:
            who = f" ({n['agency']})" if n["agency"] else ""
            if not n["closes_all"]:
                lines.append(
                    f"  {n['role']}{who}: no answer in time (give a longer --time-limit or a shorter period)"
                )
                continue
            noun = "person" if n["people"] == 1 else "people"
            lines.append(
                f"  {n['people']} more {n['role']} {noun}{who} trained in {', '.join(n['competencies'])}: "
                f"{n['hours']:g} hours of duty"
            )
    return "\n".join(lines)
