"""benchmarks/bench_browser.py, once and small: one run of its sign-in and page tour on the e2e server, so the
benchmark's notion of a page's content being there keeps matching what the dashboard draws."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

from tests.e2e.conftest import DEMO_PASSWORD

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_browser.py"


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_browser", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_browser", module)
    spec.loader.exec_module(module)
    return module


def test_one_run_visits_every_page_of_the_manager(browser: Any, server: str) -> None:
    bench = _bench()
    steps = bench.one_run(browser, server, None, "manager", 60.0, password=DEMO_PASSWORD)
    assert list(steps) == [
        "Sign in to Coverage",
        "to Rota editor",
        "to Responders & training",
        "to Capacity & forecast",
        "to Completion",
        "to Admin",
        "to Coverage",
    ]
    for name, figures in steps.items():
        assert 0 < figures["wall"] < 60, name
        assert figures["browser_cpu"] > 0, name  # Chromium did work for every step
    table = bench.table([{"dataset": "demo", "first": steps, "runs": [steps], "median": steps}], runs=1)
    assert table.count("\n") == len(steps) + 1
    assert "| demo | Sign in to Coverage |" in table
