"""Speed in the browser (SPEC: from Sign in to the Coverage content under 1.5 s, page switches under 1 s), in
Debian's Chromium driven by Playwright against a real `rota up`, on the demo data and with the national
benchmark year imported (docs/dashboard.md, "Speed in the browser").

    python benchmarks/bench_browser.py [--runs 5] [--dataset demo|national|both] [--user manager]
                                       [--json benchmarks/out/browser.json] [--keep DIR] [--check]

It prints the machine's load and a markdown table ready for docs/dashboard.md ("Speed in the browser").

For each data set: `rota demo` into a fresh SQLite file (and, for "national", the year of
benchmarks/national_bundle.py, 2,000 responders and 500,000 shifts, imported on top with `rota import`, the
demo's rules kept), then `rota up` on a free local port with the embedded scheduler off. Each run opens a
fresh browser context (no cookies), signs in, and visits every page of the navigation in turn through the
sidebar, back to Coverage. One warm-up run comes first (the server's first page view pays for imports and
cold caches: it is reported as "first" and left out of the medians).

What is timed: from the click on Sign in (or on the page's link in the sidebar) until the page's *content*
is there, meaning all of: Streamlit's app says no script is running (`data-test-script-state` is
`notRunning`), the page's own title is in the main area, no element is left over stale from the previous
run, and every Plotly chart and data frame wholly in the window (a 1400 x 1000 viewport) has drawn (its SVG,
its canvas); those further down are drawn only when scrolled to. The check runs
in the page on every animation frame, so the figure includes the server's script run, the websocket, and the
browser's layout and drawing. Every click is made on a settled page (half a second, then the browser's
main thread idle), as a person would make it; the browser CPU spent between the content being there and
settling is shown apart ("after"). Each step also records the CPU seconds of the server process and of the
browser's processes (Chromium and Playwright's driver), from /proc.

Never runs `playwright install`: the browser is /usr/bin/chromium (env ROTA_CHROMIUM to change).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))  # the checkout, for tests.live_server (shared with the browser tests)

from tests.live_server import CHROMIUM, CHROMIUM_ARGS, free_port, rota_up, running  # noqa: E402

PASSWORD = "bench-password-2026"
SIGN_IN_TARGET_S = 1.5
SWITCH_TARGET_S = 1.0
COVERAGE = "Coverage"

# Why the page titled `title` has not finished drawing (see the module docstring), or "" once it has.
NOT_READY = """(title) => {
  const app = document.querySelector("[data-testid='stApp']");
  const state = app ? app.getAttribute("data-test-script-state") : "no app";
  if (state !== "notRunning") return "script state " + state;
  const main = document.querySelector("[data-testid='stMain']");
  if (!main) return "no main area";
  const titles = [...main.querySelectorAll("h1")].map((h) => h.innerText.trim());
  if (!titles.includes(title)) return "titles " + JSON.stringify(titles);
  if (main.querySelector("[data-stale='true']")) return "stale elements";
  // drawn lazily: a data frame not wholly in the window gets its canvas when scrolled to
  const shown = (el) => el.offsetParent !== null && el.getBoundingClientRect().bottom <= window.innerHeight;
  for (const chart of main.querySelectorAll("[data-testid='stPlotlyChart']")) {
    if (shown(chart) && !chart.querySelector(".main-svg")) return "a chart not drawn";
  }
  for (const grid of main.querySelectorAll("[data-testid='stDataFrame']")) {
    if (shown(grid) && !grid.querySelector("canvas")) return "a data frame not drawn";
  }
  return "";
}"""
CONTENT_READY = f"(title) => ({NOT_READY})(title) === ''"


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "rota.cli", *args], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"rota {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def prepare(dataset: str, folder: Path, responders: int, shifts: int) -> dict[str, str]:
    """A database for `dataset` in `folder` (kept if one is there); returns the environment that points
    `rota` at it."""
    env = dict(
        os.environ,
        ROTA_DATABASE_URL=f"sqlite:///{folder / 'rota.db'}",
        ROTA_DEMO_PASSWORD=PASSWORD,
        ROTA_EMBEDDED_SCHEDULER="0",
        PYTHONPATH=str(ROOT)
        + (os.pathsep + os.environ["PYTHONPATH"] if os.environ.get("PYTHONPATH") else ""),
    )
    ready = folder / "ready"  # written last: a database whose making failed half way is made again
    if ready.exists() and (folder / "rota.db").exists():
        print(f"[{dataset}] reusing {folder / 'rota.db'}", file=sys.stderr)
        return env
    (folder / "rota.db").unlink(missing_ok=True)
    t0 = time.perf_counter()
    _cli(env, "demo")
    print(f"[{dataset}] rota demo: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    if dataset == "national":
        from national_bundle import write_bundle_dir

        t0 = time.perf_counter()
        # the calendar year of today, so the Coverage page's opening period falls in it; the demo's rules stay
        year = datetime.now(ZoneInfo("Europe/London")).year
        counts = write_bundle_dir(
            folder / "national", n_responders=responders, n_shifts=shifts, year=year, with_rules=False
        )
        out = _cli(env, "import", str(folder / "national"), "--actor", "bench")
        print(
            f"[{dataset}] national year {year} ({counts['shifts']:,} shifts) written and imported in "
            f"{time.perf_counter() - t0:.1f} s: {out.strip()}",
            file=sys.stderr,
        )
    ready.write_text(dataset)
    return env


@contextmanager
def serve(env: dict[str, str], folder: Path) -> Iterator[tuple[str, int]]:
    """`rota up` on a free local port; yields its base URL and process id once it answers."""
    port = free_port()
    with running(rota_up(port), port, folder / "server.log", env=env, timeout_s=90) as proc:
        yield f"http://127.0.0.1:{port}", proc.pid


def _wait_content(page: Any, title: str, timeout_s: float) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(CONTENT_READY, arg=title, polling="raf", timeout=timeout_s * 1000)
    except PlaywrightTimeout as exc:
        why = page.evaluate(NOT_READY, title)
        shot = Path(tempfile.gettempdir()) / "bench-browser-timeout.png"
        page.screenshot(path=str(shot), full_page=True)
        raise RuntimeError(f"{title}: not ready after {timeout_s:g} s ({why}); screenshot {shot}") from exc


def _cpu_seconds(roots: set[int], exclude: set[int]) -> float:
    """CPU seconds (user and system, with reaped children) of the processes under `roots`, leaving out the
    trees under `exclude`; from /proc, so independent of what else the machine is doing."""
    parent: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()  # after "pid (name) "
        parent[int(entry.name)] = int(fields[1])
        ticks[int(entry.name)] = sum(int(x) for x in fields[11:15])
    total = 0
    for pid in ticks:
        p, inside = pid, False
        while p > 1:
            if p in exclude:
                break
            if p in roots:
                inside = True
                break
            p = parent.get(p, 0)
        total += ticks[pid] if inside else 0
    return total / os.sysconf("SC_CLK_TCK")


METRICS = ("wall", "server_cpu", "browser_cpu", "browser_cpu_after")
SETTLE_MS = 500
# resolves when the browser's main thread has nothing left to do (or after 5 s)
IDLE = "() => new Promise((done) => requestIdleCallback(() => done(), {timeout: 5000}))"


def one_run(
    browser: Any,
    base: str,
    server_pid: int | None,
    user: str,
    timeout_s: float,
    password: str = PASSWORD,
) -> dict[str, dict[str, float]]:
    """Sign in, then visit every page through the sidebar and come back to Coverage. Returns, per step:
    `wall`, the seconds until the content was there, and the CPU seconds spent on it by the server process
    and by the browser's processes (Chromium and Playwright's driver: building the elements, drawing charts
    and grids). Nothing listens to the websocket's frames: Playwright would copy each one out of Chromium."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    steps: dict[str, dict[str, float]] = {}
    me, server = {os.getpid()}, {server_pid} if server_pid else set()

    def settle() -> None:
        page.wait_for_timeout(SETTLE_MS)
        page.evaluate(IDLE)

    def step(name: str, title: str, click: Any) -> None:
        cpu0 = (_cpu_seconds(server, set()), _cpu_seconds(me, server))
        t0 = time.perf_counter()
        click()
        _wait_content(page, title, timeout_s)
        t1 = time.perf_counter()
        cpu1 = (_cpu_seconds(server, set()), _cpu_seconds(me, server))
        # What the page still does once its content is there (grids and charts below the window, the
        # session cookie's script): not in the step's time, but shown, and kept out of the next step's.
        settle()
        steps[name] = {
            "wall": t1 - t0,
            "server_cpu": cpu1[0] - cpu0[0],
            "browser_cpu": cpu1[1] - cpu0[1],
            "browser_cpu_after": _cpu_seconds(me, server) - cpu1[1],
        }

    try:
        page.goto(base)
        page.get_by_role("textbox", name="Username").fill(user)
        page.get_by_role("textbox", name="Password").fill(password)
        button = page.get_by_role("button", name="Sign in")
        button.wait_for(state="visible")
        settle()
        step(f"Sign in to {COVERAGE}", COVERAGE, button.click)
        nav = page.get_by_test_id("stSidebarNav")
        # a link's text is its icon's ligature name, then the page title
        titles = [t.strip().splitlines()[-1].strip() for t in nav.get_by_role("link").all_inner_texts()]
        for title in [*[t for t in titles if t != COVERAGE], COVERAGE]:
            step(f"to {title}", title, nav.get_by_role("link").filter(has_text=title).click)
        return steps
    finally:
        context.close()


def measure(
    dataset: str, runs: int, user: str, responders: int, shifts: int, timeout_s: float, keep: Path | None
) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    if keep is None:
        folder = Path(tempfile.mkdtemp(prefix=f"rota-browser-{dataset}-"))
    else:
        folder = keep / dataset
        folder.mkdir(parents=True, exist_ok=True)
    env = prepare(dataset, folder, responders, shifts)
    with serve(env, folder) as (base, pid), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            first = one_run(browser, base, pid, user, timeout_s)
            print(f"[{dataset}] warm-up: " + _line(first), file=sys.stderr)
            timed = []
            for i in range(runs):
                timed.append(one_run(browser, base, pid, user, timeout_s))
                print(f"[{dataset}] run {i + 1}: " + _line(timed[-1]), file=sys.stderr)
        finally:
            browser.close()
    median = {s: {m: statistics.median(r[s][m] for r in timed) for m in METRICS} for s in timed[0]}
    return {"dataset": dataset, "user": user, "first": first, "runs": timed, "median": median}


def _line(steps: dict[str, dict[str, float]]) -> str:
    return ", ".join(
        f"{k} {v['wall']:.2f} s (CPU: server {v['server_cpu']:.2f}, browser {v['browser_cpu']:.2f}, "
        f"after {v['browser_cpu_after']:.2f})"
        for k, v in steps.items()
    )


def target(step: str) -> float:
    return SIGN_IN_TARGET_S if step.startswith("Sign in") else SWITCH_TARGET_S


def table(results: list[dict[str, Any]], runs: int) -> str:
    lines = [
        f"| data | step | first after start (s) | median of {runs} (s) | slowest (s) | target (s) | "
        "| server CPU, median (s) | browser CPU, median (s) | browser CPU after, median (s) |",
        "|---|---|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    for res in results:
        for step, med in res["median"].items():
            worst = max(r[step]["wall"] for r in res["runs"])
            verdict = "met" if med["wall"] < target(step) else "**missed**"
            lines.append(
                f"| {res['dataset']} | {step} | {res['first'][step]['wall']:.2f} | {med['wall']:.2f} "
                f"| {worst:.2f} | < {target(step):g} | {verdict} | {med['server_cpu']:.2f} "
                f"| {med['browser_cpu']:.2f} | {med['browser_cpu_after']:.2f} |"
            )
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "when": time.strftime("%d/%m/%Y %H:%M", time.gmtime()) + " UTC",
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in load],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="timed runs after one warm-up (default 5)")
    parser.add_argument("--dataset", choices=("demo", "national", "both"), default="both")
    parser.add_argument("--user", default="manager", help="demo account to sign in as (default manager)")
    parser.add_argument("--responders", type=int, default=2_000, help="national year: responders")
    parser.add_argument("--shifts", type=int, default=500_000, help="national year: shifts")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for one page")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    parser.add_argument(
        "--keep",
        type=Path,
        help="keep the databases in KEEP/demo and KEEP/national, and reuse them next time",
    )
    parser.add_argument("--check", action="store_true", help="exit 1 when a median misses its target")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if not Path(CHROMIUM).exists():
        print(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)", file=sys.stderr)
        return 2
    datasets = ["demo", "national"] if args.dataset == "both" else [args.dataset]
    before = machine()
    results = [
        measure(d, args.runs, args.user, args.responders, args.shifts, args.timeout, args.keep)
        for d in datasets
    ]
    after = machine()
    print(
        f"Chromium, {before['cpus']} cores, load average {before['load_average'][0]:.2f} before and "
        f"{after['load_average'][0]:.2f} after, {before['when']}; signed in as `{args.user}`.\n"
    )
    print(table(results, args.runs))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"machine": before, "after": after, "results": results}, indent=2))
    missed = any(r["median"][s]["wall"] >= target(s) for r in results for s in r["median"])
    return 1 if missed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
