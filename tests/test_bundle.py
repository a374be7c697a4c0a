"""The rota bundle: reading, checking (every problem, with file, line and column) and writing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
import xlsxwriter
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from rota.bundle import read_bundle, read_rules, read_table, write_bundle, write_workbook
from rota.errors import InputError, Problem
from rota.model import SCHEMAS, Rota
from rota.rules import DEFAULT_ROLES, make_rule

RESPONDERS = """responder_id,name,role,agency,email,active
p1,Dr Ada Paed,paediatrician,NHS Trust,ada@example.org,true
s1,DS Sam Sio,sio,Police,,
a1,Alex Amb,ambulance,Ambulance,,false
"""


def utc(y: int, m: int, d: int, hh: int = 0, mm: int = 0, ss: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, ss, tzinfo=UTC)


def write(folder: Path, files: dict[str, str | bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = folder / name
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return folder


def bundle(tmp_path: Path, **files: str | bytes) -> Path:
    """A bundle folder: the valid responders above plus the given files (name without .csv)."""
    contents: dict[str, str | bytes] = {"responders.csv": RESPONDERS}
    for key, text in files.items():
        contents[key if key.endswith(".toml") else f"{key}.csv"] = text
    return write(tmp_path / "bundle", contents)


def problems_of(exc: pytest.ExceptionInfo[InputError]) -> list[Problem]:
    return exc.value.problems


def where(exc: pytest.ExceptionInfo[InputError]) -> set[tuple[str, int | None, str | None]]:
    return {(p.file, p.line, p.column) for p in exc.value.problems}


def only(exc: pytest.ExceptionInfo[InputError]) -> Problem:
    assert len(exc.value.problems) == 1, exc.value.message()
    return exc.value.problems[0]


def sample_rota() -> Rota:
    responders = pl.DataFrame(
        {
            "responder_id": ["101", "p2", "s1", "a1", "n1"],
            "name": ["Dr Ada Paed", 'Dr "Bo", Jr', "DS Sam Sio", "Alex Amb", "Nia Nurse"],
            "role": ["paediatrician", "paediatrician", "sio", "ambulance", "nurse"],
            "agency": ["NHS Trust", None, "Police", "Ambulance", "NHS Trust"],
            "email": ["ada@example.org", None, None, None, None],
            "phone": ["07700 900101", None, "+44 (0)1632 960123", "07700-900104", None],
            "active": [True, False, True, True, True],
        },
        schema=SCHEMAS["responders"],
    )
    training = pl.DataFrame(
        {
            "responder_id": ["101", "101", "s1", "a1"],
            "competency": ["jar", "jar-16-17", "jar", "jar"],
            "valid_from": [date(2025, 1, 1), date(2025, 6, 1), date(2026, 2, 28), date(2024, 2, 29)],
            "valid_until": [date(2027, 12, 31), None, date(2026, 12, 31), None],
        },
        schema=SCHEMAS["training"],
    )
    shifts = pl.DataFrame(
        {
            "shift_id": ["sh1", "sh2", None, "sh4", "sh5", None],
            "responder_id": ["101", "s1", "a1", "101", "s1", "a1"],
            # Both 2026 clock-change Sundays: 29 March (01:00 GMT -> 02:00 BST), 25 October (back).
            "start": [
                utc(2026, 3, 28, 21),
                utc(2026, 3, 29, 0, 30),
                utc(2026, 3, 29, 1, 0),
                utc(2026, 10, 24, 23, 0),
                utc(2026, 10, 25, 0, 30),
                utc(2026, 10, 25, 1, 30),
            ],
            "end": [
                utc(2026, 3, 29, 9),
                utc(2026, 3, 29, 1, 0),
                utc(2026, 3, 29, 12, 0, 30),
                utc(2026, 10, 25, 0, 30),
                utc(2026, 10, 25, 1, 30),
                utc(2026, 10, 25, 9),
            ],
            "kind": ["oncall", "onsite", "oncall", "oncall", "onsite", "oncall"],
        },
        schema=SCHEMAS["shifts"],
    )
    absences = pl.DataFrame(
        {
            "responder_id": ["101", "a1"],
            "start": [utc(2026, 7, 1, 8), utc(2026, 12, 24)],
            "end": [utc(2026, 7, 15, 17), utc(2027, 1, 2)],
            "reason": ["leave", None],
        },
        schema=SCHEMAS["absences"],
    )
    rules = (
        make_rule(
            {"id": "paed", "role": "paediatrician", "competencies": ["jar"], "age_band": "0-15"},
            DEFAULT_ROLES,
        ),
        make_rule(
            {
                "id": "sio-day",
                "role": "sio",
                "min_count": 2,
                "competencies": ["jar", "jar-16-17"],
                "age_band": "16-17",
                "windows": ["Mon-Fri 09:00-17:00", "Sat,Sun 22:00-06:00"],
            },
            DEFAULT_ROLES,
        ),
        make_rule({"id": "nurse", "role": "nurse", "age_band": "0-17"}, (*DEFAULT_ROLES, "nurse")),
    )
    return Rota(responders, training, shifts, absences, rules, (*DEFAULT_ROLES, "nurse"))


def assert_same_rota(got: Rota, want: Rota, *, rules: bool = True) -> None:
    for kind in ("responders", "training", "shifts", "absences"):
        assert_frame_equal(getattr(got, kind), getattr(want, kind))
    if rules:
        assert got.rules == want.rules
        assert got.roles == want.roles


# ---------------------------------------------------------------------------------------------- round trips


def test_bundle_round_trip_keeps_every_frame_rules_and_roles(tmp_path: Path) -> None:
    rota = sample_rota()
    write_bundle(rota, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "absences.csv",
        "responders.csv",
        "rules.toml",
        "shifts.csv",
        "training.csv",
    ]
    assert_same_rota(read_bundle(tmp_path / "out"), rota)


def test_bundle_writes_local_time_with_offset_on_both_clock_change_sundays(tmp_path: Path) -> None:
    write_bundle(sample_rota(), tmp_path)
    text = (tmp_path / "shifts.csv").read_text()
    assert "2026-03-29T00:30:00+00:00" in text  # the last GMT half hour before the jump
    assert "2026-03-29T02:00:00+01:00" in text  # 01:00 UTC, the first instant after the jump
    assert "2026-10-25T01:30:00+01:00" in text  # first 01:30 (BST)
    assert "2026-10-25T01:30:00+00:00" in text  # second 01:30 (GMT)
    assert "2026-03-29T13:00:30+01:00" in text
    responders = (tmp_path / "responders.csv").read_text()
    assert "false" in responders and "true" in responders
    assert "2024-02-29" in (tmp_path / "training.csv").read_text()


def test_bundle_without_rules_writes_no_rules_toml_and_removes_a_stale_one(tmp_path: Path) -> None:
    (tmp_path / "rules.toml").write_text('[[rule]]\nid = "x"\nrole = "sio"\n')
    rota = Rota()
    write_bundle(rota, tmp_path)
    assert not (tmp_path / "rules.toml").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary files left
    back = read_bundle(tmp_path)
    assert back.rules == () and back.roles == DEFAULT_ROLES
    assert back.shifts.height == 0 and back.shifts.schema == SCHEMAS["shifts"]


def test_workbook_round_trip_keeps_every_frame(tmp_path: Path) -> None:
    rota = sample_rota()  # without rules.toml beside the workbook, only the default roles are known
    rota = replace(rota, responders=rota.responders.filter(pl.col("role") != "nurse"), rules=())
    book = tmp_path / "rota.xlsx"
    write_workbook(rota, book)
    back = read_bundle(book)
    assert_same_rota(back, rota, rules=False)
    assert back.rules == ()


def test_workbook_round_trip_reads_rules_toml_beside_it(tmp_path: Path) -> None:
    rota = sample_rota()
    write_workbook(rota, tmp_path / "rota.xlsx")
    write_bundle(Rota(rules=rota.rules, roles=rota.roles), tmp_path / "rules-only")
    (tmp_path / "rules.toml").write_bytes((tmp_path / "rules-only" / "rules.toml").read_bytes())
    assert_same_rota(read_bundle(tmp_path / "rota.xlsx"), rota)


# --------------------------------------------------------------------------------------------------- times


def shifts_with(start: str, end: str) -> str:
    return f"shift_id,responder_id,start,end\nx,p1,{start},{end}\n"


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        ("2026-03-29T01:30+00:00", utc(2026, 3, 29, 1, 30)),  # would not exist as local wall time
        ("2026-03-29T02:30:00+01:00", utc(2026, 3, 29, 1, 30)),
        ("2026-10-25T01:30+01:00", utc(2026, 10, 25, 0, 30)),  # first 01:30
        ("2026-10-25T01:30:00+00:00", utc(2026, 10, 25, 1, 30)),  # second 01:30
        ("2026-10-25T01:30Z", utc(2026, 10, 25, 1, 30)),
        ("2026-10-25T01:30+0100", utc(2026, 10, 25, 0, 30)),
        ("2026-10-25 01:30-05", utc(2026, 10, 25, 6, 30)),
        ("2026-03-29 00:59:59", utc(2026, 3, 29, 0, 59, 59)),
        ("2026-03-29 02:00", utc(2026, 3, 29, 1, 0)),  # the first BST minute
        ("2026-07-01 09:15:30", utc(2026, 7, 1, 8, 15, 30)),
        ("01/07/2026 09:15", utc(2026, 7, 1, 8, 15)),
        ("01/07/2026 09:15:30", utc(2026, 7, 1, 8, 15, 30)),
        ("25/12/2026 00:00", utc(2026, 12, 25)),
    ],
)
def test_accepted_time_forms(tmp_path: Path, start: str, expected: datetime) -> None:
    text = f"responder_id,start,end\np1,{start},2027-01-01T00:00Z\n"  # absences: no 7-day limit
    rota = read_bundle(bundle(tmp_path, absences=text))
    assert rota.absences.get_column("start").to_list() == [expected]


def test_nonexistent_local_time_is_rejected_naming_file_line_and_column(tmp_path: Path) -> None:
    folder = bundle(tmp_path, shifts=shifts_with("2026-03-28 22:00", "2026-03-29 01:30"))
    with pytest.raises(InputError) as exc:
        read_bundle(folder)
    p = only(exc)
    assert (p.file, p.line, p.column) == ("shifts.csv", 2, "end")
    assert "does not exist" in p.reason and "clocks go forward" in p.reason and "offset" in p.reason


def test_ambiguous_local_time_is_rejected_naming_file_line_and_column(tmp_path: Path) -> None:
    folder = bundle(tmp_path, shifts=shifts_with("2026-10-25 01:30", "2026-10-25 09:00"))
    with pytest.raises(InputError) as exc:
        read_bundle(folder)
    p = only(exc)
    assert (p.file, p.line, p.column) == ("shifts.csv", 2, "start")
    assert "happens twice" in p.reason and "2026-10-25T01:30+01:00" in p.reason


def test_same_clock_change_times_with_offsets_are_accepted(tmp_path: Path) -> None:
    text = (
        "responder_id,start,end\n"
        "p1,2026-03-29T01:30+00:00,2026-03-29T09:00+01:00\n"
        "p1,2026-10-25T01:30+01:00,2026-10-25T01:30+00:00\n"
    )
    rota = read_bundle(bundle(tmp_path, absences=text))
    assert rota.absences.select("start", "end").rows() == [
        (utc(2026, 3, 29, 1, 30), utc(2026, 3, 29, 8)),
        (utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30)),
    ]


@pytest.mark.parametrize(
    ("value", "words"),
    [
        ("2026-02-30 10:00", "not a real date"),
        ("30/02/2026 10:00", "not a real date"),
        ("2026-13-01T10:00Z", "not a real date"),
        ("2026-06-01 24:00", "not a real date"),
        ("2026-06-01 10:60", "not a real date"),
        ("2026-06-01 10:00:60", "not a real date"),
        ("2026-06-01T10:00+25:00", "offset"),
        ("tomorrow", "cannot read"),
        ("2026-06-01", "cannot read"),
        ("1/6/2026 10:00", "cannot read"),
        ("01/06/2026 10:00+01:00", "cannot read"),
    ],
)
def test_unreadable_or_impossible_times_are_rejected(tmp_path: Path, value: str, words: str) -> None:
    with pytest.raises(InputError) as exc:
        read_bundle(bundle(tmp_path, shifts=shifts_with(value, "2026-12-31T00:00Z")))
    p = only(exc)
    assert (p.file, p.line, p.column) == ("shifts.csv", 2, "start")
    assert words in p.reason and value in p.reason


# --------------------------------------------------------------------------------------------- responders


def test_responders_values_are_read_and_active_defaults_to_true(tmp_path: Path) -> None:
    text = (
        "Responder_ID , name,role,active\n"
        " r1 , Ann ,Paediatrician,YES\n"
        "r2,Bob,sio,No\n"
        "r3,Cy,ambulance,1\n"
        "r4,Di,sio,0\n"
        "r5,Ed,sio,\n"
        "r6,Fi,sio,FALSE\n"
    )
    rota = read_bundle(write(tmp_path, {"responders.csv": text}))
    df = rota.responders
    assert df.schema == SCHEMAS["responders"]
    assert df.get_column("responder_id").to_list() == ["r1", "r2", "r3", "r4", "r5", "r6"]
    assert df.get_column("name").to_list()[0] == "Ann"
    assert df.get_column("role").to_list()[0] == "paediatrician"
    assert df.get_column("active").to_list() == [True, False, True, False, True, False]


def test_duplicate_responder_id_is_rejected(tmp_path: Path) -> None:
    text = RESPONDERS + "s1,Another,sio,,,\n"
    with pytest.raises(InputError) as exc:
        read_bundle(write(tmp_path, {"responders.csv": text}))
    p = only(exc)
    assert (p.file, p.line, p.column) == ("responders.csv", 5, "responder_id")
    assert "duplicate" in p.reason and "line 3" in p.reason


def test_unknown_role_is_rejected_and_configured_roles_are_accepted(tmp_path: Path) -> None:
    text = RESPONDERS + "n1,Nia,nurse,,,\n"
    with pytest.raises(InputError) as exc:
        read_bundle(write(tmp_path / "a", {"responders.csv": text}))
    p = only(exc)
    assert (p.file, p.line, p.column) == ("responders.csv", 5, "role")
    assert "unknown role 'nurse'" in p.reason and "paediatrician" in p.reason

    rules = 'roles = ["nurse"]\n\n[[rule]]\nid = "n"\nrole = "nurse"\n'
    rota = read_bundle(write(tmp_path / "b", {"responders.csv": text, "rules.toml": rules}))
    assert rota.roles == (*DEFAULT_ROLES, "nurse")
    assert rota.responders.get_column("role").to_list()[-1] == "nurse"


def test_active_must_be_a_boolean(tmp_path: Path) -> None:
    text = RESPONDERS + "x1,Xi,sio,,,maybe\n"
    with pytest.raises(InputError) as exc:
        read_bundle(write(tmp_path, {"responders.csv": text}))
    p = only(exc)
    assert (p.file, p.line, p.column) == ("responders.csv", 5, "active")
    assert "maybe" in p.reason


# ----------------------------------------------------------------------------------------------- training


def test_training_dates_in_both_forms(tmp_path: Path) -> None:
    text = (
        "responder_id,competency,valid_from,valid_until\np1,jar,2026-01-31,31/12/2027\ns1,jar,29/02/2028,\n"
    )
    rota = read_bundle(bundle(tmp_path, training=text))
    assert rota.training.rows() == [
        ("p1", "jar", date(2026, 1, 31), date(2027, 12, 31)),
        ("s1", "jar", date(2028, 2, 29), None),
    ]


def test_training_problems_name_file_line_and_column(tmp_path: Path) -> None:
    text = (
        "responder_id,competency,valid_from,valid_until\n"
        "zz,jar,2026-01-01,\n"  # unknown responder
        "p1,jar,2026-02-30,\n"  # impossible date
        "p1,jar,1/2/2026,\n"  # unreadable date
        "p1,jar,2026-06-01,2026-05-31\n"  # until before from
        "p1,,2026-06-01,\n"  # competency blank
    )
    with pytest.raises(InputError) as exc:
        read_bundle(bundle(tmp_path, training=text))
    got = {(p.line, p.column): p.reason for p in problems_of(exc)}
    assert all(p.file == "training.csv" for p in problems_of(exc))
    assert set(got) == {
        (2, "responder_id"),
        (3, "valid_from"),
        (4, "valid_from"),
        (5, "valid_until"),
        (6, "competency"),
    }
    assert "unknown responder 'zz'" in got[(2, "responder_id")]
    assert "not a real date" in got[(3, "valid_from")]
    assert "YYYY-MM-DD or DD/MM/YYYY" in got[(4, "valid_from")]
    assert "before" in got[(5, "valid_until")]
    assert "required" in got[(6, "competency")]


# ------------------------------------------------------------------------------------------------- shifts


def test_shift_values_are_read(tmp_path: Path) -> None:
    text = (
        "kind,end,start,responder_id,shift_id\n"  # column order is free
        ",2026-06-02T09:00+01:00,2026-06-01T21:00+01:00,p1,\n"
        "onsite,2026-06-02 17:00,2026-06-02 09:00,s1,\n"
        "On-Call,2026-06-09T09:00+01:00,2026-06-02T09:00+01:00,a1,w7\n"  # exactly 7 days is allowed
    )
    rota = read_bundle(bundle(tmp_path, shifts=text))
    assert rota.shifts.rows() == [
        (None, "p1", utc(2026, 6, 1, 20), utc(2026, 6, 2, 8), "oncall"),
        (None, "s1", utc(2026, 6, 2, 8), utc(2026, 6, 2, 16), "onsite"),
        ("w7", "a1", utc(2026, 6, 2, 8), utc(2026, 6, 9, 8), "oncall"),
    ]


def test_duplicate_shift_id_is_rejected_but_blank_ids_may_repeat(tmp_path: Path) -> None:
    text = (
        "shift_id,responder_id,start,end\n"
        ",p1,2026-06-01 09:00,2026-06-01 17:00\n"
        "a,p1,2026-06-02 09:00,2026-06-02 17:00\n"
        ",p1,2026-06-03 09:00,2026-06-03 17:00\n"
        "a,s1,2026-06-04 09:00,2026-06-04 17:00\n"
    )
    with pytest.raises(InputError) as exc:
        read_bundle(bundle(tmp_path, shifts=text))
    p = only(exc)
    assert (p.file, p.line, p.column) == ("shifts.csv", 5, "shift_id")
    assert "duplicate shift_id 'a'" in p.reason and "line 3" in p.reason


def test_shift_problems_name_file_line_and_column(tmp_path: Path) -> None:
    text = (
        "shift_id,responder_id,start,end,kind\n"
        "1,nobody,2026-06-01 09:00,2026-06-01 17:00,oncall\n"
        "2,p1,2026-06-01 17:00,2026-06-01 17:00,oncall\n"  # end == start
        "3,p1,2026-06-01 17:00,2026-06-01 09:00,oncall\n"  # end before start
        "4,p1,2026-06-01 09:00,2026-06-08 09:01,oncall\n"  # longer than 7 days
        "5,p1,2026-06-01 09:00,2026-06-01 17:00,standby\n"
        "6,,2026-06-01 09:00,,\n"
    )
    with pytest.raises(InputError) as exc:
        read_bundle(bundle(tmp_path, shifts=text))
    got = {(p.line, p.column): p.reason for p in problems_of(exc)}
    assert {p.file for p in problems_of(exc)} == {"shifts.csv"}
    assert set(got) == {
        (2, "responder_id"),
        (3, "end"),
        (4, "end"),
        (5, "end"),
        (6, "kind"),
        (7, "responder_id"),
        (7, "end"),
    }
    assert "unknown responder 'nobody'" in got[(2, "responder_id")]
    assert "not after start" in got[(3, "end")] and "not after start" in got[(4, "end")]
    assert "at most 7 days" in got[(5, "end")]
    assert "oncall or onsite" in got[(6, "kind")] and "standby" in got[(6, "kind")]
    assert "required" in got[(7, "end")]


# ----------------------------------------------------------------------------------------------- absences


def test_absence_problems_name_file_line_and_column(tmp_path: Path) -> None:
    text = (
        "responder_id,start,end,reason\n"
        "ghost,2026-06-01 09:00,2026-06-02 09:00,leave\n"
        "p1,2026-06-01 09:00,2026-06-31 09:00,leave\n"
        "p1,2026-06-02 09:00,2026-06-01 09:00,\n"
        "s1,2026-06-02 09:00,2026-06-12 09:00,long leave is fine\n"
    )
    with pytest.raises(InputError) as exc:
        read_bundle(bundle(tmp_path, absences=text))
    assert where(exc) == {
        ("absences.csv", 2, "responder_id"),
        ("absences.csv", 3, "end"),
        ("absences.csv", 4, "end"),
    }


# ------------------------------------------------------------------------------------- file-level problems


def test_unknown_column_is_rejected_listing_the_allowed_ones(tmp_path: Path) -> None:
    text = "shift_id,responder_id,start,end,colour\nx,p1,2026-06-01 09:00,2026-06-01 17:00,red\n"
    with pytest.raises(InputError) as exc:
        read_bundle(bundle(tmp_path, shifts=text))
    p = only(exc)
    assert (p.file, p.line, p.column) == ("shifts.csv", 1, "colour")
    assert "unknown column" in p.reason
    for allowed in ("shift_id", "responder_id", "start", "end", "kind"):
        assert allowed in p.reason


def test_missing_required_column_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        read_bundle(bundle(tmp_path, shifts="responder_id,start\np1,2026-06-01 09:00\n"))
    p = only(exc)
    assert (p.file, p.line, p.column) == ("shifts.csv", 1, "end")
    assert "missing" in p.reason


def test_column_named_twice_is_rejected(tmp_path: Path) -> None:
    text = "responder_id,start,end,end\np1,2026-06-01 09:00,2026-06-01 17:00,2026-06-01 18:00\n"
    with pytest.raises(InputError) as exc:
        read_bundle(bundle(tmp_path, absences=text))
    assert ("absences.csv", 1, "end") in where(exc)


def test_binary_garbage_is_rejected_as_not_utf8_csv(tmp_path: Path) -> None:
    garbage = bytes(range(256)) * 4
    with pytest.raises(InputError) as exc:
        read_bundle(bundle(tmp_path, shifts=garbage))
    p = only(exc)
    assert p.file == "shifts.csv" and "not a UTF-8 CSV file" in p.reason


def test_latin1_file_is_rejected_as_not_utf8_with_its_line(tmp_path: Path) -> None:
    data = "responder_id,name,role\np1,Zoë,sio\n".encode("latin-1")
    with pytest.raises(InputError) as exc:
        read_bundle(write(tmp_path, {"responders.csv": data}))
    p = only(exc)
    assert (p.file, p.line) == ("responders.csv", 2) and "not a UTF-8 CSV file" in p.reason


def test_excel_workbook_saved_as_csv_is_rejected(tmp_path: Path) -> None:
    write_workbook(sample_rota(), tmp_path / "book.xlsx")
    with pytest.raises(InputError) as exc:
        read_bundle(bundle(tmp_path, shifts=(tmp_path / "book.xlsx").read_bytes()))
    p = only(exc)
    assert p.file == "shifts.csv" and "not a UTF-8 CSV file" in p.reason


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", b"\xef\xbb\xbf"])
def test_empty_file_is_rejected(tmp_path: Path, content: bytes) -> None:
    with pytest.raises(InputError) as exc:
        read_bundle(bundle(tmp_path, training=content))
    p = only(exc)
    assert p.file == "training.csv" and "empty" in p.reason


def test_header_only_file_is_an_empty_table(tmp_path: Path) -> None:
    rota = read_bundle(bundle(tmp_path, shifts="shift_id,responder_id,start,end,kind\n"))
    assert rota.shifts.height == 0 and rota.shifts.schema == SCHEMAS["shifts"]


def test_missing_file_folder_and_responders_are_reported(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        read_bundle(tmp_path / "nowhere")
    assert "no such file or folder" in only(exc).reason
    with pytest.raises(InputError) as exc:
        read_table(tmp_path / "shifts.csv", "shifts")
    p = only(exc)
    assert p.file == "shifts.csv" and "no such file" in p.reason
    with pytest.raises(InputError) as exc:
        read_bundle(write(tmp_path / "b", {"shifts.csv": "responder_id,start,end\n"}))
    p = only(exc)
    assert p.file == "responders.csv" and "missing" in p.reason


def test_unknown_file_in_bundle_folder_is_rejected(tmp_path: Path) -> None:
    folder = bundle(tmp_path, shift="responder_id,start,end\n")  # a typo for shifts.csv
    with pytest.raises(InputError) as exc:
        read_bundle(folder)
    p = only(exc)
    assert p.file == "shift.csv" and "unknown file" in p.reason and "shifts.csv" in p.reason
    (folder / "shift.csv").rename(folder / "cases.csv")  # unrelated files beside a bundle are left alone
    (folder / "notes.txt").write_text("hello")
    assert read_bundle(folder).shifts.height == 0


def test_rows_with_the_wrong_number_of_fields_are_rejected(tmp_path: Path) -> None:
    text = (
        "shift_id,responder_id,start,end,kind\n"
        "1,p1,2026-06-01 09:00,2026-06-01 17:00,oncall\n"
        "2,p1,2026-06-01 09:00,2026-06-01 17:00,oncall,extra\n"
        "3,p1,2026-06-01 09:00,2026-06-01 17:00\n"
        '4,p1,"2026-06-01 09:00","2026-06-01 17:00","oncall"\n'
    )
    with pytest.raises(InputError) as exc:
        read_bundle(bundle(tmp_path, shifts=text))
    got = {p.line: p for p in problems_of(exc)}
    assert set(got) == {3, 4}
    assert got[3].file == "shifts.csv" and "6 fields" in got[3].reason and "5" in got[3].reason
    assert "4 fields" in got[4].reason


def test_too_few_fields_detected_even_without_quotes_or_extra_fields(tmp_path: Path) -> None:
    text = "responder_id,start,end,reason\np1,2026-06-01 09:00,2026-06-01 17:00\n"
    with pytest.raises(InputError) as exc:
        read_bundle(bundle(tmp_path, absences=text))
    p = only(exc)
    assert (p.file, p.line) == ("absences.csv", 2) and "3 fields" in p.reason


def test_unbalanced_quotes_are_rejected(tmp_path: Path) -> None:
    text = 'responder_id,start,end,reason\np1,2026-06-01 09:00,2026-06-01 17:00,"leave\n'
    with pytest.raises(InputError) as exc:
        read_bundle(bundle(tmp_path, absences=text))
    p = only(exc)
    assert (p.file, p.line) == ("absences.csv", 2) and "quote" in p.reason


def test_bom_crlf_blank_lines_quotes_and_spaces_are_handled(tmp_path: Path) -> None:
    text = (
        "\ufeffresponder_id,start,end,reason\r\n"
        "\r\n"
        ' p1 , 2026-06-01 09:00 ,"2026-06-01 17:00","leave, annual"\r\n'
        "   \r\n"
        ",,,\r\n"
        's1,2026-06-02T09:00+01:00,2026-06-02T17:00+01:00,""\r\n'
        "zz,2026-06-02 09:00,2026-06-02 17:00,\r\n"
    )
    with pytest.raises(InputError) as exc:
        read_bundle(bundle(tmp_path, absences=text))
    # blank lines are skipped but still counted: the unknown responder is on line 7
    assert where(exc) == {("absences.csv", 7, "responder_id")}
    fixed = text.replace("zz,", "a1,")
    rota = read_bundle(bundle(tmp_path / "ok", absences=fixed))
    assert rota.absences.rows() == [
        ("p1", utc(2026, 6, 1, 8), utc(2026, 6, 1, 16), "leave, annual"),
        ("s1", utc(2026, 6, 2, 8), utc(2026, 6, 2, 16), None),
        ("a1", utc(2026, 6, 2, 8), utc(2026, 6, 2, 16), None),
    ]


def test_unnamed_column_may_be_empty_but_not_hold_values(tmp_path: Path) -> None:
    ok = "responder_id,start,end,\np1,2026-06-01 09:00,2026-06-01 17:00,\n"
    assert read_bundle(bundle(tmp_path / "a", absences=ok)).absences.height == 1
    bad = "responder_id,start,end,\np1,2026-06-01 09:00,2026-06-01 17:00,oops\n"
    with pytest.raises(InputError) as exc:
        read_bundle(bundle(tmp_path / "b", absences=bad))
    p = only(exc)
    assert (p.file, p.line) == ("absences.csv", 2) and "no name" in p.reason


def test_many_bad_rows_across_files_are_all_reported(tmp_path: Path) -> None:
    folder = bundle(
        tmp_path,
        responders=RESPONDERS + "p1,Dup,sio,,,\nq1,Quinn,plumber,,,\n",
        training="responder_id,competency,valid_from\nnope,jar,2026-01-01\np1,jar,2026-02-29\n",
        shifts=(
            "shift_id,responder_id,start,end\n"
            "a,p1,2026-03-29 01:30,2026-03-29 09:00\n"
            "b,p1,2026-06-01 09:00,2026-06-01 17:00\n"
            "c,ghost,2026-10-25 01:30,2026-10-25 00:00\n"
        ),
        absences="responder_id,start,end\ns1,2026-06-02 09:00,2026-06-01 09:00\n",
        **{"rules.toml": '[[rule]]\nid = "r"\nrole = "plumber"\n'},
    )
    with pytest.raises(InputError) as exc:
        read_bundle(folder)
    assert where(exc) == {
        ("rules.toml", 1, "rule 1"),
        ("responders.csv", 5, "responder_id"),
        ("responders.csv", 6, "role"),
        ("training.csv", 2, "responder_id"),
        ("training.csv", 3, "valid_from"),
        ("shifts.csv", 2, "start"),
        ("shifts.csv", 4, "responder_id"),
        ("shifts.csv", 4, "start"),
        ("absences.csv", 2, "end"),
    }
    message = exc.value.message()
    assert message.startswith("9 problems")
    assert "shifts.csv, line 4, column responder_id" in message


def test_known_responders_may_be_referenced(tmp_path: Path) -> None:
    text = "responder_id,start,end\nstored1,2026-06-01 09:00,2026-06-01 17:00\n"
    folder = bundle(tmp_path, shifts=text)
    with pytest.raises(InputError) as exc:
        read_bundle(folder)
    assert "unknown responder 'stored1'" in only(exc).reason
    known = pl.DataFrame({"responder_id": ["stored1"], "role": ["sio"]})
    assert read_bundle(folder, known_responders=known).shifts.height == 1


# ------------------------------------------------------------------------------------------------ rules


def test_rules_toml_is_read(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        'roles = ["nurse"]\n'
        "[[rule]]\n"
        'id = "paed-day"\nrole = "paediatrician"\nmin_count = 2\ncompetencies = ["jar"]\n'
        'age_band = "0-15"\nwindows = ["Mon-Fri 09:00-17:00"]\n'
        "[[rule]]\n"
        'id = "nurse"\nrole = "nurse"\n'
    )
    rules, roles = read_rules(path, DEFAULT_ROLES)
    assert [r.id for r in rules] == ["paed-day", "nurse"]
    assert rules[0].min_count == 2 and rules[0].windows[0].text == "Mon-Fri 09:00-17:00"
    assert roles == (*DEFAULT_ROLES, "nurse")


def test_rules_toml_syntax_error_gives_its_line(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text('[[rule]]\nid = "a"\nrole = \n')
    with pytest.raises(InputError) as exc:
        read_rules(path, DEFAULT_ROLES)
    p = only(exc)
    assert (p.file, p.line) == ("rules.toml", 3) and "TOML" in p.reason


def test_rules_toml_bad_tables_duplicates_and_unknown_roles(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        '[[rule]]\nid = "a"\nrole = "sio"\n'
        '[[rule]]\nid = "a"\nrole = "sio"\n'
        '[[rule]]\nid = "b"\nrole = "wizard"\n'
        '[[rule]]\nid = "c"\nrole = "sio"\nmin_count = 0\n'
        '[[rule]]\nid = "d"\nrole = "sio"\nwindows = ["Mon-Fri 9am-5pm"]\ncolour = "red"\n'
    )
    with pytest.raises(InputError) as exc:
        read_rules(path, DEFAULT_ROLES)
    got = {p.column: p.reason for p in problems_of(exc)}
    assert set(got) == {"rule 2", "rule 3", "rule 4", "rule 5"}
    assert all(p.file == "rules.toml" for p in problems_of(exc))
    assert "duplicate rule id 'a'" in got["rule 2"]
    assert "unknown role 'wizard'" in got["rule 3"]
    assert "min_count" in got["rule 4"]
    assert "colour" in got["rule 5"]


# ------------------------------------------------------------------------------------------------- Excel


def test_workbook_with_real_excel_dates_numbers_and_booleans(tmp_path: Path) -> None:
    book = tmp_path / "rota.xlsx"
    wb = xlsxwriter.Workbook(str(book))
    when = wb.add_format({"num_format": "dd/mm/yyyy hh:mm"})
    day = wb.add_format({"num_format": "dd/mm/yyyy"})
    ws = wb.add_worksheet("Responders")
    ws.write_row(0, 0, ["responder_id", "name", "role", "active"])
    ws.write_number(1, 0, 101)
    ws.write_row(1, 1, ["Dr Num", "paediatrician"])
    ws.write_boolean(1, 3, True)
    ws.write_row(2, 0, ["s1", "DS Text", "sio"])
    ws.write_boolean(2, 3, False)
    ws = wb.add_worksheet("training")
    ws.write_row(0, 0, ["responder_id", "competency", "valid_from", "valid_until"])
    ws.write_number(1, 0, 101)
    ws.write_string(1, 1, "jar")
    ws.write_datetime(1, 2, date(2026, 1, 1), day)
    ws.write_string(1, 3, "31/12/2026")
    ws = wb.add_worksheet("shifts")
    ws.write_row(0, 0, ["shift_id", "responder_id", "start", "end", "kind"])
    ws.write_number(1, 0, 7)
    ws.write_number(1, 1, 101)
    ws.write_datetime(1, 2, datetime(2026, 3, 28, 21, 0), when)  # noqa: DTZ001 - Excel cells are naive
    ws.write_datetime(1, 3, datetime(2026, 3, 29, 9, 0), when)  # noqa: DTZ001
    ws.write_number(2, 1, 101)
    ws.write_number(2, 2, 46110.395833333336, when)  # 2026-03-29 09:30 as Excel stores it
    ws.write_string(2, 3, "2026-03-29T17:00+01:00")
    wb.add_worksheet("notes")  # other sheets are ignored
    wb.close()

    rota = read_bundle(book)
    assert rota.responders.select("responder_id", "active").rows() == [("101", True), ("s1", False)]
    assert rota.training.rows() == [("101", "jar", date(2026, 1, 1), date(2026, 12, 31))]
    assert rota.shifts.rows() == [
        ("7", "101", utc(2026, 3, 28, 21), utc(2026, 3, 29, 8), "oncall"),
        (None, "101", utc(2026, 3, 29, 8, 30), utc(2026, 3, 29, 16), "oncall"),
    ]


def test_workbook_problems_name_sheet_and_sheet_row(tmp_path: Path) -> None:
    book = tmp_path / "book.xlsx"
    wb = xlsxwriter.Workbook(str(book))
    when = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    ws = wb.add_worksheet("responders")
    ws.write_row(0, 0, ["responder_id", "name", "role"])
    ws.write_row(1, 0, ["p1", "Ann", "paediatrician"])
    ws = wb.add_worksheet("shifts")
    ws.write_row(2, 1, ["responder_id", "start", "end", "colour"])  # header on sheet row 3, from column B
    ws.write_row(3, 1, ["p1", "2026-03-29 09:00", "2026-03-29 17:00"])
    ws.write_string(4, 1, "p1")
    ws.write_datetime(4, 2, datetime(2026, 3, 29, 1, 30), when)  # noqa: DTZ001
    ws.write_datetime(4, 3, datetime(2026, 3, 29, 9, 0), when)  # noqa: DTZ001
    ws.write_row(6, 1, ["ghost", "2026-03-29 09:00", "2026-03-29 17:00"])
    wb.close()
    with pytest.raises(InputError) as exc:
        read_bundle(book)
    assert where(exc) == {
        ("book.xlsx:shifts", 3, "colour"),
        ("book.xlsx:shifts", 5, "start"),
        ("book.xlsx:shifts", 7, "responder_id"),
    }
    start_problem = next(p for p in problems_of(exc) if p.column == "start")
    assert "does not exist" in start_problem.reason


def test_workbook_that_is_not_a_workbook_is_rejected(tmp_path: Path) -> None:
    book = tmp_path / "rota.xlsx"
    book.write_bytes(b"this is not a zip file at all")
    with pytest.raises(InputError) as exc:
        read_bundle(book)
    p = only(exc)
    assert p.file == "rota.xlsx" and "Excel workbook" in p.reason


def test_workbook_without_responders_sheet_is_rejected(tmp_path: Path) -> None:
    book = tmp_path / "rota.xlsx"
    wb = xlsxwriter.Workbook(str(book))
    wb.add_worksheet("shifts").write_row(0, 0, ["responder_id", "start", "end"])
    wb.close()
    with pytest.raises(InputError) as exc:
        read_bundle(book)
    assert "no sheet named 'responders'" in only(exc).reason


# ------------------------------------------------------------------------------------------- read_table


def test_read_table_reads_one_csv_and_checks_references_only_when_given(tmp_path: Path) -> None:
    path = write(tmp_path, {"my-shifts.csv": shifts_with("2026-06-01 09:00", "2026-06-01 17:00")})
    df = read_table(path / "my-shifts.csv", "shifts")
    assert df.schema == SCHEMAS["shifts"] and df.height == 1
    with pytest.raises(InputError) as exc:
        read_table(path / "my-shifts.csv", "shifts", known_responders=pl.DataFrame({"responder_id": ["x"]}))
    p = only(exc)
    assert (p.file, p.line, p.column) == ("my-shifts.csv", 2, "responder_id")


def test_read_table_reads_one_sheet_of_a_workbook(tmp_path: Path) -> None:
    book = tmp_path / "rota.xlsx"
    write_workbook(sample_rota(), book)
    assert_frame_equal(read_table(book, "training"), sample_rota().training)


def test_read_table_unknown_kind(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        read_table(tmp_path / "x.csv", "cases")


def test_read_table_with_configured_roles(tmp_path: Path) -> None:
    path = write(tmp_path, {"r.csv": "responder_id,name,role\nn1,Nia,Nurse\n"})
    with pytest.raises(InputError):
        read_table(path / "r.csv", "responders")
    df = read_table(path / "r.csv", "responders", known_roles=(*DEFAULT_ROLES, "nurse"))
    assert df.get_column("role").to_list() == ["nurse"]


# -------------------------------------------------------------------------------------------- robustness


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_any_bytes_give_a_frame_or_an_input_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "shifts.csv"
    path.write_bytes(b"shift_id,responder_id,start,end,kind\n" + data)
    try:
        df = read_table(path, "shifts")
    except InputError as exc:
        assert exc.problems and all(isinstance(p, Problem) for p in exc.problems)
    else:
        assert df.schema == SCHEMAS["shifts"]


_cell = st.sampled_from(
    [
        "",
        " ",
        "p1",
        '"',
        '""',
        "x,y",
        "2026-10-25 01:30",
        "2026-03-29T01:30+00:00",
        "31/12/2026 23:59",
        "oncall",
    ]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(_cell, min_size=0, max_size=7), max_size=6))
def test_any_csv_like_text_gives_a_frame_or_an_input_error(tmp_path: Path, rows: list[list[str]]) -> None:
    path = tmp_path / "absences.csv"
    path.write_text("responder_id,start,end,reason\n" + "".join(",".join(r) + "\n" for r in rows))
    try:
        df = read_table(path, "absences")
    except InputError as exc:
        assert all(p.file == "absences.csv" for p in exc.problems)
    else:
        assert df.schema == SCHEMAS["absences"]
        assert (df.get_column("end") > df.get_column("start")).all()


def test_written_bundle_reads_back_after_a_long_shift_list(tmp_path: Path) -> None:
    start = utc(2026, 1, 1)
    n = 5000
    starts = [start + timedelta(minutes=37 * i) for i in range(n)]
    shifts = pl.DataFrame(
        {
            "shift_id": [f"s{i}" for i in range(n)],
            "responder_id": ["p1"] * n,
            "start": starts,
            "end": [s + timedelta(hours=12) for s in starts],
            "kind": ["oncall"] * n,
        },
        schema=SCHEMAS["shifts"],
    )
    rota = Rota(
        responders=sample_rota().responders.head(1).with_columns(responder_id=pl.lit("p1")), shifts=shifts
    )
    write_bundle(rota, tmp_path)
    assert_frame_equal(read_bundle(tmp_path).shifts, shifts)


def test_other_service_time_zones_are_honoured(tmp_path: Path) -> None:
    new_york = ZoneInfo("America/New_York")
    text = (
        "responder_id,start,end\np1,2026-03-08 01:30,2026-03-08 03:30\np1,2026-03-08 02:30,2026-03-08 04:00\n"
    )
    with pytest.raises(InputError) as exc:
        read_bundle(bundle(tmp_path, absences=text), tz=new_york)
    p = only(exc)
    assert (p.line, p.column) == (3, "start") and "does not exist in America/New_York" in p.reason
    rota = read_bundle(bundle(tmp_path / "ok", absences=text.replace("02:30", "03:00")), tz=new_york)
    assert rota.absences.get_column("start").to_list() == [utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 7)]
    write_bundle(rota, tmp_path / "out", tz=new_york)
    assert "2026-03-08T03:00:00-04:00" in (tmp_path / "out" / "absences.csv").read_text()
    assert_frame_equal(read_bundle(tmp_path / "out", tz=new_york).absences, rota.absences)


def test_fixed_offset_time_zone(tmp_path: Path) -> None:
    plus2 = timezone(timedelta(hours=2))
    text = "responder_id,start,end\np1,2026-03-29 01:30,2026-03-29T09:00Z\n"
    rota = read_bundle(bundle(tmp_path, absences=text), tz=plus2)
    assert rota.absences.get_column("start").to_list() == [utc(2026, 3, 28, 23, 30)]
    write_bundle(rota, tmp_path / "out", tz=plus2)
    assert "2026-03-29T01:30:00+02:00" in (tmp_path / "out" / "absences.csv").read_text()
