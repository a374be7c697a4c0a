"""The engine's interval arithmetic, the impact of an edit on the gaps, and the availability rules, on
frames built here (no database): including edits across both clock changes of 2026 (Sunday 29/03, the
clocks go forward at 01:00 GMT; Sunday 25/10, they go back at 02:00 BST)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest

from rota.engine.availability import AVAILABILITY_SCHEMA, candidates, find_rule, free_only
from rota.engine.impact import EFFECT_SCHEMA, edit_impact, no_impact, span_text
from rota.engine.intervals import intersect, merge_intervals, total
from rota.model import Rota, conform
from rota.rules import Rule
from tests.engine.test_engine_examples import SIO, rota, t


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def with_shifts(base: Rota, shifts: list[tuple[str, str, str]]) -> Rota:
    """`base` with its shifts replaced (responder, local start, local end)."""
    frame = pl.DataFrame(
        {
            "shift_id": [f"e{i}" for i in range(len(shifts))],
            "responder_id": [s[0] for s in shifts],
            "start": [t(s[1]) for s in shifts],
            "end": [t(s[2]) for s in shifts],
        }
    )
    return replace(base, shifts=conform("shifts", frame))


# ------------------------------------------------------------------------------------------- intervals


def test_merge_joins_touching_spans_unless_asked_for_overlaps_only() -> None:
    a, b, c, d = utc(2026, 1, 1, 0), utc(2026, 1, 1, 2), utc(2026, 1, 1, 4), utc(2026, 1, 1, 6)
    assert merge_intervals([(c, d), (a, b), (b, c)]) == [(a, d)]
    assert merge_intervals([(c, d), (a, b), (b, c)], touching=False) == [(a, b), (b, c), (c, d)]
    assert merge_intervals([(a, c), (b, d)], touching=False) == [(a, d)]
    assert merge_intervals([]) == []


def test_total_and_intersect() -> None:
    a, b, c, d = utc(2026, 1, 1, 0), utc(2026, 1, 1, 2), utc(2026, 1, 1, 4), utc(2026, 1, 1, 6)
    assert total([(a, b), (c, d)]) == timedelta(hours=4)
    assert total([]) == timedelta(0)
    assert intersect([(a, c)], [(b, d)]) == [(b, c)]
    assert intersect([(a, b)], [(b, c)]) == []  # meeting at a point is no overlap


# ------------------------------------------------------------------------------------------- impact


def test_span_text_is_local_and_24_hour() -> None:
    """(Moved here from tests/services/test_editing.py with span_text.)"""
    assert span_text(utc(2026, 3, 28, 2), utc(2026, 3, 28, 8)) == "Sat 02:00-08:00"
    assert span_text(utc(2026, 3, 27, 18), utc(2026, 3, 28, 0)) == "Fri 18:00-24:00"
    assert span_text(utc(2026, 3, 28, 22), utc(2026, 3, 29, 6)) == "Sat 22:00-Sun 07:00"  # BST from 01:00


def test_no_edit_has_no_impact() -> None:
    impact = no_impact()
    assert impact.sentences == () and impact.effects.schema == pl.Schema(EFFECT_SCHEMA)
    assert impact.before.is_empty() and impact.after.is_empty()


@pytest.mark.parametrize(
    ("day", "when", "real_hours"),
    [
        ("2026-03-29", "29/03/2026", 7),  # 00:00 GMT to 08:00 BST: the clocks skip 01:00-02:00
        ("2026-10-25", "25/10/2026", 9),  # 00:00 BST to 08:00 GMT: 01:00-02:00 happens twice
    ],
)
def test_shortening_a_night_shift_opens_a_gap_across_the_clock_change(
    day: str, when: str, real_hours: int
) -> None:
    eve = (date.fromisoformat(day) - timedelta(days=1)).isoformat()
    before = rota([("a", f"{eve} 20:00", f"{day} 08:00"), ("b", f"{day} 08:00", f"{day} 20:00")])
    after = with_shifts(
        before, [("a", f"{eve} 20:00", f"{day} 00:00"), ("b", f"{day} 08:00", f"{day} 20:00")]
    )
    impact = edit_impact(before, after, t(f"{eve} 20:00"), t(f"{day} 20:00"))
    assert impact.sentences == (f"opens a gap Sun 00:00-08:00 for sio ({when})",)
    row = impact.effects.row(0, named=True)
    assert row["effect"] == "opens" and row["before_start"] is None
    assert (row["after_start"], row["after_end"]) == (t(f"{day} 00:00"), t(f"{day} 08:00"))
    assert row["minutes_change"] == real_hours * 60  # real minutes, not the wall clock's eight hours
    assert impact.before.is_empty() and impact.after.height == 1
    # and undoing the edit closes it again, by the same real length
    back = edit_impact(after, before, t(f"{eve} 20:00"), t(f"{day} 20:00"))
    assert back.sentences == (f"closes the gap Sun 00:00-08:00 for sio ({when})",)
    assert back.effects.row(0, named=True)["minutes_change"] == -real_hours * 60


def test_moving_shortening_lengthening_and_deepening_a_gap() -> None:
    day = "2026-06-06"  # a Saturday in summer
    base = rota([("a", f"{day} 00:00", f"{day} 10:00"), ("b", f"{day} 12:00", f"{day} 23:00")])
    lo, hi = t(f"{day} 00:00"), t(f"{day} 23:00")

    def effect(shifts: list[tuple[str, str, str]]) -> tuple[str, ...]:
        return edit_impact(base, with_shifts(base, shifts), lo, hi).sentences

    later_b = [("a", f"{day} 00:00", f"{day} 10:00"), ("b", f"{day} 13:00", f"{day} 23:00")]
    assert effect(later_b) == ("lengthens the gap Sat 10:00-12:00 for sio to Sat 10:00-13:00 (06/06/2026)",)
    earlier_b = [("a", f"{day} 00:00", f"{day} 10:00"), ("b", f"{day} 11:00", f"{day} 23:00")]
    assert effect(earlier_b) == ("shortens the gap Sat 10:00-12:00 for sio to Sat 10:00-11:00 (06/06/2026)",)
    moved = [("a", f"{day} 00:00", f"{day} 11:00"), ("b", f"{day} 13:00", f"{day} 23:00")]
    assert effect(moved) == ("moves the gap Sat 10:00-12:00 for sio to Sat 11:00-13:00 (06/06/2026)",)
    # two needed: the same hours short, but with fewer on duty in them
    two = Rule("sio", "sio", 2, ("jar",), "0-15")
    pair = replace(base, rules=(two,))
    both = with_shifts(pair, [("a", f"{day} 00:00", f"{day} 23:00"), ("b", f"{day} 00:00", f"{day} 23:00")])
    one = with_shifts(pair, [("a", f"{day} 00:00", f"{day} 23:00")])
    none = with_shifts(pair, [])
    assert edit_impact(one, none, lo, hi).sentences == (
        "deepens the gap Sat 00:00-23:00 for sio: 0 of 2 qualified, was 1 (06/06/2026)",
    )
    assert edit_impact(none, one, lo, hi).sentences == (
        "eases the gap Sat 00:00-23:00 for sio: 1 of 2 qualified, was 0 (06/06/2026)",
    )
    assert edit_impact(both, both, lo, hi).sentences == ()


# ------------------------------------------------------------------------------------------- availability


def test_availability_judges_training_leave_duty_and_real_hours_of_rest_across_the_clock_change() -> None:
    # The gap: Sun 29/03/2026 00:00 GMT to 04:00 BST, three real hours over the skipped hour.
    start, end = t("2026-03-29 00:00"), t("2026-03-29 04:00")
    lapsed = date(2026, 3, 28)
    r = rota(
        [
            ("rested", "2026-03-28 02:00", "2026-03-28 13:00"),  # 11 h before the gap
            ("rested", "2026-03-29 15:00", "2026-03-29 20:00"),  # 11 h after it (both BST)
            ("tired", "2026-03-28 14:30", "2026-03-28 23:00"),  # 1 h before
            ("short", "2026-03-29 14:30", "2026-03-29 20:00"),  # 10.5 h after 04:00 BST
            ("busy", "2026-03-28 23:00", "2026-03-29 03:00"),  # on duty in the gap
            ("away", "2026-03-20 08:00", "2026-03-20 09:00"),
            ("lapsed", "2026-03-20 08:00", "2026-03-20 09:00"),
        ],
        training=[
            (who, "jar", date(2020, 1, 1), lapsed if who == "lapsed" else None)
            for who in ("rested", "tired", "short", "busy", "away", "lapsed")
        ],
        absences=[("away", "2026-03-28 20:00", "2026-03-29 12:00")],
    )
    found = candidates(r, SIO, (start, end))
    assert found.schema == pl.Schema(AVAILABILITY_SCHEMA)
    why = dict(found.select("responder_id", "reason").iter_rows())
    assert why["rested"] is None
    assert why["tired"] == "only 1.0 h rest after the shift ending 28/03/2026 23:00 GMT (needs 11 h)"
    assert why["short"] == "only 10.5 h rest before the shift starting 29/03/2026 14:30 BST (needs 11 h)"
    assert why["busy"] == "already on duty during the gap"
    assert why["away"] == "absent (leave) during the gap"
    assert why["lapsed"] == "not trained (jar) through the whole gap"
    assert found.get_column("responder_id").to_list()[0] == "rested"  # free ones first
    free = free_only(found)
    assert free.get_column("responder_id").to_list() == ["rested"]
    assert free.row(0, named=True)["rest_before_hours"] == 11  # 13:00 to 00:00 GMT
    assert free.row(0, named=True)["rest_after_hours"] == 11  # 04:00 to 15:00 BST
    assert "free" not in free.columns and "reason" not in free.columns
    assert candidates(r, SIO, (start, end), agency="Elsewhere").is_empty()


def test_availability_needs_an_aware_gap_and_finds_rules_by_id() -> None:
    r = rota([("a", "2026-06-01 08:00", "2026-06-01 20:00")])
    with pytest.raises(ValueError):
        candidates(r, SIO, (t("2026-06-01 08:00").replace(tzinfo=None), t("2026-06-01 09:00")))
    with pytest.raises(ValueError):
        candidates(r, SIO, (t("2026-06-01 09:00"), t("2026-06-01 08:00")))
    assert find_rule(r, "sio") == SIO and find_rule(r, "nobody") is None
