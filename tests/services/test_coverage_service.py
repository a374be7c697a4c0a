"""The coverage service on a small hand-built rota stored in SQLite, every number worked out by hand.

The rota runs over the autumn clock change (Sunday 25 October 2026: 01:00-02:00 happens twice):

- S1 (jar, jar-16-17): Sat 24/10 00:00 BST to Sun 25/10 00:00 BST; Mon 26/10 09:00-17:00 GMT.
- S2 (jar; jar-16-17 from Mon 26/10): Sun 25/10 00:00 BST to Mon 26/10 00:00 GMT (25 real hours), absent
  01:30 BST to 01:30 GMT (one real hour); Mon 26/10 08:00-12:00 GMT.
- S3 (jar until Sun 25/10 inclusive): Mon 06:00-10:30 and 10:30-14:00, absent Mon 13:00-15:00.

Rules: `sio` (jar, 0-15), `sio-16-17` (jar + jar-16-17, 16-17), `sio-day` (two, Mon-Fri 09:00-17:00).
The period Sat 24/10 to Mon 26/10 has 24 + 25 + 24 = 73 hours.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
import pytest
from sqlalchemy import Engine

from rota.errors import InputError, PermissionDenied
from rota.model import Rota, conform
from rota.rules import make_rule
from rota.services.access import Actor
from rota.services.coverage import (
    bank_holidays,
    build_report,
    cover_now,
    coverage_report,
    data_version,
    default_period,
    make_period,
    on_now,
)
from rota.storage.db import init_db
from rota.storage.imports import import_rota
from rota.timeutil import SERVICE_TZ, parse_instant

ADMIN = Actor("admin-user", "admin")
MANAGER = Actor("manager", "cdop_manager")
COORDINATOR = Actor("coord", "coordinator", agency="Vale Police")
COMMISSIONER = Actor("icb", "commissioner")

SAT, SUN, MON = date(2026, 10, 24), date(2026, 10, 25), date(2026, 10, 26)


def t(text: str) -> datetime:
    return parse_instant(text, SERVICE_TZ)


def _rota() -> Rota:
    responders = pl.DataFrame(
        {
            "responder_id": ["S1", "S2", "S3"],
            "name": ["DI Ada Testwood", "DS Bo Mockford", "DC Cal Sampleton"],
            "role": ["sio", "sio", "sio"],
            "agency": ["Vale Police"] * 3,
            "email": ["ada@example.org", "bo@example.org", None],
            "active": [True, True, True],
        }
    )
    training = pl.DataFrame(
        {
            "responder_id": ["S1", "S1", "S2", "S2", "S3"],
            "competency": ["jar", "jar-16-17", "jar", "jar-16-17", "jar"],
            "valid_from": [date(2025, 1, 1), date(2025, 1, 1), date(2025, 1, 1), MON, date(2023, 10, 26)],
            "valid_until": [None, None, None, None, SUN],
        }
    )
    shifts = [
        ("a", "S1", "2026-10-24T00:00+01:00", "2026-10-25T00:00+01:00"),
        ("b", "S2", "2026-10-25T00:00+01:00", "2026-10-26T00:00+00:00"),
        ("c", "S1", "2026-10-26T09:00+00:00", "2026-10-26T17:00+00:00"),
        ("d", "S2", "2026-10-26T08:00+00:00", "2026-10-26T12:00+00:00"),
        ("e", "S3", "2026-10-26T06:00+00:00", "2026-10-26T10:30+00:00"),
        ("f", "S3", "2026-10-26T10:30+00:00", "2026-10-26T14:00+00:00"),
    ]
    absences = [
        ("S2", "2026-10-25T01:30+01:00", "2026-10-25T01:30+00:00", "leave"),
        ("S3", "2026-10-26T13:00+00:00", "2026-10-26T15:00+00:00", "training"),
    ]
    rules = (
        make_rule({"id": "sio", "role": "sio", "competencies": ["jar"], "age_band": "0-15"}),
        make_rule(
            {"id": "sio-16-17", "role": "sio", "competencies": ["jar", "jar-16-17"], "age_band": "16-17"}
        ),
        make_rule(
            {
                "id": "sio-day",
                "role": "sio",
                "min_count": 2,
                "competencies": ["jar"],
                "age_band": "0-17",
                "windows": ["Mon-Fri 09:00-17:00"],
            }
        ),
    )
    return Rota(
        responders=conform("responders", responders),
        training=conform("training", training),
        shifts=conform(
            "shifts",
            pl.DataFrame(
                {
                    "shift_id": [s[0] for s in shifts],
                    "responder_id": [s[1] for s in shifts],
                    "start": [t(s[2]) for s in shifts],
                    "end": [t(s[3]) for s in shifts],
                    "kind": ["oncall"] * len(shifts),
                }
            ),
        ),
        absences=conform(
            "absences",
            pl.DataFrame(
                {
                    "responder_id": [a[0] for a in absences],
                    "start": [t(a[1]) for a in absences],
                    "end": [t(a[2]) for a in absences],
                    "reason": [a[3] for a in absences],
                }
            ),
        ),
        rules=rules,
    )


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    eng = init_db(f"sqlite:///{tmp_path / 'rota.db'}")
    import_rota(eng, _rota(), actor="test", source="test")
    try:
        yield eng
    finally:
        eng.dispose()


def _rule(report_rules: pl.DataFrame, rule_id: str) -> dict[str, object]:
    rows = report_rules.filter(pl.col("rule_id") == rule_id).to_dicts()
    assert len(rows) == 1
    return rows[0]


def _cell(heat: pl.DataFrame, rule_id: str, day: date, hour: int) -> dict[str, object]:
    rows = heat.filter((pl.col("rule_id") == rule_id) & (pl.col("day") == day) & (pl.col("hour") == hour))
    assert rows.height == 1
    return rows.to_dicts()[0]


# ---------------------------------------------------------------------------------------------- periods


def test_period_is_whole_local_days_with_real_hours() -> None:
    p = make_period(SAT, MON)
    assert (p.days, p.hours) == (3, 73)
    assert p.start == datetime(2026, 10, 23, 23, tzinfo=UTC)  # Sat 00:00 BST
    assert p.end == datetime(2026, 10, 27, 0, tzinfo=UTC)  # Tue 00:00 GMT


def test_default_period_is_the_next_28_days() -> None:
    p = default_period(date(2026, 11, 25))
    assert (p.first, p.last, p.days) == (date(2026, 11, 25), date(2026, 12, 22), 28)


def test_bad_periods_are_refused_with_a_message() -> None:
    with pytest.raises(InputError, match="before the start date 26/10/2026"):
        make_period(MON, SAT)
    with pytest.raises(InputError, match="at most 366 days"):
        make_period(date(2026, 1, 1), date(2027, 1, 2))


# ---------------------------------------------------------------------------------------------- summary


def test_share_covered_and_gaps_per_rule(engine: Engine) -> None:
    report = coverage_report(engine, MANAGER, SAT, MON)
    assert report.rules["rule_id"].to_list() == ["sio", "sio-16-17", "sio-day"]

    sio = _rule(report.rules, "sio")
    # gaps: Sun 01:30 BST-01:30 GMT (1 h, S2 absent), Mon 00:00-08:00 (8 h), Mon 17:00-24:00 (7 h)
    assert sio["window_hours"] == 73
    assert sio["gap_count"] == 3
    assert sio["gap_hours"] == 16
    assert sio["covered_hours"] == 57
    assert sio["share_covered"] == pytest.approx(57 / 73)
    assert sio["longest_gap_hours"] == 8

    teen = _rule(report.rules, "sio-16-17")
    # S2 counts only from Monday: one gap Sun 00:00 BST to Mon 08:00 GMT (25 + 8 h), then Mon 17:00-24:00
    assert (teen["gap_count"], teen["gap_hours"], teen["longest_gap_hours"]) == (2, 40, 33)
    assert teen["share_covered"] == pytest.approx(33 / 73)

    day = _rule(report.rules, "sio-day")
    # the window is Mon 09:00-17:00; two are needed; S2 leaves at 12:00 (S3's JAR lapsed on Sunday)
    assert (day["window_hours"], day["covered_hours"], day["gap_hours"], day["gap_count"]) == (8, 3, 5, 1)
    assert day["share_covered"] == pytest.approx(3 / 8)
    assert day["windows"] == "Mon-Fri 09:00-17:00"
    assert day["label"] == "SIO 0-17, Mon-Fri 09:00-17:00, 2 needed"


def test_16_17_beside_0_15(engine: Engine) -> None:
    pairs = coverage_report(engine, MANAGER, SAT, MON).pairs
    assert pairs.height == 1
    row = pairs.row(0, named=True)
    assert (row["role"], row["rule_0_15"], row["rule_16_17"]) == ("sio", "sio", "sio-16-17")
    assert (row["gap_count_0_15"], row["gap_count_16_17"]) == (3, 2)
    assert row["difference_points"] == pytest.approx((33 - 57) / 73 * 100)


def test_gap_list_in_local_time(engine: Engine) -> None:
    found = coverage_report(engine, MANAGER, SAT, MON).gaps
    sio = found.filter(pl.col("rule_id") == "sio")
    assert sio["start_local"].to_list() == [
        "25/10/2026 01:30 BST",
        "26/10/2026 00:00 GMT",
        "26/10/2026 17:00 GMT",
    ]
    assert sio["end_local"].to_list() == [
        "25/10/2026 01:30 GMT",
        "26/10/2026 08:00 GMT",
        "27/10/2026 00:00 GMT",
    ]
    assert sio["duration"].to_list() == ["1h 00m", "8h 00m", "7h 00m"]
    assert sio["weekday"].to_list() == ["Sun", "Mon", "Mon"]
    assert sio["minutes"].to_list() == [60, 480, 420]
    assert sio["bank_holiday"].to_list() == ["", "", ""]
    day = found.filter(pl.col("rule_id") == "sio-day").row(0, named=True)
    assert (day["required"], day["available"], day["start_local"]) == (2, 1, "26/10/2026 12:00 GMT")


def test_the_report_says_where_the_stored_rota_stops(engine: Engine) -> None:
    report = coverage_report(engine, MANAGER, SAT, MON)
    assert report.shift_count == 6
    assert report.last_shift_end == t("2026-10-26 17:00")
    assert not report.uncovered_tail  # only Monday evening is after the last shift
    longer = coverage_report(engine, MANAGER, SAT, date(2026, 10, 30))
    assert longer.uncovered_tail


# ---------------------------------------------------------------------------------------------- heatmap


def test_heatmap_merges_the_repeated_autumn_hour(engine: Engine) -> None:
    heat = coverage_report(engine, MANAGER, SAT, MON).heatmap
    assert heat.height == 3 * 3 * 24  # rules x days x hours of the day
    # 01 on Sunday holds 01:00 BST (gap from 01:30: 30 min) and 01:00 GMT (gap to 01:30: 30 min)
    cell = _cell(heat, "sio", SUN, 1)
    assert (cell["real_minutes"], cell["gap_minutes"], cell["share_in_gap"]) == (120, 60, 0.5)
    assert cell["clock_change"].startswith("clocks go back")
    assert _cell(heat, "sio", SUN, 0)["gap_minutes"] == 0
    sunday = heat.filter((pl.col("rule_id") == "sio") & (pl.col("day") == SUN))
    assert sunday["real_minutes"].sum() == 25 * 60
    assert sunday["gap_minutes"].sum() == 60
    # Monday: 00:00-08:00 and 17:00-24:00 uncovered
    monday = heat.filter((pl.col("rule_id") == "sio") & (pl.col("day") == MON)).sort("hour")
    assert monday["gap_minutes"].to_list() == [60.0] * 8 + [0.0] * 9 + [60.0] * 7
    # 16-17: all of Sunday (25 h) in gap
    teen_sunday = heat.filter((pl.col("rule_id") == "sio-16-17") & (pl.col("day") == SUN))
    assert teen_sunday["gap_minutes"].sum() == 25 * 60
    assert _cell(heat, "sio-16-17", SUN, 1)["share_in_gap"] == 1.0
    # the windowed rule does not apply outside Mon 09:00-17:00: no share there
    assert _cell(heat, "sio-day", MON, 8)["share_in_gap"] is None
    assert _cell(heat, "sio-day", SAT, 12)["share_in_gap"] is None
    assert _cell(heat, "sio-day", MON, 11)["share_in_gap"] == 0
    assert _cell(heat, "sio-day", MON, 12)["share_in_gap"] == 1.0


def test_heatmap_leaves_the_missing_spring_hour_blank() -> None:
    rota = Rota(rules=(make_rule({"id": "sio", "role": "sio", "age_band": "0-15"}),))
    period = make_period(date(2026, 3, 28), date(2026, 3, 30))
    report = build_report(rota, period)
    assert period.hours == 24 + 23 + 24
    heat = report.heatmap
    missing = _cell(heat, "sio", date(2026, 3, 29), 1)
    assert (missing["real_minutes"], missing["gap_minutes"], missing["share_in_gap"]) == (0, 0, None)
    assert missing["clock_change"].startswith("clocks go forward")
    assert _cell(heat, "sio", date(2026, 3, 29), 2)["share_in_gap"] == 1.0
    assert heat["gap_minutes"].sum() == 71 * 60
    row = report.rules.row(0, named=True)
    assert (row["window_hours"], row["gap_hours"], row["share_covered"], row["gap_count"]) == (71, 71, 0, 1)
    assert report.shift_count == 0


# ---------------------------------------------------------------------------------------------- bank holidays


def test_bank_holidays_as_gov_uk_lists_them() -> None:
    found = bank_holidays(date(2026, 12, 24), date(2027, 1, 1))
    # Boxing Day 2026 is a Saturday: the bank holiday is the Monday after
    assert found.rows() == [
        (date(2026, 12, 25), "Christmas Day"),
        (date(2026, 12, 28), "Boxing Day (substitute day)"),
        (date(2027, 1, 1), "New Year's Day"),
    ]


def test_gaps_on_bank_holidays_are_marked() -> None:
    rota = Rota(rules=(make_rule({"id": "sio", "role": "sio", "age_band": "0-15"}),))
    report = build_report(rota, make_period(date(2026, 12, 24), date(2026, 12, 25)))
    assert report.bank_holidays.rows() == [(date(2026, 12, 25), "Christmas Day")]
    assert report.gaps["bank_holiday"].to_list() == ["Christmas Day"]
    plain = build_report(rota, make_period(date(2026, 12, 22), date(2026, 12, 23)))
    assert plain.gaps["bank_holiday"].to_list() == [""]


# ---------------------------------------------------------------------------------------------- now


def test_on_now_lists_who_is_on_duty_with_contact_details(engine: Engine) -> None:
    now = on_now(engine, COORDINATOR, t("2026-10-26 10:00"))
    rows = {r["responder_id"]: r for r in now.to_dicts()}
    assert list(rows) == ["S1", "S2", "S3"]  # qualified first, then by name
    assert rows["S1"]["name"] == "DI Ada Testwood"
    assert rows["S1"]["email"] == "ada@example.org"
    assert rows["S1"]["until_local"] == "26/10/2026 17:00 GMT"
    assert rows["S1"]["counts_for"] == "sio, sio-16-17, sio-day"
    assert (rows["S2"]["jar"], rows["S2"]["jar_16_17"], rows["S2"]["until_local"]) == (
        True,
        True,
        "26/10/2026 12:00 GMT",
    )
    # S3: on shift but the JAR lapsed; shifts 06:00-10:30 and 10:30-14:00 join up, cut by the 13:00 absence
    assert (rows["S3"]["qualified"], rows["S3"]["jar"], rows["S3"]["counts_for"]) == (False, False, "")
    assert rows["S3"]["until_local"] == "26/10/2026 13:00 GMT"


def test_on_now_leaves_out_the_absent(engine: Engine) -> None:
    # 01:45 BST on Sunday: S2 is on shift but absent until 01:30 GMT; S1's shift has ended
    assert on_now(engine, ADMIN, t("2026-10-25T01:45+01:00")).is_empty()
    back = on_now(engine, ADMIN, t("2026-10-25T01:45+00:00"))
    assert back["responder_id"].to_list() == ["S2"]
    assert back["until_local"].to_list() == ["26/10/2026 00:00 GMT"]


def test_commissioners_get_counts_but_no_names(engine: Engine) -> None:
    with pytest.raises(PermissionDenied):
        on_now(engine, COMMISSIONER, t("2026-10-26 10:00"))
    counts = cover_now(engine, COMMISSIONER, t("2026-10-26 13:00"))
    assert set(counts.columns) == {
        "rule_id",
        "label",
        "role",
        "age_band",
        "required",
        "available",
        "in_window",
        "covered",
    }
    by_rule = {r["rule_id"]: (r["available"], r["required"], r["covered"]) for r in counts.to_dicts()}
    assert by_rule == {"sio": (1, 1, True), "sio-16-17": (1, 1, True), "sio-day": (1, 2, False)}
    # the report is aggregate: commissioners may read it, and it names nobody
    report = coverage_report(engine, COMMISSIONER, SAT, MON)
    for frame in (report.rules, report.pairs, report.gaps, report.heatmap):
        text = frame.write_csv()
        assert "Testwood" not in text and "example.org" not in text


def test_cover_now_outside_a_window(engine: Engine) -> None:
    counts = cover_now(engine, MANAGER, t("2026-10-26 08:30"))
    day = counts.filter(pl.col("rule_id") == "sio-day").row(0, named=True)
    assert (day["in_window"], day["covered"]) == (False, True)


def test_data_version_moves_with_every_change(engine: Engine) -> None:
    before = data_version(engine)
    assert before > 0
    rota = _rota()
    rota = Rota(
        responders=rota.responders.with_columns(
            pl.when(pl.col("responder_id") == "S3")
            .then(pl.lit("dc.cal@example.org"))
            .otherwise(pl.col("email"))
            .alias("email")
        ),
        training=rota.training,
        shifts=rota.shifts,
        absences=rota.absences,
        rules=rota.rules,
    )
    import_rota(engine, rota, actor="test", source="test")
    assert data_version(engine) > before
