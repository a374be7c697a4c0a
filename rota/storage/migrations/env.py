"""Alembic environment for the rota database.

`rota.storage.db.init_db` passes an open connection in `config.attributes["connection"]`; run from the
`alembic` command line it connects to ROTA_DATABASE_URL (or the default SQLite file) instead.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection
from sqlmodel import SQLModel

import rota.storage.models  # noqa: F401  (registers the tables on SQLModel.metadata)
from rota.storage.db import database_url, make_engine
from rota.storage.models import JOBSTORE_TABLE

config = context.config
target_metadata = SQLModel.metadata


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """APScheduler creates and owns its job store table; autogenerate must not propose to drop it."""
    return not (type_ == "table" and name == JOBSTORE_TABLE)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=include_name,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    context.configure(
        url=database_url(None),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    given = config.attributes.get("connection")
    if given is not None:
        _run(given)
        return
    engine = make_engine(database_url(None))
    try:
        with engine.begin() as connection:
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
