"""`rota up`, `rota scheduler`, `rota jobs`, `rota alerts`, `rota backup` and `rota restore`: running the
product and looking after its database."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rota.cli.common import UsageError, env_settings, open_engine, output_format, run_by, safe_url, service_tz
from rota.output import render
from rota.redact import redact

if TYPE_CHECKING:
    from rota.config import Settings

# The storage layer, the jobs and the services are imported inside the commands only to keep `rota --help`
# fast.


def cmd_up(args: argparse.Namespace) -> int:
    from rota.storage.db import database_url, init_db

    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port} is not a port number")
    url = database_url(args.db)
    open_engine(args, must_exist=False)
    init_db(url)
    from rota.storage.db import pin_sqlite_path

    url = pin_sqlite_path(url)  # the server runs from the project folder: pin a relative SQLite path
    env = dict(os.environ, ROTA_DATABASE_URL=url)
    if getattr(args, "tz", None):
        env["ROTA_TZ"] = args.tz
    server = Path(__file__).resolve().parents[2] / "dashboard" / "server.py"
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(server),
        "--server.port",
        str(args.port),
        "--server.address",
        args.address,
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    print(
        f"Dashboard on http://{args.address}:{args.port} (database {safe_url(url)}); Ctrl+C stops it.",
        flush=True,
    )
    # Streamlit reads .streamlit/config.toml (theme, no error details for users) from the working folder.
    os.chdir(server.parent.parent)
    os.execvpe(command[0], command, env)  # the dashboard replaces this process


def _job_settings(args: argparse.Namespace) -> Settings:
    """The settings of the environment, with the zone of --tz when given."""
    found = env_settings()
    return found.model_copy(update={"tz": service_tz(args)}) if getattr(args, "tz", None) else found


def cmd_scheduler(args: argparse.Namespace) -> int:
    import logging

    from rota.scheduler import serve
    from rota.storage.db import init_db

    job_settings = _job_settings(args)
    engine = init_db(open_engine(args, must_exist=False))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if engine.dialect.name == "sqlite":
        print(
            "Note: with SQLite, `rota up` runs these jobs itself; run `rota scheduler` as well only with "
            "ROTA_EMBEDDED_SCHEDULER=0 set for `rota up`.",
            file=sys.stderr,
        )
    print(
        f"Scheduler on {safe_url(engine.url.render_as_string(hide_password=False))}; alerts: "
        f"{job_settings.channels_text()}. Ctrl+C or SIGTERM stops it.",
        flush=True,
    )
    return serve(engine, job_settings)


def cmd_jobs(args: argparse.Namespace) -> int:
    import logging

    from rota.jobs import overview, run_job
    from rota.storage.db import init_db

    if not env_settings().debug:
        logging.getLogger("rota").addHandler(logging.NullHandler())  # the outcome is printed below
    job_settings = _job_settings(args)
    engine = init_db(open_engine(args))
    tz = service_tz(args)
    if args.jobs_command == "list":
        table = overview(engine, job_settings)
        fmt = output_format(args)
        if fmt == "table":
            print(
                render(
                    table.select("job", "schedule", "next_run", "last_run", "last_status", "last_message"),
                    "table",
                    tz,
                    ["job", "schedule", "next run", "last run", "status", "last result"],
                )
            )
            if table["next_run"].null_count() == table.height:
                print(
                    "\nNo next runs: no scheduler has started on this database yet (`rota up` with SQLite, "
                    "or `rota scheduler`)."
                )
        else:
            print(render(table, fmt, tz))
        return 0
    outcome = run_job(args.name, engine, job_settings)
    print(f"{outcome.job}: {outcome.status}: {redact(outcome.message)}")
    return 0 if outcome.ok else 1


def cmd_alerts(args: argparse.Namespace) -> int:
    import json

    import polars as pl

    from rota.jobs import alert_json
    from rota.services.access import ADMIN, Actor
    from rota.services.alerts import acknowledge, list_alerts
    from rota.storage.db import init_db

    engine = init_db(open_engine(args))
    tz = service_tz(args)
    actor = Actor(run_by(), ADMIN)  # whoever runs it owns the database
    if args.ack is not None:
        done = acknowledge(engine, actor, args.ack)
        print(f"Alert {args.ack} acknowledged." if done else f"Alert {args.ack} was already acknowledged.")
        return 0
    found = list_alerts(engine, actor, include_resolved=args.all)
    fmt = getattr(args, "format", None) or "json"
    if fmt == "json":
        rows = [alert_json(a, tz) for a in found.iter_rows(named=True)]
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    elif fmt == "csv":
        print(render(found, "csv", tz), end="")
    else:
        if found.height == 0:
            print("No open alerts." if not args.all else "No alerts.")
            return 0
        shown = found.select(
            "id", "kind", pl.col("message"), "created_at", pl.col("resolution").fill_null("open")
        )
        print(render(shown, "table", tz, ["id", "kind", "alert", "raised", "state"]))
    return 0


def cmd_backup(args: argparse.Namespace) -> int:
    from rota.storage.backup import BackupError, backup
    from rota.storage.db import database_url

    try:
        info = backup(database_url(args.db), args.path)
    except BackupError as exc:
        raise UsageError(str(exc)) from exc
    print(f"Backed up to {info.path} ({info.size:,} bytes, schema revision {info.revision}).")
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from rota.storage.backup import BackupError, restore
    from rota.storage.db import current_revision, database_url, init_db

    url = database_url(args.db)
    try:
        info = restore(url, args.path)
    except BackupError as exc:
        raise UsageError(str(exc)) from exc
    engine = init_db(url)  # a backup from an older version is brought up to date
    now_at = current_revision(engine)
    engine.dispose()
    migrated = f", migrated to {now_at}" if now_at != info.revision else ""
    kept = f" The database as it was is kept in {info.previous}." if info.previous else ""
    print(f"Restored {info.database} from {info.source} (schema revision {info.revision}{migrated}).{kept}")
    return 0
