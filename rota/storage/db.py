"""Where the database is, how to connect to it, and bringing its schema up to date (Alembic, from code).

SQLite (the default, a file under `data/`) and PostgreSQL (`postgresql+psycopg://...`) are supported.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from rota.config import load_settings
from rota.files import create_private, make_sqlite_private
from rota.redact import mask_url, redact, url_secrets

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
DATA_DIR = Path(__file__).resolve().parent.parent.parent / "data"
SQLITE_BUSY_TIMEOUT_MS = 15_000
_WRITE_OPTION = "rota_write"


_URL_FORMS = (
    "give a URL like sqlite:///path/to/file.db or postgresql://host:5432/database "
    "(with user and password before the host: user:password@host)"
)


StorageError = SQLAlchemyError
"""Any failure reported by the database or its driver; code outside `rota/storage/` catches this name."""


class DatabaseURLError(ValueError):
    """A database URL that cannot be used as written; the message shows it with its password masked."""


def default_database_url() -> str:
    """An SQLite file in the `data/` folder beside the `rota` package (created if missing)."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{DATA_DIR / 'rota.db'}"


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs that name no driver (SQLAlchemy would look for psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def database_url(cli_value: str | None = None) -> str:
    """The database to use: the `--db` value, else ROTA_DATABASE_URL (rota/config.py), else the default
    SQLite file."""
    if cli_value and cli_value.strip():
        return normalise_url(cli_value.strip())
    from_env = configured_url()
    return from_env if from_env else default_database_url()


def configured_url() -> str | None:
    """ROTA_DATABASE_URL (rota/config.py), normalised and checked: DatabaseURLError names the variable and
    masks the password when it cannot be used. None when it is not set."""
    from_env = load_settings().database_url
    if not from_env:
        return None
    url = normalise_url(from_env.strip())
    try:
        parse_url(url)
    except DatabaseURLError as exc:
        raise DatabaseURLError(f"ROTA_DATABASE_URL: {exc}") from None
    return url


def parse_url(url: str) -> URL:
    """`url` parsed; DatabaseURLError (password masked, SQLAlchemy's own message dropped as it may quote
    the URL) when it cannot be."""
    try:
        return make_url(url)
    except (ArgumentError, ValueError) as exc:
        raise _url_error(url, exc) from None


def _url_error(url: str, exc: BaseException) -> DatabaseURLError:
    if "://" not in url:  # not a URL at all: nothing tells which part is secret, so show none of it
        return DatabaseURLError(f"cannot use the database URL (not shown): {_URL_FORMS}")
    return DatabaseURLError(f"cannot use the database URL {mask_url(url)}: {_reason(exc, url)}")


def _reason(exc: BaseException, url: str) -> str:
    text = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
    if text.startswith("Could not parse SQLAlchemy URL"):
        return _URL_FORMS
    if "invalid literal for int()" in text:
        return "the port is not a number"
    if text.startswith("Can't load plugin: sqlalchemy.dialects:"):
        return f"unknown kind of database {text.rpartition(':')[2]!r} (use sqlite:/// or postgresql://)"
    return redact(text, url_secrets(url))


def _is_memory_sqlite(url: str) -> bool:
    u = parse_url(url)
    return u.get_backend_name() == "sqlite" and u.database in (None, "", ":memory:")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`. SQLite gets foreign keys, WAL, a busy timeout and real transactions.
    A malformed URL raises DatabaseURLError, whose message never holds the password."""
    url = normalise_url(url)
    backend = parse_url(url).get_backend_name()
    if backend != "sqlite":
        kwargs.setdefault("pool_pre_ping", True)
        try:
            return create_engine(url, **kwargs)
        except (ArgumentError, ValueError) as exc:  # an unknown dialect or driver, a bad option
            raise _url_error(url, exc) from None
    memory = _is_memory_sqlite(url)
    if not memory:
        _create_sqlite_file(url)
    connect_args: dict[str, Any] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    if memory:
        connect_args["check_same_thread"] = False
        kwargs.setdefault("poolclass", StaticPool)
    connect_args.update(kwargs.pop("connect_args", {}))
    try:
        engine = create_engine(url, connect_args=connect_args, **kwargs)
    except (ArgumentError, ValueError) as exc:
        raise _url_error(url, exc) from None

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the sqlite3 module (it skips it before SELECT and DDL) and emit it below.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys = ON")
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            # A 64 MiB page cache keeps the indexes of a large import in memory.
            cursor.execute("PRAGMA cache_size = -65536")
            if not memory:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A writer takes the write lock up front so that read-then-write cannot fail half-way with BUSY.
        immediate = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction that will write: committed at the end, rolled back on any exception.

    On SQLite it starts with BEGIN IMMEDIATE so that concurrent writers queue instead of failing.
    """
    with engine.connect() as conn:
        conn.execution_options(**{_WRITE_OPTION: True})
        with conn.begin():
            yield conn


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic configuration located through the package path, so it works after `pip install -e .`."""
    cfg = Config(str(MIGRATIONS_DIR / "alembic.ini"))
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def sqlite_path(url: str | URL) -> Path | None:
    """The file of an SQLite database URL; None for another database, an in-memory one, or a URI filename
    (`?uri=true`, `?mode=...`), which SQLite opens its own way."""
    u = parse_url(url) if isinstance(url, str) else url
    if u.get_backend_name() != "sqlite" or u.database in (None, "", ":memory:"):
        return None
    if {"uri", "mode"} & set(u.query) or (u.database or "").startswith("file:"):
        return None
    return Path(u.database or "")


def _create_sqlite_file(url: str) -> None:
    """Create a new SQLite database file as 0600 before SQLite does (it would follow the umask); its
    -wal, -shm and -journal files take the database file's mode."""
    path = sqlite_path(url)
    if path is not None and not path.exists() and path.parent.is_dir():
        with contextlib.suppress(OSError):  # SQLite reports a file it cannot create in its own words
            create_private(path)


def init_db(url: str | Engine) -> Engine:
    """Create or migrate the database to the newest schema (idempotent). Returns the engine used.

    An SQLite database file (and its side files) made readable by others, for instance by an older
    version, is narrowed to 0600 here."""
    engine = url if isinstance(url, Engine) else make_engine(url)
    with write_transaction(engine) as conn:
        command.upgrade(alembic_config(conn), "head")
    path = sqlite_path(engine.url)
    if path is not None:
        make_sqlite_private(path)
    return engine


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at (None before `init_db`)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def is_sqlite(url: str) -> bool:
    """Whether `url` names an SQLite database (the embedded default)."""
    return parse_url(url).get_backend_name() == "sqlite"


def pin_sqlite_path(url: str) -> str:
    """The same URL with a relative SQLite file made absolute (other URLs unchanged, password kept)."""
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        return parsed.set(database=str(Path(parsed.database).resolve())).render_as_string(hide_password=False)
    return url


def missing_table(exc: BaseException) -> bool:
    """Whether `exc` is the database saying a table does not exist (a schema from an older version)."""
    if not isinstance(exc, OperationalError | ProgrammingError):
        return False
    text = str(exc.orig if exc.orig is not None else exc).lower()
    return "no such table" in text or ("relation" in text and "does not exist" in text)
