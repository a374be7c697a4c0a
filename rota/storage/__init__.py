"""Storage: the SQLModel tables, the engine and migrations (Alembic, run from code), and the repositories."""
