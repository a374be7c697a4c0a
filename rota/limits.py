"""Input limits that every path applies (files, command line, dashboard edits): the range of dates, the
length of ids, names and free text, the characters they may hold, and the bounds of integers.

The limits are documented for people in docs/bundle.md ("Limits") and docs/cases.md. Values outside them
are bad input: the readers report them with file, line and column, the services refuse them before
anything is stored, and nothing downstream (engine, exports, calendars, PostgreSQL) ever sees them.
"""

from __future__ import annotations

import re
from datetime import date, datetime, tzinfo
from typing import Literal

import polars as pl

EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2100, 12, 31)
DATE_RANGE_TEXT = "1900-01-01 to 2100-12-31"

ID_MAX = 64
NAME_MAX = 200
TEXT_MAX = 500
PHONE_MAX = 32
PHONE_CHARS_TEXT = "digits, spaces, +, brackets and hyphens"
MIN_COUNT_MAX = 1000
"""The most responders a coverage rule may require at once (rules.toml `min_count`)."""

TextClass = Literal["id", "name", "text", "phone"]
MAX_CHARS: dict[TextClass, int] = {"id": ID_MAX, "name": NAME_MAX, "text": TEXT_MAX, "phone": PHONE_MAX}
_WHAT: dict[TextClass, str] = {
    "id": "an id",
    "name": "a name",
    "text": "free text",
    "phone": "a phone number",
}

# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators: never in an id or a
# name, as they break lines in calendars, CSV and logs or hide what a value really is. Free text may hold
# tabs and line breaks, nothing else of these.
_CONTROL = "\x00-\x1f\x7f-\x9f\u2028\u2029"
_TEXT_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
CONTROL_PATTERN: dict[TextClass, str] = {
    "id": f"[{_CONTROL}]",
    "name": f"[{_CONTROL}]",
    "text": f"[{_TEXT_CONTROL}]",
    # A phone number as written (`07700 900123`, `+44 (0)1632 960123`): anything else is refused.
    "phone": r"[^0-9 +()\-]",
}
_CONTROL_RE = {k: re.compile(v) for k, v in CONTROL_PATTERN.items()}
_ANY_CONTROL_RE = re.compile(f"[{_CONTROL}]+")
_DIGIT_RE = re.compile("[0-9]")


def date_in_range(d: date) -> bool:
    """Whether a (local) date lies within the accepted range, 1900-01-01 to 2100-12-31."""
    return EARLIEST_DATE <= d <= LATEST_DATE


def year_in_range(year: int) -> bool:
    return EARLIEST_DATE.year <= year <= LATEST_DATE.year


def out_of_range_reason(text: str) -> str:
    return (
        f"{text!r} is outside the accepted dates ({DATE_RANGE_TEXT}); check the year "
        "(for 'no end date' leave the cell blank)"
    )


def instant_in_range(t: datetime, tz: tzinfo) -> bool:
    """Whether an aware instant's local date lies within the accepted range."""
    try:
        return date_in_range(t.astimezone(tz).date())
    except (OverflowError, ValueError):
        return False


def text_reason(column: str, value: str, cls: TextClass) -> str | None:
    """Why `value` may not stand in `column` (an id, a name or free text), or None when it may."""
    m = _CONTROL_RE[cls].search(value)
    if cls == "phone" and (m is not None or not _DIGIT_RE.search(value)):
        return (
            f"{column} {excerpt(value)} is not a phone number: write it with {PHONE_CHARS_TEXT} only, "
            "like 07700 900123"
        )
    if m is not None:
        return (
            f"{column} holds a control character ({_char_name(m.group())}) at character {m.start() + 1}; "
            f"{_WHAT[cls]} may not hold line breaks, tabs or other invisible characters: remove it"
        )
    n = len(value)
    if n > MAX_CHARS[cls]:
        return (
            f"{column} is {n} characters long; {_WHAT[cls]} may be at most {MAX_CHARS[cls]} characters: "
            "shorten it"
        )
    return None


def check_text(column: str, value: str | None, cls: TextClass) -> str | None:
    """`text_reason` for an optional value (None passes)."""
    return None if value is None else text_reason(column, value, cls)


def bad_text_mask(values: pl.Series, cls: TextClass) -> pl.Series:
    """True where a text value breaks the limits of its class (nulls pass)."""
    bad = values.str.contains(CONTROL_PATTERN[cls]) | (values.str.len_chars() > MAX_CHARS[cls])
    if cls == "phone":
        bad = bad | ~values.str.contains("[0-9]")
    return bad.fill_null(False)


def printable(text: str, limit: int | None = None) -> str:
    """`text` on one line with its control characters replaced by spaces (for calendars, tables, logs),
    cut to `limit` characters. For output only: input holding these characters is refused."""
    out = " ".join(_ANY_CONTROL_RE.sub(" ", text).split())
    if limit is not None and len(out) > limit:
        out = out[: max(0, limit - 1)] + "…"
    return out


def excerpt(value: str, limit: int = 40) -> str:
    """A short, escaped excerpt of a value for a message: repr() cut to `limit` characters."""
    return repr(value) if len(value) <= limit else repr(value[:limit]) + "…"


def _char_name(ch: str) -> str:
    names = {"\n": "a line feed", "\r": "a carriage return", "\t": "a tab", "\x00": "a NUL byte"}
    return names.get(ch, f"U+{ord(ch):04X}")
