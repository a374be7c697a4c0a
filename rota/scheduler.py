"""The scheduler: APScheduler 3 with its job store in the product's database (table `apscheduler_jobs`,
created by APScheduler), fixed job ids, coalescing, a misfire grace time, one instance per job, and the
service time zone (Europe/London).

Where it runs: with the embedded SQLite database, once per dashboard server process (the st.App lifespan
in dashboard/server.py starts it, never a page script); with PostgreSQL as its own process, `rota
scheduler` (docs/operations.md). Nightly work runs at 02:00 or later local time: a cron time between 01:00
and 02:00 happens twice on the October clock change and not at all in March.

The job store keeps each job as "module:function" (rota/jobs/__init__.py) with no arguments, so no
database URL, and no password, is ever stored there. The scheduler's executor, a `JobRunner`, hands each
of the product's jobs the scheduler's own engine and settings when it runs it.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import datetime, timedelta, tzinfo
from types import FrameType
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from rota.config import Settings, load_settings
from rota.redact import mask_url
from rota.services.alerts import JOBS, overview_lines
from rota.storage import Engine
from rota.storage.db import is_sqlite
from rota.storage.models import JOBSTORE_TABLE
from rota.timeutil import utc_now

log = logging.getLogger(__name__)

ENV_EMBEDDED = "ROTA_EMBEDDED_SCHEDULER"
# How late a run may still start after its time (the scheduler was down or busy): later runs are skipped
# until the next time comes round. Missed runs are coalesced into one.
GRACE_SECONDS: dict[str, int] = {
    "gap-scan": 30 * 60,
    "training-expiry": 6 * 3600,
    "forecast-refresh": 6 * 3600,
    "import-watch": 60,
    "assurance-pack": 6 * 3600,  # a day missed altogether is caught up by the next day's run
}
FIRST_GAP_SCAN = timedelta(minutes=2)  # on a new database the first scan comes soon after start


def triggers(tz: tzinfo) -> dict[str, Any]:
    """The trigger of each job, in the service time zone."""
    return {
        "gap-scan": IntervalTrigger(hours=1, timezone=tz),
        "training-expiry": CronTrigger(hour=2, minute=30, timezone=tz),
        "forecast-refresh": CronTrigger(hour=3, minute=0, timezone=tz),
        "import-watch": IntervalTrigger(minutes=1, timezone=tz),
        "assurance-pack": CronTrigger(hour=6, minute=30, timezone=tz),
    }


class JobRunner(ThreadPoolExecutor):  # type: ignore[misc]  # APScheduler has no type hints
    """The scheduler's executor (APScheduler's documented extension point, `_do_submit_job`): a job whose
    function is one of the product's (`JOBS`) runs with the scheduler's engine and settings passed in;
    any other job runs as stored. The job in the store is left as it was."""

    def __init__(self, engine: Engine, settings: Settings | None = None, max_workers: int = 2) -> None:
        super().__init__(max_workers=max_workers)
        self.engine = engine
        self.settings = settings

    def bound(self, job: Job) -> Job:
        """A copy of `job` (one of the product's) with the engine and settings among its arguments."""
        state = job.__getstate__()
        passed: dict[str, object] = {"engine": self.engine}
        if self.settings is not None:
            passed["settings"] = self.settings
        state["kwargs"] = {**job.kwargs, **passed}
        copy = Job.__new__(Job)
        copy.__setstate__(state)
        copy._jobstore_alias = job._jobstore_alias
        copy._scheduler = job._scheduler
        return copy

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        ours = job.func_ref in {spec.function for spec in JOBS.values()}
        super()._do_submit_job(self.bound(job) if ours else job, run_times)


def make_scheduler(engine: Engine, tz: tzinfo, settings: Settings | None = None) -> BackgroundScheduler:
    """A scheduler (not started) whose jobs live in `engine`'s database and run with `engine` (and
    `settings`, else the environment's)."""
    scheduler = BackgroundScheduler(
        jobstores={"default": SQLAlchemyJobStore(engine=engine, tablename=JOBSTORE_TABLE)},
        executors={"default": JobRunner(engine, settings)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 3600},
        timezone=tz,
    )
    scheduler.add_listener(_on_trouble, EVENT_JOB_MISSED | EVENT_JOB_ERROR)
    return scheduler


def _on_trouble(event: JobExecutionEvent) -> None:
    if event.code == EVENT_JOB_MISSED:
        log.warning(
            "job %s missed its run at %s (too late to start it now)", event.job_id, event.scheduled_run_time
        )
    else:
        log.error("job %s raised %r", event.job_id, event.exception)


def _same(job: Job, function: str, trigger: Any, grace: int) -> bool:
    return bool(
        job.func_ref == function
        and str(job.trigger) == str(trigger)
        and str(getattr(job.trigger, "timezone", "")) == str(getattr(trigger, "timezone", ""))
        and job.misfire_grace_time == grace
        and job.coalesce
        and job.max_instances == 1
    )


def install_jobs(
    scheduler: BackgroundScheduler, settings: Settings, now: datetime | None = None
) -> list[str]:
    """Put every job in the store under its fixed id. A job already stored with the same function and
    trigger is left alone, so a restart keeps its next run time; a changed one is replaced. The
    import watch is there only while ROTA_IMPORT_WATCH is set. Returns the ids added or replaced."""
    now = now or utc_now()
    wanted = triggers(settings.tz)
    changed: list[str] = []
    for name, spec in JOBS.items():
        existing = scheduler.get_job(name)
        if name == "import-watch" and settings.import_watch is None:
            if existing is not None:
                scheduler.remove_job(name)
            continue
        trigger, grace = wanted[name], GRACE_SECONDS[name]
        if existing is not None and _same(existing, spec.function, trigger, grace):
            continue
        options: dict[str, Any] = {}
        if name == "gap-scan" and existing is None:
            options["next_run_time"] = now + FIRST_GAP_SCAN
        scheduler.add_job(
            spec.function,
            trigger,
            id=name,
            name=spec.title,
            replace_existing=True,
            coalesce=True,
            max_instances=1,
            misfire_grace_time=grace,
            **options,
        )
        changed.append(name)
    return changed


def start(engine: Engine, settings: Settings | None = None) -> BackgroundScheduler:
    """Start a background scheduler on `engine`'s database with every job installed; the jobs run with
    `engine` and these settings. Call `stop` (or `scheduler.shutdown()`) when done."""
    cfg = settings or load_settings()
    scheduler = make_scheduler(engine, cfg.tz, cfg)
    scheduler.start(paused=True)  # the job store must be open to compare the stored jobs
    try:
        changed = install_jobs(scheduler, cfg)
    except Exception:
        scheduler.shutdown(wait=False)
        raise
    scheduler.resume()
    log.info(
        "scheduler started (%s); jobs added or changed: %s", _where(engine), ", ".join(changed) or "none"
    )
    return scheduler


def stop(scheduler: BackgroundScheduler, *, wait: bool = True) -> None:
    if scheduler.running:
        scheduler.shutdown(wait=wait)


def _where(engine: Engine) -> str:
    return mask_url(engine.url.render_as_string(hide_password=False))


def embedded(url: str, settings: Settings | None = None) -> bool:
    """Does the dashboard server run the scheduler itself? Yes with SQLite (the embedded database) unless
    ROTA_EMBEDDED_SCHEDULER=0; never with PostgreSQL, where `rota scheduler` runs once for all the
    dashboard processes."""
    return (settings or load_settings()).embedded_scheduler and is_sqlite(url)


def serve(
    engine: Engine,
    settings: Settings | None = None,
    *,
    ready: threading.Event | None = None,
    stop_event: threading.Event | None = None,
) -> int:
    """`rota scheduler`: run the jobs until SIGTERM or SIGINT (Ctrl+C), then let a running job finish."""
    cfg = settings or load_settings()
    done = stop_event or threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping after the running job", signum)
        done.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    scheduler = start(engine, cfg)
    try:
        for line in overview_lines(engine, cfg):
            log.info("%s", line)
        if ready is not None:
            ready.set()
        done.wait()
    finally:
        stop(scheduler, wait=True)
    return 0
