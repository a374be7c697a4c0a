"""`rota gaps`, `rota coverage`, `rota conflicts` and `rota ics`: the cover a rota gives, its problems
that are not gaps, and one responder's shifts."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from rota.cli.common import (
    EXIT_GAP,
    UsageError,
    load_rota_for,
    open_engine,
    output_format,
    service_tz,
    time_range,
)
from rota.files import write_private
from rota.output import duration_text, render
from rota.timeutil import TimeParseError, parse_bound, uk_local, utc_now

if TYPE_CHECKING:
    import polars as pl

    from rota.model import Rota

# The engine and the services are imported inside the commands only to keep `rota --help` fast.


def _over_window(
    args: argparse.Namespace, compute: Callable[[Rota, datetime, datetime, tzinfo], pl.DataFrame]
) -> tuple[pl.DataFrame, tzinfo, datetime, datetime]:
    """`compute` (an engine function) over the --start/--end window of the rota the arguments choose,
    with the service time zone and the window."""
    tz = service_tz(args)
    start, end = time_range(args, tz)
    return compute(load_rota_for(args, tz, start, end), start, end, tz), tz, start, end


def cmd_gaps(args: argparse.Namespace) -> int:
    from rota.engine import gaps

    found, tz, start, end = _over_window(args, gaps)
    fmt = output_format(args)
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

    grid, tz, _, _ = _over_window(args, coverage)
    fmt = output_format(args)
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


def cmd_conflicts(args: argparse.Namespace) -> int:
    from rota.engine.conflicts import CONTEXT, conflicts

    tz = service_tz(args)
    start, end = time_range(args, tz)
    rota = load_rota_for(args, tz, start - CONTEXT, end + CONTEXT)
    found = conflicts(rota, start, end, tz)
    if args.agency is not None:
        import polars as pl

        agencies = rota.responders.get_column("agency").drop_nulls().unique().sort().to_list()
        if args.agency not in agencies:
            known = ", ".join(agencies) or "none"
            raise UsageError(f"--agency {args.agency!r}: no responder of that agency (agencies: {known})")
        theirs = rota.responders.filter(pl.col("agency") == args.agency).select("responder_id")
        found = found.join(theirs, on="responder_id", how="semi")
    fmt = output_format(args)
    if fmt == "table":
        if found.height == 0:
            print(f"No rota problems from {uk_local(start, tz)} to {uk_local(end, tz)}.")
        else:
            import polars as pl

            from rota.vocab import ConflictKind

            labels = {k.value: k.label for k in ConflictKind}
            shown = found.with_columns(pl.col("kind").replace_strict(labels, return_dtype=pl.String))
            print(render(shown, "table", tz, ["problem", "responder", "from", "to", "detail"]))
            print(f"\n{found.height} rota problems from {uk_local(start, tz)} to {uk_local(end, tz)}.")
    else:
        print(render(found, fmt, tz))
    return 0


def cmd_ics(args: argparse.Namespace) -> int:
    from rota.services.calendar import responder_calendar

    tz = service_tz(args)
    try:
        start = parse_bound(args.start, tz) if args.start else utc_now() - timedelta(days=30)
        end = parse_bound(args.end, tz) if args.end else None
    except TimeParseError as exc:
        raise UsageError(f"--start/--end: {exc}") from exc
    if end is not None and end <= start:
        raise UsageError(f"--end ({uk_local(end, tz)}) must be after --start ({uk_local(start, tz)})")
    data = responder_calendar(open_engine(args), args.responder, start, end, tz)
    if args.output is not None:
        write_private(args.output, data)
        print(f"Wrote {data.count(b'BEGIN:VEVENT')} shifts of {args.responder} to {args.output}")
    else:
        sys.stdout.write(data.decode("utf-8"))
    return 0
