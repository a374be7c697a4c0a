"""Values and frames for people: UK dates (dd/mm/yyyy), the 24-hour clock with the zone, percentages,
durations, and frames turned into CSV or Excel bytes with local times as text. No Streamlit here."""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import date, datetime, tzinfo

import polars as pl

from rota.output import csv_text, duration_text
from rota.timeutil import SERVICE_TZ, uk_local, zone_name

UK_DATE = "%d/%m/%Y"
UK_DATETIME = "%d/%m/%Y %H:%M"
UK_DATETIME_ZONE = "%d/%m/%Y %H:%M %Z"
# momentJS formats for st.column_config.DateColumn / DatetimeColumn (Z shows the UTC offset)
UK_DATE_COLUMN = "DD/MM/YYYY"
UK_DATETIME_COLUMN = "DD/MM/YYYY HH:mm Z"
UK_DATE_INPUT = "DD/MM/YYYY"
NOT_APPLICABLE = "–"


def uk_date(d: date) -> str:
    """25/12/2026"""
    return f"{d:{UK_DATE}}"


def uk_day(d: date) -> str:
    """Fri 25/12/2026"""
    return f"{d:%a} {d:{UK_DATE}}"


def uk_datetime(t: datetime, tz: tzinfo = SERVICE_TZ) -> str:
    """25/10/2026 01:30 GMT: an aware instant as local time with the zone abbreviation."""
    return uk_local(t, tz)


def uk_time(t: datetime, tz: tzinfo = SERVICE_TZ) -> str:
    """14:05 (local, 24-hour clock)."""
    return f"{t.astimezone(tz):%H:%M}"


def percent(share: float | None, digits: int = 1) -> str:
    """0.9731 -> 97.3%; None -> the not-applicable dash."""
    if share is None:
        return NOT_APPLICABLE
    return f"{share * 100:.{digits}f}%"


def hours_text(hours: float | None) -> str:
    """Hours as a duration for people: 48.5 -> 2d 0h 30m, 0.5 -> 30m; None -> the dash."""
    if hours is None:
        return NOT_APPLICABLE
    return duration_text(hours * 60)


def hours_amount(hours: float | None) -> str:
    """A total for people: 48.5 -> 48.5 hours, 1 -> 1 hour, 0.5 -> 30 minutes, 50378 -> 50,378 hours."""
    if hours is None:
        return NOT_APPLICABLE
    if hours < 1:
        minutes = round(hours * 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    text = f"{hours:,.1f}".removesuffix(".0")
    return f"{text} hour{'s' if text != '1' else ''}"


def counted(n: int, noun: str) -> str:
    """'1 gap', '3 gaps': a count with its noun, plural by adding s."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def labelled(frame: pl.DataFrame, columns: Mapping[str, str | pl.Expr]) -> pl.DataFrame:
    """The columns a table shows people, in this order, under their labels: each label maps to a column
    of `frame` or to an expression over it."""
    return frame.select(
        (pl.col(source) if isinstance(source, str) else source).alias(label)
        for label, source in columns.items()
    )


def for_people(df: pl.DataFrame, tz: tzinfo = SERVICE_TZ) -> pl.DataFrame:
    """A copy with every instant as local text (25/10/2026 01:30 GMT), naive datetimes and dates in UK
    order, booleans as yes/no and lists joined with '; ', so a CSV or a sheet reads the same everywhere."""
    exprs: list[pl.Expr] = []
    zone = zone_name(tz)
    for name, dtype in df.schema.items():
        col = pl.col(name)
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
            exprs.append(col.dt.convert_time_zone(zone).dt.strftime(UK_DATETIME_ZONE))
        elif isinstance(dtype, pl.Datetime):
            exprs.append(col.dt.strftime(UK_DATETIME))
        elif isinstance(dtype, pl.Date):
            exprs.append(col.dt.strftime(UK_DATE))
        elif isinstance(dtype, pl.Boolean):
            exprs.append(pl.when(col).then(pl.lit("yes")).when(~col).then(pl.lit("no")).alias(name))
        elif isinstance(dtype, pl.List):
            exprs.append(col.cast(pl.List(pl.String)).list.join("; "))
        else:
            exprs.append(col)
    return df.select(exprs)


def csv_bytes(df: pl.DataFrame, tz: tzinfo = SERVICE_TZ) -> bytes:
    """UTF-8 CSV with a byte-order mark, so Excel opens names with accents correctly; text cells that a
    spreadsheet would run as a formula get a leading ' (rota.output.csv_text)."""
    return csv_text(for_people(df, tz)).encode("utf-8-sig")


def xlsx_bytes(df: pl.DataFrame, tz: tzinfo = SERVICE_TZ, sheet: str = "data") -> bytes:
    """An Excel workbook of one sheet (header row frozen, filters on, columns fitted)."""
    buf = io.BytesIO()
    for_people(df, tz).write_excel(
        buf,
        worksheet=sheet[:31],
        autofit=True,
        freeze_panes=(1, 0),
        header_format={"bold": True, "bg_color": "#E8EDEE"},
        table_style=None,
    )
    return buf.getvalue()


def cases_amount(expected: float | None) -> str:
    """An expected number of cases for people, rounded to what the model can tell: 12.4 -> 12, 2.34 -> 2.3,
    0.268 -> 0.27, 0.004 -> under 0.01, 0 -> 0; None -> the dash."""
    if expected is None:
        return NOT_APPLICABLE
    if expected <= 0:
        return "0"
    if expected < 0.01:
        return "under 0.01"
    if expected < 1:
        return f"{expected:.2f}"
    if expected < 10:
        return f"{expected:.1f}"
    return f"{expected:,.0f}"


def chance(probability: float | None) -> str:
    """A probability for people as a whole percentage: 0.448 -> 45%, 0.003 -> under 1%, 0.998 -> over 99%."""
    if probability is None:
        return NOT_APPLICABLE
    if probability <= 0:
        return "0%"
    if probability < 0.01:
        return "under 1%"
    if probability >= 1:
        return "100%"
    if probability > 0.99:
        return "over 99%"
    return f"{probability * 100:.0f}%"


def count_range(low: int, high: int) -> str:
    """An interval of whole counts: (3, 10) -> 3 to 10; (2, 2) -> 2."""
    return str(low) if low == high else f"{low} to {high}"


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def period_label(period: str) -> str:
    """A completion period for people: 2026-03 -> Mar 2026, 2026-Q1 -> Jan-Mar 2026, 2026 -> 2026; any
    other label is returned as it is."""
    if len(period) == 7 and period[4] == "-" and period[5:].isdigit() and 1 <= int(period[5:]) <= 12:
        return f"{_MONTHS[int(period[5:]) - 1]} {period[:4]}"
    if len(period) == 7 and period[4:6] == "-Q" and period[6] in "1234":
        q = int(period[6])
        return f"{_MONTHS[3 * q - 3]}-{_MONTHS[3 * q - 1]} {period[:4]}"
    return period


def met_of(met: str | None, cases: str | None, rate: float | None) -> str:
    """A completion cell for people from the counts as shown ("7", "<5", "*") and the rate (null when a
    count is hidden): "7 of 10 (70.0%)", "<5 of 9", "0 cases"; None counts give the dash."""
    if met is None or cases is None:
        return NOT_APPLICABLE
    if cases == "0":
        return "0 cases"
    text = f"{met} of {cases}"
    return f"{text} ({percent(rate)})" if rate is not None else text
