"""Benchmark the assurance pack (docs/performance.md "Assurance pack"; docs/reports.md).

    python benchmarks/bench_pack.py [--repeat 2]

SPEC's target: `rota pack` on the demo under 20 s. The demo is loaded with `rota demo --today 2026-12-04`
into a new SQLite file; then `rota pack --period 2026-Q3` runs end to end as a child process (the command
people run: start-up, imports, the figures, the charts, the HTML and, for .pdf, WeasyPrint) for each audience
and format, timed on the wall clock with its peak memory (maximum resident set size, from wait4). A last,
in-process run times the phases: each service the figures read, the charts, the HTML and the PDF.
Prints a markdown table and writes everything to benchmarks/out/pack.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

TODAY = "2026-12-04"
PERIOD = "2026-Q3"
RUNS = (("manager", "pdf"), ("commissioner", "pdf"), ("commissioner", "html"))


def _child(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Run `argv`; its wall seconds, peak resident memory in MB, and stderr."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {err}")
    return seconds, usage.ru_maxrss / 1024, err


def _phases(url: str) -> dict[str, float]:
    """One in-process run of the commissioner PDF, its phases timed by wrapping the functions called."""
    import rota.reports.figures as figures
    import rota.reports.render as render
    from rota.reports.quarters import Quarter
    from rota.services.access import Actor
    from rota.storage.db import make_engine

    times: dict[str, float] = {}

    def timed(module: Any, name: str) -> None:
        original = getattr(module, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                times[name] = times.get(name, 0.0) + time.perf_counter() - t

        setattr(module, name, wrapper)

    for name in (
        "coverage_report", "rule_shares", "capacity_forecast", "plan_gaps", "completion_view",
        "lapse_counts", "agency_roles",
    ):  # fmt: skip
        timed(figures, name)
    timed(render, "_charts")
    engine = make_engine(url)
    now = datetime(2026, 12, 4, 12, tzinfo=UTC)
    t = time.perf_counter()
    f = figures.gather(engine, Actor("bench", "commissioner"), Quarter.parse(PERIOD), now=now)
    times["figures (all)"] = time.perf_counter() - t
    t = time.perf_counter()
    html = render.render_html(f)
    times["html (with charts)"] = time.perf_counter() - t
    t = time.perf_counter()
    pdf = render.render_pdf(html)
    times["pdf (WeasyPrint)"] = time.perf_counter() - t
    times["pdf_kb"] = len(pdf) / 1024
    engine.dispose()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=2, help="runs of each audience and format")
    args = parser.parse_args()
    rota = str(Path(sys.executable).with_name("rota"))
    out: dict[str, Any] = {"today": TODAY, "period": PERIOD, "runs": []}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'demo.db'}"
        env = {**os.environ, "ROTA_DATABASE_URL": url, "ROTA_EMBEDDED_SCHEDULER": "0"}
        seconds, _, _ = _child([rota, "demo", "--today", TODAY], env)
        out["demo_load_s"] = round(seconds, 2)
        rows = []
        for audience, fmt in RUNS:
            for i in range(args.repeat):
                target = Path(tmp) / f"pack-{audience}-{i}.{fmt}"
                argv = [rota, "pack", "--period", PERIOD, "--audience", audience, "-o", str(target)]
                seconds, mb, _ = _child(argv, env)
                size = target.stat().st_size / 1024
                rows.append((audience, fmt, i + 1, seconds, mb, size))
                out["runs"].append(
                    {"audience": audience, "format": fmt, "run": i + 1, "seconds": round(seconds, 2),
                     "peak_mb": round(mb), "kb": round(size)}
                )  # fmt: skip
        out["phases"] = {k: round(v, 2) for k, v in _phases(url).items()}
    print(f"Demo loaded in {out['demo_load_s']} s\n")
    print("| audience | format | run | seconds | peak MB | file KB |\n|---|---|---|---|---|---|")
    for audience, fmt, run, seconds, mb, size in rows:
        print(f"| {audience} | {fmt} | {run} | {seconds:.1f} | {mb:.0f} | {size:.0f} |")
    print("\nPhases of one commissioner PDF, in process (seconds):\n")
    for k, v in out["phases"].items():
        print(f"- {k}: {v}")
    (HERE / "out").mkdir(exist_ok=True)
    (HERE / "out" / "pack.json").write_text(json.dumps(out, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
