"""Benchmark the coverage engine on the national-scale year of docs/performance.md.

    python benchmarks/bench_engine.py [--bundle DIR] [--runs N]

Without --bundle the national bundle (benchmarks/national_bundle.py, seed 2026) is generated into a
temporary folder. One run measures, on the same data:

- engine: `rota.engine.gaps` and `rota.engine.coverage` over the year, frames already in memory
  (median of --runs, after one warm-up run);
- phases of the command in-process: reading and checking the bundle (`rota.bundle.read_bundle`),
  writing the gaps as CSV (`rota.output.render`), and the cost of starting Python and importing;
- end to end: `rota gaps --bundle DIR --start ... --end ... --format csv > /dev/null` as a subprocess
  (median of 3) and its peak memory (maximum resident set size, from wait4);
- the naive approach: every shift expanded into the hourly rows it touches, training and absences
  joined per hour, distinct qualified responders counted per hour and rule, hours below min_count
  flagged; vectorised polars (median of 3 after a warm-up), and the speed ratio against the engine
  (the median of per-run ratios, each naive run paired with an engine run just before it).

Prints a markdown table and writes everything to benchmarks/out/engine.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

import polars as pl

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import national_bundle  # noqa: E402

from rota.model import UTC_US, Rota  # noqa: E402
from rota.timeutil import SERVICE_TZ, parse_bound  # noqa: E402

TARGETS = {
    "engine_gaps_s": 0.5,
    "end_to_end_s": 3.0,
    "speedup_vs_hourly": 5.0,
    "peak_rss_mb": 1024.0,
}
_RID = "responder_id"


# ------------------------------------------------------------------------------------------------ timing


def _timed(fn: Callable[[], Any], runs: int, warmup: int = 1) -> tuple[dict[str, float], Any]:
    for _ in range(warmup):
        fn()
    times, cpu = [], []
    out = None
    for _ in range(runs):
        c0 = time.process_time()
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    # CPU seconds (all threads) tell whether a slow wall time came from load by other processes
    return {**_stats(times), "cpu_median_s": round(statistics.median(cpu), 4)}, out


def _stats(times: list[float]) -> dict[str, float]:
    return {
        "median_s": round(statistics.median(times), 4),
        "min_s": round(min(times), 4),
        "max_s": round(max(times), 4),
        "runs": len(times),
    }


def _child(cmd: list[str], stdout: Any = subprocess.DEVNULL) -> tuple[float, int, int, str]:
    """Run a command; return wall seconds, its own peak RSS in bytes, exit code and stderr."""
    with tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=stdout, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        message = err.read().decode("utf-8", "replace")
    rss = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    return wall, rss, proc.returncode, message


def _rota_command() -> list[str]:
    """The `rota` console script beside this interpreter (not a pyenv shim), else `python -m rota.cli`."""
    script = Path(sys.executable).parent / "rota"
    if script.exists():
        return [str(script)]
    found = shutil.which("rota")
    if found and "shims" not in found:
        return [found]
    return [sys.executable, "-m", "rota.cli"]


def machine() -> dict[str, Any]:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": cpu,
        "memory_gb": mem_gb,
        "python": platform.python_version(),
        "polars": pl.__version__,
        "polars_threads": pl.thread_pool_size(),
        "platform": platform.platform(),
    }


def _load() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# ------------------------------------------------------------------------------- naive hourly expansion


def _midnights(dates: pl.Expr, tz_key: str) -> pl.Expr:
    return (
        dates.cast(pl.Datetime("us"))
        .dt.replace_time_zone(tz_key, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
    )


def naive_hourly_gaps(rota: Rota, start: datetime, end: datetime, tz: tzinfo = SERVICE_TZ) -> pl.DataFrame:
    """The approach one writes first: expand every shift into the hours it touches and count per hour.

    A responder counts in an hour when one of their shifts touches the hour, no absence touches it and
    every competency of the rule is valid at the start of the hour; hours are UTC hours, which are the
    real local hours in a zone whose offsets are whole hours (Europe/London). It cannot see a 30-minute
    hole inside an hour, which the engine can; the comparison is about speed. Responder ids are mapped
    to integer codes first and shared work is computed once per (role, competencies), as in the engine,
    so that the comparison is fair. Returns one row per rule and hour below min_count.
    """
    tz_key = getattr(tz, "key", "Europe/London")
    lo = pl.lit(start).cast(UTC_US)
    hi = pl.lit(end).cast(UTC_US)
    one_us = timedelta(microseconds=1)
    codes = (
        rota.responders.lazy()
        .filter(pl.col("active").fill_null(True))
        .select(_RID, "role")
        .with_row_index("rc")
    )

    def hours(frame: pl.DataFrame) -> pl.LazyFrame:
        return (
            frame.lazy()
            .filter((pl.col("end") > lo) & (pl.col("start") < hi))
            .join(codes, on=_RID)
            .select(
                "rc",
                "role",
                pl.datetime_ranges(
                    pl.max_horizontal("start", lo).dt.truncate("1h"),
                    (pl.min_horizontal("end", hi) - one_us).dt.truncate("1h"),
                    interval="1h",
                ).alias("hour"),
            )
            .explode("hour")
        )

    on_duty = hours(rota.shifts).join(hours(rota.absences), on=["rc", "hour"], how="anti")
    training = (
        rota.training.lazy()
        .join(codes, on=_RID)
        .select(
            "rc",
            "competency",
            _midnights(pl.col("valid_from"), tz_key).alias("from"),
            _midnights(pl.col("valid_until") + timedelta(days=1), tz_key).fill_null(hi).alias("until"),
        )
    )
    all_hours = pl.LazyFrame(
        {
            "hour": pl.datetime_range(
                start, end - one_us, interval="1h", time_zone="UTC", time_unit="us", eager=True
            ).dt.truncate("1h")
        }
    )
    rules = rota.effective_rules()
    counts: dict[tuple[str, tuple[str, ...]], pl.LazyFrame] = {}
    plans = []
    for rule in rules:
        key = (rule.role, tuple(sorted(rule.competencies)))
        if key not in counts:
            q = on_duty.filter(pl.col("role") == rule.role)
            for comp in key[1]:
                valid = training.filter(pl.col("competency") == comp).select("rc", "from", "until")
                q = q.join(valid, on="rc").filter(
                    (pl.col("from") <= pl.col("hour")) & (pl.col("hour") < pl.col("until"))
                )
                q = q.select("rc", "role", "hour")
            counts[key] = q.group_by("hour").agg(pl.col("rc").n_unique().alias("available"))
        plans.append(
            all_hours.join(counts[key], on="hour", how="left")
            .select(
                pl.lit(rule.id).alias("rule_id"),
                "hour",
                pl.lit(rule.min_count).alias("required"),
                pl.col("available").fill_null(0).cast(pl.Int64),
            )
            .filter(pl.col("available") < pl.col("required"))
        )
    return pl.concat(pl.collect_all(plans)).sort("rule_id", "hour")


def expanded_rows(rota: Rota, start: datetime, end: datetime) -> int:
    """How many (shift, hour) rows the naive approach makes."""
    lo = pl.lit(start).cast(UTC_US)
    hi = pl.lit(end).cast(UTC_US)
    first = pl.max_horizontal("start", lo).dt.truncate("1h")
    last = (pl.min_horizontal("end", hi) - timedelta(microseconds=1)).dt.truncate("1h")
    return int(
        rota.shifts.filter((pl.col("end") > lo) & (pl.col("start") < hi))
        .select(((last - first).dt.total_hours() + 1).sum())
        .item()
    )


# ------------------------------------------------------------------------------------------------- main


def run(bundle: Path, start_text: str, end_text: str, runs: int, e2e_runs: int, naive_runs: int) -> dict:
    from rota.bundle import read_bundle
    from rota.engine import coverage, gaps
    from rota.output import render

    tz = SERVICE_TZ
    start, end = parse_bound(start_text, tz), parse_bound(end_text, tz)
    result: dict[str, Any] = {"machine": machine(), "load_before": _load(), "bundle": str(bundle)}
    print(f"bundle {bundle}; {start_text} to {end_text}", file=sys.stderr)

    read_stats, rota = _timed(lambda: read_bundle(bundle, tz), runs=3)
    rota = rota.conformed()
    result["data"] = {
        "responders": rota.responders.height,
        "shifts": rota.shifts.height,
        "training": rota.training.height,
        "absences": rota.absences.height,
        "rules": len(rota.effective_rules()),
        "start": start.isoformat(),
        "end": end.isoformat(),
    }
    print(f"read_bundle {read_stats['median_s']:.3f} s", file=sys.stderr)

    gap_stats, found = _timed(lambda: gaps(rota, start, end, tz), runs=runs)
    print(f"engine gaps {gap_stats['median_s']:.3f} s ({found.height} gaps)", file=sys.stderr)
    cov_stats, grid = _timed(lambda: coverage(rota, start, end, tz), runs=runs)
    print(f"engine coverage {cov_stats['median_s']:.3f} s ({grid.height} rows)", file=sys.stderr)
    render_stats, _ = _timed(lambda: render(found, "csv", tz), runs=3)

    startup_cmd = [sys.executable, "-c", "import polars, rota.cli, rota.bundle, rota.engine, rota.output"]
    startup = [_child(startup_cmd)[0] for _ in range(3)]

    cmd = [
        *_rota_command(),
        "gaps",
        "--bundle",
        str(bundle),
        "--start",
        start_text,
        "--end",
        end_text,
        "--format",
        "csv",
    ]
    with tempfile.TemporaryFile() as out:  # one checked run (also warms the file cache)
        _, _, code, err = _child(cmd, stdout=out)
        out.seek(0)
        lines = out.read().decode().count("\n")
    if code != 0:
        raise SystemExit(f"`{' '.join(cmd)}` failed with exit code {code}: {err.strip()}")
    if lines != found.height + 1:
        print(f"warning: the command wrote {lines - 1} gaps, the engine {found.height}", file=sys.stderr)
    walls, rss = [], []
    for _ in range(e2e_runs):
        wall, peak, code, err = _child(cmd)
        if code != 0:
            raise SystemExit(f"`{' '.join(cmd)}` failed with exit code {code}: {err.strip()}")
        walls.append(wall)
        rss.append(peak)
    print(f"end to end {statistics.median(walls):.3f} s, peak {max(rss) / 2**20:.0f} MB", file=sys.stderr)

    # The naive approach, each run paired with an engine run just before it, so that load from other
    # processes on a shared machine weighs on both sides of the ratio alike.
    naive_hourly_gaps(rota, start, end, tz)  # warm-up
    pairs = []
    naive = None
    for _ in range(naive_runs):
        t0 = time.perf_counter()
        gaps(rota, start, end, tz)
        t1 = time.perf_counter()
        naive = naive_hourly_gaps(rota, start, end, tz)
        pairs.append((t1 - t0, time.perf_counter() - t1))
    assert naive is not None
    naive_stats = _stats([n for _, n in pairs])
    ratios = [n / e for e, n in pairs]
    print(f"naive hourly {naive_stats['median_s']:.3f} s", file=sys.stderr)
    engine_gap_hours = grid.filter(pl.col("gap_minutes") > 0).height

    result.update(
        {
            "engine_gaps": {**gap_stats, "gaps": found.height},
            "engine_coverage": {**cov_stats, "rows": grid.height},
            "phases": {
                "read_bundle_s": read_stats["median_s"],
                "engine_gaps_s": gap_stats["median_s"],
                "render_csv_s": render_stats["median_s"],
                "python_and_imports_s": round(statistics.median(startup), 4),
            },
            "end_to_end": {
                **_stats(walls),
                "command": " ".join(cmd[-9:]) + " > /dev/null",
                "peak_rss_mb": round(max(rss) / 2**20, 1),
            },
            "naive_hourly": {
                **naive_stats,
                "expanded_rows": expanded_rows(rota, start, end),
                "gap_hours_flagged": naive.height,
                "engine_hours_with_gap_minutes": engine_gap_hours,
                "paired_engine_gaps_s": [round(e, 4) for e, _ in pairs],
                "paired_ratios": [round(x, 2) for x in ratios],
            },
            "speedup_vs_hourly": round(statistics.median(ratios), 1),
            "load_after": _load(),
        }
    )
    measured = {
        "engine_gaps_s": gap_stats["median_s"],
        "end_to_end_s": result["end_to_end"]["median_s"],
        "speedup_vs_hourly": result["speedup_vs_hourly"],
        "peak_rss_mb": result["end_to_end"]["peak_rss_mb"],
    }
    result["targets"] = {name: {"target": TARGETS[name], "measured": measured[name]} for name in TARGETS}
    for name, t in result["targets"].items():
        better_high = name == "speedup_vs_hourly"
        t["met"] = t["measured"] >= t["target"] if better_high else t["measured"] < t["target"]
    return result


def table(r: dict) -> str:
    t = r["targets"]
    m = r["machine"]
    d = r["data"]

    def ok(name: str) -> str:
        return "met" if t[name]["met"] else "**missed**"

    rows = [
        "| measure | measured | target | |",
        "|---|---:|---:|---|",
        f"| engine `gaps`, one year, 6 rules (median of {r['engine_gaps']['runs']}) "
        f"| {r['engine_gaps']['median_s']:.3f} s | < 0.5 s | {ok('engine_gaps_s')} |",
        f"| engine `coverage` (hourly grid, {r['engine_coverage']['rows']:,} rows) "
        f"| {r['engine_coverage']['median_s']:.3f} s | | |",
        f"| `rota gaps --bundle` end to end (median of {r['end_to_end']['runs']}) "
        f"| {r['end_to_end']['median_s']:.2f} s | < 3 s | {ok('end_to_end_s')} |",
        f"| peak memory (max RSS of that command) | {r['end_to_end']['peak_rss_mb']:.0f} MB | < 1 GB "
        f"| {ok('peak_rss_mb')} |",
        f"| naive hourly expansion ({r['naive_hourly']['expanded_rows']:,} shift-hour rows) "
        f"| {r['naive_hourly']['median_s']:.3f} s | | |",
        f"| speed-up of the engine over hourly expansion (median of paired runs) "
        f"| {r['speedup_vs_hourly']:.1f}x | >= 5x "
        f"| {ok('speedup_vs_hourly')} |",
        "",
        "| phase of `rota gaps --bundle` (in-process, median) | seconds |",
        "|---|---:|",
        f"| start Python and import rota, polars | {r['phases']['python_and_imports_s']:.3f} |",
        f"| read and check the bundle (`read_bundle`) | {r['phases']['read_bundle_s']:.3f} |",
        f"| engine `gaps` | {r['phases']['engine_gaps_s']:.3f} |",
        f"| write the gaps as CSV | {r['phases']['render_csv_s']:.3f} |",
        "",
        f"Data: {d['responders']:,} responders, {d['shifts']:,} shifts, {d['training']:,} training records, "
        f"{d['absences']:,} absences, {d['rules']} rules; {r['engine_gaps']['gaps']} gaps found. "
        f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_gb']} GB, Python {m['python']}, "
        f"polars {m['polars']}; load average before/after {r['load_before']} / {r['load_after']}.",
    ]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--bundle", type=Path, help="bundle folder (default: generate the national one)")
    parser.add_argument("--seed", type=int, default=2026, help="seed when generating (default 2026)")
    parser.add_argument("--start", default="2026-01-01")
    parser.add_argument("--end", default="2027-01-01")
    parser.add_argument("--runs", type=int, default=7, help="engine runs (median)")
    parser.add_argument("--e2e-runs", type=int, default=3)
    parser.add_argument("--naive-runs", type=int, default=3)
    parser.add_argument("--out", type=Path, default=HERE / "out" / "engine.json")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="rota-national-") as tmp:
        bundle = args.bundle
        generated = None
        if bundle is None:
            bundle = Path(tmp) / "bundle"
            t0 = time.perf_counter()
            national_bundle.write_bundle_dir(bundle, seed=args.seed)
            generated = round(time.perf_counter() - t0, 2)
            print(f"generated the national bundle in {generated} s", file=sys.stderr)
        result = run(bundle, args.start, args.end, args.runs, args.e2e_runs, args.naive_runs)
        result["generated_s"] = generated
        result["seed"] = args.seed if generated is not None else None
    result["measured_at"] = datetime.now().astimezone().isoformat(timespec="seconds")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(table(result))
    print(f"\nwritten to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
