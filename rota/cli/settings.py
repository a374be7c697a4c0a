"""`rota settings`: show or change the product settings (checked and audited by rota.services.settings)."""

from __future__ import annotations

import argparse
import json

from rota.cli.common import UsageError, actor_name, open_engine
from rota.model import PRODUCT_SETTINGS


def cmd_settings(args: argparse.Namespace) -> int:
    # Imported here only to keep `rota --help` fast (the service loads the storage layer).
    from rota.services.access import ADMIN, Actor
    from rota.services.settings import SettingError, set_setting, stored_settings, unset_setting

    engine = open_engine(args)
    if args.action == "list":
        stored = stored_settings(engine)
        if (getattr(args, "format", None) or "table") == "json":
            print(json.dumps(stored, indent=2))
        else:
            for key in [*PRODUCT_SETTINGS, *sorted(k for k in stored if k not in PRODUCT_SETTINGS)]:
                line = f"{key} = {stored.get(key, '(not set)')}    # {PRODUCT_SETTINGS.get(key, '')}"
                print(line.rstrip(" #"))
        return 0
    if not args.key:
        raise UsageError(f"rota settings {args.action} needs the setting's name")
    # Whoever runs the command owns the database: an administrator, named in the audit log by --actor.
    actor = Actor(actor_name(args), ADMIN)
    try:
        if args.action == "set":
            if args.value is None:
                raise UsageError(f"rota settings set {args.key} needs a value")
            value = set_setting(engine, actor, args.key, args.value.strip())
            print(f"{args.key} = {value}")
        else:
            unset_setting(engine, actor, args.key)
            print(f"{args.key} is no longer set")
    except SettingError as exc:
        raise UsageError(str(exc)) from exc
    return 0
