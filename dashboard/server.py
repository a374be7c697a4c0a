"""The ASGI server for `rota up`: one per process, so process-wide work (the embedded scheduler, later)
starts here in the lifespan, never at a script's top level (a script reruns on every interaction)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import streamlit as st

from rota.storage.db import database_url, init_db


@asynccontextmanager
async def lifespan(_app: Any) -> AsyncIterator[dict[str, Any]]:
    engine = init_db(database_url())  # create or migrate once, before the first page is served
    try:
        yield {"database": engine.url.render_as_string(hide_password=True)}
    finally:
        engine.dispose()


app = st.App(str(Path(__file__).with_name("app.py")), lifespan=lifespan)
