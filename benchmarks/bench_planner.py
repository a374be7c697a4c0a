"""Benchmark the capacity planner (docs/performance.md "Capacity planner"; docs/planner.md).

    python benchmarks/bench_planner.py [--cases demo-28,demo-91,force-28,national-28] [--repeat 1]

SPEC's target: `rota plan` on the demo region for 28 days gives a proven optimum or a stated gap within
60 s. Every case runs the planning service (`rota.services.planning.plan_rota`, what `rota plan` runs)
with the default time limit and the forecast's demand learnt from the demo cases
(`rota.demo_cases.build_demo_cases`), today being 04/12/2026:

- demo-28, demo-91: the demo region (`rota.demo.build_demo`) over the next 28 and 91 days, shifts and
  absences taken from 8 days before to 8 days after the period, as `plan_gaps` loads them;
- force-28: one police force of the national benchmark (`benchmarks/national_bundle.py`, seed 2026): its
  SIOs with their shifts, training and absences and the two SIO rules, written as a bundle and read back
  (as `rota plan --bundle DIR --agency FORCE` does), planned for that force over the same 28 days. The
  force is the one with the most SIOs unless `--force` names one;
- national-28: the whole national rota (2,000 responders, 500,000 shifts over 2026,
  the six default rules) as a bundle, every agency, over the same 28 days.

Each case runs in a child process of its own, so that its peak memory (maximum resident set size, from
wait4) is its own. Inside it the planner's phases are timed by wrapping the functions `plan` calls
(demand, grid, model, solve, gaps after, training needed); the four aims' status and seconds come from the
answer. On demo-28 the independent checker `rota.planner.violations` is run on the answer against the whole
five-year demo rota (and timed).
The first case is run again at the end (`--repeat`), to see whether its figure is stable on a shared
machine. Prints a markdown table and writes everything to benchmarks/out/planner.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

TODAY = date(2026, 12, 4)
CASES = {
    "demo-28": ("demo", 28),
    "demo-91": ("demo", 91),
    "force-28": ("force", 28),
    "national-28": ("national", 28),
}
TARGET_S = 60.0
LOAD_DAYS = 8  # shifts and absences loaded either side of the period, as rota.services.planning.plan_gaps


# ------------------------------------------------------------------------------------------- the force


def force_bundle(directory: Path, seed: int, force: str | None) -> str:
    """Write one police force of the national rota as a bundle: its SIOs, their shifts, training and
    absences, and the SIO rules (`force` "": the whole rota and the six rules). Returns the force's name."""
    import national_bundle
    import polars as pl

    from rota.bundle import write_bundle
    from rota.model import Rota
    from rota.rules import default_rules

    frames = national_bundle.build_frames(seed=seed)
    if force == "":  # the whole national rota
        write_bundle(Rota(**frames, rules=tuple(default_rules())), directory)
        return ""
    sios = frames["responders"].filter(pl.col("role") == "sio")
    if force is None:  # the force with the most SIOs (ties: the first by name)
        counts = sios.group_by("agency").len().sort(["len", "agency"], descending=[True, False])
        force = str(counts.get_column("agency")[0])
    people = sios.filter(pl.col("agency") == force)
    if people.height == 0:
        raise SystemExit(f"no SIO belongs to {force!r}")
    ids = people.get_column("responder_id").implode()
    mine = {
        k: frames[k].filter(pl.col("responder_id").is_in(ids)) for k in ("training", "shifts", "absences")
    }
    rules = tuple(r for r in default_rules() if r.role == "sio")
    write_bundle(Rota(responders=people, rules=rules, **mine), directory)
    return force


# ------------------------------------------------------------------------------------------- one case


class Phases:
    """Wall seconds of the functions `rota.planner.propose.plan` (and `plan_rota`) call, by wrapping them
    for the duration of one case; `grid` keeps the grid `plan` built."""

    NAMES: ClassVar[dict[str, tuple[str, ...]]] = {
        "rota.services.planning": ("demand_for",),
        "rota.planner.propose": ("build_grid", "build", "solve", "gaps", "training_needed"),
    }

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.grid: Any = None
        self.built: Any = None
        self._saved: list[tuple[Any, str, Any]] = []

    def _wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            out = fn(*args, **kwargs)
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0
            if name == "build_grid":
                self.grid = out
            elif name == "build":
                self.built = out
            return out

        return timed

    def __enter__(self) -> Phases:
        for module_name, names in self.NAMES.items():
            module = sys.modules[module_name]
            for name in names:
                fn = getattr(module, name)
                self._saved.append((module, name, fn))
                setattr(module, name, self._wrap(name, fn))
        return self

    def __exit__(self, *exc: object) -> None:
        for module, name, fn in self._saved:
            setattr(module, name, fn)


def _num(v: float) -> float | None:
    return None if v != v else v  # NaN (an aim without a solution) as JSON null


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_case(
    case: str, bundle: Path | None, force: str | None, time_limit: float, check: bool, weekly: float | None
) -> dict:
    import polars as pl

    import rota.planner.propose  # the modules Phases wraps
    import rota.services.planning as planning
    from rota.demo import build_demo
    from rota.demo_cases import CHILD_POPULATION, build_demo_cases
    from rota.planner import PlanLimits, violations
    from rota.timeutil import SERVICE_TZ, day_start

    kind, days = CASES[case]
    tz = SERVICE_TZ
    start, end = day_start(TODAY, tz), day_start(TODAY + timedelta(days=days), tz)
    t0 = time.perf_counter()
    demo = build_demo(TODAY, tz=tz)
    cases = build_demo_cases(TODAY, demo, tz=tz)
    agency = None
    if kind == "demo":
        lo, hi = start - timedelta(days=LOAD_DAYS), end + timedelta(days=LOAD_DAYS)

        def near(frame: pl.DataFrame) -> pl.DataFrame:
            return frame.filter((pl.col("end") > lo) & (pl.col("start") < hi))

        from dataclasses import replace

        rota = replace(demo, shifts=near(demo.shifts), absences=near(demo.absences))
        whole = demo  # the checker gets all five years of the demo
    else:
        from rota.bundle import read_bundle

        assert bundle is not None
        rota = read_bundle(bundle / kind, tz)
        agency = force if kind == "force" else None
        whole = rota
    del demo
    gc.collect()
    data_s = time.perf_counter() - t0
    rss_before = _rss_mb()
    c0 = time.process_time()
    t0 = time.perf_counter()
    with Phases() as phases:
        answer = planning.plan_rota(
            rota,
            cases,
            start,
            end,
            limits=PlanLimits() if weekly is None else PlanLimits(max_weekly_hours=weekly),
            agency=agency,
            population=CHILD_POPULATION,
            time_limit_s=time_limit,
            tz=tz,
            now=start,
        )
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    p = answer.plan
    grid, built = phases.grid, phases.built
    out: dict[str, Any] = {
        "case": case,
        "period": [start.isoformat(), end.isoformat()],
        "agency": agency,
        "max_weekly_hours": answer.limits.max_weekly_hours,
        "data": {
            "responders": rota.responders.height,
            "shifts": rota.shifts.height,
            "absences": rota.absences.height,
            "training": rota.training.height,
            "rules": [r.id for r in rota.effective_rules()],
            "cases": cases.height,
            "build_s": round(data_s, 2),
        },
        "demand": answer.demand,
        "grid": {
            "gap_rows": len(grid.gap_rows) if grid else 0,
            "segments": len(grid.segments) if grid else 0,
            "candidates": len(grid.candidates) if grid else 0,
        },
        "model": {
            "variables": len(built.model.proto.variables) if built else 0,
            "constraints": len(built.model.proto.constraints) if built else 0,
        },
        "seconds": {name: round(s, 2) for name, s in phases.seconds.items()},
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "status": p.status,
        "expected_uncovered_before": round(p.expected_uncovered_before, 4),
        "expected_uncovered_after": round(p.expected_uncovered_after, 4),
        "expected_covered": round(p.objective, 4),
        "best_bound": round(p.best_bound, 4),
        "relative_gap": None if p.relative_gap is None else round(p.relative_gap, 6),
        "stages": [
            {"aim": a, "status": s, "value": _num(v), "bound": _num(b), "seconds": round(t, 2)}
            for a, s, v, b, t in p.stages
        ],
        "gaps_before": p.gaps_before.height,
        "gaps_after": p.gaps_after.height,
        "fills": len(p.fills),
        "fill_hours": round(sum(f.hours for f in p.fills), 1),
        "people": len({f.responder_id for f in p.fills}),
        "training_needed": [
            {"role": n.role, "competencies": list(n.competencies), "agency": n.agency, "people": n.people}
            for n in p.training_needed
        ],
        "rss_before_plan_mb": round(rss_before, 1),
    }
    if check:
        t0 = time.perf_counter()
        found = violations(whole, p.fills, answer.limits, tz)
        out["check"] = {"violations": found, "seconds": round(time.perf_counter() - t0, 2)}
    out["peak_rss_mb"] = round(_rss_mb(), 1)
    return out


# ------------------------------------------------------------------------------------------------ main


def _child(args: list[str]) -> tuple[dict, float, float]:
    """Run one case in a child process; its answer, wall seconds and peak RSS in MB."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen([sys.executable, __file__, *args], stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise SystemExit(f"case {args} failed: {err.read().decode('utf-8', 'replace')}")
        return json.loads(out.read()), wall, usage.ru_maxrss / 1024


def _stage(st: dict) -> str:
    return f"{st['aim'].split()[0]}: {st['status']}, {st['seconds']:.1f}"


def table(results: list[dict]) -> str:
    head = "| | " + " | ".join(r["case"] for r in results) + " |"
    rows = [head, "|---|" + "---:|" * len(results)]

    def row(label: str, fn: Callable[[dict], str]) -> None:
        rows.append(f"| {label} | " + " | ".join(fn(r) for r in results) + " |")

    row("responders, rules", lambda r: f"{r['data']['responders']}, {len(r['data']['rules'])}")
    row("gaps before (rows), segments", lambda r: f"{r['gaps_before']}, {r['grid']['segments']}")
    row("candidate fills", lambda r: f"{r['grid']['candidates']:,}")
    row(
        "model variables, constraints",
        lambda r: f"{r['model']['variables']:,}, {r['model']['constraints']:,}",
    )
    for name, label in (
        ("demand_for", "demand (fit and hourly forecast)"),
        ("build_grid", "build the grid"),
        ("build", "build the model"),
        ("solve", "solve the four aims"),
        ("gaps", "gaps after"),
        ("training_needed", "training needed"),
    ):
        row(f"{label}, s", lambda r, n=name: f"{r['seconds'].get(n, 0):.1f}")
    row("**total wall, s** (target < 60 on demo-28)", lambda r: f"**{r['wall_s']:.1f}**")
    row("CPU, s (2 solver workers)", lambda r: f"{r['cpu_s']:.1f}")
    row("status", lambda r: r["status"])
    row(
        "expected cases covered / bound",
        lambda r: f"{r['expected_covered']:.3f} / {r['best_bound']:.3f}",
    )
    row("relative gap", lambda r: "-" if r["relative_gap"] is None else f"{r['relative_gap']:.2%}")
    row(
        "expected cases in gaps, before / after",
        lambda r: f"{r['expected_uncovered_before']:.3f} / {r['expected_uncovered_after']:.3f}",
    )
    for k in range(4):
        row(
            f"aim {k + 1}: status, s",
            lambda r, k=k: _stage(r["stages"][k]) if k < len(r["stages"]) else "-",
        )
    row("fills (hours, people)", lambda r: f"{r['fills']} ({r['fill_hours']:g} h, {r['people']})")
    row("gaps after (rows)", lambda r: str(r["gaps_after"]))
    row(
        "training needed",
        lambda r: (
            "; ".join(
                f"{n['people']} {'+'.join(n['competencies'])} {n['role']}" for n in r["training_needed"]
            )
            or "none"
        ),
    )
    row("peak memory (max RSS), MB", lambda r: f"{r['peak_rss_mb']:.0f}")
    row(
        "checker: violations (s)",
        lambda r: f"{len(r['check']['violations'])} ({r['check']['seconds']:.0f} s)" if "check" in r else "-",
    )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--cases", default="demo-28,demo-91,force-28,national-28", help="comma-separated, in order"
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of the first case again at the end")
    parser.add_argument("--time-limit", type=float, default=TARGET_S, help="the planner's (default 60 s)")
    parser.add_argument("--seed", type=int, default=2026, help="national bundle seed (default 2026)")
    parser.add_argument("--force", help="police force for force-28 (default: the one with the most SIOs)")
    parser.add_argument(
        "--max-weekly-hours", type=float, help="the weekly limit (default the planner's, 48); for exploring"
    )
    parser.add_argument("--no-check", action="store_true", help="skip the checker on demo-28")
    parser.add_argument("--out", type=Path, default=HERE / "out" / "planner.json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--bundle", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:  # one case, answer as JSON on stdout
        result = run_case(
            args.child, args.bundle, args.force, args.time_limit, not args.no_check, args.max_weekly_hours
        )
        print(json.dumps(result))
        return 0

    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in cases if c not in CASES]
    if unknown or not cases:
        parser.error(f"cases are {', '.join(CASES)}")
    cases += cases[:1] * args.repeat
    results = []
    with tempfile.TemporaryDirectory(prefix="rota-national-") as tmp:
        force = args.force
        bundle = Path(tmp)
        kinds = {CASES[c][0] for c in cases}
        if "force" in kinds:
            force = force_bundle(bundle / "force", args.seed, force)
            print(f"force-28: {force} of the national rota (seed {args.seed})", file=sys.stderr)
        if "national" in kinds:
            force_bundle(bundle / "national", args.seed, "")
        for case in cases:
            child = ["--child", case, "--time-limit", str(args.time_limit), "--bundle", str(bundle)]
            if force:
                child += ["--force", force]
            if args.max_weekly_hours is not None:
                child += ["--max-weekly-hours", str(args.max_weekly_hours)]
            if args.no_check or case != "demo-28":
                child.append("--no-check")
            load = os.getloadavg()
            result, wall, rss = _child(child)
            result.update(
                {"process_wall_s": round(wall, 2), "peak_rss_mb": round(rss, 1), "load_before": load}
            )
            results.append(result)
            print(
                f"{case}: {result['status']}, {result['grid']['candidates']:,} candidates, "
                f"plan {result['wall_s']:.1f} s, peak {rss:.0f} MB",
                file=sys.stderr,
            )
    report = {
        "measured_at": datetime.now().astimezone().isoformat(timespec="seconds"),
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "python": sys.version.split()[0],
        "results": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(table(results))
    print(f"\nwritten to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
