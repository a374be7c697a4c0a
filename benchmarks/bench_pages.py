"""Page speed on the demo data: how long each dashboard page's script takes, per role (target: under 1 s,
docs/dashboard.md).

Each page runs through Streamlit's AppTest against a fresh demo database: once cold (first run in this
process for that page and role, caches empty) and then `--runs` times warm (a rerun, as when a user
interacts). The figure is the wall time of `AppTest.run()`, which includes AppTest's own overhead, so it
over-states the script time slightly.

    python benchmarks/bench_pages.py [--runs 5] [--out benchmarks/out/pages.json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "bench-password-2026"
APP = str(ROOT / "dashboard" / "app.py")

PAGES = {
    "Coverage": "views/coverage_page.py",
    "Rota editor": "views/rota_editor_page.py",
    "Responders & training": "views/responders_page.py",
    "Capacity & forecast": "views/capacity_page.py",
    "Completion": "views/completion_page.py",
    "Admin": "views/admin_page.py",
}
ROLES = {
    "admin": None,
    "cdop_manager": None,
    "coordinator": "Vale Police",
    "commissioner": None,
    "police-commissioner": "Vale Police",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "out" / "pages.json")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="rota-pages-"))
    url = f"sqlite:///{folder / 'rota.db'}"
    os.environ["ROTA_DATABASE_URL"] = url

    from streamlit.testing.v1 import AppTest

    from rota.demo import build_demo
    from rota.demo_cases import CHILD_POPULATION, build_demo_cases
    from rota.services import sessions
    from rota.services.access import Actor, pages_for
    from rota.services.auth import ensure_user
    from rota.storage.db import init_db
    from rota.storage.imports import import_cases, import_rota
    from rota.storage.settings import write_setting
    from rota.timeutil import SERVICE_TZ, utc_now

    today: date = utc_now().astimezone(SERVICE_TZ).date()
    engine = init_db(url)
    rota = build_demo(today)
    import_rota(engine, rota, actor="bench", source="demo")
    import_cases(engine, build_demo_cases(today, rota), actor="bench", source="demo")
    write_setting(engine, "child_population", str(CHILD_POPULATION), actor="bench")

    results = []
    for title, page in PAGES.items():
        for label, agency in ROLES.items():
            role = "commissioner" if label == "police-commissioner" else label
            if title not in pages_for(Actor("bench", role, agency)):
                continue
            at = AppTest.from_file(APP, default_timeout=120)
            # a real account with a live server-side session: the gate revalidates it at every rerun
            actor = Actor(f"bench-{label}", role, agency, f"Bench {label}")
            ensure_user(engine, actor.username, role, PASSWORD, agency, actor.display_name, by="bench")
            started = sessions.start_session(
                engine, actor, sessions.PASSWORD, idle=timedelta(days=1), handoff=False
            )
            at.session_state["user"] = {
                "username": actor.username,
                "role": role,
                "agency": agency,
                "display_name": actor.display_name,
                "last_seen": time.time(),
                "method": sessions.PASSWORD,
                "session": started.session_id,
            }
            at.run()
            t0 = time.perf_counter()
            at.switch_page(page)
            at.run()
            cold = time.perf_counter() - t0
            if at.exception:
                print(f"{title} as {label}: the script failed: {at.exception[0].value}", file=sys.stderr)
                return 1
            if title not in [str(x.value) for x in at.title]:  # signed out, refused: not the page timed
                print(f"{title} as {label}: the page did not open", file=sys.stderr)
                return 1
            warm = []
            for _ in range(args.runs):
                at.session_state["user"]["last_seen"] = time.time()
                t0 = time.perf_counter()
                at.run()
                warm.append(time.perf_counter() - t0)
            results.append(
                {
                    "page": title,
                    "role": label,
                    "cold_s": cold,
                    "warm_median_s": statistics.median(warm),
                    "warm_max_s": max(warm),
                }
            )

    engine.dispose()
    print("| page | role | first run (s) | rerun, median (s) | rerun, max (s) |")
    print("|---|---|---:|---:|---:|")
    for r in results:
        cells = [
            r["page"],
            r["role"],
            f"{r['cold_s']:.2f}",
            f"{r['warm_median_s']:.2f}",
            f"{r['warm_max_s']:.2f}",
        ]
        print("| " + " | ".join(cells) + " |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps({"demo_today": today.isoformat(), "runs": args.runs, "results": results}, indent=2)
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
