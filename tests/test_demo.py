"""The regional demo rota: deterministic, well-formed, relative to today, and realistic where it matters."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from functools import cache

import polars as pl
import pytest

from rota.demo import AGENCIES, PAST_DAYS, build_demo, demo_summary
from rota.model import SCHEMAS, SHIFT_KINDS, Rota
from rota.rules import default_rules
from rota.timeutil import SERVICE_TZ, day_start, utc_now

# Fixed dates (one just before Christmas, one with no bank holiday in the next eight weeks, one across
# the spring clock change) and the real today, which is what `rota demo` uses.
TODAYS = [
    date(2026, 3, 10),
    date(2025, 12, 1),
    date(2025, 9, 20),
    utc_now().astimezone(SERVICE_TZ).date(),
]
ROLES = ("paediatrician", "sio", "ambulance")
# local wall times at which each role's duties start or end (holes in the on-call rota add a few)
PATTERN_TIMES = {
    "paediatrician": {time(9), time(17), time(8, 30), time(19), time(21)},
    "sio": {time(8), time(18), time(20), time(23)},
    "ambulance": {time(7), time(19)},
}
FICTIONAL_STEMS = ("Test", "Sample", "Mock", "Demo", "Example", "Dummy", "Ficton")


@cache
def demo(today: date, seed: int = 7) -> Rota:
    return build_demo(today, seed)


def last_sunday_of_october(year: int) -> datetime:
    d = date(year, 10, 31)
    return datetime.combine(d - timedelta(days=(d.weekday() + 1) % 7), time(1), tzinfo=UTC)


def local(t: datetime) -> datetime:
    return t.astimezone(SERVICE_TZ)


def with_role(rota: Rota, df: pl.DataFrame) -> pl.DataFrame:
    return df.join(rota.responders.select("responder_id", "role", "active"), on="responder_id")


def valid_on(training: pl.DataFrame, competency: str, d: date) -> set[str]:
    rows = training.filter(
        (pl.col("competency") == competency)
        & (pl.col("valid_from") <= d)
        & (pl.col("valid_until").is_null() | (pl.col("valid_until") >= d))
    )
    return set(rows["responder_id"])


def test_same_seed_same_rota_and_another_seed_another() -> None:
    today = TODAYS[0]
    a, b = build_demo(today, 7), build_demo(today, 7)
    for kind in SCHEMAS:
        assert getattr(a, kind).equals(getattr(b, kind)), kind
    assert a.rules == b.rules
    assert not build_demo(today, 8).shifts.equals(a.shifts)


@pytest.mark.parametrize("today", TODAYS)
def test_frames_match_the_model_schemas(today: date) -> None:
    rota = demo(today)
    for kind, schema in SCHEMAS.items():
        frame = getattr(rota, kind)
        assert dict(frame.schema) == schema, kind
        assert frame.height > 0, kind
        optional = {"agency", "email", "valid_until", "reason"}
        for column in schema:
            if column not in optional:
                assert frame[column].null_count() == 0, (kind, column)


def test_rules_are_the_six_defaults_then_office_hours() -> None:
    rules = demo(TODAYS[0]).rules
    assert list(rules[:6]) == default_rules()
    office = rules[6]
    assert (office.id, office.role, office.min_count, office.competencies, office.age_band) == (
        "paediatrician-office-hours",
        "paediatrician",
        2,
        ("jar",),
        "0-17",
    )
    assert [w.text for w in office.windows] == ["Mon-Fri 09:00-17:00"]


@pytest.mark.parametrize("today", TODAYS)
def test_shifts_are_well_formed(today: date) -> None:
    rota = demo(today)
    s = rota.shifts
    assert (s["end"] > s["start"]).all()
    assert ((s["end"] - s["start"]) <= timedelta(days=7)).all()
    assert set(s["kind"]) <= set(SHIFT_KINDS) and set(s["kind"]) == set(SHIFT_KINDS)
    assert s["shift_id"].n_unique() == s.height
    assert all(re.fullmatch(r"S\d{6}", x) for x in s["shift_id"])
    assert set(s["responder_id"]) <= set(rota.responders["responder_id"])
    assert all(re.fullmatch(r"(PAED|SIO|AMB)-\d{3}", x) for x in rota.responders["responder_id"])
    a = rota.absences
    assert (a["end"] > a["start"]).all()
    assert set(a["responder_id"]) <= set(rota.responders["responder_id"])


@pytest.mark.parametrize("today", TODAYS)
def test_the_past_five_years_and_the_coming_eight_weeks_have_data(today: date) -> None:
    rota = demo(today)
    shifts = with_role(rota, rota.shifts)
    # five years back and a month, so that five years of demo cases all meet the rota
    assert PAST_DAYS >= 5 * 365 + 28
    first, ahead = day_start(today - timedelta(days=PAST_DAYS)), day_start(today + timedelta(weeks=8))
    assert shifts["start"].min() <= first + timedelta(hours=7)  # type: ignore[operator]
    assert shifts["end"].max() >= ahead  # type: ignore[operator]
    for role in ROLES:
        mine = shifts.filter(pl.col("role") == role)
        # every week of the range has this role's shifts
        for week in range(-(PAST_DAYS // 7), 8):
            a = day_start(today + timedelta(weeks=week))
            b = a + timedelta(weeks=1)
            assert mine.filter((pl.col("start") < b) & (pl.col("end") > a)).height > 0, (role, week)


@pytest.mark.parametrize("today", TODAYS)
def test_rostered_responders_hold_valid_training_in_every_year(today: date) -> None:
    """Certificates reach back over the whole span: duty without valid JAR training is the exception
    (a lapse nobody noticed), in the early years as much as now."""
    rota = demo(today)
    jar = rota.training.filter(pl.col("competency") == "jar")
    for years_ago in range(5, -1, -1):
        day = today - timedelta(days=365 * years_ago + 10)
        noon = day_start(day) + timedelta(hours=12)
        on = rota.shifts.filter((pl.col("start") <= noon) & (pl.col("end") > noon))
        valid = valid_on(jar, "jar", day)
        share = on.filter(pl.col("responder_id").is_in(list(valid))).height / on.height
        assert share >= 0.85, (years_ago, share)


def test_16_17_briefings_grow_over_the_years() -> None:
    today = TODAYS[0]
    rota = demo(today)
    active = set(rota.responders.filter(pl.col("active"))["responder_id"])
    counts = [
        len(valid_on(rota.training, "jar-16-17", today - timedelta(days=365 * y)) & active)
        for y in (5, 3, 1, 0)
    ]
    assert counts == sorted(counts) and counts[0] < counts[-1] / 2, counts


def test_no_responder_is_on_two_overlapping_shifts() -> None:
    s = demo(TODAYS[0]).shifts.sort("responder_id", "start")
    clash = s.filter((pl.col("start") < pl.col("end").shift(1).over("responder_id")).fill_null(False))
    assert clash.height == 0


def test_roles_sizes_agencies_and_inactive_responders() -> None:
    rota = demo(TODAYS[0])
    r = rota.responders
    active = r.filter(pl.col("active"))
    sizes = dict(active.group_by("role").len().iter_rows())
    assert 25 <= sizes["paediatrician"] <= 35
    assert 25 <= sizes["sio"] <= 35
    assert 30 <= sizes["ambulance"] <= 40
    assert dict(r.select("role", "agency").unique().iter_rows()) == AGENCIES
    inactive = set(r.filter(~pl.col("active"))["responder_id"])
    assert 2 <= len(inactive) <= 10
    assert not inactive & set(rota.shifts["responder_id"])


def test_on_call_and_office_patterns() -> None:
    rota = demo(TODAYS[0])
    s = with_role(rota, rota.shifts).with_columns(
        pl.col("start").dt.convert_time_zone("Europe/London").alias("ls"),
        pl.col("end").dt.convert_time_zone("Europe/London").alias("le"),
    )
    # ambulance: 12-hour shifts 07:00-19:00 and 19:00-07:00 local, two or three people most of the time
    amb = s.filter(pl.col("role") == "ambulance")
    assert set(amb["ls"].dt.time()) == {time(7), time(19)}
    assert set(amb["le"].dt.time()) == {time(7), time(19)}
    per_shift = amb.group_by("start").len()["len"]
    assert per_shift.median() in (2, 2.5, 3)
    # paediatricians: office hours on site 09:00-17:00 on working days, on call overnight from 17:00
    paed = s.filter(pl.col("role") == "paediatrician")
    onsite = paed.filter(pl.col("kind") == "onsite")
    assert set(onsite["ls"].dt.time()) == {time(9)} and set(onsite["le"].dt.time()) == {time(17)}
    assert set(onsite["ls"].dt.weekday()) <= {1, 2, 3, 4, 5}  # Monday to Friday
    assert "oncall" in set(paed["kind"]) and time(17) in set(
        paed.filter(pl.col("kind") == "oncall")["ls"].dt.time()
    )
    # one consultant on call at a time, and many share the rota
    oncall = paed.filter(pl.col("kind") == "oncall")
    assert oncall["responder_id"].n_unique() >= 20
    sio = s.filter((pl.col("role") == "sio") & (pl.col("kind") == "oncall"))
    assert sio.height > 200 and sio["responder_id"].n_unique() >= 20


def test_office_hours_skip_bank_holidays() -> None:
    rota = demo(date(2026, 1, 10))
    s = with_role(rota, rota.shifts).filter(pl.col("kind") == "onsite", pl.col("role") != "ambulance")
    days = set(s["start"].dt.convert_time_zone("Europe/London").dt.date())
    assert date(2025, 12, 25) not in days and date(2025, 12, 26) not in days and date(2026, 1, 1) not in days
    assert date(2025, 12, 24) in days and date(2026, 1, 2) in days


@pytest.mark.parametrize("today", TODAYS)
def test_training_lapses_and_expires(today: date) -> None:
    rota = demo(today)
    t = rota.training
    active = set(rota.responders.filter(pl.col("active"))["responder_id"])
    jar = t.filter(pl.col("competency") == "jar")
    assert jar.filter(pl.col("valid_until").is_null()).height == 0  # JAR training expires
    # some active responders' JAR training lapsed in the past year and has not been renewed
    lapsed = [
        rid
        for rid, until in jar.select("responder_id", "valid_until").iter_rows()
        if rid in active
        and today - timedelta(days=365) <= until < today
        and rid not in valid_on(t, "jar", until + timedelta(days=1))
    ]
    assert lapsed
    assert set(lapsed) - valid_on(t, "jar", today)
    # some were renewed (two or more certificates)
    assert (jar.group_by("responder_id").len()["len"] >= 2).sum() >= 3
    # and some lapse within 30 and within 90 days, so expiry warnings exist
    now = valid_on(t, "jar", today) & active
    ends = (
        jar.filter(pl.col("responder_id").is_in(list(now)))
        .group_by("responder_id")
        .agg(pl.col("valid_until").max())
    )
    assert ends.filter(pl.col("valid_until") <= today + timedelta(days=30)).height >= 1
    assert ends.filter(pl.col("valid_until") <= today + timedelta(days=90)).height >= 3


@pytest.mark.parametrize("today", TODAYS)
def test_fewer_responders_are_briefed_on_16_17s_than_trained(today: date) -> None:
    rota = demo(today)
    trained = valid_on(rota.training, "jar", today)
    briefed = valid_on(rota.training, "jar-16-17", today) & trained
    for role in ROLES:
        ids = set(rota.responders.filter(pl.col("active"), pl.col("role") == role)["responder_id"])
        n_jar, n_1617 = len(ids & trained), len(ids & briefed)
        assert 0 < n_1617 < n_jar, role
        assert n_1617 <= 0.85 * n_jar, role


def test_absences_cancel_some_shifts() -> None:
    rota = demo(TODAYS[0])
    a = rota.absences
    assert {"annual leave", "sickness", "training"} <= set(a["reason"])
    overlaps = rota.shifts.join(a, on="responder_id", suffix="_a").filter(
        (pl.col("start") < pl.col("end_a")) & (pl.col("start_a") < pl.col("end"))
    )
    assert 10 <= overlaps.height <= 0.1 * rota.shifts.height
    # leave is planned in the coming weeks too
    assert a.filter(pl.col("start") > day_start(TODAYS[0]), pl.col("reason") == "annual leave").height > 20


@pytest.mark.parametrize("today", TODAYS)
def test_shifts_across_the_october_clock_change_last_their_real_hours(today: date) -> None:
    rota = demo(today)
    # the October change in the range: 01:00 UTC on the last Sunday of October
    changes = [last_sunday_of_october(y) for y in (today.year - 1, today.year)]
    change = next(c for c in changes if day_start(today - timedelta(days=365)) < c < day_start(today))
    assert local(change - timedelta(minutes=1)).utcoffset() == timedelta(hours=1)
    assert local(change).utcoffset() == timedelta(0)
    s = with_role(rota, rota.shifts).filter((pl.col("start") < change) & (pl.col("end") > change))
    assert s.height >= 2
    for role, start, end in s.select("role", "start", "end").iter_rows():
        # planned in wall time: the clocks going back make the duty an hour longer in real time
        assert {local(start).time(), local(end).time()} <= PATTERN_TIMES[role]
        wall = local(end).replace(tzinfo=None) - local(start).replace(tzinfo=None)
        assert end - start == wall + timedelta(hours=1)
        if role == "ambulance":  # 19:00 BST on the Saturday to 07:00 GMT on the Sunday
            assert (local(start).time(), local(end).time()) == (time(19), time(7))
            assert end - start == timedelta(hours=13)


@pytest.mark.parametrize("today", TODAYS)
def test_shifts_start_and_end_at_their_local_pattern_times(today: date) -> None:
    rota = demo(today)
    s = with_role(rota, rota.shifts).with_columns(
        pl.col("start").dt.convert_time_zone("Europe/London").dt.time().alias("ls"),
        pl.col("end").dt.convert_time_zone("Europe/London").dt.time().alias("le"),
    )
    for role, times in PATTERN_TIMES.items():
        mine = s.filter(pl.col("role") == role)
        assert set(mine["ls"]) | set(mine["le"]) <= times, role


def test_a_spring_night_shift_lasts_eleven_hours() -> None:
    rota = demo(date(2026, 3, 10))  # the range holds 29 March 2026 and 30 March 2025
    change = datetime(2025, 3, 30, 1, tzinfo=UTC)
    s = with_role(rota, rota.shifts).filter(
        (pl.col("role") == "ambulance") & (pl.col("start") < change) & (pl.col("end") > change)
    )
    assert s.height >= 1
    assert set(s["end"] - s["start"]) == {timedelta(hours=11)}


def test_names_are_plainly_fictional_and_emails_at_example_org() -> None:
    r = demo(TODAYS[0]).responders
    for name in r["name"]:
        assert name.split()[-1].startswith(FICTIONAL_STEMS), name
    assert all(e.endswith("@example.org") for e in r["email"])
    assert r["email"].n_unique() == r.height and r["name"].n_unique() == r.height


def test_phone_numbers_are_unique_and_from_ofcom_s_drama_range() -> None:
    r = demo(TODAYS[0]).responders
    phones = r["phone"].to_list()
    assert len(set(phones)) == r.height
    for phone in phones:
        assert phone.startswith("07700 900") and len(phone) == 12 and phone[9:].isdigit(), phone


def test_the_christmas_bank_holiday_is_thin() -> None:
    rota = demo(date(2025, 12, 1))
    s = with_role(rota, rota.shifts)
    noon = datetime(2025, 12, 25, 12, tzinfo=UTC)
    on = s.filter((pl.col("start") <= noon) & (pl.col("end") > noon))
    assert "paediatrician" not in set(on["role"])  # nobody on call through Christmas Day
    assert on.filter(pl.col("role") == "ambulance").height <= 1


def test_summary_counts() -> None:
    today = TODAYS[0]
    rota = demo(today)
    summary = demo_summary(rota, today)
    assert summary["shifts"] == rota.shifts.height
    assert summary["responders"] == rota.responders.height
    assert summary["active_by_role"] == dict(
        sorted(rota.responders.filter(pl.col("active")).group_by("role").len().iter_rows())
    )
    assert isinstance(summary["jar_lapsed_past_year"], int) and summary["jar_lapsed_past_year"] > 0
    # lapses of the past year only, though certificates reach back five years
    assert summary["jar_lapsed_past_year"] < rota.responders.height / 4
    assert isinstance(summary["jar_expiring_90_days"], int) and summary["jar_expiring_90_days"] >= 3
    assert summary["rules"] == [r.id for r in rota.rules]
    assert len(summary["councils"]) == 3  # type: ignore[arg-type]
    by_role_1617 = summary["jar_16_17_holders_by_role"]
    by_role_jar = summary["jar_holders_by_role"]
    assert isinstance(by_role_1617, dict) and isinstance(by_role_jar, dict)
    assert all(by_role_1617[r] < by_role_jar[r] for r in ROLES)


@pytest.mark.parametrize("today", TODAYS)
def test_gaps_a_manager_would_recognise(today: date) -> None:
    engine = pytest.importorskip("rota.engine")
    rota = demo(today)
    start, end = day_start(today), day_start(today + timedelta(weeks=8))
    gaps: pl.DataFrame = engine.gaps(rota, start, end, SERVICE_TZ)
    assert gaps.height > 0
    hours = gaps.group_by("rule_id").agg(
        ((pl.col("end") - pl.col("start")).dt.total_seconds().sum() / 3600).alias("h")
    )
    gap_hours = {rid: h for rid, h in hours.iter_rows()}
    for role in ROLES:
        assert gap_hours.get(f"{role}-16-17", 0.0) > gap_hours.get(role, 0.0), role
    span = (end - start).total_seconds() / 3600
    share = sum(gap_hours.get(role, 0.0) for role in ROLES) / (len(ROLES) * span)
    assert 0 < share < 0.15
    assert all(gap_hours.get(role, 0.0) / span < 0.2 for role in ROLES)
