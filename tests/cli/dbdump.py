"""Every row of every table, to show that a refused command left the database exactly as it was."""

from __future__ import annotations

from sqlalchemy import MetaData, create_engine, select

from rota.storage.db import normalise_url


def dump(url: str) -> dict[str, list[tuple[str, ...]]]:
    engine = create_engine(normalise_url(url))
    try:
        meta = MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            return {
                name: sorted(tuple(repr(v) for v in row) for row in conn.execute(select(table)))
                for name, table in sorted(meta.tables.items())
            }
    finally:
        engine.dispose()
