"""One engine per database URL for the whole process, for code that is handed no engine: a scheduled job
that APScheduler calls as "module:function" without arguments (rota/jobs/__init__.py). An lru_cache, not a
module variable that callers set: the URL, from the settings, is the key.
"""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import Engine

from rota.storage.db import database_url, make_engine


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """The process's engine for `url` (made on first use and kept; pools are per engine, so one engine a
    database keeps the connections shared)."""
    return make_engine(url)


def configured_engine() -> Engine:
    """The engine for the configured database (`ROTA_DATABASE_URL`, else the default SQLite file)."""
    return engine_for(database_url())
