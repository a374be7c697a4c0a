"""Interval arithmetic on half-open spans of aware instants, [start, end): merging, totals, overlaps.

Pure functions on values, shared by the impact of an edit (rota/engine/impact.py), the cover lost to a
lapse (rota/services/lapses.py) and anything else that reasons about spans of time without a frame.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

Interval = tuple[datetime, datetime]


def merge_intervals(intervals: Iterable[Interval], *, touching: bool = True) -> list[Interval]:
    """The union of `intervals`, sorted. Spans that meet end to start are joined when `touching` (one
    stretch of time); with `touching=False` only spans that really overlap are joined."""
    out: list[Interval] = []
    for a, b in sorted(intervals):
        if out and (a <= out[-1][1] if touching else a < out[-1][1]):
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def subtract(xs: Iterable[Interval], ys: Iterable[Interval]) -> list[Interval]:
    """The time in `xs` and not in `ys`, as the union's maximal spans (touching pieces joined)."""
    cuts = merge_intervals(ys)
    out: list[Interval] = []
    for a, b in merge_intervals(xs):
        cur = a
        for c, d in cuts:
            if d <= cur or c >= b:
                continue
            if c > cur:
                out.append((cur, c))
            cur = max(cur, d)
            if cur >= b:
                break
        if cur < b:
            out.append((cur, b))
    return merge_intervals(out)


def total(intervals: Iterable[Interval]) -> timedelta:
    """The summed length of `intervals` (overlaps count twice: merge first for the union's length)."""
    return sum((b - a for a, b in intervals), timedelta(0))


def intersect(xs: Sequence[Interval], ys: Sequence[Interval]) -> list[Interval]:
    """Every non-empty overlap of a span of `xs` with a span of `ys`."""
    out = []
    for a, b in xs:
        for c, d in ys:
            lo, hi = max(a, c), min(b, d)
            if hi > lo:
                out.append((lo, hi))
    return out
