"""The `Next 72 hours` section at the top of the Coverage page: one bordered box per role with 0-15 and
16-17 side by side (`Covered`, or each gap with its times and what it touches: night, weekend, bank
holiday, in words), then who is on duty with their phone number, or for commissioners how many people.
Draws a `rota.services.outlook.Outlook`; works nothing out."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

import polars as pl
import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from dashboard.components.format import hours_text
from rota.services.outlook import BandOutlook, Duty, Outlook, OutlookGap, RoleOutlook
from rota.timeutil import zone
from rota.vocab import ShiftKind

HEADING = "Next 72 hours"
_LAST = timedelta(microseconds=1)
_KINDS = {k.value: k.label for k in ShiftKind}
# At most this many people are listed in words; more (a large deployment: hundreds on duty at once) go into
# a table, which the browser draws as quickly for a thousand rows as for ten.
LIST_AT_MOST = 8


def when_text(t: datetime, now: datetime, tz: tzinfo) -> str:
    """A time for people at a glance: `now`, `Today 14:00`, `Tonight 22:00`, `Tomorrow 08:00`, or
    `Sat 05/12/2026 08:00` (local, 24-hour clock; `01:30 GMT` in the hour that happens twice)."""
    if t <= now:
        return "now"
    local, today = t.astimezone(tz), now.astimezone(tz).date()
    clock = f"{local:%H:%M}"
    if local.replace(fold=1 - local.fold).utcoffset() != local.utcoffset():
        clock += f" {local:%Z}"  # the hour the clocks go back happens twice: say which
    if local.date() == today:
        return f"{'Tonight' if local.hour >= 18 else 'Today'} {clock}"
    if local.date() == today + timedelta(days=1):
        return f"Tomorrow {clock}"
    return f"{local:%a %d/%m/%Y} {clock}"


def span_text(start: datetime, end: datetime, now: datetime, tz: tzinfo) -> str:
    """`Tonight 18:00 to Tomorrow 08:00`; the end's day is left out when it is the start's
    (`Sat 05/12/2026 09:00 to 17:00`)."""
    first = when_text(start, now, tz)
    same_day = start > now and start.astimezone(tz).date() == (end - _LAST).astimezone(tz).date()
    return f"{first} to {end.astimezone(tz):%H:%M}" if same_day else f"{first} to {when_text(end, now, tz)}"


def _md(text: str) -> str:
    """Text from the data shown literally in Markdown (names may hold * _ [ and the like)."""
    return "".join("\\" + c if c in "\\`*_[]<>#|~$:" else c for c in text)


def gap_text(gap: OutlookGap, outlook: Outlook, now: datetime, tz: tzinfo) -> str:
    start = when_text(gap.start, now, tz)
    if gap.end >= outlook.end:
        span = f"from {start}, still open at the end of the 72 hours"
    else:
        span = f"{span_text(gap.start, gap.end, now, tz)}, {hours_text(gap.hours)}"
    marks = f" ({', '.join(gap.markers)})" if gap.markers else ""
    return span[0].upper() + span[1:] + marks


def _band(col: DeltaGenerator, band: BandOutlook, outlook: Outlook, now: datetime) -> None:
    tz = _tz(outlook)
    if not band.has_rule:
        col.markdown(f"**{band.band}:** no rule")
    elif band.covered:
        col.markdown(f":material/check_circle: **{band.band}: Covered**")
    else:
        n = len(band.gaps)
        lines = "\n".join(f"- {gap_text(g, outlook, now, tz)}" for g in band.gaps)
        col.markdown(f":material/warning: **{band.band}: {n} gap{'s' if n != 1 else ''}**\n\n{lines}")


def duty_text(d: Duty, now: datetime, tz: tzinfo) -> str:
    phone = d.phone or "no phone number stored"
    span = span_text(d.start, d.end, now, tz)
    kind = f", {_KINDS.get(d.kind or '', d.kind)}" if d.kind else ""
    counts = f"counts for {' and '.join(d.counts_for)}" if d.counts_for else "not qualified for these rules"
    away = (
        "; absent (leave or training)"
        if d.absent
        else "; absent for part of it (leave or training)"
        if d.partly_absent
        else ""
    )
    return f"**{_md(d.name)}**, {_md(phone)}: {span}{kind}; {counts}{away}"


def _people(role: RoleOutlook, outlook: Outlook, now: datetime) -> None:
    tz = _tz(outlook)
    if not outlook.people_shown:
        st.caption(
            f"People on duty in the 72 hours: {role.on_duty_count}. Names and phone numbers are not shown "
            "to commissioners."
        )
        return
    if not role.duties:
        st.markdown(":material/person_off: **On duty:** nobody in the 72 hours")
        return
    current = [d for d in role.duties if d.start <= now]
    later = [d for d in role.duties if d.start > now]
    if len(current) <= LIST_AT_MOST:
        lines = "\n".join(f"- {duty_text(d, now, tz)}" for d in current) or "- nobody on duty now"
        st.markdown(f"**On duty now:**\n\n{lines}")
    else:
        # a large deployment: the count at a glance, the people (hundreds) in a table drawn once opened
        box = st.expander(
            f"On duty now: {len(current)} people", key=f"next72_now_{role.role}", on_change="rerun"
        )
        if box.open:
            with box:
                st.dataframe(duty_table(current, now, tz), hide_index=True)
    if later:
        # drawn only once opened (a rerun): a large deployment has thousands of shifts in 72 hours
        box = st.expander(
            f"Later in the 72 hours: {len(later)} more shift{'s' if len(later) != 1 else ''}",
            key=f"next72_later_{role.role}",
            on_change="rerun",
        )
        if not box.open:
            return
        with box:
            if len(later) <= LIST_AT_MOST:
                st.markdown("\n".join(f"- {duty_text(d, now, tz)}" for d in later))
            else:
                st.dataframe(duty_table(later, now, tz), hide_index=True, key=f"next72_later_{role.role}")


def duty_table(duties: list[Duty], now: datetime, tz: tzinfo) -> pl.DataFrame:
    """The duties as a table for people: name, phone number, when, kind, the bands they count for."""
    return pl.DataFrame(
        {
            "Name": [d.name for d in duties],
            "Phone": [d.phone or "none stored" for d in duties],
            "On duty": [span_text(d.start, d.end, now, tz) for d in duties],
            "Kind": [_KINDS.get(d.kind or "", d.kind) or "" for d in duties],
            "Counts for": [" and ".join(d.counts_for) or "not qualified for these rules" for d in duties],
            "Absent": [
                "leave or training" if d.absent else "part of it" if d.partly_absent else "" for d in duties
            ],
        },
        schema=dict.fromkeys(("Name", "Phone", "On duty", "Kind", "Counts for", "Absent"), pl.String),
    )


def _tz(outlook: Outlook) -> tzinfo:
    return zone(outlook.tz_name)


def draw_next_72_hours(outlook: Outlook, now: datetime) -> None:
    """The section: a level-2 heading (under the page title), a line saying the window, and a box per
    role."""
    tz = _tz(outlook)
    st.header(HEADING, anchor="next-72-hours")
    gaps = outlook.gap_count
    st.caption(
        f"From now, {outlook.start.astimezone(tz):%a %d/%m/%Y %H:%M}, to "
        f"{outlook.end.astimezone(tz):%a %d/%m/%Y %H:%M} ({outlook.tz_name}, 24-hour clock; night is 18:00 "
        f"to 08:00). {f'{gaps} gap' + ('s' if gaps != 1 else '') if gaps else 'No gaps'} in cover."
    )
    for role in outlook.roles:
        with st.container(border=True):
            st.markdown(f"**{_md(role.role_label)}**")
            for col, band in zip(st.columns(2), role.bands, strict=True):
                _band(col, band, outlook, now)
            _people(role, outlook, now)
