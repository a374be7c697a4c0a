"""The `rota` command: set up the database, import and export rotas, and report gaps and hourly cover.

Bad input exits 2 with a message naming what and where; `--fail-on-gap` exits 3 when a gap exists.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

from rota.errors import InputError, PermissionDenied
from rota.files import write_private
from rota.output import FORMATS, duration_text, render
from rota.redact import install_log_redaction, mask_url, redact, url_secrets
from rota.rules import RuleError
from rota.services.access import ROLES
from rota.timeutil import DEFAULT_TZ_NAME, TimeParseError, day_start, parse_bound, uk_local, utc_now, zone

if TYPE_CHECKING:
    from sqlalchemy import Engine

EXIT_INPUT = 2
EXIT_GAP = 3
KINDS = ("responders", "training", "shifts", "absences", "cases")


class UsageError(Exception):
    """Wrong use of the command itself (exit 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_INPUT, f"rota: error: {message}\n")


def _common(parser: argparse.ArgumentParser, *, top: bool) -> None:
    default = None if top else argparse.SUPPRESS
    parser.add_argument(
        "--db",
        metavar="URL",
        default=default,
        help="database URL (default: env ROTA_DATABASE_URL, else data/rota.db)",
    )
    parser.add_argument(
        "--tz",
        metavar="ZONE",
        default=default,
        help=f"service time zone (default: env ROTA_TZ, else {DEFAULT_TZ_NAME})",
    )
    parser.add_argument(
        "--format", choices=FORMATS, default=default, help="output: table for people (default), csv or json"
    )


def _range_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--start",
        metavar="S",
        help="range start (local time unless an offset is given; "
        "a bare date is local midnight). Default: today 00:00",
    )
    parser.add_argument("--end", metavar="E", help="range end, exclusive. Default: 28 days after the start")
    parser.add_argument(
        "--bundle",
        metavar="DIR",
        type=Path,
        help="check a bundle folder or workbook without touching the database",
    )


class _RefusePassword(argparse.Action):
    """`--password` exists only to say why there is none."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object, **__: object) -> None:
        parser.error(
            "a password is never given as an argument (it would stay in the shell history and show in the "
            "process list): set ROTA_PASSWORD, or leave it unset to be asked for one"
        )


def _users_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    help_text = "manage sign-in accounts; a password comes from ROTA_PASSWORD or a prompt, never an argument"
    p = sub.add_parser("users", help=help_text, description=help_text)
    _common(p, top=False)
    actions = p.add_subparsers(dest="users_command", metavar="ACTION", parser_class=_Parser)
    actions.required = True

    def action(name: str, text: str, *, named: bool = True) -> argparse.ArgumentParser:
        a: argparse.ArgumentParser = actions.add_parser(name, help=text, description=text)
        _common(a, top=False)
        if named:
            a.add_argument("name", metavar="NAME", help="username (stored in lower case)")
        a.add_argument("--password", nargs="?", action=_RefusePassword, help=argparse.SUPPRESS)
        return a

    a = action("add", "add a password account")
    a.add_argument("--role", required=True, choices=ROLES, help="access role (SPEC section 9)")
    a.add_argument("--agency", metavar="A", help="the agency (required for a coordinator)")
    a.add_argument("--display-name", metavar="D", help="name shown in the dashboard")
    action("list", "list the accounts (never the password hashes)", named=False)
    action("passwd", "set a new password (also lifts a slow-down after wrong passwords)")
    action("disable", "switch an account off")
    action("enable", "switch an account back on")
    action("unlock", "lift the slow-down after wrong passwords now")


def _ops_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`rota scheduler`, `rota jobs`, `rota alerts`, `rota backup` and `rota restore`."""
    from rota.jobs import JOB_NAMES

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text)
        _common(p, top=False)
        return p

    add(
        "scheduler",
        "run the scheduled jobs until stopped (Ctrl+C or SIGTERM): gap scan, training expiry, forecast "
        "refresh, import watch; the job store lives in the database",
    )
    p = add("jobs", "list the scheduled jobs with their next and last runs, or run one now")
    actions = p.add_subparsers(dest="jobs_command", metavar="ACTION", parser_class=_Parser)
    actions.required = True
    a = actions.add_parser("list", help="each job: schedule, next run, last run and how it went")
    _common(a, top=False)
    a = actions.add_parser("run", help="run one job now (recorded like a scheduled run)")
    _common(a, top=False)
    a.add_argument("name", metavar="NAME", choices=JOB_NAMES, help=" | ".join(JOB_NAMES))
    p = add("alerts", "open alerts (JSON: kind, rule_id, start, end, created_at, ...)")
    p.add_argument("--all", action="store_true", help="resolved alerts too")
    p.add_argument("--ack", type=int, metavar="ID", help="acknowledge alert ID (audited)")
    p = add("backup", "a consistent copy of the SQLite database, taken while it is in use")
    p.add_argument("path", metavar="PATH", type=Path, help="a new file, or a folder for rota-<time>.db")
    p = add("restore", "replace the SQLite database with a backup (the current one is kept beside it)")
    p.add_argument("path", metavar="PATH", type=Path, help="a file made by `rota backup`")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rota", description=__doc__.splitlines()[0] if __doc__ else None)
    _common(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        _common(p, top=False)
        return p

    add("init", "create or migrate the database (idempotent)")
    p = add(
        "demo",
        "load the realistic regional demo: rota, training, leave and about five years of cases "
        "(replaces the rota and the cases already stored)",
    )
    p.add_argument("--today", metavar="DATE", help="build the demo around this date (default: today)")
    p.add_argument("--seed", type=int, default=7)
    p = add("import", "import a bundle folder, a workbook, or one CSV, all or nothing")
    p.add_argument("path", type=Path)
    p.add_argument("--kind", choices=KINDS, help="what a single CSV holds (default: from its file name)")
    p.add_argument(
        "--replace",
        action="store_true",
        help="first remove stored shifts and absences of the file's responders over its time span; "
        "for cases, the stored cases that are not in the file",
    )
    p.add_argument("--actor", default=os.environ.get("USER", "cli"), help="name written to the audit log")
    p = add("export", "write the stored rota as a bundle folder (or a workbook if DIR ends in .xlsx)")
    p.add_argument("dir", type=Path)
    p = add("gaps", "list the gaps in cover")
    _range_args(p)
    p.add_argument("--fail-on-gap", action="store_true", help="exit 3 when any gap is found")
    p = add("coverage", "hourly grid: one row per real local hour and rule")
    _range_args(p)
    p = add("completion", "CDOP completion measures: period, split, measure, numerator, denominator, rate")
    p.add_argument(
        "--cases",
        metavar="FILE",
        type=Path,
        help="cases.csv (SPEC section 6) to use instead of the stored cases (default: the stored cases)",
    )
    p.add_argument(
        "--by", choices=("month", "quarter", "year"), default="month", help="period (default month)"
    )
    p.add_argument(
        "--split",
        choices=("none", "hours", "age_band", "coverage"),
        default="none",
        help="split (default none)",
    )
    p.add_argument(
        "--bundle",
        metavar="DIR",
        type=Path,
        help="rota bundle for --split coverage (default: the stored rota)",
    )
    p = add("forecast", "demand forecast and risk per rule: cases expected to meet no trained responder")
    _range_args(p)
    p.add_argument(
        "--cases", metavar="FILE", type=Path, help="cases.csv for the history (default: the stored cases)"
    )
    p.add_argument(
        "--population",
        type=int,
        metavar="N",
        help="children aged 0-17 in the area, for the national-rate prior "
        "(default: the child_population setting, else env ROTA_CHILD_POPULATION)",
    )
    p.add_argument(
        "--commitment-hours",
        type=float,
        default=None,
        metavar="H",
        help="mean hours a responder is committed to one case, for Erlang-B (default 4)",
    )
    p.add_argument(
        "--history-start", metavar="S", help="start of the history (default: the month of the first case)"
    )
    p.add_argument(
        "--history-end", metavar="E", help="end of the history (default: the earlier of --start and now)"
    )
    p.add_argument(
        "--add",
        action="append",
        default=[],
        metavar="ROLE:N[@WINDOW]",
        help="scenario: N more trained responders of ROLE, optionally only in WINDOW "
        "(like 'sio:2@Mon-Sun 19:00-07:00'); repeatable",
    )
    p.add_argument(
        "--lapse",
        action="append",
        default=[],
        metavar="ID:COMPETENCY:DATE",
        help="scenario: a responder's training lapses on DATE; repeatable",
    )
    p.add_argument(
        "--remove", action="append", default=[], metavar="ID", help="scenario: a responder stops; repeatable"
    )
    p.add_argument("--backtest", action="store_true", help="rolling-origin backtest of the demand model")
    p.add_argument("--horizon-days", type=int, default=91, metavar="D", help="backtest horizon (default 91)")
    p.add_argument("--step-days", type=int, default=28, metavar="D", help="days between origins (default 28)")
    p.add_argument(
        "--min-train-days",
        type=int,
        default=365,
        metavar="D",
        help="history before the first origin (default 365)",
    )
    _users_parser(sub)
    p = add("ics", "iCalendar feed of one responder's shifts (stable UIDs)")
    p.add_argument("--responder", required=True, metavar="ID", help="the responder's responder_id")
    p.add_argument("--start", metavar="S", help="shifts ending after S (default: 30 days ago)")
    p.add_argument("--end", metavar="E", help="shifts starting before E (default: no limit)")
    p.add_argument("--output", "-o", metavar="FILE", type=Path, help="write to FILE instead of stdout")
    p = add("spc", "Making Data Count XmR analysis of one numeric column of a CSV (JSON by default)")
    p.add_argument("file", metavar="FILE", type=Path, help="CSV file with a header line")
    p.add_argument("--column", required=True, metavar="C", help="the column holding the series, oldest first")
    p.add_argument("--improvement", choices=("up", "down", "neutral"), default="neutral")
    p.add_argument("--target", type=float, metavar="T", help="target for the assurance icon")
    p.add_argument("--baseline", type=int, metavar="N", help="limits from the first N points (default: all)")
    _ops_parsers(sub)
    p = add("settings", "show or change the product settings (child population, targets, suppression)")
    p.add_argument("action", nargs="?", choices=("list", "set", "unset"), default="list")
    p.add_argument("key", nargs="?", help=f"one of: {', '.join(SETTING_HELP)}, completion_target.<measure>")
    p.add_argument("value", nargs="?")
    p.add_argument("--actor", default=os.environ.get("USER", "cli"), help="name written to the audit log")
    p = add("up", "start the dashboard (and, with the embedded database, the scheduler)")
    p.add_argument("--port", type=int, default=8501, help="port on localhost (default 8501)")
    p.add_argument("--address", default="localhost", help="address to listen on (default localhost)")
    return parser


# ------------------------------------------------------------------------------------------- helpers


def _tz(args: argparse.Namespace) -> tzinfo:
    return zone(getattr(args, "tz", None) or os.environ.get("ROTA_TZ") or DEFAULT_TZ_NAME)


def _fmt(args: argparse.Namespace) -> str:
    return getattr(args, "format", None) or "table"


def _range(args: argparse.Namespace, tz: tzinfo) -> tuple[datetime, datetime]:
    try:
        start = parse_bound(args.start, tz) if args.start else day_start(utc_now().astimezone(tz).date(), tz)
    except TimeParseError as exc:
        raise UsageError(f"--start: {exc}") from exc
    try:
        end = (
            parse_bound(args.end, tz)
            if args.end
            else day_start(start.astimezone(tz).date() + timedelta(days=28), tz)
        )
    except TimeParseError as exc:
        raise UsageError(f"--end: {exc}") from exc
    if end <= start:
        raise UsageError(f"--end ({uk_local(end, tz)}) must be after --start ({uk_local(start, tz)})")
    return start, end


def _engine(args: argparse.Namespace, *, must_exist: bool = True):  # type: ignore[no-untyped-def]
    from sqlalchemy.exc import SQLAlchemyError

    from rota.storage.db import DatabaseURLError, current_revision, database_url, make_engine

    url = database_url(getattr(args, "db", None))
    try:
        engine = make_engine(url)
        if must_exist:
            if current_revision(engine) is None:
                raise UsageError(
                    f"the database {_safe_url(url)} is not set up yet: run `rota init` (or `rota demo`)"
                )
        else:
            with engine.connect():  # reach it now: a clear message rather than a failure half-way
                pass
    except DatabaseURLError as exc:  # a malformed URL; the message masks the password
        raise UsageError(str(exc)) from None
    except SQLAlchemyError as exc:
        raise UsageError(f"cannot open the database {_safe_url(url)}: {_database_reason(exc, url)}") from None
    return engine


def _database_reason(exc: BaseException, url: str) -> str:
    """The first line of a database error, with the driver's own error class, and never a password."""
    orig = getattr(exc, "orig", None)
    source = orig if orig is not None else exc
    lines = str(source).strip().splitlines()
    text = f"{source.__class__.__name__}: {lines[0] if lines else ''}".rstrip(": ")
    if "unable to open database file" in text:
        text += " (does its folder exist, and may rota write there?)"
    return redact(text, url_secrets(url))


def _safe_url(url: str) -> str:
    return mask_url(url)


def _load(args: argparse.Namespace, tz: tzinfo, start: datetime, end: datetime):  # type: ignore[no-untyped-def]
    if args.bundle is not None:
        from rota.bundle import read_bundle

        return read_bundle(args.bundle, tz)
    from rota.storage.rota import load_rota

    return load_rota(_engine(args), start, end)


# ------------------------------------------------------------------------------------------- commands


def cmd_init(args: argparse.Namespace) -> int:
    from rota.storage.db import database_url, init_db

    url = database_url(args.db)
    _engine(args, must_exist=False)
    init_db(url)
    print(f"Database ready: {_safe_url(url)}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from rota.demo import build_demo, demo_summary
    from rota.demo_cases import CHILD_POPULATION, build_demo_cases, demo_cases_summary
    from rota.services.imports import cases_text
    from rota.storage.db import database_url, init_db
    from rota.storage.imports import import_cases, import_rota
    from rota.storage.rota import reset_rota
    from rota.storage.settings import write_setting

    tz = _tz(args)
    try:
        today = (
            parse_bound(args.today, tz).astimezone(tz).date()
            if args.today
            else utc_now().astimezone(tz).date()
        )
    except TimeParseError as exc:
        raise UsageError(f"--today: {exc}") from exc
    if not 1910 <= today.year <= 2090:
        # The demo reaches about six years back (cases) and three ahead (training): keep it in the
        # accepted dates (docs/bundle.md, "Limits").
        raise UsageError(f"--today {today:%Y-%m-%d}: give a day from 1910 to 2090 for the demo")
    url = database_url(args.db)
    password = _demo_password()
    _engine(args, must_exist=False)
    engine = init_db(url)
    rota = build_demo(today, seed=args.seed, tz=tz)
    cases = build_demo_cases(today, rota, seed=args.seed, tz=tz)
    reset_rota(engine, actor="demo")
    summary = import_rota(engine, rota, actor="demo", source="demo")
    case_counts = import_cases(engine, cases, actor="demo", source="demo", replace=True)
    write_setting(engine, "child_population", str(CHILD_POPULATION), actor="demo")
    facts = demo_summary(rota, today, tz)
    print(f"Demo rota loaded into {_safe_url(url)} around {today:%d/%m/%Y}: {summary}")
    for key, value in facts.items():
        print(f"  {key}: {value}")
    print(
        f"Demo cases: {cases.height} pseudonymised cases over five years ({cases_text(case_counts)}); "
        f"setting child_population = {CHILD_POPULATION}"
    )
    for key, value in demo_cases_summary(cases, tz).items():
        print(f"  {key}: {value}")
    _demo_accounts(engine, password)
    print(
        "Next: `rota gaps` lists the gaps of the coming 28 days; `rota coverage` gives the hourly grid; "
        "`rota completion --split coverage` the completion measures."
    )
    return 0


# Documented in the README ("Demo accounts"); env ROTA_DEMO_PASSWORD overrides it.
DEMO_PASSWORD = "demo-password-2026"


def _demo_password() -> str:
    from rota.services.auth import check_password

    password = os.environ.get("ROTA_DEMO_PASSWORD") or DEMO_PASSWORD
    try:
        check_password(password)
    except InputError as exc:
        raise UsageError(f"ROTA_DEMO_PASSWORD: {exc.problems[0].reason}") from exc
    return password


def _demo_accounts(engine: Engine, password: str) -> None:
    """One sign-in account per role, created or put back to the demo password (and switched on)."""
    from rota.demo import AGENCIES
    from rota.services.access import ADMIN, CDOP_MANAGER, COMMISSIONER, COORDINATOR, Actor
    from rota.services.auth import ensure_user, role_label

    accounts = [
        Actor("admin", ADMIN, None, "Demo administrator"),
        Actor("manager", CDOP_MANAGER, None, "Demo CDOP manager"),
        Actor("police-coordinator", COORDINATOR, AGENCIES["sio"], "Demo police coordinator"),
        Actor("commissioner", COMMISSIONER, None, "Demo commissioner"),
        Actor("police-commissioner", COMMISSIONER, AGENCIES["sio"], "Demo police commissioner"),
    ]
    for a in accounts:
        ensure_user(engine, a.username, a.role, password, a.agency, a.display_name, by="demo")
    source = "from ROTA_DEMO_PASSWORD" if os.environ.get("ROTA_DEMO_PASSWORD") else f"{password!r}"
    print(f"Demo sign-in accounts (password {source}):")
    for a in accounts:
        print(f"  {a.username}: {role_label(a)}")


def cmd_import(args: argparse.Namespace) -> int:
    from rota.services.access import ADMIN, Actor
    from rota.services.imports import import_file

    tz = _tz(args)
    path: Path = args.path
    if not path.exists():
        raise InputError(f"{path}: no such file or folder")
    if args.kind and (path.is_dir() or path.suffix.lower() == ".xlsx"):
        raise UsageError("--kind is for a single CSV; a folder or workbook says what each part holds")
    engine = _engine(args)
    # Whoever runs the command owns the database: an administrator, named in the audit log by --actor.
    actor = Actor(args.actor, ADMIN)
    result = import_file(engine, actor, path, tz, kind=args.kind, replace=args.replace, via="cli")
    print(f"Imported {path}: {result}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from rota.bundle import write_bundle, write_workbook
    from rota.storage.rota import load_rota

    tz = _tz(args)
    rota = load_rota(_engine(args))
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


def cmd_gaps(args: argparse.Namespace) -> int:
    from rota.engine import gaps

    tz = _tz(args)
    start, end = _range(args, tz)
    rota = _load(args, tz, start, end)
    found = gaps(rota, start, end, tz)
    fmt = _fmt(args)
    if fmt == "table":
        if found.height == 0:
            print(f"No gaps from {uk_local(start, tz)} to {uk_local(end, tz)}.")
        else:
            import polars as pl

            shown = found.with_columns(
                pl.col("minutes").map_elements(duration_text, return_dtype=pl.String).alias("length")
            ).select("rule_id", "age_band", "start", "end", "length", "required", "available")
            print(render(shown, "table", tz, ["rule", "ages", "from", "to", "length", "needed", "on"]))
            hours = found["minutes"].sum() / 60
            print(
                f"\n{found.height} gaps, {hours:.1f} hours in all, from {uk_local(start, tz)} to "
                f"{uk_local(end, tz)}."
            )
    else:
        print(render(found, fmt, tz))
    return EXIT_GAP if args.fail_on_gap and found.height else 0


def cmd_coverage(args: argparse.Namespace) -> int:
    from rota.engine import coverage

    tz = _tz(args)
    start, end = _range(args, tz)
    rota = _load(args, tz, start, end)
    grid = coverage(rota, start, end, tz)
    fmt = _fmt(args)
    if fmt == "table":
        print(
            render(
                grid.select("hour_start", "rule_id", "required", "available", "gap_minutes"),
                "table",
                tz,
                ["hour", "rule", "needed", "on (min)", "gap min"],
            )
        )
    else:
        print(render(grid, fmt, tz))
    return 0


def cmd_completion(args: argparse.Namespace) -> int:
    from rota.analytics.completion import completion, period_bounds

    tz = _tz(args)
    engine = None
    if args.cases is not None:
        from rota.analytics.cases import read_cases

        cases = read_cases(args.cases, tz)
    else:
        from rota.storage.cases import load_cases

        engine = _engine(args)
        cases = load_cases(engine)
        if cases.height == 0:
            print(
                "rota: no cases are stored yet: `rota import cases.csv` stores them (or give --cases FILE)",
                file=sys.stderr,
            )
    rota = None
    if args.split == "coverage":
        if args.bundle is not None:
            from rota.bundle import read_bundle

            rota = read_bundle(args.bundle, tz)
        else:
            from rota.storage.rota import load_rota

            bounds = period_bounds(cases)
            engine = engine or _engine(args)
            rota = load_rota(engine, *bounds) if bounds else load_rota(engine)
    result = completion(cases, by=args.by, split=args.split, rota=rota, tz=tz)
    print(render(result, _fmt(args), tz))
    return 0


def _scenarios(args: argparse.Namespace) -> list[object]:
    from rota.analytics.scenarios import AddResponders, LapseTraining, RemoveResponder
    from rota.timeutil import parse_date

    out: list[object] = []
    for text in args.add:
        head, _, window = text.partition("@")
        role, _, count = head.partition(":")
        if not role.strip() or not count.strip().isdigit():
            raise UsageError(
                f"--add {text!r}: write ROLE:N or ROLE:N@WINDOW, like 'sio:2@Mon-Sun 19:00-07:00'"
            )
        out.append(AddResponders(role.strip(), int(count), window.strip() or None))
    for text in args.lapse:
        parts = text.split(":")
        if len(parts) != 3 or not all(p.strip() for p in parts):
            raise UsageError(
                f"--lapse {text!r}: write RESPONDER_ID:COMPETENCY:DATE, like 'P004:jar:2027-01-31'"
            )
        try:
            on = parse_date(parts[2].strip())
        except TimeParseError as exc:
            raise UsageError(f"--lapse {text!r}: {exc}") from exc
        out.append(LapseTraining(parts[0].strip(), parts[1].strip(), on))
    out.extend(RemoveResponder(r.strip()) for r in args.remove)
    return out


def _population(args: argparse.Namespace, engine: Engine | None) -> int | None:
    if args.population is not None:
        if args.population < 1:
            raise UsageError(f"--population {args.population}: give the number of children aged 0-17")
        return int(args.population)
    if engine is not None:
        from rota.storage.settings import read_settings

        stored = read_settings(engine).get("child_population")
        if stored and stored.strip().isdigit():
            return int(stored)
    env = os.environ.get("ROTA_CHILD_POPULATION", "").strip()
    if env:
        if not env.isdigit():
            raise UsageError(f"ROTA_CHILD_POPULATION={env!r} is not a whole number")
        return int(env)
    return None


def cmd_forecast(args: argparse.Namespace) -> int:
    import json

    from rota.analytics.demand import Prior, history_bounds
    from rota.analytics.forecast import DEFAULT_COMMITMENT_HOURS, backtest, forecast, with_scenarios

    tz = _tz(args)
    try:
        start = parse_bound(args.start, tz) if args.start else day_start(utc_now().astimezone(tz).date(), tz)
        end = (
            parse_bound(args.end, tz)
            if args.end
            else day_start(start.astimezone(tz).date() + timedelta(days=91), tz)
        )
        h_start = parse_bound(args.history_start, tz) if args.history_start else None
        h_end = parse_bound(args.history_end, tz) if args.history_end else None
    except TimeParseError as exc:
        raise UsageError(f"forecast range: {exc}") from exc
    if end <= start and not args.backtest:
        raise UsageError(f"--end ({uk_local(end, tz)}) must be after --start ({uk_local(start, tz)})")
    commitment = DEFAULT_COMMITMENT_HOURS if args.commitment_hours is None else args.commitment_hours
    if not commitment > 0:
        raise UsageError(f"--commitment-hours {args.commitment_hours}: give a positive number of hours")
    engine = None
    if args.cases is None or args.bundle is None:
        engine = _engine(args)
    if args.cases is not None:
        from rota.analytics.cases import read_cases

        cases = read_cases(args.cases, tz)
    else:
        from rota.storage.cases import load_cases

        assert engine is not None  # opened above whenever --cases is not given
        cases = load_cases(engine)
    prior = Prior(child_population=_population(args, engine))
    fmt = getattr(args, "format", None) or "json"
    if args.backtest:
        from rota.rules import parse_age_band

        if args.bundle is not None:
            from rota.bundle import read_bundle

            rules = read_bundle(args.bundle, tz).effective_rules()
        else:
            from rota.storage.rules import stored_rules

            rules = list(stored_rules(engine)[0])  # type: ignore[arg-type]
            if not rules:
                from rota.rules import default_rules

                rules = default_rules()
        until = h_end or (parse_bound(args.end, tz) if args.end else utc_now())
        first = h_start or (parse_bound(args.start, tz) if args.start else None)
        lo, hi = history_bounds(cases, until, tz, first)
        try:
            result = backtest(
                cases,
                [parse_age_band(r.age_band) for r in rules],
                lo,
                hi,
                prior,
                tz,
                horizon_days=args.horizon_days,
                step_days=args.step_days,
                min_train_days=args.min_train_days,
            )
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
        if result.origins.height == 0:
            raise UsageError(
                "the history is too short for a backtest: it needs --min-train-days plus --horizon-days "
                "of cases (shorten them, or give a longer history)"
            )
        out = result.as_json(tz)
        if fmt == "table":
            for key, value in out.items():
                if key != "forecasts":
                    print(f"{key}: {value}")
        else:
            print(json.dumps(out, indent=2))
        return 0
    rota = _load(args, tz, start, end)
    history_end = h_end or min(start, utc_now())
    result_f = forecast(rota, cases, start, end, tz, prior, commitment, h_start, history_end)
    payload = result_f.as_json()
    scenarios = _scenarios(args)
    if scenarios:
        payload["scenario"] = with_scenarios(rota, result_f, scenarios).as_json()  # type: ignore[arg-type]
    if fmt == "table":
        print(_forecast_table(payload))
    else:
        print(json.dumps(payload, indent=2))
    return 0


def _forecast_table(payload: dict[str, object]) -> str:
    lines = [
        f"Forecast {payload['start']} to {payload['end']}",
        f"Expected JAR-eligible cases: {payload['expected_cases']:.1f} "
        f"(80% interval {payload['interval_80']}, 95% interval {payload['interval_95']})",
        f"Expected cases meeting a gap in cover: {payload['expected_cases_meeting_a_gap']:.2f}",
        "",
        f"{'rule':<24} {'uncovered h':>12} {'exp. uncovered':>15} {'P(any)':>8} {'exp. lost':>10}",
    ]
    for r in payload["rules"]:  # type: ignore[attr-defined]
        lines.append(
            f"{r['rule_id']:<24} {r['uncovered_hours']:>12.1f} {r['expected_uncovered_cases']:>15.3f} "
            f"{r['p_any_uncovered']:>8.1%} {r['expected_lost_cases']:>10.3f}"
        )
    scenario = payload.get("scenario")
    if isinstance(scenario, dict):
        lines += ["", "Scenario: " + "; ".join(scenario["changes"])]
        for r in scenario["rules"]:
            lines.append(
                f"{r['rule_id']:<24} {r['expected_uncovered_cases']:>15.3f} "
                f"(change {r['expected_uncovered_cases_change']:+.3f})"
            )
    return "\n".join(lines)


def _new_password() -> str:
    """From env ROTA_PASSWORD, else asked twice in the terminal (never an argument)."""
    given = os.environ.get("ROTA_PASSWORD")
    if given:
        return given
    if not sys.stdin.isatty():
        raise UsageError("no password: set ROTA_PASSWORD, or run the command in a terminal to be asked")
    import getpass

    first = getpass.getpass("New password (at least 12 characters): ")
    if getpass.getpass("The same password again: ") != first:
        raise UsageError("the two passwords differ; nothing was changed")
    return first


def cmd_users(args: argparse.Namespace) -> int:
    from rota.services import auth
    from rota.storage.db import init_db

    engine = init_db(_engine(args))  # a database made before accounts existed gets their table (idempotent)
    by = f"cli:{os.environ.get('USER') or 'unknown'}"
    action = args.users_command
    if action == "list":
        users = auth.list_users(engine)
        fmt = _fmt(args)
        if fmt == "table":
            if users.height == 0:
                print("No accounts yet: `rota users add NAME --role ROLE` adds one (`rota demo` adds four).")
                return 0
            columns = {
                "username": "username",
                "display_name": "name",
                "role": "role",
                "agency": "agency",
                "active": "active",
                "sign_in": "sign-in",
                "last_login_at": "last sign-in",
                "locked_until": "paused until",
            }
            print(render(users.select(list(columns)), "table", _tz(args), list(columns.values())))
        else:
            print(render(users, fmt, _tz(args)))
        return 0
    name = auth.normalise_username(args.name)
    if action == "add":
        auth.check_role(args.role, args.agency)  # before asking for a password
        password = _new_password()
        actor = auth.create_user(
            engine, None, name, args.role, password, args.agency, args.display_name, by=by
        )
        print(f"Added {actor.username}: {auth.role_label(actor)}.")
    elif action == "passwd":
        auth.set_password(engine, None, name, _new_password(), by=by)
        print(f"New password set for {name}.")
    elif action in ("disable", "enable"):
        auth.set_active(engine, None, name, action == "enable", by=by)
        print(f"{name} is switched {'on' if action == 'enable' else 'off'}.")
    elif action == "unlock":
        auth.unlock(engine, None, name, by=by)
        print(f"{name} may sign in again now.")
    return 0


def cmd_ics(args: argparse.Namespace) -> int:
    from rota.services.calendar import responder_calendar

    tz = _tz(args)
    try:
        start = parse_bound(args.start, tz) if args.start else utc_now() - timedelta(days=30)
        end = parse_bound(args.end, tz) if args.end else None
    except TimeParseError as exc:
        raise UsageError(f"--start/--end: {exc}") from exc
    if end is not None and end <= start:
        raise UsageError(f"--end ({uk_local(end, tz)}) must be after --start ({uk_local(start, tz)})")
    data = responder_calendar(_engine(args), args.responder, start, end, tz)
    if args.output is not None:
        write_private(args.output, data)
        print(f"Wrote {data.count(b'BEGIN:VEVENT')} shifts of {args.responder} to {args.output}")
    else:
        sys.stdout.write(data.decode("utf-8"))
    return 0


def cmd_spc(args: argparse.Namespace) -> int:
    import json
    import math

    from rota.analytics.spc import read_series, result_table, xmr

    if args.target is not None and not math.isfinite(args.target):
        raise UsageError(f"--target {args.target} is not a finite number")
    if args.baseline is not None and args.baseline < 2:
        raise UsageError(f"--baseline {args.baseline}: the baseline needs at least 2 points")
    values = read_series(args.file, args.column)
    try:
        result = xmr(values, args.improvement, args.target, args.baseline)
    except ValueError as exc:
        raise UsageError(f"{args.file}, column {args.column}: {exc}") from exc
    fmt = getattr(args, "format", None) or "json"
    if fmt == "table":
        print(result_table(result))
    elif fmt == "csv":
        print("point,value,signal,type")
        for i, p in enumerate(result.points, start=1):
            print(f"{i},{p.value!r},{p.signal or ''},{p.type}")
    else:
        print(json.dumps(result.as_dict(), indent=2))
    return 0


SETTING_HELP: dict[str, str] = {
    "child_population": "children aged 0-17 in the area, for the forecast's national-rate prior",
    "mean_commitment_hours": "mean hours a responder is committed to one case (Erlang-B), default 4",
    "suppression_threshold": "commissioners' views hide counts from 1 to one below this (default 5; 1 = off)",
    "completion_target": "target completion rate for the assurance icon, 0-1 (default 0.9)",
}


def _check_setting(key: str, value: str) -> str:
    from rota.analytics.completion import MEASURES

    def number(kind: type, low: float, high: float | None = None) -> str:
        try:
            x = kind(value)
        except ValueError:
            raise UsageError(f"setting {key}: {value!r} is not a number") from None
        if x < low or (high is not None and x > high):
            bound = f"from {low} to {high}" if high is not None else f"at least {low}"
            raise UsageError(f"setting {key}: {value} must be {bound}")
        return str(x)

    if key == "child_population":
        return number(int, 1)
    if key == "mean_commitment_hours":
        return number(float, 0.01)
    if key == "suppression_threshold":
        return number(int, 1)
    if key == "completion_target" or (
        key.startswith("completion_target.") and key.split(".", 1)[1] in MEASURES
    ):
        return number(float, 0.0, 1.0)
    raise UsageError(
        f"unknown setting {key!r}; the settings are {', '.join(SETTING_HELP)} and "
        f"completion_target.<measure> ({', '.join(MEASURES)})"
    )


def cmd_settings(args: argparse.Namespace) -> int:
    import json

    from rota.storage.settings import read_settings, write_setting

    engine = _engine(args)
    if args.action == "list":
        stored = read_settings(engine)
        if (getattr(args, "format", None) or "table") == "json":
            print(json.dumps(stored, indent=2))
        else:
            for key in [*SETTING_HELP, *sorted(k for k in stored if k not in SETTING_HELP)]:
                print(f"{key} = {stored.get(key, '(not set)')}    # {SETTING_HELP.get(key, '')}".rstrip(" #"))
        return 0
    if not args.key:
        raise UsageError(f"rota settings {args.action} needs the setting's name")
    if args.action == "set":
        if args.value is None:
            raise UsageError(f"rota settings set {args.key} needs a value")
        value = _check_setting(args.key, args.value.strip())
        write_setting(engine, args.key, value, actor=args.actor)
        print(f"{args.key} = {value}")
    else:
        _check_setting(args.key, "1")
        write_setting(engine, args.key, None, actor=args.actor)
        print(f"{args.key} is no longer set")
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from rota.storage.db import database_url, init_db

    if not 0 < args.port < 65536:
        raise UsageError(f"--port {args.port} is not a port number")
    url = database_url(args.db)
    _engine(args, must_exist=False)
    init_db(url)
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        # the server runs from the project folder: pin a relative SQLite path to where it was given
        url = parsed.set(database=str(Path(parsed.database).resolve())).render_as_string(hide_password=False)
    env = dict(os.environ, ROTA_DATABASE_URL=url)
    if getattr(args, "tz", None):
        env["ROTA_TZ"] = args.tz
    server = Path(__file__).resolve().parent.parent / "dashboard" / "server.py"
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
        f"Dashboard on http://{args.address}:{args.port} (database {_safe_url(url)}); Ctrl+C stops it.",
        flush=True,
    )
    # Streamlit reads .streamlit/config.toml (theme, no error details for users) from the working folder.
    os.chdir(server.parent.parent)
    os.execvpe(command[0], command, env)  # the dashboard replaces this process


def _job_settings(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    import dataclasses

    from rota.notify import Settings

    settings = Settings.from_env()
    return dataclasses.replace(settings, tz=_tz(args)) if getattr(args, "tz", None) else settings


def cmd_scheduler(args: argparse.Namespace) -> int:
    import logging

    from rota.scheduler import serve
    from rota.storage.db import init_db

    settings = _job_settings(args)
    engine = init_db(_engine(args, must_exist=False))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if engine.dialect.name == "sqlite":
        print(
            "Note: with SQLite, `rota up` runs these jobs itself; run `rota scheduler` as well only with "
            "ROTA_EMBEDDED_SCHEDULER=0 set for `rota up`.",
            file=sys.stderr,
        )
    print(
        f"Scheduler on {_safe_url(engine.url.render_as_string(hide_password=False))}; alerts: "
        f"{settings.channels_text()}. Ctrl+C or SIGTERM stops it.",
        flush=True,
    )
    return serve(engine, settings)


def cmd_jobs(args: argparse.Namespace) -> int:
    import logging

    from rota.jobs import overview, run_job
    from rota.storage.db import init_db

    if not os.environ.get("ROTA_DEBUG"):
        logging.getLogger("rota").addHandler(logging.NullHandler())  # the outcome is printed below
    settings = _job_settings(args)
    engine = init_db(_engine(args))
    tz = _tz(args)
    if args.jobs_command == "list":
        table = overview(engine, settings)
        fmt = _fmt(args)
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
    outcome = run_job(args.name, engine, settings)
    print(f"{outcome.job}: {outcome.status}: {redact(outcome.message)}")
    return 0 if outcome.ok else 1


def cmd_alerts(args: argparse.Namespace) -> int:
    import json

    import polars as pl

    from rota.jobs import alert_json
    from rota.services.access import ADMIN, Actor
    from rota.services.alerts import acknowledge, list_alerts
    from rota.storage.db import init_db

    engine = init_db(_engine(args))
    tz = _tz(args)
    actor = Actor(f"cli:{os.environ.get('USER') or 'unknown'}", ADMIN)  # whoever runs it owns the database
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


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "init": cmd_init,
    "demo": cmd_demo,
    "import": cmd_import,
    "export": cmd_export,
    "gaps": cmd_gaps,
    "coverage": cmd_coverage,
    "completion": cmd_completion,
    "forecast": cmd_forecast,
    "users": cmd_users,
    "ics": cmd_ics,
    "spc": cmd_spc,
    "settings": cmd_settings,
    "up": cmd_up,
    "scheduler": cmd_scheduler,
    "jobs": cmd_jobs,
    "alerts": cmd_alerts,
    "backup": cmd_backup,
    "restore": cmd_restore,
}


def _missing_table(exc: BaseException) -> bool:
    """Whether `exc` is the database saying a table does not exist (a schema from an older version)."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    if not isinstance(exc, OperationalError | ProgrammingError):
        return False
    text = str(exc.orig if exc.orig is not None else exc).lower()
    return "no such table" in text or ("relation" in text and "does not exist" in text)


def main(argv: Sequence[str] | None = None) -> int:
    install_log_redaction()  # no log line of any library shows a password either
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except InputError as exc:
        print(f"rota: error: {redact(exc.message())}", file=sys.stderr)
        return EXIT_INPUT
    except (UsageError, TimeParseError, RuleError) as exc:
        print(f"rota: error: {redact(str(exc))}", file=sys.stderr)
        return EXIT_INPUT
    except PermissionDenied as exc:
        print(f"rota: not allowed: {redact(str(exc))}", file=sys.stderr)
        return EXIT_INPUT
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # last line of defence: a short message, the traceback only on request
        from rota.storage.db import DatabaseURLError

        if isinstance(exc, DatabaseURLError):  # from a command that does not open the database itself
            print(f"rota: error: {redact(str(exc))}", file=sys.stderr)
            return EXIT_INPUT
        if _missing_table(exc):
            print(
                "rota: error: the database is older than this version of rota (a table is missing): "
                "run `rota init` to bring it up to date",
                file=sys.stderr,
            )
            return EXIT_INPUT
        if os.environ.get("ROTA_DEBUG"):
            raise
        reason = redact(str(exc))
        print(
            f"rota: internal error: {exc.__class__.__name__}: {reason} (set ROTA_DEBUG=1 for details)",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":
    sys.exit(main())
