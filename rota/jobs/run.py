"""Running one job: one run at a time per job (a lease in `job_run`, renewed by a heartbeat while the
job works), its outcome recorded and logged. A job's work is a function of the engine, the settings and
the time, all passed in.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from rota.config import Settings
from rota.errors import InputError
from rota.storage import Engine, StorageError
from rota.storage import alerts as store
from rota.timeutil import utc_now
from rota.vocab import JobStatus

log = logging.getLogger("rota.jobs")

Work = Callable[[Engine, Settings, datetime], tuple[bool, str]]


@dataclass(frozen=True)
class JobOutcome:
    """How one run went: `ok`, `failed` (the message says why) or `skipped` (another run was going)."""

    job: str
    status: str
    message: str

    @property
    def ok(self) -> bool:
        return self.status != JobStatus.FAILED


def run_recorded(
    name: str, work: Work, engine: Engine, settings: Settings, now: datetime | None
) -> JobOutcome:
    """Run `work` as the job `name`, unless another run of it is still going; record how it went."""
    run_id = store.begin_run(engine, name, utc_now())
    if run_id is None:
        message = "skipped: another run of this job is still going"
        log.info("%s %s", name, message)
        return JobOutcome(name, "skipped", message)
    stop = threading.Event()
    beat = threading.Thread(
        target=_heartbeat, args=(engine, run_id, stop), name=f"{name}-heartbeat", daemon=True
    )
    beat.start()
    try:
        ok, message = work(engine, settings, now or utc_now())
    except InputError as exc:  # bad settings or data: the message says what to change
        ok, message = False, exc.message(limit=20)
    except Exception as exc:
        ok, message = False, f"{exc.__class__.__name__}: {exc}"
        log.error("%s failed", name, exc_info=True)
    finally:
        stop.set()
        beat.join()
    status = (JobStatus.OK if ok else JobStatus.FAILED).value
    store.end_run(engine, run_id, status, message, utc_now())
    (log.info if ok else log.warning)("%s %s: %s", name, status, message)
    return JobOutcome(name, status, message)


def _heartbeat(engine: Engine, run_id: int, stop: threading.Event) -> None:
    """Renew the run's lease while it works, so that a run whose process dies is recognised within
    minutes (rota/storage/alerts.py, `run_is_live`)."""
    while not stop.wait(store.HEARTBEAT.total_seconds()):
        try:
            store.renew_run(engine, run_id, utc_now())
        except StorageError:  # busy for a moment: the lease outlasts several missed beats
            log.debug("heartbeat of run %s missed", run_id, exc_info=True)
