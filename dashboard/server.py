"""The ASGI server for `rota up`: one per process, so process-wide work starts here in the lifespan, never at
a script's top level (a script reruns on every interaction).

With the embedded SQLite database the lifespan also runs the scheduled jobs (rota/scheduler.py): one
background scheduler per server process, started before the first page is served and shut down with the
server. With PostgreSQL it does not: several dashboard processes may share the database, and one
`rota scheduler` process runs the jobs for all of them. ROTA_EMBEDDED_SCHEDULER=0 switches it off.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import streamlit as st

from rota.redact import install_log_redaction
from rota.storage.db import database_url, init_db

log = logging.getLogger(__name__)


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[dict[str, Any]]:
    install_log_redaction()  # no log line of this process shows a password
    url = database_url()
    engine = init_db(url)  # create or migrate once, before the first page is served
    scheduler = None
    from rota import scheduler as jobs_scheduler

    if jobs_scheduler.embedded(url):
        try:
            scheduler = jobs_scheduler.start(engine)
        except Exception:  # the dashboard still serves; the Admin page shows the jobs have not run
            log.exception("the embedded scheduler did not start")
    try:
        yield {
            "database": engine.url.render_as_string(hide_password=True),
            "scheduler": "embedded" if scheduler is not None else "off",
        }
    finally:
        if scheduler is not None:
            jobs_scheduler.stop(scheduler, wait=False)
        engine.dispose()


app = st.App(str(Path(__file__).with_name("app.py")), lifespan=lifespan)
