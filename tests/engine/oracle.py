"""A brute-force, minute-by-minute reading of docs/engine.md, written independently of the engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import numpy as np
import polars as pl

from rota.model import Rota
from rota.rules import Rule


@dataclass(frozen=True)
class OracleGap:
    rule_id: str
    start: datetime
    end: datetime
    available: int


def _minutes(start: datetime, end: datetime) -> list[datetime]:
    n = int((end - start).total_seconds() // 60)
    return [start + timedelta(minutes=i) for i in range(n)]


def _first_at_or_after(walls: np.ndarray, instants: list[datetime], wall: datetime) -> datetime | None:
    """Chronologically first minute whose local wall time is at or after `wall`."""
    target = np.datetime64(wall, "m")
    hits = np.nonzero(walls >= target)[0]
    return instants[int(hits[0])] if hits.size else None


def window_minutes(rule: Rule, minutes: list[datetime], tz: tzinfo) -> list[bool]:
    if not rule.windows:
        return [True] * len(minutes)
    pad = timedelta(days=3)
    scan = _minutes(minutes[0] - pad, minutes[-1] + pad)
    walls = np.array([np.datetime64(t.astimezone(tz).replace(tzinfo=None), "m") for t in scan])
    spans: list[tuple[datetime, datetime]] = []
    day = (minutes[0] - pad).astimezone(tz).date()
    last = (minutes[-1] + pad).astimezone(tz).date()
    while day <= last:
        for w in rule.windows:
            if day.weekday() in w.weekdays:
                ws = datetime.combine(day, w.start)
                a = _first_at_or_after(walls, scan, ws)
                b = _first_at_or_after(walls, scan, ws + timedelta(minutes=w.minutes))
                if a is not None and b is not None:
                    spans.append((a, b))
        day += timedelta(days=1)
    return [any(a <= t < b for a, b in spans) for t in minutes]


def qualified(rota: Rota, rule: Rule, t: datetime, tz: tzinfo) -> int:
    """Distinct responders of the rule's role on duty at t, trained on t's local day, not absent."""
    local_day: date = t.astimezone(tz).date()
    rows = _rows(rota)
    count = 0
    for r in rows["responders"]:
        if r["role"] != rule.role or r["active"] is False:
            continue
        rid = r["responder_id"]
        on = any(s["start"] <= t < s["end"] for s in rows["shifts"] if s["responder_id"] == rid)
        off = any(a["start"] <= t < a["end"] for a in rows["absences"] if a["responder_id"] == rid)
        trained = all(
            any(
                tr["competency"] == comp
                and tr["valid_from"] <= local_day
                and (tr["valid_until"] is None or local_day <= tr["valid_until"])
                for tr in rows["training"]
                if tr["responder_id"] == rid
            )
            for comp in rule.competencies
        )
        if on and not off and trained:
            count += 1
    return count


_LAST: list[tuple[Rota, dict[str, list[dict[str, Any]]]]] = []


def _rows(rota: Rota) -> dict[str, list[dict[str, Any]]]:
    """The rota's rows as dicts, kept for the last rota asked about (the oracle asks once per minute)."""
    if not _LAST or _LAST[0][0] is not rota:
        _LAST[:] = [
            (rota, {n: getattr(rota, n).to_dicts() for n in ("responders", "training", "shifts", "absences")})
        ]
    return _LAST[0][1]


def minute_table(rota: Rota, start: datetime, end: datetime, tz: tzinfo) -> pl.DataFrame:
    """Per rule and minute: in_window, available, required."""
    minutes = _minutes(start, end)
    rows = []
    for rule in rota.effective_rules():
        inside = window_minutes(rule, minutes, tz)
        for t, w in zip(minutes, inside, strict=True):
            rows.append((rule.id, t, w, qualified(rota, rule, t, tz), rule.min_count))
    return pl.DataFrame(
        rows,
        schema={
            "rule_id": pl.String,
            "t": pl.Datetime("us", "UTC"),
            "in_window": pl.Boolean,
            "available": pl.Int64,
            "required": pl.Int64,
        },
        orient="row",
    )


def oracle_gaps(table: pl.DataFrame) -> list[OracleGap]:
    out: list[OracleGap] = []
    for (rule_id,), part in table.group_by("rule_id", maintain_order=True):
        current: OracleGap | None = None
        for row in part.iter_rows(named=True):
            t = row["t"]
            if row["in_window"] and row["available"] < row["required"]:
                if current and current.end == t and current.available == row["available"]:
                    current = OracleGap(
                        str(rule_id), current.start, t + timedelta(minutes=1), current.available
                    )
                else:
                    if current:
                        out.append(current)
                    current = OracleGap(str(rule_id), t, t + timedelta(minutes=1), row["available"])
            elif current:
                out.append(current)
                current = None
        if current:
            out.append(current)
    return out


def oracle_grid(table: pl.DataFrame, tz: tzinfo) -> dict[tuple[str, datetime], tuple[int, int, float]]:
    """(rule_id, hour_start UTC) -> (required, available minimum, gap minutes), by real local hours."""
    grid: dict[tuple[str, datetime], list[tuple[bool, int, int]]] = {}
    for row in table.iter_rows(named=True):
        local = row["t"].astimezone(tz)
        hour = local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
        grid.setdefault((row["rule_id"], hour), []).append(
            (row["in_window"], row["available"], row["required"])
        )
    out = {}
    for key, mins in grid.items():
        required = mins[0][2] if any(w for w, _, _ in mins) else 0
        available = min(a for _, a, _ in mins)
        gap = float(sum(1 for w, a, r in mins if w and a < r))
        out[key] = (required, available, gap)
    return out
