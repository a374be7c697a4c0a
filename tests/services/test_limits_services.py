"""The input limits in the services that store edits: training edits (people), grid edits and saved
changes (editing), and the calendar feed of whatever text and dates the database holds. SQLite and
PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime

import polars as pl
import pytest
from sqlalchemy import Engine, text

from rota.errors import InputError
from rota.services.calendar import responder_calendar
from rota.services.editing import (
    CREATE,
    SHIFT,
    Change,
    editor_frames,
    save_changes,
    shift_row,
    validate_changes,
    week_rota,
)
from rota.services.people import add_training, renew_training, update_training
from rota.storage.db import init_db
from rota.storage.imports import import_rota
from rota.storage.people import training_rows
from tests.services.test_editing import POLICE_COORD, WEEK, grid, sample, wall


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = init_db(db_url)
    import_rota(eng, sample(), actor="setup")
    try:
        yield eng
    finally:
        eng.dispose()


@pytest.mark.parametrize("bad", [date(1, 1, 1), date(1899, 12, 31), date(2101, 1, 1), date(9999, 12, 31)])
def test_training_edits_keep_to_1900_2100(engine: Engine, bad: date) -> None:
    before = training_rows(engine).height
    with pytest.raises(InputError, match=r"outside the accepted dates \(1900-01-01 to 2100-12-31\)"):
        add_training(engine, POLICE_COORD, "S1", "jar", bad)
    with pytest.raises(InputError, match="outside the accepted dates"):
        add_training(engine, POLICE_COORD, "S1", "jar", date(2026, 1, 1), bad)
    row = training_rows(engine).filter(pl.col("responder_id") == "S1").row(0, named=True)
    with pytest.raises(InputError, match="outside the accepted dates"):
        renew_training(engine, POLICE_COORD, row["id"], row["version"], date(2026, 1, 1), bad)
    with pytest.raises(InputError, match="outside the accepted dates"):
        update_training(engine, POLICE_COORD, row["id"], row["version"], bad)
    assert training_rows(engine).height == before


def test_a_competency_longer_than_an_id_is_refused(engine: Engine) -> None:
    with pytest.raises(InputError, match="at most 64 characters"):
        add_training(engine, POLICE_COORD, "S1", "j" * 65, date(2026, 1, 1))


def test_grid_edits_outside_the_dates_are_named_by_row_and_column(engine: Engine) -> None:
    view = week_rota(engine, POLICE_COORD, WEEK)
    edited, _ = editor_frames(view)
    bad = grid(
        ("S1", wall(3, 30, 9, year=1), wall(3, 30, 17), "oncall"),
        ("S1", wall(3, 30, 9), wall(3, 30, 17, year=9999), "oncall"),
    )
    checked = validate_changes(view, pl.concat([edited, bad]))
    n = edited.height
    assert {(p.file, p.line, p.column) for p in checked.problems} == {
        ("Shifts", n + 1, "start"),
        ("Shifts", n + 2, "end"),
    }
    assert all("outside the accepted dates" in p.reason for p in checked.problems)


def test_saved_changes_keep_the_limits_whoever_built_them(engine: Engine) -> None:
    far = datetime(2200, 1, 1, 9, tzinfo=UTC)
    changes = [
        Change(SHIFT, CREATE, after=shift_row("S1", far, far.replace(hour=17)), row=1),
        Change(
            SHIFT,
            CREATE,
            after=shift_row("S1" * 40, far.replace(year=2026), far.replace(year=2026, hour=17)),
            row=2,
        ),
    ]
    with pytest.raises(InputError) as exc:
        save_changes(engine, POLICE_COORD, changes)
    assert {(p.line, p.column) for p in exc.value.problems} == {(1, "start"), (1, "end"), (2, "responder_id")}


def test_the_calendar_puts_any_stored_text_on_one_line(engine: Engine) -> None:
    with engine.begin() as conn:  # as an older version, or a hand edit, might have left it
        conn.execute(
            text("UPDATE responder SET name = :n WHERE responder_id = 'S1'"), {"n": "DI Alpha\nBeta\r\x07"}
        )
    data = responder_calendar(engine, "S1", datetime(2026, 3, 1, tzinfo=UTC), None)
    lines = data.decode("utf-8").split("\r\n")
    summaries = [line for line in lines if line.startswith("SUMMARY:")]
    assert summaries and all(s.endswith("DI Alpha Beta") for s in summaries)
    assert "\x07" not in data.decode("utf-8")
    assert not any("\n" in line or "\r" in line for line in lines)
