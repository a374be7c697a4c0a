"""`rota actions add|list|close`: the safeguarding partnership board's actions (checked and audited by
rota.services.actions; the assurance pack lists them)."""

from __future__ import annotations

import argparse
import json

from rota.cli.common import UsageError, actor_name, open_engine, output_format, service_tz
from rota.output import render
from rota.timeutil import TimeParseError, parse_date, zone_name

STATUS_CHOICES = ("open", "closed", "all")
TABLE_HEADERS = ["id", "title", "owner agency", "owner", "due", "status", "closed", "notes"]


def cmd_actions(args: argparse.Namespace) -> int:
    # Imported here only to keep `rota --help` fast (the service loads the storage layer).
    import polars as pl

    from rota.services.access import ADMIN, Actor
    from rota.services.actions import add_action, close_action, list_actions

    engine = open_engine(args)
    # Whoever runs the command owns the database: an administrator, named in the audit log by --actor.
    actor = Actor(actor_name(args), ADMIN)
    fmt = output_format(args)
    tz = service_tz(args)
    if args.actions_command == "add":
        try:
            due = parse_date(args.due)
        except TimeParseError as exc:
            raise UsageError(f"--due: {exc}") from None
        action_id = add_action(
            engine,
            actor,
            title=args.title,
            owner_agency=args.owner_agency,
            owner=args.owner,
            due=due,
            notes=args.notes or "",
        )
        if fmt == "json":
            print(json.dumps({"id": action_id, "status": "open"}))
        else:
            print(f"Board action {action_id} added, due {due:%d/%m/%Y}.")
        return 0
    if args.actions_command == "close":
        close_action(engine, actor, args.id, notes=args.notes)
        if fmt == "json":
            print(json.dumps({"id": args.id, "status": "closed"}))
        else:
            print(f"Board action {args.id} closed.")
        return 0
    status = None if args.status == "all" else args.status
    found = list_actions(engine, actor, status=status, agency=args.agency)
    if fmt != "table":
        print(render(found, fmt, tz))
        return 0
    if found.height == 0:
        which = "" if status is None else f"{status} "
        print(f"No {which}board actions" + (f" for {args.agency}." if args.agency else "."))
        return 0
    shown = found.select(
        "id",
        "title",
        "owner_agency",
        "owner",
        "due",
        "status",
        pl.col("closed_at").dt.convert_time_zone(zone_name(tz)).dt.date(),
        "notes",
    )
    print(render(shown, "table", tz, TABLE_HEADERS))
    return 0
