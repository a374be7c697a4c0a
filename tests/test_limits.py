"""The input limits (rota/limits.py, docs/bundle.md "Limits") in the readers: dates 1900-2100, lengths of
ids, names and free text, control characters, duplicate keys, CR-only files, .xlsm, rules.toml bounds, and
case steps before the notification. Each is bad input with its file, line and column."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from rota.analytics.cases import parse_cases
from rota.bundle import check_rows, read_bundle, read_rules, read_table
from rota.errors import InputError, Problem
from rota.limits import printable
from rota.timeutil import TimeParseError, parse_bound, parse_date, parse_instant
from tests.test_bundle import RESPONDERS, bundle, where


def problems(exc: pytest.ExceptionInfo[InputError]) -> dict[tuple[str, int | None, str | None], str]:
    return {(p.file, p.line, p.column): p.reason for p in exc.value.problems}


# ---------------------------------------------------------------------------------------------- dates


@pytest.mark.parametrize("text", ["0000-01-01", "9999-12-31", "31/12/1899", "01/01/2101"])
def test_dates_outside_1900_2100_are_refused_with_file_line_and_column(tmp_path: Path, text: str) -> None:
    training = f"responder_id,competency,valid_from,valid_until\np1,jar,2020-01-01,\np1,x,{text},\n"
    with pytest.raises(InputError) as exc:
        read_bundle(bundle(tmp_path, training=training))
    (reason,) = problems(exc).values()
    assert where(exc) == {("training.csv", 3, "valid_from")}
    assert "outside the accepted dates (1900-01-01 to 2100-12-31)" in reason


def test_valid_until_in_year_0_is_refused(tmp_path: Path) -> None:
    training = "responder_id,competency,valid_from,valid_until\np1,jar,2020-01-01,0000-01-01\n"
    with pytest.raises(InputError) as exc:
        read_bundle(bundle(tmp_path, training=training))
    assert where(exc) == {("training.csv", 2, "valid_until")}


def test_the_range_ends_are_accepted(tmp_path: Path) -> None:
    training = "responder_id,competency,valid_from,valid_until\np1,jar,1900-01-01,31/12/2100\n"
    shifts = (
        "responder_id,start,end\np1,1900-01-01 00:00,1900-01-01 09:00\np1,2100-12-31 09:00,31/12/2100 23:59\n"
    )
    rota = read_bundle(bundle(tmp_path, training=training, shifts=shifts))
    assert rota.training.row(0)[2:] == (date(1900, 1, 1), date(2100, 12, 31))
    assert rota.shifts.height == 2


@pytest.mark.parametrize(
    "start", ["0000-01-01 00:00", "9999-12-31T23:00+14:00", "01/01/1899 10:00", "2101-01-01T00:00Z"]
)
def test_instants_outside_the_range_are_refused(tmp_path: Path, start: str) -> None:
    shifts = f"shift_id,responder_id,start,end\nX1,p1,{start},2026-01-01 09:00\n"
    with pytest.raises(InputError) as exc:
        read_bundle(bundle(tmp_path, shifts=shifts))
    assert where(exc) == {("shifts.csv", 2, "start")}
    assert "outside the accepted dates" in problems(exc)[("shifts.csv", 2, "start")]


def test_the_parsers_and_command_line_bounds_keep_the_range() -> None:
    for text in ("0000-01-01", "9999-12-31", "0001-01-01 00:00"):
        with pytest.raises(TimeParseError, match="outside the accepted dates"):
            parse_bound(text)
    with pytest.raises(TimeParseError, match="outside"):
        parse_date("01/01/1899")
    with pytest.raises(TimeParseError, match="outside"):
        parse_instant("2101-01-01T00:00Z")
    assert parse_bound("2100-12-31").year == 2100


def test_a_grid_row_dated_year_1_is_refused_by_check_rows() -> None:
    rows = pl.DataFrame({"responder_id": ["p1"], "start": ["01/01/0001 09:00"], "end": ["01/01/2026 09:00"]})
    with pytest.raises(InputError) as exc:
        check_rows(rows, "shifts", name="Shifts", lines=[4])
    assert where(exc) == {("Shifts", 4, "start")}


# --------------------------------------------------------------------------------- lengths, characters


def test_lengths_of_ids_names_and_free_text(tmp_path: Path) -> None:
    long_id, long_name, long_text = "i" * 65, "n" * 201, "t" * 501
    responders = RESPONDERS + f"{long_id},Ok Name,sio,,,\nok2,{long_name},sio,,,\nok3,Ok,sio,{long_name},,\n"
    absences = f"responder_id,start,end,reason\ns1,2026-06-01 09:00,2026-06-01 17:00,{long_text}\n"
    shifts = f"shift_id,responder_id,start,end\n{long_id},s1,2026-06-01 09:00,2026-06-01 17:00\n"
    training = f"responder_id,competency,valid_from\ns1,{long_id},2020-01-01\n"
    with pytest.raises(InputError) as exc:
        read_bundle(
            bundle(tmp_path, responders=responders, absences=absences, shifts=shifts, training=training)
        )
    found = problems(exc)
    assert set(found) == {
        ("responders.csv", 5, "responder_id"),
        ("responders.csv", 6, "name"),
        ("responders.csv", 7, "agency"),
        ("absences.csv", 2, "reason"),
        ("shifts.csv", 2, "shift_id"),
        ("training.csv", 2, "competency"),
    }
    assert "65 characters long; an id may be at most 64" in found[("responders.csv", 5, "responder_id")]
    assert "a name may be at most 200" in found[("responders.csv", 6, "name")]
    assert "free text may be at most 500" in found[("absences.csv", 2, "reason")]
    # The limits themselves are allowed.
    responders = RESPONDERS + f"{'i' * 64},{'n' * 200},sio,,,\n"
    absences = f"responder_id,start,end,reason\ns1,2026-06-01 09:00,2026-06-01 17:00,{'t' * 500}\n"
    assert read_bundle(bundle(tmp_path / "ok", responders=responders, absences=absences)).absences.height == 1


def test_phone_numbers_as_written_are_read_and_others_refused_with_line_and_column(tmp_path: Path) -> None:
    ok = (
        "responder_id,name,role,phone\n"
        "p1,Dr Ada Paed,paediatrician,07700 900123\n"
        "s1,DS Sam Sio,sio,+44 (0)1632 960123\n"
        "a1,Alex Amb,ambulance,\n"
        "a2,Bea Amb,ambulance,07700-900124\n"
    )
    rota = read_bundle(bundle(tmp_path / "ok", responders=ok))
    assert rota.responders["phone"].to_list() == ["07700 900123", "+44 (0)1632 960123", None, "07700-900124"]
    bad = (
        "responder_id,name,role,phone\n"
        "p1,Dr Ada Paed,paediatrician,call 07700 900123\n"
        "s1,DS Sam Sio,sio,07700 900123 ext. 4\n"
        "a1,Alex Amb,ambulance,+ ( )\n"
        f"a2,Bea Amb,ambulance,{'0' * 33}\n"
        f"a3,Cy Amb,ambulance,{'0' * 32}\n"
    )
    with pytest.raises(InputError) as exc:
        read_bundle(bundle(tmp_path / "bad", responders=bad))
    found = problems(exc)
    assert set(found) == {("responders.csv", n, "phone") for n in (2, 3, 4, 5)}
    assert "is not a phone number: write it with digits, spaces" in found[("responders.csv", 2, "phone")]
    assert "'call 07700 900123'" in found[("responders.csv", 2, "phone")]
    assert "a phone number may be at most 32 characters" in found[("responders.csv", 5, "phone")]


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f", "\x85", "\u2028", "\t", "\r"])
def test_control_characters_in_ids_and_names_are_refused(tmp_path: Path, char: str) -> None:
    data = (RESPONDERS + f"x{char}1,Ok,sio,,,\nok2,Ann{char}Other,sio,,,\n").encode()
    if char == "\x00":
        # A NUL byte makes the file binary: refused whole, with the file named.
        with pytest.raises(InputError, match=r"responders\.csv: not a UTF-8 CSV file"):
            read_bundle(bundle(tmp_path, responders=data))
        return
    with pytest.raises(InputError) as exc:
        read_bundle(bundle(tmp_path, responders=data))
    found = problems(exc)
    assert set(found) == {("responders.csv", 5, "responder_id"), ("responders.csv", 6, "name")}
    assert "control character" in found[("responders.csv", 6, "name")]


def test_a_line_break_in_a_quoted_name_is_refused(tmp_path: Path) -> None:
    # A quoted line feed splits the row in this line-based reader; a quoted NUL-free CR stays in the value.
    data = RESPONDERS + 'ok2,"Ann\rOther",sio,,,\n'
    with pytest.raises(InputError) as exc:
        read_bundle(bundle(tmp_path, responders=data))
    assert where(exc) == {("responders.csv", 5, "name")}


def test_free_text_may_hold_tabs_but_not_other_control_characters(tmp_path: Path) -> None:
    ok = "responder_id,start,end,reason\ns1,2026-06-01 09:00,2026-06-01 17:00,a\tb\n"
    assert read_bundle(bundle(tmp_path, absences=ok)).absences.get_column("reason").to_list() == ["a\tb"]
    bad = "responder_id,start,end,reason\ns1,2026-06-01 09:00,2026-06-01 17:00,a\x07b\n"
    with pytest.raises(InputError) as exc:
        read_bundle(bundle(tmp_path / "bad", absences=bad))
    assert where(exc) == {("absences.csv", 2, "reason")}


def test_a_huge_value_is_reported_once_with_a_short_excerpt(tmp_path: Path) -> None:
    shifts = f"responder_id,start,end\ns1,{'2' * 100_000},2026-06-01 17:00\n"
    with pytest.raises(InputError) as exc:
        read_bundle(bundle(tmp_path, shifts=shifts))
    assert where(exc) == {("shifts.csv", 2, "start")}
    assert len(exc.value.message()) < 300


# ---------------------------------------------------------------------------------- duplicate keys


def test_duplicate_training_and_absence_keys_name_file_and_line(tmp_path: Path) -> None:
    training = "responder_id,competency,valid_from\np1,jar,2020-01-01\ns1,jar,2020-01-01\np1,jar,01/01/2020\n"
    absences = (
        "responder_id,start,end,reason\n"
        "s1,2026-06-01 09:00,2026-06-01 17:00,leave\n"
        "s1,2026-06-01T09:00+01:00,2026-06-01 17:00,course\n"
    )
    with pytest.raises(InputError) as exc:
        read_bundle(bundle(tmp_path, training=training, absences=absences))
    found = problems(exc)
    assert set(found) == {("training.csv", 4, "valid_from"), ("absences.csv", 3, "start")}
    assert "already on line 2" in found[("training.csv", 4, "valid_from")]
    assert "already on line 2" in found[("absences.csv", 3, "start")]


def test_duplicate_training_in_a_single_csv(tmp_path: Path) -> None:
    path = tmp_path / "training.csv"
    path.write_text("responder_id,competency,valid_from\np1,jar,2020-01-01\np1,jar,2020-01-01\n")
    with pytest.raises(InputError) as exc:
        read_table(path, "training")
    assert where(exc) == {("training.csv", 3, "valid_from")}


# ------------------------------------------------------------------------------------ file shapes


def test_cr_only_line_endings_are_refused_with_what_to_do(tmp_path: Path) -> None:
    shifts = b"responder_id,start,end\rs1,2026-06-01 09:00,2026-06-01 17:00\r"
    with pytest.raises(InputError) as exc:
        read_bundle(bundle(tmp_path, shifts=shifts))
    p = only_problem(exc)
    assert p.file == "shifts.csv" and "carriage return only" in p.reason and "CSV UTF-8" in p.reason


def test_cr_only_cases_csv_is_read_line_by_line() -> None:
    data = b"case_id,notified_at,age_years,jar_criteria_met,jar_triggered\rC1,2026-01-01 10:00,3,yes,yes\r"
    assert parse_cases(data).height == 1


@pytest.mark.parametrize("suffix", [".xlsm", ".xls", ".ods"])
def test_only_xlsx_workbooks_are_read(tmp_path: Path, suffix: str) -> None:
    book = tmp_path / f"rota{suffix}"
    wb = xlsxwriter.Workbook(str(book))
    wb.add_worksheet("responders").write_row(0, 0, ["responder_id", "name", "role"])
    wb.close()
    for read in (lambda: read_bundle(book), lambda: read_table(book, "shifts")):
        with pytest.raises(InputError) as exc:
            read()
        p = only_problem(exc)
        assert p.file == book.name
        assert f"only .xlsx workbooks are read, not {suffix} files" in p.reason
        assert "save it as an Excel Workbook (.xlsx)" in p.reason


# ---------------------------------------------------------------------------------------- rules.toml


@pytest.mark.parametrize("count", ["0", "1001", str(2**63), str(2**63 - 1), "-1"])
def test_min_count_is_bounded_1_to_1000_with_the_rule_s_line(tmp_path: Path, count: str) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(f'roles = []\n\n[[rule]]\nid = "r"\nrole = "sio"\nmin_count = {count}\n')
    with pytest.raises(InputError) as exc:
        read_rules(path)
    p = only_problem(exc)
    assert (p.file, p.line) == ("rules.toml", 3)
    assert "min_count must be a whole number from 1 to 1000" in p.reason


def test_min_count_1000_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text('[[rule]]\nid = "r"\nrole = "sio"\nmin_count = 1000\n')
    (rule,), _ = read_rules(path)
    assert rule.min_count == 1000


def test_deeply_nested_toml_is_bad_input(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(InputError) as exc:
        read_rules(path)
    p = only_problem(exc)
    assert p.file == "rules.toml" and "nested too deeply" in p.reason


def test_rule_ids_roles_and_competencies_keep_the_limits(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(
        'roles = ["nu\\nrse"]\n[[rule]]\n'
        f'id = "{"r" * 65}"\nrole = "sio"\n[[rule]]\nid = "b"\nrole = "sio"\ncompetencies = ["j\\u0000ar"]\n'
    )
    with pytest.raises(InputError) as exc:
        read_rules(path)
    found = problems(exc)
    assert set(found) == {
        ("rules.toml", None, "roles"),
        ("rules.toml", 2, "rule 1"),
        ("rules.toml", 5, "rule 2"),
    }


# ------------------------------------------------------------------------------------------- cases

CASES_HEAD = (
    "case_id,notified_at,age_years,jar_criteria_met,jar_triggered,paediatrician_at,police_at,category\n"
)


def test_a_case_in_year_0_is_refused() -> None:
    data = (
        CASES_HEAD + "C1,0000-01-01 10:00,3,yes,yes,,,\nC2,2026-01-01 10:00,3,yes,yes,9999-01-01 10:00,,\n"
    ).encode()
    with pytest.raises(InputError) as exc:
        parse_cases(data)
    assert where(exc) == {("cases.csv", 2, "notified_at"), ("cases.csv", 3, "paediatrician_at")}


def test_case_steps_before_the_notification_are_refused() -> None:
    data = (
        CASES_HEAD
        + "C1,2026-01-01 10:00,3,yes,yes,2026-01-01 09:59,2026-01-01 10:00,\n"
        + "C2,2026-06-01T10:00+01:00,3,yes,yes,2026-06-01T09:30Z,,\n"
    ).encode()
    with pytest.raises(InputError) as exc:
        parse_cases(data)
    found = problems(exc)
    assert set(found) == {("cases.csv", 2, "paediatrician_at")}  # equal is fine; 09:30Z is after 09:00Z
    assert "before notified_at 2026-01-01 10:00" in found[("cases.csv", 2, "paediatrician_at")]


def test_case_ids_categories_and_reasons_keep_the_limits() -> None:
    head = "case_id,notified_at,age_years,jar_criteria_met,jar_triggered,category,reason_incomplete\n"
    data = (
        head
        + f"{'c' * 65},2026-01-01 10:00,3,yes,yes,,\n"
        + "C\x012,2026-01-01 10:00,3,yes,yes,,\n"
        + f"C3,2026-01-01 10:00,3,yes,yes,{'k' * 201},\n"
        + f"C4,2026-01-01 10:00,3,yes,yes,,{'r' * 501}\n"
        + 'C5,2026-01-01 10:00,3,yes,yes,SUDI,"two\nlines"\n'
    ).encode()
    with pytest.raises(InputError) as exc:
        parse_cases(data)
    assert where(exc) == {
        ("cases.csv", 2, "case_id"),
        ("cases.csv", 3, "case_id"),
        ("cases.csv", 4, "category"),
        ("cases.csv", 5, "reason_incomplete"),
    }


def test_printable_puts_any_text_on_one_line() -> None:
    assert printable("Ada\nLine\x00\r x\u2028y", 200) == "Ada Line x y"
    assert printable("a" * 10, 5) == "aaaa…"


def only_problem(exc: pytest.ExceptionInfo[InputError]) -> Problem:
    assert len(exc.value.problems) == 1, exc.value.message()
    return exc.value.problems[0]
