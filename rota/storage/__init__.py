"""Storage: the SQLModel tables, the engine and migrations (Alembic, run from code), and the repositories.

This package is the only place that imports SQLAlchemy or SQLModel (an import-linter contract holds it).
Code outside
it names the database handles and the database's errors by the names below.
"""

from sqlalchemy import Connection, Engine

from rota.storage.db import StorageError

__all__ = ["Connection", "Engine", "StorageError"]
