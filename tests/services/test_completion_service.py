"""The completion service on a small hand-built set of cases and a rota stored in the database: exact
figures for the CDOP manager, suppressed ones for commissioners, refusals for coordinators.

Cases (local time, 2026, all meeting the JAR criteria unless said):

- January: six, while one trained responder of every role is on duty (1 January to 5 February:
  covered); C-01 to C-05 fully completed, C-06 not (no home visit, paediatrician after 6 hours: "home
  visit not done").
- February and March: six, no shifts stored then (uncovered); C-07 and C-08 fully completed, C-09 to
  C-12 not ("no paediatrician on call", C-12 without a reason).
- April: three, uncovered, none fully completed ("no paediatrician on call").
- C-99 (March) does not meet the JAR criteria.

Ages: 16-year-olds are C-02, C-07, C-09 and C-13; C-03 is 15; infants C-04 (10 days) and C-10 (100 days).
In hours (Mon-Fri 09:00-17:00): C-01, C-02, C-07, C-13; the rest are evenings or weekends.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pytest
from sqlalchemy import Engine

from rota.analytics.cases import parse_cases
from rota.analytics.completion import completion
from rota.errors import PermissionDenied
from rota.model import Rota, conform
from rota.services.access import Actor
from rota.services.completion import (
    BY_SUPPRESSED,
    CASE_TABLE_SCHEMA,
    DEFAULT_TARGET,
    TOTAL,
    build_view,
    case_table,
    completion_table,
    completion_view,
    periods_for,
    settings_from,
)
from rota.storage.db import init_db
from rota.storage.imports import import_cases, import_rota
from rota.storage.rota import load_rota
from rota.storage.settings import write_setting
from rota.timeutil import SERVICE_TZ, parse_instant

ADMIN = Actor("admin-user", "admin")
MANAGER = Actor("manager", "cdop_manager")
COORDINATOR = Actor("coord", "coordinator", agency="Vale Police")
COMMISSIONER = Actor("icb", "commissioner")

HEADER = (
    "case_id,notified_at,age_years,age_days,jar_criteria_met,jar_triggered,paediatrician_at,police_at,"
    "home_visit_at,planning_meeting_at,ncmd_notified_at,category,reason_incomplete"
)


def _row(
    cid: str, at: str, age: int, days: int | None = None, *, full: bool, reason: str = "", met: bool = True
) -> str:
    t = parse_instant(at, SERVICE_TZ)

    def later(hours: float) -> str:
        return (t + timedelta(hours=hours)).astimezone(UTC).isoformat()

    paediatrician = later(1 if full else 6)
    home = later(5) if full else ""
    return ",".join(
        [
            cid,
            t.isoformat(),
            str(age),
            "" if days is None else str(days),
            "yes" if met else "no",
            "yes",
            paediatrician,
            later(1),
            home,
            later(20),
            later(2),
            "SUDI" if age == 0 else "trauma",
            reason,
        ]
    )


ROWS = [
    _row("C-01", "2026-01-06 10:00", 3, full=True),  # Tue, in hours
    _row("C-02", "2026-01-07 11:00", 16, full=True),  # Wed, in hours
    _row("C-03", "2026-01-10 22:00", 15, full=True),  # Sat
    _row("C-04", "2026-01-13 20:00", 0, 10, full=True),
    _row("C-05", "2026-01-17 03:00", 7, full=True),  # Sat
    _row("C-06", "2026-01-20 23:00", 12, full=False, reason="home visit not done"),
    _row("C-07", "2026-02-10 14:00", 16, full=True),  # Tue, in hours
    _row("C-08", "2026-02-07 21:00", 2, full=True),  # Sat
    _row("C-09", "2026-02-14 22:00", 16, full=False, reason="no paediatrician on call"),
    _row("C-10", "2026-02-21 07:00", 0, 100, full=False, reason="no paediatrician on call"),
    _row("C-11", "2026-03-07 19:00", 9, full=False, reason="no paediatrician on call"),
    _row("C-12", "2026-03-14 18:30", 13, full=False),
    _row("C-99", "2026-03-20 18:30", 13, full=False, met=False),
    _row("C-13", "2026-04-07 10:00", 16, full=False, reason="no paediatrician on call"),  # Tue
    _row("C-14", "2026-04-11 22:00", 4, full=False, reason="no paediatrician on call"),
    _row("C-15", "2026-04-18 22:00", 11, full=False, reason="no paediatrician on call"),
]
AFTER_2026 = datetime(2027, 2, 1, tzinfo=UTC)  # "now" once every case's quarter and year has ended
CASES = parse_cases(("\n".join([HEADER, *ROWS]) + "\n").encode())


def _rota() -> Rota:
    ids = ["P1", "S1", "A1"]
    start = parse_instant("2026-01-01 00:00", SERVICE_TZ)
    return Rota(
        responders=conform(
            "responders",
            pl.DataFrame(
                {
                    "responder_id": ids,
                    "name": ["A P", "B S", "C A"],
                    "role": ["paediatrician", "sio", "ambulance"],
                }
            ),
        ),
        training=conform(
            "training",
            pl.DataFrame(
                {
                    "responder_id": ids * 2,
                    "competency": ["jar"] * 3 + ["jar-16-17"] * 3,
                    "valid_from": [date(2025, 1, 1)] * 6,
                }
            ),
        ),
        shifts=conform(
            "shifts",
            pl.DataFrame(
                {
                    "shift_id": [f"{i}-{w}" for i in ids for w in range(5)],
                    "responder_id": [i for i in ids for _ in range(5)],
                    "start": [start + timedelta(days=7 * w) for _ in ids for w in range(5)],
                    "end": [start + timedelta(days=7 * w + 7) for _ in ids for w in range(5)],
                }
            ),
        ),
    )


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = init_db(db_url)
    import_rota(eng, _rota(), actor="test", source="test")
    import_cases(eng, CASES, actor="test", source="test")
    try:
        yield eng
    finally:
        eng.dispose()


def rows(df: pl.DataFrame, **where: str) -> pl.DataFrame:
    for column, value in where.items():
        df = df.filter(pl.col(column) == value)
    return df


def one(df: pl.DataFrame, **where: str) -> dict[str, object]:
    found = rows(df, **where)
    assert found.height == 1, where
    return found.row(0, named=True)


# ---------------------------------------------------------------------------------------------- exact


def test_the_manager_sees_exact_counts_matching_the_completion_measures(engine: Engine) -> None:
    view = completion_view(engine, MANAGER, "quarter")
    assert not view.suppressed
    assert view.cases == 15 and view.cases_shown == "15"
    assert view.periods == ("2026-Q1", "2026-Q2")
    rota = load_rota(engine)
    for split in ("none", "hours", "age_band", "coverage"):
        expected = completion(CASES, "quarter", split, rota if split == "coverage" else None)
        got = completion_table(engine, MANAGER, "quarter", split)
        assert got.select(expected.columns).equals(expected), split
        assert got["numerator_shown"].to_list() == [str(v) for v in expected["numerator"]]
        assert not got["suppressed"].any()
    q2 = one(view.table, period="2026-Q2", split="all", measure="paediatrician")
    assert (q2["numerator"], q2["denominator"], q2["numerator_shown"]) == (0, 3, "0")
    assert view.first_notified == parse_instant("2026-01-06 10:00", SERVICE_TZ)
    assert view.last_notified == parse_instant("2026-04-18 22:00", SERVICE_TZ)


def test_months_and_years_roll_up_to_the_same_totals(engine: Engine) -> None:
    view = completion_view(engine, ADMIN, "month")
    assert view.periods == ("2026-01", "2026-02", "2026-03", "2026-04")
    dens = rows(view.table, split="all", measure="fully_completed")["denominator"].to_list()
    assert dens == [6, 4, 2, 3]
    year = one(view.at("year").table, split="all", measure="fully_completed")
    assert (year["numerator"], year["denominator"]) == (7, 15)
    total = one(view.overall, split="all", measure="fully_completed")
    assert (total["period"], total["numerator"], total["denominator"]) == (TOTAL, 7, 15)


def test_16_17_beside_the_age_bands_and_in_hours_against_out_of_hours(engine: Engine) -> None:
    overall = completion_view(engine, MANAGER).overall
    den = {s: one(overall, split=s, measure="jar_triggered")["denominator"] for s in ("15-17", "16-17")}
    assert den == {"15-17": 5, "16-17": 4}
    assert one(overall, split="0-27d", measure="jar_triggered")["denominator"] == 1
    assert one(overall, split="28-364d", measure="jar_triggered")["denominator"] == 1
    hours = {s: one(overall, split=s, measure="fully_completed") for s in ("in_hours", "out_of_hours")}
    assert (hours["in_hours"]["numerator"], hours["in_hours"]["denominator"]) == (3, 4)
    assert (hours["out_of_hours"]["numerator"], hours["out_of_hours"]["denominator"]) == (4, 11)


def test_the_cross_tab_puts_the_incomplete_responses_in_the_rotas_gaps(engine: Engine) -> None:
    x = completion_view(engine, MANAGER).crosstab
    assert x["split"].to_list() == ["covered", "uncovered", "all"]
    got = {r["split"]: (r["completed"], r["not_completed"], r["cases"]) for r in x.iter_rows(named=True)}
    assert got == {"covered": (5, 1, 6), "uncovered": (2, 7, 9), "all": (7, 8, 15)}
    assert one(x, split="uncovered")["share_not_completed"] == pytest.approx(7 / 9)


def test_reasons_most_frequent_first_and_not_recorded_last(engine: Engine) -> None:
    # Reasons are counted by category (docs/cases.md), never by their free text, for every role.
    reasons = completion_view(engine, MANAGER).reasons
    assert reasons.select("reason", "cases").rows() == [
        ("No trained responder available (gap in the rota)", 6),  # "no paediatrician on call"
        ("Other", 1),  # "home visit not done"
        ("Not recorded", 1),
    ]


def test_spc_per_measure_with_targets(engine: Engine) -> None:
    view = completion_view(engine, MANAGER, "month")
    spc = {s.measure: s for s in view.spc}
    full = spc["fully_completed"]
    assert full.drawn and full.points["period"].to_list() == ["2026-01", "2026-02", "2026-03", "2026-04"]
    assert full.points["rate"].to_list() == pytest.approx([5 / 6, 2 / 4, 0, 0])
    assert full.mean == pytest.approx(7 / 15)
    assert full.target == DEFAULT_TARGET
    assert full.variation_icon is not None and full.variation_text is not None
    assert full.assurance_icon in ("consistent_fail", "inconsistent")
    assert spc["jar_triggered"].points["rate"].to_list() == [1.0] * 4
    # one year is one point: too few for a chart
    assert not next(s for s in view.at("year").spc if s.measure == "police").drawn


# ---------------------------------------------------------------------------------------------- suppressed


def test_commissioners_see_small_counts_as_under_five_and_no_hidden_numbers(engine: Engine) -> None:
    # Commissioners get whole quarters and years that have ended, no months and no running total
    # (docs/methods.md): compared here once 2026 is over.
    exact = completion_view(engine, MANAGER, "quarter").levels.filter(
        pl.col("level").is_in(["quarter", "year"])
    )
    view = completion_view(engine, COMMISSIONER, "quarter", now=AFTER_2026)
    assert view.suppressed and view.threshold == 5 and view.primary_mark == "<5"
    assert view.first_notified is None and view.last_notified is None
    assert view.stored_cases is None and view.any_stored  # the exact number of cases is not passed on
    got = view.levels
    assert got.select("period", "split", "measure").equals(exact.select("period", "split", "measure"))
    q2 = one(view.table, period="2026-Q2", split="all", measure="paediatrician")
    assert q2["denominator_shown"] == "<5" and q2["numerator_shown"] in ("0", "*")
    assert q2["denominator"] is None and q2["rate"] is None
    for c in ("numerator", "denominator", "not_met"):
        marks = got[f"{c}_shown"]
        hidden = marks.is_in(["<5", "*"])
        assert got.filter(hidden)[c].is_null().all(), c  # a hidden count is not in the frame at all
        assert got.filter(hidden)["rate"].is_null().all() or c == "not_met"
        shown = got.filter(marks.is_not_null() & ~hidden)
        assert shown[c].cast(pl.String).equals(shown[f"{c}_shown"])
        assert not shown[c].is_between(1, 4).any(), c  # nothing from 1 to 4 in plain sight
        # what is shown is the truth
        truth = exact.join(
            shown.select("period", "split", "measure", pl.col(c).alias("_v")),
            on=["period", "split", "measure"],
        )
        assert truth[c].equals(truth["_v"], check_names=False)
    assert got.filter(pl.col("numerator_shown") == "<5").height > 0
    assert got.filter(pl.col("numerator_shown") == "*").height > 0


def test_no_small_count_is_the_only_hidden_cell_of_its_partition(engine: Engine) -> None:
    got = completion_view(engine, COMMISSIONER, "quarter", now=AFTER_2026).levels
    exact = completion_view(engine, MANAGER, "quarter").levels
    groups = [("all", "in_hours", "out_of_hours"), ("all", "covered", "uncovered")]
    for c in ("numerator", "denominator"):
        for (period, measure), frame in got.group_by("period", "measure"):
            marks = dict(frame.select("split", f"{c}_shown").iter_rows())
            for group in groups:
                hidden = [s for s in group if marks[s] in ("<5", "*")]
                if len(hidden) == 1:
                    # a lone "*" may only be a 0 (hidden as part of a small total's breakdown, now that
                    # the not-completed counts are published per period): working it out finds nobody
                    value = one(exact, level="quarter", period=period, split=hidden[0], measure=measure)[c]
                    assert marks[hidden[0]] == "*" and value == 0, (c, period, measure, group, marks)


def test_commissioner_spc_leaves_out_periods_with_hidden_counts(engine: Engine) -> None:
    view = completion_view(engine, COMMISSIONER, "quarter")
    for spc in view.spc:
        assert "2026-Q2" in spc.left_out  # three cases: the denominator is "<5"
        assert not spc.drawn  # one quarter left is too few for a chart
    assert completion_view(engine, MANAGER, "quarter").spc[0].drawn


def test_commissioners_get_quarters_and_years_not_months_nor_cases(engine: Engine) -> None:
    assert periods_for(COMMISSIONER) == BY_SUPPRESSED
    with pytest.raises(PermissionDenied, match="monthly"):
        completion_view(engine, COMMISSIONER, "month")
    with pytest.raises(ValueError, match="quarter, year"):
        completion_view(engine, COMMISSIONER, "quarter").at("month")
    with pytest.raises(PermissionDenied, match="case-level"):
        case_table(engine, COMMISSIONER)


def test_the_cross_tab_and_reasons_are_suppressed_for_commissioners(engine: Engine) -> None:
    view = completion_view(engine, COMMISSIONER, now=AFTER_2026)
    assert (view.overall_level, view.overall_period) == ("year", "2026")  # the latest whole year
    covered = one(view.crosstab, split="covered")
    # 6 cases, 5 completed, 1 not: the 1 is hidden, and so is the 5 (6 - 5 would give it away)
    assert covered["cases_shown"] == "6"
    assert covered["completed_shown"] in ("<5", "*") and covered["not_completed_shown"] in ("<5", "*")
    assert covered["completed"] is None and covered["not_completed"] is None
    assert covered["share_not_completed"] is None
    # 6 + 1 + 1 = 8 not fully completed: with the 6 shown, two "<5" adding up to 2 would both be 1
    # reasons by category only, never the free text (docs/cases.md)
    reasons = dict(view.reasons.select("reason", "cases_shown").iter_rows())
    assert reasons == {
        "No trained responder available (gap in the rota)": "*",
        "Other": "<5",
        "Not recorded": "<5",
    }
    assert view.reasons["cases"].is_null().all()


def test_suppression_is_the_same_every_time(engine: Engine) -> None:
    a = completion_view(engine, COMMISSIONER, "quarter")
    b = completion_view(engine, COMMISSIONER, "year")
    assert a.levels.equals(b.levels)
    assert a.levels.equals(completion_view(engine, COMMISSIONER, "quarter").levels)


def test_the_threshold_and_targets_come_from_the_settings(engine: Engine) -> None:
    write_setting(engine, "suppression_threshold", "3", actor="test")
    write_setting(engine, "completion_target.home_visit", "50%", actor="test")
    view = completion_view(engine, COMMISSIONER, "quarter")
    assert view.threshold == 3 and view.primary_mark == "<3"
    assert one(view.table, period="2026-Q2", split="all", measure="police")["denominator_shown"] == "3"
    targets = {s.measure: s.target for s in view.spc}
    assert targets["home_visit"] == 0.5 and targets["police"] == DEFAULT_TARGET
    write_setting(engine, "suppression_threshold", "1", actor="test")
    off = completion_view(engine, COMMISSIONER, "month")  # suppression off: months too
    assert not off.suppressed and not off.levels["suppressed"].any()


def test_settings_are_read_forgivingly() -> None:
    s = settings_from(
        {"completion_target": "75", "completion_target.police": "0.8", "suppression_threshold": "7"}
    )
    assert s.threshold == 7 and s.target("home_visit") == 0.75 and s.target("police") == 0.8
    bad = settings_from({"completion_target": "lots", "suppression_threshold": "2"})
    assert bad.threshold == 5 and bad.target("police") == DEFAULT_TARGET
    assert settings_from({"suppression_threshold": "x"}).threshold == 5


# ---------------------------------------------------------------------------------------------- who may


def test_coordinators_are_refused(engine: Engine) -> None:
    for call in (
        lambda: completion_view(engine, COORDINATOR),
        lambda: completion_table(engine, COORDINATOR),
        lambda: case_table(engine, COORDINATOR),
    ):
        with pytest.raises(PermissionDenied):
            call()


def test_the_case_table_for_the_manager(engine: Engine) -> None:
    table = case_table(engine, MANAGER)
    assert table.schema == pl.Schema(CASE_TABLE_SCHEMA)
    assert table.height == 16
    assert table["case_id"].to_list()[:3] == ["C-15", "C-14", "C-13"]  # newest first
    c01 = one(table, case_id="C-01")
    assert c01["notified_local"] == "06/01/2026 10:00 GMT"
    assert c01["notified_day"] == date(2026, 1, 6)
    assert (c01["in_hours"], c01["covered"], c01["fully_completed"]) == (True, True, True)
    c09 = one(table, case_id="C-09")
    assert (c09["age_band"], c09["in_hours"], c09["covered"], c09["paediatrician"]) == (
        "15-17",
        False,
        False,
        False,
    )
    assert c09["reason_incomplete"] == "no paediatrician on call"
    c99 = one(table, case_id="C-99")
    assert c99["jar_criteria_met"] is False and c99["fully_completed"] is None
    assert case_table(engine, ADMIN).height == 16


def test_the_view_can_bring_the_case_list_for_those_who_may_read_it(engine: Engine) -> None:
    view = completion_view(engine, MANAGER, include_cases=True)
    assert view.case_rows is not None and view.case_rows.equals(case_table(engine, MANAGER))
    assert completion_view(engine, MANAGER).case_rows is None
    with pytest.raises(PermissionDenied, match="case-level"):
        completion_view(engine, COMMISSIONER, include_cases=True)


def test_no_cases_gives_an_empty_view(db_url: str) -> None:
    eng = init_db(db_url)
    try:
        for actor in (MANAGER, COMMISSIONER):
            view = completion_view(eng, actor)
            assert view.empty and not view.any_stored and view.periods == () and view.spc == ()
        assert case_table(eng, ADMIN).is_empty()
    finally:
        eng.dispose()


def test_build_view_works_from_frames_alone() -> None:
    view = build_view(CASES, Rota(), "year", exact=True)
    assert view.periods == ("2026",)
    # without a rota every case is in a gap
    assert one(view.crosstab, split="uncovered")["cases"] == 15
    assert view.rota_start is None
    assert datetime(2026, 1, 1, tzinfo=UTC) < view.first_notified  # type: ignore[operator]
