"""The `rota` command line's grammar: every command, its options, and the options they share."""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from rota.cli.common import EXIT_INPUT
from rota.model import PRODUCT_SETTINGS
from rota.output import FORMATS
from rota.services.access import ROLES
from rota.timeutil import DEFAULT_TZ_NAME

DESCRIPTION = (
    "The `rota` command: set up the database, import and export rotas, and report gaps and hourly cover."
)
KINDS = ("responders", "training", "shifts", "absences", "cases")


_INVALID_CHOICE = re.compile(r"invalid choice: '(?P<given>[^']*)' \(choose from (?P<choices>.*)\)$")


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(EXIT_INPUT, f"rota: error: {message}{did_you_mean(message)}\n")

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> argparse.Namespace:
        """As argparse's, but an unknown option is reported with the usage of the command it was given to
        (`rota gaps --bogus` shows `rota gaps`'s usage, not the whole command's)."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            innermost(self, parsed).error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed


def did_you_mean(message: str) -> str:
    """ "; did you mean 'gaps'?" for a mistyped command or choice close to a real one, else nothing."""
    found = _INVALID_CHOICE.search(message)
    if found is None:
        return ""
    choices = re.findall(r"'([^']*)'", found["choices"])
    close = difflib.get_close_matches(found["given"], choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def innermost(parser: argparse.ArgumentParser, parsed: argparse.Namespace) -> argparse.ArgumentParser:
    """The (sub)command parser that `parsed` went through last: `rota jobs run` for `rota jobs run X`."""
    for action in parser._actions:  # argparse keeps its subcommands here and nowhere public
        if isinstance(action, argparse._SubParsersAction):
            chosen = getattr(parsed, action.dest, None)
            if chosen in action.choices:
                return innermost(action.choices[chosen], parsed)
    return parser


def common_options(parser: argparse.ArgumentParser, *, top: bool, output: str = "table") -> None:
    """--db, --tz and --format, accepted before the command and after it; `output` is the command's own
    default format (JSON for the commands written for programs first)."""
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
    others = " or ".join(f for f in FORMATS if f != output)
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default=default,
        help="output: table for people (default), csv or json"
        if output == "table"
        else f"output: {output} (default), or {others}",
    )


def range_options(parser: argparse.ArgumentParser) -> None:
    """--start, --end and --bundle of the commands that report over a time range."""
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


class RefusePassword(argparse.Action):
    """`--password` exists only to say why there is none."""

    def __call__(self, parser: argparse.ArgumentParser, *_: object, **__: object) -> None:
        parser.error(
            "a password is never given as an argument (it would stay in the shell history and show in the "
            "process list): set ROTA_PASSWORD, or leave it unset to be asked for one"
        )


def plan_parser(add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add(
        "plan",
        "capacity planner: extra on-call duties for existing responders that close the riskiest gaps first, "
        "and how many more trained people each role needs for the rest (nothing is stored)",
    )
    range_options(p)
    p.add_argument("--agency", metavar="A", help="only this agency's responders take fills")
    p.add_argument(
        "--cases", metavar="FILE", type=Path, help="with --bundle: cases.csv for the demand forecast"
    )
    p.add_argument(
        "--population", type=int, metavar="N", help="children aged 0-17, for the national-rate prior"
    )
    p.add_argument(
        "--rest-hours", type=float, default=11, metavar="H", help="rest between duties (default 11)"
    )
    p.add_argument(
        "--max-weekly-hours",
        type=float,
        default=48,
        metavar="H",
        help="most duty hours in any 7 x 24 hours (default 48)",
    )
    p.add_argument(
        "--max-consecutive-nights",
        type=int,
        default=4,
        metavar="N",
        help="most nights on consecutive dates (default 4)",
    )
    p.add_argument("--max-shift-hours", type=float, default=12, metavar="H", help="longest fill (default 12)")
    p.add_argument(
        "--time-limit", type=float, default=60, metavar="SECONDS", help="solver time limit (default 60)"
    )


def pack_parser(add: Callable[..., argparse.ArgumentParser]) -> None:
    p = add(
        "pack",
        "the safeguarding partnership board's quarterly assurance pack, as PDF or HTML (by the file's "
        "extension)",
    )
    p.add_argument("--period", metavar="YYYY-Qn", help="the quarter (default: the last complete one)")
    p.add_argument(
        "--audience",
        choices=("commissioner", "manager"),
        help="commissioner: suppressed figures for the board; manager: exact figures (default)",
    )
    p.add_argument("--agency", metavar="A", help="only this agency's section (default: every agency)")
    p.add_argument("-o", "--output", required=True, metavar="FILE", type=Path, help="FILE.pdf or FILE.html")


def users_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    help_text = "manage sign-in accounts; a password comes from ROTA_PASSWORD or a prompt, never an argument"
    p = sub.add_parser("users", help=help_text, description=help_text)
    common_options(p, top=False)
    actions = p.add_subparsers(dest="users_command", metavar="ACTION", parser_class=Parser)
    actions.required = True

    def action(name: str, text: str, *, named: bool = True) -> argparse.ArgumentParser:
        a: argparse.ArgumentParser = actions.add_parser(name, help=text, description=text)
        common_options(a, top=False)
        if named:
            a.add_argument("name", metavar="NAME", help="username (stored in lower case)")
        a.add_argument("--password", nargs="?", action=RefusePassword, help=argparse.SUPPRESS)
        return a

    a = action("add", "add a password account")
    a.add_argument("--role", required=True, choices=ROLES, help="access role (docs/security.md)")
    a.add_argument("--agency", metavar="A", help="the agency (required for a coordinator)")
    a.add_argument("--display-name", metavar="D", help="name shown in the dashboard")
    action("list", "list the accounts (never the password hashes)", named=False)
    action("passwd", "set a new password (also lifts a slow-down after wrong passwords)")
    action("disable", "switch an account off")
    action("enable", "switch an account back on")
    action("unlock", "lift the slow-down after wrong passwords now")


def actions_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`rota actions add|list|close`: the safeguarding partnership board's actions."""
    help_text = "the board's actions: add, list or close them (audited; the assurance pack lists them)"
    p = sub.add_parser("actions", help=help_text, description=help_text)
    common_options(p, top=False)
    actions = p.add_subparsers(dest="actions_command", metavar="ACTION", parser_class=Parser)
    actions.required = True

    def action(name: str, text: str) -> argparse.ArgumentParser:
        a: argparse.ArgumentParser = actions.add_parser(name, help=text, description=text)
        common_options(a, top=False)
        return a

    actor_help = "name written to the audit log (default: the login name, env USER)"
    a = action("add", "add an open action")
    a.add_argument("title", metavar="TITLE", help="what is to be done (at most 200 characters)")
    a.add_argument("--owner-agency", required=True, metavar="A", help="the agency that owns it")
    a.add_argument("--owner", required=True, metavar="NAME", help="the person (a name or a post) who owns it")
    a.add_argument("--due", required=True, metavar="DATE", help="due date, YYYY-MM-DD or DD/MM/YYYY")
    a.add_argument("--notes", metavar="TEXT", help="notes (at most 500 characters)")
    a.add_argument("--actor", help=actor_help)
    a = action("list", "list the actions, open ones first by due date")
    a.add_argument(
        "--status", choices=("open", "closed", "all"), default="open", help="which actions (default open)"
    )
    a.add_argument("--agency", metavar="A", help="only the actions this agency owns")
    a.add_argument("--actor", help=argparse.SUPPRESS)
    a = action("close", "close an open action")
    a.add_argument("id", metavar="ID", type=int, help="the action's id (from `rota actions list`)")
    a.add_argument("--notes", metavar="TEXT", help="notes on closing it (replace the notes it had)")
    a.add_argument("--actor", help=actor_help)


def ops_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """`rota scheduler`, `rota jobs`, `rota alerts`, `rota backup` and `rota restore`."""
    # The job catalogue loads SQLAlchemy: imported when the parser is built, not whenever rota.cli is.
    from rota.services.alerts import JOB_NAMES

    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(name, help=help_text, description=help_text)
        common_options(p, top=False)
        return p

    add(
        "scheduler",
        "run the scheduled jobs until stopped (Ctrl+C or SIGTERM): gap scan, training expiry, forecast "
        "refresh, import watch; the job store lives in the database",
    )
    p = add("jobs", "list the scheduled jobs with their next and last runs, or run one now")
    actions = p.add_subparsers(dest="jobs_command", metavar="ACTION", parser_class=Parser)
    actions.required = True
    a = actions.add_parser("list", help="each job: schedule, next run, last run and how it went")
    common_options(a, top=False)
    a = actions.add_parser("run", help="run one job now (recorded like a scheduled run)")
    common_options(a, top=False)
    a.add_argument("name", metavar="NAME", choices=JOB_NAMES, help=" | ".join(JOB_NAMES))
    p = add("alerts", "open alerts (JSON: kind, rule_id, start, end, created_at, ...)")
    p.add_argument("--all", action="store_true", help="resolved alerts too")
    p.add_argument("--ack", type=int, metavar="ID", help="acknowledge alert ID (audited)")
    p = add("backup", "a consistent copy of the SQLite database, taken while it is in use")
    p.add_argument("path", metavar="PATH", type=Path, help="a new file, or a folder for rota-<time>.db")
    p = add("restore", "replace the SQLite database with a backup (the current one is kept beside it)")
    p.add_argument("path", metavar="PATH", type=Path, help="a file made by `rota backup`")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="rota", description=DESCRIPTION)
    common_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    sub.required = True

    def add(name: str, help_text: str, *, output: str = "table") -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        common_options(p, top=False, output=output)
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
    p.add_argument("--actor", help="name written to the audit log (default: the login name, env USER)")
    p = add("export", "write the stored rota as a bundle folder (or a workbook if DIR ends in .xlsx)")
    p.add_argument("dir", type=Path)
    p = add("gaps", "list the gaps in cover")
    range_options(p)
    p.add_argument("--fail-on-gap", action="store_true", help="exit 3 when any gap is found")
    p = add("coverage", "hourly grid: one row per real local hour and rule")
    range_options(p)
    p = add(
        "conflicts",
        "rota problems that are not gaps: a shift during the responder's own absence, overlapping shifts, "
        "less than 11 hours' rest between duties, duty with a lapsed competency",
    )
    range_options(p)
    p.add_argument("--agency", metavar="A", help="only the responders of this agency")
    p = add("completion", "CDOP completion measures: period, split, measure, numerator, denominator, rate")
    p.add_argument(
        "--cases",
        metavar="FILE",
        type=Path,
        help="cases.csv (docs/cases.md) to use instead of the stored cases (default: the stored cases)",
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
    p = add(
        "forecast",
        "demand forecast and risk per rule: cases expected to meet no trained responder",
        output="json",
    )
    range_options(p)
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
    plan_parser(add)
    pack_parser(add)
    users_parser(sub)
    p = add("ics", "iCalendar feed of one responder's shifts (stable UIDs)")
    p.add_argument("--responder", required=True, metavar="ID", help="the responder's responder_id")
    p.add_argument("--start", metavar="S", help="shifts ending after S (default: 30 days ago)")
    p.add_argument("--end", metavar="E", help="shifts starting before E (default: no limit)")
    p.add_argument("--output", "-o", metavar="FILE", type=Path, help="write to FILE instead of stdout")
    p = add(
        "spc",
        "Making Data Count XmR analysis of one numeric column of a CSV (JSON by default)",
        output="json",
    )
    p.add_argument("file", metavar="FILE", type=Path, help="CSV file with a header line")
    p.add_argument("--column", required=True, metavar="C", help="the column holding the series, oldest first")
    p.add_argument("--improvement", choices=("up", "down", "neutral"), default="neutral")
    p.add_argument("--target", type=float, metavar="T", help="target for the assurance icon")
    p.add_argument("--baseline", type=int, metavar="N", help="limits from the first N points (default: all)")
    ops_parsers(sub)
    actions_parser(sub)
    p = add("settings", "show or change the product settings (child population, targets, suppression)")
    p.add_argument("action", nargs="?", choices=("list", "set", "unset"), default="list")
    p.add_argument(
        "key", nargs="?", help=f"one of: {', '.join(PRODUCT_SETTINGS)}, completion_target.<measure>"
    )
    p.add_argument("value", nargs="?")
    p.add_argument("--actor", help="name written to the audit log (default: the login name, env USER)")
    p = add("up", "start the dashboard (and, with the embedded database, the scheduler)")
    p.add_argument("--port", type=int, default=8501, help="port on localhost (default 8501)")
    p.add_argument("--address", default="localhost", help="address to listen on (default localhost)")
    return parser
