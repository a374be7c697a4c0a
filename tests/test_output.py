"""CSV written by the product: text cells a spreadsheet would run as a formula get a leading ', numbers stay
numbers, and the bundle reader takes the ' off again so that an export reads back unchanged."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from pathlib import Path

import polars as pl
from polars.testing import assert_frame_equal

from rota.bundle import read_bundle, write_bundle
from rota.model import SCHEMAS, Rota
from rota.output import csv_text, neutralise, render, to_csv

# Cells that Excel, LibreOffice or Google Sheets would take for a formula or a DDE command.
HOSTILE = [
    '=HYPERLINK("http://x")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1)",
    "\tfoo",
    "\rbar",
]


def cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def test_neutralise_prefixes_exactly_the_formula_cells() -> None:
    assert [neutralise(v) for v in HOSTILE] == ["'" + v for v in HOSTILE]
    for harmless in ("Bob", "07700 900123", "", "2026-10-25T01:30:00+01:00", "'quoted'", "a=b"):
        assert neutralise(harmless) == harmless
    # a value that already starts with apostrophes and then a trigger gets one more, so reading takes one off
    assert neutralise("'=x") == "''=x"


def test_csv_text_neutralises_text_cells_and_leaves_numbers_alone() -> None:
    frame = pl.DataFrame({"text": [*HOSTILE, "plain", None], "number": [-2, 3, -1, 0, 5, 6, -7, None]})
    rows = cells(csv_text(frame))
    assert rows[0] == ["text", "number"]
    assert [r[0] for r in rows[1:]] == ["'" + v for v in HOSTILE] + ["plain", ""]
    assert [r[1] for r in rows[1:]] == ["-2", "3", "-1", "0", "5", "6", "-7", ""]


def test_format_csv_output_neutralises_text_cells_and_leaves_numbers_alone() -> None:
    frame = pl.DataFrame(
        {
            "detail": HOSTILE,
            "available": [-1.0, 2.0, -3.5, 0.0, 1.0, 2.0],
            "start": [datetime(2026, 10, 25, 0, 30, tzinfo=UTC)] * 6,
        }
    )
    for text in (to_csv(frame), render(frame, "csv")):
        rows = cells(text)
        assert [r[0] for r in rows[1:]] == ["'" + v for v in HOSTILE]
        assert [r[1] for r in rows[1:]] == ["-1", "2", "-3.5", "0", "1", "2"]
        assert {r[2] for r in rows[1:]} == {"2026-10-25T01:30:00+01:00"}


def hostile_rota() -> Rota:
    responders = pl.DataFrame(
        {
            "responder_id": ["p1", "s1", "a1", "n1"],
            "name": ['=HYPERLINK("http://x")', "-2+3", "@SUM(1)", "'=Bob"],
            "role": ["paediatrician", "sio", "ambulance", "paediatrician"],
            "agency": ["+cmd|' /C calc'!A0", "+44 7700 900123", "\tTabbed", "Plain"],
            "email": [None, None, None, None],
            "phone": ["+44 7700 900123", None, "07700 900001", None],
            "active": [True, True, True, False],
        },
        schema=SCHEMAS["responders"],
    )
    training = pl.DataFrame(
        {"responder_id": ["p1"], "competency": ["=jar"], "valid_from": [date(2026, 1, 1)]},
        schema={k: v for k, v in SCHEMAS["training"].items() if k != "valid_until"},
    )
    absences = pl.DataFrame(
        {
            "responder_id": ["p1"],
            "start": [datetime(2026, 7, 1, 8, tzinfo=UTC)],
            "end": [datetime(2026, 7, 2, 8, tzinfo=UTC)],
            "reason": ["@leave"],
        },
        schema=SCHEMAS["absences"],
    )
    return Rota(responders=responders, training=training, absences=absences).conformed()


def test_bundle_export_neutralises_formula_cells(tmp_path: Path) -> None:
    write_bundle(hostile_rota(), tmp_path / "out")
    rows = cells((tmp_path / "out" / "responders.csv").read_text(encoding="utf-8"))
    by_column = dict(zip(rows[0], zip(*rows[1:], strict=True), strict=True))
    assert by_column["name"] == ('\'=HYPERLINK("http://x")', "'-2+3", "'@SUM(1)", "''=Bob")
    assert by_column["agency"] == ("'+cmd|' /C calc'!A0", "'+44 7700 900123", "'\tTabbed", "Plain")
    assert by_column["phone"] == ("'+44 7700 900123", "", "07700 900001", "")
    assert "'=jar" in (tmp_path / "out" / "training.csv").read_text(encoding="utf-8")
    assert "'@leave" in (tmp_path / "out" / "absences.csv").read_text(encoding="utf-8")


def test_bundle_export_reads_back_unchanged(tmp_path: Path) -> None:
    # Ids and names may not hold a tab (docs/bundle.md, "Limits"), free text may: the tab goes there.
    rota = hostile_rota()
    rota = Rota(
        responders=rota.responders.with_columns(pl.col("agency").str.strip_chars("\t")),
        training=rota.training,
        absences=rota.absences.with_columns(pl.lit("\t@leave").alias("reason")),
    ).conformed()
    write_bundle(rota, tmp_path / "out")
    back = read_bundle(tmp_path / "out")
    for kind in ("responders", "training", "absences"):
        assert_frame_equal(getattr(back, kind), getattr(rota, kind))


def test_reader_takes_off_exactly_one_apostrophe_before_a_formula_character(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "responders.csv").write_text(
        "responder_id,name,role,agency\n"
        "p1,'=Bob,paediatrician,'+44 7700 900123\n"
        "p2,''=Bob,paediatrician,'quoted'\n"
        "p3,'Bob,paediatrician,'-\n",
        encoding="utf-8",
    )
    got = read_bundle(folder).responders
    assert got["name"].to_list() == ["=Bob", "'=Bob", "'Bob"]
    assert got["agency"].to_list() == ["+44 7700 900123", "'quoted'", "-"]
