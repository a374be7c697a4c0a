"""Reason categories and the refusal of identifying free text in cases.csv (docs/cases.md)."""

from __future__ import annotations

import pytest

from rota.analytics.cases import parse_cases
from rota.analytics.reasons import (
    REASON_CATEGORIES,
    identifying_text,
    nhs_number_valid,
    reason_category,
)
from rota.errors import InputError

HEADER = "case_id,notified_at,age_years,jar_criteria_met,jar_triggered,category,reason_incomplete"


def _file(*reasons: str, extra: str = "", extra_values: tuple[str, ...] = ()) -> bytes:
    lines = [HEADER + extra]
    for i, reason in enumerate(reasons):
        tail = f",{extra_values[i]}" if extra else ""
        lines.append(f"JAR-2026-{i + 1:04d},2026-01-0{i + 1} 10:00,3,yes,yes,SUDC,{reason}{tail}")
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("seen by Mr John Smith at home", "a title and name"),
        ("Baby Jones found at 06:00", "a title and name"),
        ("Dr Patel delayed", "a title and name"),
        ("DOB 12/03/2019", "a date of birth or other date"),
        ("born 3 March 2019", "a date of birth or other date"),
        ("visit on 12-03-19", "a date of birth or other date"),
        ("lives at SW1A 1AA", "a postcode"),
        ("NHS no 943 476 5919", "an NHS number"),
        ("943-476-5918 given", "an NHS number"),  # any 3-3-4 group, check digit or not
        ("ref 9434765919", "an NHS number"),  # 10 digits passing the modulus 11 check
    ],
)
def test_identifying_text_is_recognised(text: str, kind: str) -> None:
    assert identifying_text(text) == kind


@pytest.mark.parametrize(
    "text",
    [
        "SIO not available (gap in the on-call rota)",
        "Dr on call delayed by clinical duties",
        "family declined home visit",
        "born before arrival",
        "ambulance call 07700 900123 not answered",
        "ref 9434765918",  # 10 digits failing the check digit, no grouping
        "Baby Friendly unit closed",
        "home visit delayed beyond 24 hours",
    ],
)
def test_ordinary_reasons_are_not_refused(text: str) -> None:
    assert identifying_text(text) is None


def test_nhs_number_check_digit() -> None:
    assert nhs_number_valid("9434765919") and not nhs_number_valid("9434765918")


def test_identifying_free_text_is_refused_with_file_line_column_and_never_echoed() -> None:
    data = _file("no paediatrician on call", "family of Mrs Ada Brown declined", "DOB 01/02/2020")
    with pytest.raises(InputError) as err:
        parse_cases(data, "cases.csv")
    problems = err.value.problems
    assert [(p.file, p.line, p.column) for p in problems] == [
        ("cases.csv", 3, "reason_incomplete"),
        ("cases.csv", 4, "reason_incomplete"),
    ]
    text = str(err.value)
    for secret in ("Ada", "Brown", "01/02/2020"):
        assert secret not in text
    assert "a title and name" in problems[0].reason and "date of birth" in problems[1].reason


def test_categories_are_derived_from_codes_keywords_or_other() -> None:
    cases = parse_cases(
        _file("family_declined", "SIO not available (gap in the on-call rota)", "unusual circumstances", "")
    )
    assert cases["reason_category"].to_list() == [
        "family_declined",
        "no_trained_responder",
        "other",
        "not_recorded",
    ]
    assert cases["reason_incomplete"][1] == "SIO not available (gap in the on-call rota)"  # kept as given


def test_an_optional_reason_category_column_is_accepted_and_checked() -> None:
    ok = parse_cases(
        _file("whatever", "", extra=",reason_category", extra_values=("coroner_police_decision", ""))
    )
    assert ok["reason_category"].to_list() == ["coroner_police_decision", "not_recorded"]
    with pytest.raises(InputError, match="not a reason category"):
        parse_cases(_file("x", extra=",reason_category", extra_values=("made up",)))


def test_every_category_has_a_label_and_the_list_is_documented() -> None:
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "cases.md").read_text(encoding="utf-8")
    for code, label in REASON_CATEGORIES.items():
        assert reason_category(code) == code and reason_category(label) == code
        assert f"`{code}`" in doc
