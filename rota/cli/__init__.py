"""The `rota` command: set up the database, import and export rotas, and report gaps and hourly cover.

Bad input exits 2 with a message naming what and where; `--fail-on-gap` exits 3 when a gap exists.
The grammar is in `parser`, the shared helpers in `common`, and each group of commands in its own module.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from rota.cli.accounts import cmd_users
from rota.cli.actions import cmd_actions
from rota.cli.analysis import cmd_completion, cmd_forecast, cmd_spc
from rota.cli.common import EXIT_INPUT, UsageError, env_settings, missing_table
from rota.cli.cover import cmd_conflicts, cmd_coverage, cmd_gaps, cmd_ics
from rota.cli.data import cmd_demo, cmd_export, cmd_import, cmd_init
from rota.cli.ops import cmd_alerts, cmd_backup, cmd_jobs, cmd_restore, cmd_scheduler, cmd_up
from rota.cli.pack import cmd_pack
from rota.cli.parser import build_parser
from rota.cli.plan import cmd_plan
from rota.cli.settings import cmd_settings
from rota.errors import InputError, PermissionDenied
from rota.redact import install_log_redaction, redact
from rota.rules import RuleError
from rota.timeutil import TimeParseError

__all__ = ["COMMANDS", "build_parser", "main"]

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "init": cmd_init,
    "demo": cmd_demo,
    "import": cmd_import,
    "export": cmd_export,
    "gaps": cmd_gaps,
    "conflicts": cmd_conflicts,
    "coverage": cmd_coverage,
    "completion": cmd_completion,
    "forecast": cmd_forecast,
    "plan": cmd_plan,
    "pack": cmd_pack,
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
    "actions": cmd_actions,
}


def main(argv: Sequence[str] | None = None) -> int:
    install_log_redaction()  # no log line of any library shows a password either
    args = build_parser().parse_args(argv)
    try:
        env_settings()  # every variable is checked first: a bad one stops any command before it starts
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
        from rota.storage.db import DatabaseURLError  # here only to keep `rota --help` fast

        if isinstance(exc, DatabaseURLError):  # from a command that does not open the database itself
            print(f"rota: error: {redact(str(exc))}", file=sys.stderr)
            return EXIT_INPUT
        if missing_table(exc):
            print(
                "rota: error: the database is older than this version of rota (a table is missing): "
                "run `rota init` to bring it up to date",
                file=sys.stderr,
            )
            return EXIT_INPUT
        if _debug():
            raise
        reason = redact(str(exc))
        print(
            f"rota: internal error: {exc.__class__.__name__}: {reason} (set ROTA_DEBUG=1 for details)",
            file=sys.stderr,
        )
        return 1


def _debug() -> bool:
    """ROTA_DEBUG is on (the settings were checked before the command ran, so they load here)."""
    try:
        return env_settings().debug
    except InputError:
        return False
