"""The demo database the page and job tests start from: the regional demo rota and its cases for a day, and
the child population, stored in an SQLite file (copied for each test that changes it)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from rota.demo import build_demo
from rota.demo_cases import CHILD_POPULATION, build_demo_cases
from rota.storage.db import init_db
from rota.storage.imports import import_cases, import_rota
from rota.storage.settings import write_setting


def write_demo_database(path: Path, today: date) -> Path:
    engine = init_db(f"sqlite:///{path}")
    try:
        rota = build_demo(today)
        import_rota(engine, rota, actor="demo", source="demo")
        import_cases(engine, build_demo_cases(today, rota), actor="demo", source="demo")
        write_setting(engine, "child_population", str(CHILD_POPULATION), actor="demo")
    finally:
        engine.dispose()
    return path
