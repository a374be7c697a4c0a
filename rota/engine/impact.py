"""The impact of an edit on cover: the gaps of every rule before and after, and what changed between them
("opens a gap Sat 02:00-08:00 for sio-16-17 (28/03/2026)"). Frames in, frames out: no storage, no
permissions; rota/services/editing/gaps.py loads the rota and checks who may ask.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

import polars as pl

from rota.engine.intervals import Interval, intersect, merge_intervals, total
from rota.engine.sweep import gaps
from rota.model import UTC_US, Rota
from rota.rules import Rule
from rota.timeutil import SERVICE_TZ

EFFECT_SCHEMA: dict[str, pl.DataType] = {
    "rule_id": pl.String(),
    "age_band": pl.String(),
    "effect": pl.String(),
    "before_start": UTC_US,
    "before_end": UTC_US,
    "after_start": UTC_US,
    "after_end": UTC_US,
    "minutes_change": pl.Float64(),
    "sentence": pl.String(),
}
MARGIN = timedelta(days=2)  # gaps are computed this far beyond the changed span, so whole gaps show

Piece = tuple[datetime, datetime, int]  # a gap piece: start, end, qualified responders available


@dataclass(frozen=True)
class GapImpact:
    """What an edit does to the gaps: one sentence per effect; `effects` in a frame (EFFECT_SCHEMA); the
    gaps around the change before and after (the engine's gap columns)."""

    sentences: tuple[str, ...]
    effects: pl.DataFrame
    before: pl.DataFrame
    after: pl.DataFrame


def span_text(start: datetime, end: datetime, tz: tzinfo = SERVICE_TZ) -> str:
    """'Sat 02:00-08:00', 'Sat 22:00-Sun 06:00', 'Sat 18:00-24:00' in local time."""
    a, b = start.astimezone(tz), end.astimezone(tz)
    if b.date() == a.date():
        return f"{a:%a %H:%M}-{b:%H:%M}"
    if b.date() == a.date() + timedelta(days=1) and (b.hour, b.minute, b.second) == (0, 0, 0):
        return f"{a:%a %H:%M}-24:00"
    return f"{a:%a %H:%M}-{b:%a %H:%M}"


def _spans_text(intervals: Sequence[Interval], tz: tzinfo) -> str:
    return " and ".join(span_text(a, b, tz) for a, b in intervals)


def _clusters(bs: Sequence[Interval], as_: Sequence[Interval]) -> list[tuple[list[Interval], list[Interval]]]:
    """Gaps of before and after that overlap each other belong to one story: for each such cluster, its
    gaps before and its gaps after (each in time order)."""
    envelopes = merge_intervals([*bs, *as_], touching=False)

    def within(spans: Sequence[Interval], lo: datetime, hi: datetime) -> list[Interval]:
        return [(s, e) for s, e in spans if lo <= s < hi]

    return [(within(bs, lo, hi), within(as_, lo, hi)) for lo, hi in envelopes]


def _lowest(pieces: Sequence[Piece], span: Sequence[Interval]) -> int:
    """The fewest qualified responders available in any gap piece that overlaps `span`."""
    return min((n for s, e, n in pieces if intersect([(s, e)], span)), default=0)


def _effect(
    rule: Rule,
    cb: list[Interval],
    ca: list[Interval],
    b_pieces: list[Piece],
    a_pieces: list[Piece],
    tz: tzinfo,
    name: str,
) -> tuple[str, str] | None:
    """The effect word and sentence for one cluster (None when nothing a person would notice changed);
    `name` is the rule's in the sentence."""
    first = (cb or ca)[0][0].astimezone(tz)
    when = f" ({first:%d/%m/%Y})"
    if not cb:
        return "opens", f"opens a gap {_spans_text(ca, tz)} for {name}{when}"
    if not ca:
        return "closes", f"closes the gap {_spans_text(cb, tz)} for {name}{when}"
    if ca == cb:
        was, now = _lowest(b_pieces, cb), _lowest(a_pieces, cb)
        if was == now:
            return None
        effect = "deepens" if now < was else "eases"
        return effect, (
            f"{effect} the gap {_spans_text(cb, tz)} for {name}: {now} of {rule.min_count} "
            f"qualified, was {was}{when}"
        )
    common = total(intersect(ca, cb))
    if common == total(ca):
        effect = "shortens"
    elif common == total(cb):
        effect = "lengthens"
    else:
        effect = "moves"
    return effect, f"{effect} the gap {_spans_text(cb, tz)} for {name} to {_spans_text(ca, tz)}{when}"


def rule_effects(
    rule: Rule, before: pl.DataFrame, after: pl.DataFrame, tz: tzinfo, name: str | None = None
) -> list[dict[str, Any]]:
    """The effects (EFFECT_SCHEMA rows) on one rule's gaps, from the gap frames before and after; the
    sentences call the rule `name` (its id by default)."""

    def pieces(df: pl.DataFrame) -> list[Piece]:
        return list(df.filter(pl.col("rule_id") == rule.id).select("start", "end", "available").iter_rows())

    b_pieces, a_pieces = pieces(before), pieces(after)
    bs = merge_intervals((s, e) for s, e, _ in b_pieces)
    as_ = merge_intervals((s, e) for s, e, _ in a_pieces)
    out = []
    for cb, ca in _clusters(bs, as_):
        found = _effect(rule, cb, ca, b_pieces, a_pieces, tz, name or rule.id)
        if found is None:
            continue
        effect, sentence = found
        out.append(
            {
                "rule_id": rule.id,
                "age_band": rule.age_band,
                "effect": effect,
                "before_start": cb[0][0] if cb else None,
                "before_end": cb[-1][1] if cb else None,
                "after_start": ca[0][0] if ca else None,
                "after_end": ca[-1][1] if ca else None,
                "minutes_change": (total(ca) - total(cb)).total_seconds() / 60,
                "sentence": sentence,
            }
        )
    return out


def no_impact(tz: tzinfo = SERVICE_TZ) -> GapImpact:
    """The impact of no edit at all: no effects, empty gap frames."""
    # the gap columns with no rows (an empty rota over any day has gaps, but no edit has none around it)
    none = gaps(Rota(), datetime(2000, 1, 1, tzinfo=UTC), datetime(2000, 1, 2, tzinfo=UTC), tz).clear()
    return GapImpact((), pl.DataFrame(schema=EFFECT_SCHEMA), none, none)


def edit_impact(
    rota: Rota,
    edited: Rota,
    start: datetime,
    end: datetime,
    tz: tzinfo = SERVICE_TZ,
    labels: Mapping[str, str] | None = None,
) -> GapImpact:
    """Gaps of every rule of `rota` in [start, end) before (`rota`) and after (`edited`, the same rota
    with the edit applied), and what differs; the sentences name a rule by its label in `labels` (rule id
    to label), else by its id. Local times in the sentences are wall times in `tz`, so an
    edit across a clock change reads as a person's clock shows it; minutes are real elapsed minutes."""
    before, after = gaps(rota, start, end, tz), gaps(edited, start, end, tz)
    effects: list[dict[str, Any]] = []
    for rule in rota.effective_rules():
        effects += rule_effects(rule, before, after, tz, (labels or {}).get(rule.id))
    frame = pl.DataFrame(effects, schema=EFFECT_SCHEMA, orient="row")
    return GapImpact(tuple(frame.get_column("sentence").to_list()), frame, before, after)
