"""`rota users`: the sign-in accounts. A password comes from ROTA_PASSWORD or a prompt, never an argument."""

from __future__ import annotations

import argparse
import sys

from rota.cli.common import UsageError, env_settings, open_engine, output_format, run_by, service_tz
from rota.output import render

# The services and the storage layer are imported inside the command only to keep `rota --help` fast.


def _new_password() -> str:
    """From env ROTA_PASSWORD, else asked twice in the terminal (never an argument)."""
    given = env_settings().password
    if given is not None:
        return given.get_secret_value()
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

    # A database made before accounts existed gets their table (idempotent).
    engine = init_db(open_engine(args))
    by = run_by()
    action = args.users_command
    if action == "list":
        users = auth.list_users(engine)
        fmt = output_format(args)
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
            print(render(users.select(list(columns)), "table", service_tz(args), list(columns.values())))
        else:
            print(render(users, fmt, service_tz(args)))
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
