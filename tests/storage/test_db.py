"""Finding, opening and migrating the database."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool
from sqlmodel import SQLModel

import rota.storage.db as db
from rota.storage.db import (
    MIGRATIONS_DIR,
    current_revision,
    database_url,
    init_db,
    make_engine,
    normalise_url,
    write_transaction,
)

TABLES = {
    "responder",
    "training",
    "shift",
    "absence",
    "coverage_rule",
    "role",
    "audit_log",
    "user_account",
    "user_session",
    "board_action",
    "assurance_pack",
    "alembic_version",
}


def test_database_url_prefers_the_command_line_then_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ROTA_DATABASE_URL", "sqlite:///from-env.db")
    assert database_url("sqlite:///from-cli.db") == "sqlite:///from-cli.db"
    assert database_url(None) == "sqlite:///from-env.db"
    assert database_url("  ") == "sqlite:///from-env.db"


def test_database_url_defaults_to_a_file_in_data_and_creates_the_folder(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ROTA_DATABASE_URL", raising=False)
    monkeypatch.setattr(db, "DATA_DIR", tmp_path / "data")
    assert database_url(None) == f"sqlite:///{tmp_path / 'data' / 'rota.db'}"
    assert (tmp_path / "data").is_dir()


def test_the_real_default_is_data_beside_the_rota_package() -> None:
    import rota

    assert Path(rota.__file__).resolve().parent.parent / "data" == db.DATA_DIR


def test_postgresql_urls_without_a_driver_use_psycopg_3() -> None:
    assert normalise_url("postgresql://u:p@h/d") == "postgresql+psycopg://u:p@h/d"
    assert normalise_url("postgres://u:p@h/d") == "postgresql+psycopg://u:p@h/d"
    assert normalise_url("postgresql+psycopg://u:p@h/d") == "postgresql+psycopg://u:p@h/d"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"


def test_sqlite_file_connections_have_foreign_keys_wal_and_a_busy_timeout(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'x.db'}")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == db.SQLITE_BUSY_TIMEOUT_MS
    engine.dispose()


def test_in_memory_sqlite_is_one_shared_database() -> None:
    engine = make_engine("sqlite://")
    assert isinstance(engine.pool, StaticPool)
    init_db(engine)
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) >= TABLES
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_sqlite_transactions_really_roll_back(tmp_path: Path) -> None:
    engine = init_db(f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(RuntimeError), write_transaction(engine) as conn:
        conn.execute(text("INSERT INTO role (name) VALUES ('nurse')"))
        raise RuntimeError("abandon")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM role")).scalar() == 0
    engine.dispose()


def test_init_db_creates_the_schema_and_is_idempotent(db_url: str) -> None:
    head = ScriptDirectory.from_config(db.alembic_config()).get_current_head()
    engine = init_db(db_url)
    assert current_revision(engine) == head
    engine = init_db(db_url)  # and again: nothing to do, no error
    assert current_revision(engine) == head
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) >= TABLES
    engine.dispose()


def test_a_fresh_database_has_no_revision(db_url: str) -> None:
    engine = make_engine(db_url)
    assert current_revision(engine) is None
    engine.dispose()


def test_init_db_does_not_depend_on_the_working_directory(
    db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert (MIGRATIONS_DIR / "env.py").is_file()
    assert (MIGRATIONS_DIR / "versions" / "0001_initial.py").is_file()
    init_db(db_url).dispose()


def test_the_migration_matches_the_models(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diffs = compare_metadata(ctx, SQLModel.metadata)
    # Tables added by other parts of the product to SQLModel.metadata arrive with their own migrations.
    ours = [d for d in diffs if not (d[0] == "add_table" and d[1].name not in TABLES)]
    assert ours == []


def test_script_template_imports_sqlmodel_types() -> None:
    assert "import sqlmodel.sql.sqltypes" in (MIGRATIONS_DIR / "script.py.mako").read_text()


def test_migration_0007_adds_an_empty_phone_column_and_goes_back(db_url: str) -> None:
    from alembic import command

    engine = make_engine(db_url)
    with write_transaction(engine) as conn:
        command.upgrade(db.alembic_config(conn), "0006")
    with write_transaction(engine) as conn:
        conn.execute(
            text(
                "INSERT INTO responder (responder_id, name, role, active, version, updated_at) "
                "VALUES ('p1', 'Dr Ada Paed', 'paediatrician', true, 1, '2026-12-01 09:00:00')"
            )
        )
    with write_transaction(engine) as conn:
        command.upgrade(db.alembic_config(conn), "0007")
    assert current_revision(engine) == "0007"
    with write_transaction(engine) as conn:
        assert conn.execute(text("SELECT responder_id, phone FROM responder")).all() == [("p1", None)]
        conn.execute(text("UPDATE responder SET phone = '07700 900123'"))
    with write_transaction(engine) as conn:
        command.downgrade(db.alembic_config(conn), "0006")
    with engine.connect() as conn:
        columns = {c["name"] for c in inspect(conn).get_columns("responder")}
        assert "phone" not in columns and "email" in columns
        assert conn.execute(text("SELECT name FROM responder")).scalars().all() == ["Dr Ada Paed"]
    engine.dispose()


def test_migration_0008_adds_the_board_actions_and_packs_and_goes_back(db_url: str) -> None:
    from alembic import command

    engine = make_engine(db_url)
    with write_transaction(engine) as conn:
        command.upgrade(db.alembic_config(conn), "0007")
    with engine.connect() as conn:
        assert not {"board_action", "assurance_pack"} & set(inspect(conn).get_table_names())
    with write_transaction(engine) as conn:
        command.upgrade(db.alembic_config(conn), "0008")
    with write_transaction(engine) as conn:
        conn.execute(
            text(
                "INSERT INTO board_action (title, owner_agency, owner, due, status, notes, created_at, "
                "created_by, version) VALUES ('Recruit SIOs', 'Vale Police', 'DCI Kim', '2027-03-31', "
                "'open', '', '2026-12-01 09:00:00+00:00', 'ana', 1)"
            )
        )
    for bad in ("status = 'done'", "status = 'closed'"):  # not a word; closed without a closing time
        with pytest.raises(IntegrityError), write_transaction(engine) as conn:
            conn.execute(text(f"UPDATE board_action SET {bad}"))
    with engine.connect() as conn:
        indexes = {i["name"] for i in inspect(conn).get_indexes("assurance_pack")}
        assert "ix_assurance_pack_period_audience" in indexes
    with write_transaction(engine) as conn:
        command.downgrade(db.alembic_config(conn), "0007")
    with engine.connect() as conn:
        assert not {"board_action", "assurance_pack"} & set(inspect(conn).get_table_names())
    engine.dispose()
