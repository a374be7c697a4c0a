"""Loading the demo (`rota demo`): the demo rota and five years of demo cases replace what is stored, the
child population is set to the demo area's, and there is one sign-in account per role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, tzinfo

import polars as pl

from rota.demo import AGENCIES, build_demo, demo_summary
from rota.demo_cases import CHILD_POPULATION, build_demo_cases, demo_cases_summary
from rota.model import Rota
from rota.services.access import ADMIN, CDOP_MANAGER, COMMISSIONER, COORDINATOR, Actor
from rota.services.auth import check_password, ensure_user
from rota.services.gapalerts import reconcile_gap_alerts
from rota.storage import Engine
from rota.storage.changes import KindCounts
from rota.storage.imports import import_cases, import_rota
from rota.storage.rota import ImportSummary, reset_rota
from rota.storage.settings import write_setting

# Documented in the README ("Demo accounts"); the command line takes env ROTA_DEMO_PASSWORD instead if set.
DEMO_PASSWORD = "demo-password-2026"
DEMO_ACTOR = "demo"  # the name in the audit log
# The demo reaches about six years back (cases) and three ahead (training): its day keeps it in the
# accepted dates (docs/bundle.md, "Limits").
FIRST_YEAR, LAST_YEAR = 1910, 2090

DEMO_ACCOUNTS: tuple[Actor, ...] = (
    Actor("admin", ADMIN, None, "Demo administrator"),
    Actor("manager", CDOP_MANAGER, None, "Demo CDOP manager"),
    Actor("police-coordinator", COORDINATOR, AGENCIES["sio"], "Demo police coordinator"),
    Actor("commissioner", COMMISSIONER, None, "Demo commissioner"),
    Actor("police-commissioner", COMMISSIONER, AGENCIES["sio"], "Demo police commissioner"),
)


@dataclass(frozen=True)
class DemoLoad:
    """What loading the demo stored, with the counts to show."""

    rota: Rota
    cases: pl.DataFrame
    rota_summary: ImportSummary
    case_counts: KindCounts
    child_population: int
    rota_facts: dict[str, object]
    case_facts: dict[str, object]
    accounts: tuple[Actor, ...]


def check_demo_day(today: date) -> None:
    """ValueError unless the demo can be built around `today`."""
    if not FIRST_YEAR <= today.year <= LAST_YEAR:
        raise ValueError(f"give a day from {FIRST_YEAR} to {LAST_YEAR} for the demo")


def check_demo_password(password: str) -> None:
    """The password policy for the demo accounts (InputError), checked before anything is changed."""
    check_password(password)


def load_demo(engine: Engine, today: date, *, seed: int, tz: tzinfo, password: str) -> DemoLoad:
    """Replace the stored rota and cases with the demo built around `today` (the same for the same seed),
    set child_population, and create the demo accounts or put them back to `password` (switched on)."""
    check_demo_day(today)
    check_demo_password(password)
    rota = build_demo(today, seed=seed, tz=tz)
    cases = build_demo_cases(today, rota, seed=seed, tz=tz)
    reset_rota(engine, actor=DEMO_ACTOR)
    summary = import_rota(engine, rota, actor=DEMO_ACTOR, source="demo")
    case_counts = import_cases(engine, cases, actor=DEMO_ACTOR, source="demo", replace=True)
    write_setting(engine, "child_population", str(CHILD_POPULATION), actor=DEMO_ACTOR)
    reconcile_gap_alerts(engine, tz)  # the alerts of the rota replaced go; the demo's own come in
    for a in DEMO_ACCOUNTS:
        ensure_user(engine, a.username, a.role, password, a.agency, a.display_name, by=DEMO_ACTOR)
    return DemoLoad(
        rota=rota,
        cases=cases,
        rota_summary=summary,
        case_counts=case_counts,
        child_population=CHILD_POPULATION,
        rota_facts=demo_summary(rota, today, tz),
        case_facts=demo_cases_summary(cases, tz),
        accounts=DEMO_ACCOUNTS,
    )
