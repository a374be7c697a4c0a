"""The ASGI server for `rota up`: one per process, so process-wide work starts here in the lifespan, never at
a script's top level (a script reruns on every interaction).

With the embedded SQLite database the lifespan also runs the scheduled jobs (rota/scheduler.py): one
background scheduler per server process, started before the first page is served and shut down with the
server. With PostgreSQL it does not: several dashboard processes may share the database, and one
`rota scheduler` process runs the jobs for all of them. ROTA_EMBEDDED_SCHEDULER=0 switches it off.

Two routes look after the browser's session cookie (dashboard/components/signin.py): POST /api/session/set
exchanges a single-use hand-over code for a random session token in an HttpOnly, SameSite=Strict cookie (the
page never sees the token, and it is never in a URL); POST /api/session/end ends that session and clears the
cookie. Both answer only requests from the dashboard's own origin.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import streamlit as st
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from dashboard.components.signin import SESSION_COOKIE, SESSION_PATH
from rota import scheduler as jobs_scheduler
from rota.redact import install_log_redaction
from rota.services import sessions
from rota.storage import Engine
from rota.storage.db import database_url, init_db

log = logging.getLogger(__name__)
_ENGINES: list[Engine] = []  # the lifespan's engine, for the session routes
MAX_BODY = 256  # a hand-over code is 43 characters


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[dict[str, Any]]:
    install_log_redaction()  # no log line of this process shows a password
    url = database_url()
    engine = init_db(url)  # create or migrate once, before the first page is served
    _ENGINES.append(engine)
    scheduler = None
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
        _ENGINES.remove(engine)
        engine.dispose()


def _same_origin(request: Request) -> bool:
    """A request the dashboard's own page made: its Origin names this host (fetch always sends Origin with
    a POST), and the browser does not say it came from another site."""
    origin = request.headers.get("origin")
    host = request.headers.get("host")
    if not origin or not host or origin.split("://", 1)[-1] != host:
        return False
    return request.headers.get("sec-fetch-site", "same-origin") == "same-origin"


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


async def set_session_cookie(request: Request) -> Response:
    if not _same_origin(request) or not _ENGINES:
        return _no_store(Response(status_code=403))
    body = await request.body()
    code = body[:MAX_BODY].decode("ascii", "replace").strip()
    token = await run_in_threadpool(sessions.claim_handoff, _ENGINES[0], code)
    if token is None:
        return _no_store(Response(status_code=404))
    response = Response(status_code=204)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https",
    )
    return _no_store(response)


async def end_session_cookie(request: Request) -> Response:
    if not _same_origin(request):
        return _no_store(Response(status_code=403))
    token = request.cookies.get(SESSION_COOKIE)
    if token and _ENGINES:
        await run_in_threadpool(sessions.end_session, _ENGINES[0], token=token)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return _no_store(response)


app = st.App(
    str(Path(__file__).with_name("app.py")),
    lifespan=lifespan,
    routes=[
        Route(f"{SESSION_PATH}/set", set_session_cookie, methods=["POST"]),
        Route(f"{SESSION_PATH}/end", end_session_cookie, methods=["POST"]),
    ],
)
