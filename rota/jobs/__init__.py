"""The scheduled jobs: `rota.jobs:gap_scan`, `training_expiry`, `forecast_refresh`, `import_watch` and
`assurance_pack`, the "module:function" entry points that APScheduler stores under fixed ids
(rota/scheduler.py) and that `rota jobs run NAME` calls. Each runs its work (gaps.py, training.py,
forecast.py, rota/watchfolder.py and pack.py) with the engine and settings passed in: the scheduler's
executor passes its own (`rota.scheduler.JobRunner`); called with none, a job uses the process's engine
for the configured database (`rota.storage.engines`) and the settings of the environment. Each is
idempotent and records its run in `job_run` (run.py).

Alerts hold rules, times and responders' training; never a child's data.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rota.config import Settings, load_settings
from rota.errors import InputError, Problem
from rota.jobs.digest import DIGEST_LINES
from rota.jobs.forecast import FORECAST_DAYS, latest_forecast, refresh_forecast
from rota.jobs.gaps import (
    LOOKAHEAD,
    LOOKBACK,
    FoundGap,
    GapPlan,
    find_gaps,
    gap_key,
    gap_message,
    plan_gap_alerts,
    scan_gaps,
)
from rota.jobs.pack import build_quarter_pack
from rota.jobs.run import JobOutcome, Work, run_recorded
from rota.jobs.training import EXPIRY_DAYS, check_expiries, coordinators, expiry_key
from rota.services.alerts import (
    JOB_NAMES,
    JOBS,
    OVERVIEW_SCHEMA,
    JobSpec,
    alert_json,
    overview,
    overview_lines,
)
from rota.storage import Engine
from rota.storage.engines import configured_engine
from rota.watchfolder import watch_folder

WORK: dict[str, Work] = {
    "gap-scan": scan_gaps,
    "training-expiry": check_expiries,
    "forecast-refresh": refresh_forecast,
    "import-watch": watch_folder,
    "assurance-pack": build_quarter_pack,
}


def run_job(
    name: str, engine: Engine | None = None, settings: Settings | None = None, *, now: datetime | None = None
) -> JobOutcome:
    """Run one job now by its name (`rota jobs run NAME`), with `engine` and `settings` (else the
    configured database's engine and the environment's settings)."""
    if name not in WORK:
        raise InputError(Problem("job", None, None, f"no job {name!r}; the jobs are {', '.join(JOB_NAMES)}"))
    eng = engine if engine is not None else configured_engine()
    return run_recorded(name, WORK[name], eng, settings or load_settings(), now)


def gap_scan(
    engine: Engine | None = None, settings: Settings | None = None, *, now: datetime | None = None
) -> JobOutcome:
    """Gaps of the next 30 days: one stored alert per gap, new ones sent in one digest, closed ones
    resolved. Running it again with nothing changed sends nothing."""
    return run_job("gap-scan", engine, settings, now=now)


def training_expiry(
    engine: Engine | None = None, settings: Settings | None = None, *, now: datetime | None = None
) -> JobOutcome:
    """Competencies lapsing within 30 days (no renewal recorded): one alert each, sent to the coordinators
    of the responder's agency."""
    return run_job("training-expiry", engine, settings, now=now)


def forecast_refresh(
    engine: Engine | None = None, settings: Settings | None = None, *, now: datetime | None = None
) -> JobOutcome:
    """The forecast of the next 91 days, stored for the dashboard (`latest_forecast`)."""
    return run_job("forecast-refresh", engine, settings, now=now)


def import_watch(
    engine: Engine | None = None, settings: Settings | None = None, *, now: datetime | None = None
) -> JobOutcome:
    """Import what has been dropped into ROTA_IMPORT_WATCH, each item all or nothing, then move it to
    done/ or failed/ with a report beside it."""
    return run_job("import-watch", engine, settings, now=now)


def assurance_pack(
    engine: Engine | None = None, settings: Settings | None = None, *, now: datetime | None = None
) -> JobOutcome:
    """From the fifth working day after a quarter ends: that quarter's assurance packs built and stored
    once, and the commissioners' pack e-mailed to ROTA_PACK_EMAIL."""
    return run_job("assurance-pack", engine, settings, now=now)


RUNNERS: dict[str, Callable[..., JobOutcome]] = {
    "gap-scan": gap_scan,
    "training-expiry": training_expiry,
    "forecast-refresh": forecast_refresh,
    "import-watch": import_watch,
    "assurance-pack": assurance_pack,
}

__all__ = [
    "DIGEST_LINES",
    "EXPIRY_DAYS",
    "FORECAST_DAYS",
    "JOBS",
    "JOB_NAMES",
    "LOOKAHEAD",
    "LOOKBACK",
    "OVERVIEW_SCHEMA",
    "RUNNERS",
    "WORK",
    "FoundGap",
    "GapPlan",
    "JobOutcome",
    "JobSpec",
    "alert_json",
    "assurance_pack",
    "coordinators",
    "expiry_key",
    "find_gaps",
    "forecast_refresh",
    "gap_key",
    "gap_message",
    "gap_scan",
    "import_watch",
    "latest_forecast",
    "overview",
    "overview_lines",
    "plan_gap_alerts",
    "run_job",
    "training_expiry",
]
