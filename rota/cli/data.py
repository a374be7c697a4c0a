"""`rota init`, `rota demo`, `rota import` and `rota export`: the database and what goes in and out of it."""

from __future__ import annotations

import argparse
from pathlib import Path

from rota.cli.common import UsageError, actor_name, env_settings, open_engine, safe_url, service_tz
from rota.errors import InputError
from rota.timeutil import TimeParseError, parse_bound, utc_now

# The storage layer and the services are imported inside the commands only to keep `rota --help` fast.


def cmd_init(args: argparse.Namespace) -> int:
    from rota.storage.db import database_url, init_db

    url = database_url(args.db)
    open_engine(args, must_exist=False)
    init_db(url)
    print(f"Database ready: {safe_url(url)}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from rota.services.auth import role_label
    from rota.services.demo import DEMO_PASSWORD, check_demo_day, check_demo_password, load_demo
    from rota.services.imports import cases_text
    from rota.storage.db import database_url, init_db

    tz = service_tz(args)
    try:
        today = (
            parse_bound(args.today, tz).astimezone(tz).date()
            if args.today
            else utc_now().astimezone(tz).date()
        )
    except TimeParseError as exc:
        raise UsageError(f"--today: {exc}") from exc
    try:
        check_demo_day(today)
    except ValueError as exc:
        raise UsageError(f"--today {today:%Y-%m-%d}: {exc}") from exc
    url = database_url(args.db)
    given = env_settings().demo_password
    password = given.get_secret_value() if given is not None else DEMO_PASSWORD
    try:
        check_demo_password(password)
    except InputError as exc:
        raise UsageError(f"ROTA_DEMO_PASSWORD: {exc.problems[0].reason}") from exc
    open_engine(args, must_exist=False)
    engine = init_db(url)
    demo = load_demo(engine, today, seed=args.seed, tz=tz, password=password)
    print(f"Demo rota loaded into {safe_url(url)} around {today:%d/%m/%Y}: {demo.rota_summary}")
    for key, value in demo.rota_facts.items():
        print(f"  {key}: {value}")
    print(
        f"Demo cases: {demo.cases.height} pseudonymised cases over five years "
        f"({cases_text(demo.case_counts)}); "
        f"setting child_population = {demo.child_population}"
    )
    for key, value in demo.case_facts.items():
        print(f"  {key}: {value}")
    source = "from ROTA_DEMO_PASSWORD" if given is not None else f"{password!r}"
    print(f"Demo sign-in accounts (password {source}):")
    for a in demo.accounts:
        print(f"  {a.username}: {role_label(a)}")
    print(
        "Next: `rota gaps` lists the gaps of the coming 28 days; `rota coverage` gives the hourly grid; "
        "`rota completion --split coverage` the completion measures."
    )
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from rota.services.access import ADMIN, Actor
    from rota.services.imports import import_file

    tz = service_tz(args)
    path: Path = args.path
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if args.kind and (path.is_dir() or path.suffix.lower() == ".xlsx"):
        raise UsageError("--kind is for a single CSV; a folder or workbook says what each part holds")
    engine = open_engine(args)
    # Whoever runs the command owns the database: an administrator, named in the audit log by --actor.
    actor = Actor(actor_name(args), ADMIN)
    result = import_file(engine, actor, path, tz, kind=args.kind, replace=args.replace, via="cli")
    print(f"Imported {path}: {result}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from rota.bundle import write_bundle, write_workbook
    from rota.storage.rota import load_rota

    tz = service_tz(args)
    rota = load_rota(open_engine(args))
    target: Path = args.dir
    if target.suffix.lower() == ".xlsx":
        write_workbook(rota, target, tz)
    else:
        write_bundle(rota, target, tz)
    print(
        f"Exported {rota.responders.height} responders, {rota.shifts.height} shifts, "
        f"{rota.absences.height} absences and {rota.training.height} training records to {target}"
    )
    return 0
