"""The shared chart helpers: downloads with local times as text, UK formatting, the heatmap's colours."""

from __future__ import annotations

import ast
import csv
import io
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import dashboard
from dashboard.components import charts
from dashboard.components.charts import (
    NA_COLOUR,
    SEQUENTIAL,
    HeatmapPanel,
    download_buttons,
    heatmap,
    hours_amount,
    hours_text,
    percent,
    uk_date,
    uk_datetime,
    uk_day,
)
from dashboard.components.format import csv_bytes, for_people, xlsx_bytes

FRAME = pl.DataFrame(
    {
        "rule_id": ["sio", "sio"],
        # 00:30Z is 01:30 BST and 01:30Z is 01:30 GMT on 25 October 2026
        "start": [datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 1, 30, tzinfo=UTC)],
        "day": [date(2026, 10, 25), date(2026, 12, 28)],
        "bank_holiday": [False, True],
        "minutes": [60.0, 30.5],
        "who": ["Dr Émile Ñúñez", None],
    }
)


def test_uk_formats() -> None:
    assert uk_date(date(2026, 12, 25)) == "25/12/2026"
    assert uk_day(date(2026, 12, 25)) == "Fri 25/12/2026"
    assert uk_datetime(datetime(2026, 10, 25, 1, 30, tzinfo=UTC)) == "25/10/2026 01:30 GMT"
    assert percent(0.97314) == "97.3%"
    assert percent(None) == "–"
    assert hours_text(48.5) == "2d 0h 30m"
    assert hours_text(0.5) == "30m"
    assert [hours_amount(h) for h in (48.5, 1, 9.0, 0.5, 50378)] == [
        "48.5 hours",
        "1 hour",
        "9 hours",
        "30 minutes",
        "50,378 hours",
    ]


def test_for_people_writes_local_time_with_the_zone() -> None:
    out = for_people(FRAME)
    assert out["start"].to_list() == ["25/10/2026 01:30 BST", "25/10/2026 01:30 GMT"]
    assert out["day"].to_list() == ["25/10/2026", "28/12/2026"]
    assert out["bank_holiday"].to_list() == ["no", "yes"]
    assert out["minutes"].to_list() == [60.0, 30.5]


def test_csv_download_opens_in_excel_with_accents() -> None:
    data = csv_bytes(FRAME)
    assert data.startswith(b"\xef\xbb\xbf")  # byte-order mark
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0] == "rule_id,start,day,bank_holiday,minutes,who"
    assert "sio,25/10/2026 01:30 BST,25/10/2026,no,60.0,Dr Émile Ñúñez" in text


HOSTILE = ['=HYPERLINK("http://x")', "+cmd|' /C calc'!A0", "-2+3", "@SUM(1)", "\tfoo", "\rbar"]


def test_csv_download_neutralises_formula_cells_and_keeps_numbers() -> None:
    frame = pl.DataFrame({"who": HOSTILE, "change": [-2, 1, -3, 4, 5, -6], "day": [date(2026, 1, 1)] * 6})
    rows = list(csv.reader(io.StringIO(csv_bytes(frame).decode("utf-8-sig"), newline="")))
    assert [r[0] for r in rows[1:]] == ["'" + v for v in HOSTILE]
    assert [r[1] for r in rows[1:]] == ["-2", "1", "-3", "4", "5", "-6"]


def test_every_download_button_neutralises_its_csv(monkeypatch: pytest.MonkeyPatch) -> None:
    made: dict[str, bytes] = {}

    def fake_button(label: str, data: Callable[[], bytes], **kwargs: object) -> None:
        made[str(kwargs["file_name"])] = data()

    monkeypatch.setattr(charts.st, "download_button", fake_button)
    download_buttons(pl.DataFrame({"who": HOSTILE}), "gaps")
    rows = list(csv.reader(io.StringIO(made["gaps.csv"].decode("utf-8-sig"), newline="")))
    assert [r[0] for r in rows[1:]] == ["'" + v for v in HOSTILE]


def _csv_data(node: ast.Call) -> str | None:
    """The source of the file a CSV download offers: an st.download_button(label, data, mime="text/csv")
    or a Download(label, data, file_name, CSV_MIME, key) of dashboard/components/downloads.py; None for
    anything else."""
    if isinstance(node.func, ast.Attribute) and node.func.attr == "download_button":
        mime = {k.arg: k.value for k in node.keywords}.get("mime")
        if isinstance(mime, ast.Constant) and mime.value == "text/csv":
            return ast.unparse(node.args[1]) if len(node.args) > 1 else ""
    if isinstance(node.func, ast.Name) and node.func.id == "Download" and len(node.args) > 3:
        mime = node.args[3]
        if (isinstance(mime, ast.Name) and mime.id == "CSV_MIME") or (
            isinstance(mime, ast.Constant) and mime.value == "text/csv"
        ):
            return ast.unparse(node.args[1])
    return None


def test_every_csv_download_in_the_dashboard_goes_through_the_safe_writers() -> None:
    """Each CSV download sits in a function that makes its file with csv_bytes (dashboard.components.format)
    or week_csv (rota.services.editing), both of which neutralise."""
    root = Path(dashboard.__file__).parent
    found = 0
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef):
                continue
            for node in ast.walk(func):
                data = _csv_data(node) if isinstance(node, ast.Call) else None
                if data is None:
                    continue
                found += 1
                source = ast.unparse(func)
                assert "week_csv(" in data or ("csv_bytes(" in source and data == "as_csv"), (
                    f"{path.name}:{node.lineno}: a CSV download not made by csv_bytes or week_csv"
                )
    assert found >= 3  # download_buttons and the rota editor's two


def test_excel_download_has_the_same_text() -> None:
    sheet = pl.read_excel(io.BytesIO(xlsx_bytes(FRAME, sheet="gaps")), sheet_name="gaps")
    assert sheet.columns == FRAME.columns
    assert sheet["start"].to_list() == ["25/10/2026 01:30 BST", "25/10/2026 01:30 GMT"]
    assert sheet["who"].to_list()[0] == "Dr Émile Ñúñez"


def test_heatmap_greys_cells_that_do_not_apply() -> None:
    values = np.array([[0.0, 0.5], [None, 1.0]], dtype=float)
    hover = np.array([["a", "b"], ["c", "d"]], dtype=object)
    fig = heatmap(
        [HeatmapPanel("one", values, hover), HeatmapPanel("two", [[0.0, 0.0], [0.0, 0.0]], [["", ""]] * 2)],
        x=["00", "01"],
        y=["Mon", "Tue"],
        colorbar_title="share",
    )
    traces = fig.data
    # panel one: the grey layer under the main trace; panel two needs none
    assert [t.name for t in traces] == ["one: does not apply", "one", "two"]
    grey, main = traces[0], traces[1]
    assert grey.hoverinfo == "skip"
    assert [list(r) for r in np.nan_to_num(np.asarray(grey.z), nan=-1)] == [[-1, -1], [1, -1]]
    assert grey.colorscale[0][1] == NA_COLOUR
    assert main.colorscale[0][1] == SEQUENTIAL[0][1]
    assert main.hoverongaps
    assert main.showscale and not traces[2].showscale
    assert [a.text for a in fig.layout.annotations] == ["one", "two"]
