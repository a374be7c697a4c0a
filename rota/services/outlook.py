"""The next 72 hours, for the top of the Coverage page: for each role, are children aged 0-15 and young
people aged 16-17 covered from now on, and if not, when the gaps are; and who is on duty, with a phone
number for those who may see people (commissioners get the number of people on duty only).

Reads through the repository and computes with the engine; imports no Streamlit. The window is 72 real
hours from the instant asked about, so across a clock change it ends at a different wall-clock time
(docs/time.md). An age band is covered when every rule of the role that applies to it (a `0-17` rule
applies to both bands) is met at every minute; its gaps are the union of those rules' gaps, with gaps that
touch or overlap merged into one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo

import polars as pl

from rota.engine import gaps, qualified_intervals
from rota.errors import PermissionDenied
from rota.model import UTC_US, Rota
from rota.rules import Rule, parse_age_band
from rota.services.access import COVERAGE, Actor, can_read_people, pages_for
from rota.services.coverage import rule_label
from rota.storage import Engine
from rota.storage.rota import load_rota
from rota.timeutil import SERVICE_TZ, bank_holidays, localize, zone, zone_name
from rota.vocab import responder_role_label

HORIZON = timedelta(hours=72)
# The two age bands the page sets side by side, as (label, lowest age, highest age).
BANDS: tuple[tuple[str, int, int], ...] = (("0-15", 0, 15), ("16-17", 16, 17))
# A gap "at night" touches the local hours from NIGHT_FROM to NIGHT_UNTIL the next morning
# (docs/dashboard.md).
NIGHT_FROM = time(18, 0)
NIGHT_UNTIL = time(8, 0)
_LAST = timedelta(microseconds=1)


@dataclass(frozen=True)
class OutlookGap:
    """A time without enough qualified responders for one age band (aware UTC instants, end exclusive),
    with the rules short then, and whether it touches a night, a weekend day or a bank holiday."""

    start: datetime
    end: datetime
    rules: tuple[str, ...]
    night: bool
    weekend: bool
    bank_holiday: str | None

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600

    @property
    def markers(self) -> tuple[str, ...]:
        """In words, for people: `night`, `weekend`, `bank holiday (Christmas Day)`."""
        out = ["night"] if self.night else []
        if self.weekend:
            out.append("weekend")
        if self.bank_holiday:
            out.append(f"bank holiday ({self.bank_holiday})")
        return tuple(out)


@dataclass(frozen=True)
class BandOutlook:
    """One age band of a role: the rules that apply to it and their merged gaps, earliest first."""

    band: str
    rule_ids: tuple[str, ...]
    gaps: tuple[OutlookGap, ...] = ()

    @property
    def has_rule(self) -> bool:
        return bool(self.rule_ids)

    @property
    def covered(self) -> bool:
        return self.has_rule and not self.gaps


@dataclass(frozen=True)
class Duty:
    """A shift of a responder that overlaps the window; `counts_for` the age bands they are qualified
    for during it. Name and phone are None for a commissioner (who gets no duties at all)."""

    responder_id: str
    name: str
    phone: str | None
    agency: str | None
    kind: str | None
    start: datetime
    end: datetime
    counts_for: tuple[str, ...]
    absent: bool
    partly_absent: bool = False  # leave or training during part of the shift (not the whole of it)
    # (band, from, to): when the responder is qualified for a rule of the band, within the window the
    # outlook was built for; `Outlook.clip` works `counts_for` out again from these for a shorter window
    qualified: tuple[tuple[str, datetime, datetime], ...] = field(default=(), repr=False, compare=False)


@dataclass(frozen=True)
class RoleOutlook:
    role: str
    role_label: str
    bands: tuple[BandOutlook, ...]
    on_duty_count: int
    duties: tuple[Duty, ...] = field(default=())


@dataclass(frozen=True)
class Outlook:
    """The next 72 hours from `start` (UTC): one RoleOutlook per role that has rules, in the rota's role
    order. `people_shown` is False for a commissioner: no duties, only `on_duty_count`."""

    start: datetime
    end: datetime
    tz_name: str
    roles: tuple[RoleOutlook, ...]
    people_shown: bool

    @property
    def gap_count(self) -> int:
        return sum(len(b.gaps) for r in self.roles for b in r.bands)

    def clip(self, at: datetime, horizon: timedelta = HORIZON) -> Outlook:
        """The outlook for [at, at + horizon), a window inside this one's, exactly as if built for it:
        gaps cut to the window (with night, weekend and bank holiday for the part left), the shifts that
        overlap it, the bands each counts for within it, and the number of people on duty in it. An
        outlook built once for an hour (`outlook_for_hour`) answers every minute of that hour. Where
        people are not shown, the result keeps the counts but not the (anonymous) shifts: clip the outlook
        of the hour, not a clipped one."""
        end = at + horizon
        if at < self.start or end > self.end:
            raise ValueError("the window to clip to must lie inside the outlook's own")
        tz = zone(self.tz_name)
        holidays = _holidays(at, end, tz)
        roles = []
        for role in self.roles:
            bands = tuple(
                replace(
                    b,
                    gaps=tuple(
                        _gap(max(g.start, at), min(g.end, end), g.rules, tz, holidays)
                        for g in b.gaps
                        if g.start < end and g.end > at
                    ),
                )
                for b in role.bands
            )
            duties = tuple(_clip_duty(d, at, end) for d in role.duties if d.start < end and d.end > at)
            roles.append(
                replace(
                    role,
                    bands=bands,
                    on_duty_count=len({d.responder_id for d in duties if not d.absent}),
                    duties=duties if self.people_shown else (),
                )
            )
        return replace(self, start=at, end=end, roles=tuple(roles))


def _clip_duty(d: Duty, at: datetime, end: datetime) -> Duty:
    lo, hi = max(d.start, at), min(d.end, end)
    bands = {band for band, qa, qb in d.qualified if qa < hi and qb > lo}
    return replace(d, counts_for=tuple(label for label, _lo, _hi in BANDS if label in bands))


def next_72_hours(engine: Engine, actor: Actor, at: datetime, tz: tzinfo = SERVICE_TZ) -> Outlook:
    """The outlook for [at, at + 72 hours) from the stored rota (shifts touching the window only)."""
    if COVERAGE not in pages_for(actor):
        raise PermissionDenied(f"the {actor.role} role cannot read coverage")
    if at.tzinfo is None:
        raise ValueError("`at` must be timezone-aware")
    return outlook_for_hour(engine, actor, at, tz).clip(at)


def outlook_for_hour(engine: Engine, actor: Actor, at: datetime, tz: tzinfo = SERVICE_TZ) -> Outlook:
    """The outlook over the 73 hours from the start of `at`'s hour (UTC), for `clip` to cut the next 72
    hours from at any minute of that hour (so a cache keeps it for the hour, not the minute). For a
    reader who may not see people the shifts in it carry no name, phone or id, and `clip` drops them."""
    if COVERAGE not in pages_for(actor):
        raise PermissionDenied(f"the {actor.role} role cannot read coverage")
    if at.tzinfo is None:
        raise ValueError("`at` must be timezone-aware")
    lo = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    hi = lo + HORIZON + timedelta(hours=1)
    return _build(load_rota(engine, lo, hi), lo, hi, tz, people=can_read_people(actor))


def build_outlook(rota: Rota, start: datetime, end: datetime, tz: tzinfo, *, people: bool) -> Outlook:
    """The outlook from rota frames (no database, no permission check: `next_72_hours` does both)."""
    return _build(rota, start, end, tz, people=people).clip(start, end - start)


def _build(rota: Rota, start: datetime, end: datetime, tz: tzinfo, *, people: bool) -> Outlook:
    """The outlook for [start, end) with every shift in it: anonymous (no name, phone or id) where
    `people` is False, so that `Outlook.clip` can still count the people on duty."""
    rules = rota.effective_rules()
    found = gaps(rota, start, end, tz, rules)
    holidays = _holidays(start, end, tz)
    order = {r: i for i, r in enumerate(rota.roles)}
    roles = sorted(dict.fromkeys(r.role for r in rules), key=lambda r: (order.get(r, len(order)), r))
    out = []
    for role in roles:
        mine = [r for r in rules if r.role == role]
        bands = tuple(_band(label, lo, hi, mine, found, tz, holidays) for label, lo, hi in BANDS)
        duties = _duties(rota, role, mine, start, end, tz)
        if not people:
            ids = {rid: str(i) for i, rid in enumerate(dict.fromkeys(d.responder_id for d in duties))}
            duties = tuple(
                replace(d, responder_id=ids[d.responder_id], name="", phone=None, agency=None) for d in duties
            )
        out.append(
            RoleOutlook(
                role=role,
                role_label=responder_role_label(role),
                bands=bands,
                on_duty_count=len({d.responder_id for d in duties if not d.absent}),
                duties=duties,
            )
        )
    return Outlook(start, end, zone_name(tz), tuple(out), people)


def _applies(rule: Rule, lo: int, hi: int) -> bool:
    a, b = parse_age_band(rule.age_band)
    return a <= hi and b >= lo


def _band(
    label: str,
    lo: int,
    hi: int,
    rules: list[Rule],
    found: pl.DataFrame,
    tz: tzinfo,
    holidays: dict[date, str],
) -> BandOutlook:
    chosen = [r for r in rules if _applies(r, lo, hi)]
    labels = {r.id: rule_label(r) for r in chosen}
    rows = found.filter(pl.col("rule_id").is_in(list(labels))).sort("start", "end")
    merged: list[tuple[datetime, datetime, list[str]]] = []
    for rule_id, a, b in rows.select("rule_id", "start", "end").iter_rows():
        if merged and a <= merged[-1][1]:
            s, e, names = merged[-1]
            merged[-1] = (s, max(e, b), names if labels[rule_id] in names else [*names, labels[rule_id]])
        else:
            merged.append((a, b, [labels[rule_id]]))
    return BandOutlook(
        label,
        tuple(labels),
        tuple(_gap(a, b, tuple(names), tz, holidays) for a, b, names in merged),
    )


def _days(start: datetime, end: datetime, tz: tzinfo) -> list[date]:
    """The local days that [start, end) touches."""
    first, last = start.astimezone(tz).date(), (end - _LAST).astimezone(tz).date()
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def _holidays(start: datetime, end: datetime, tz: tzinfo) -> dict[date, str]:
    """England bank holidays on weekdays (as GOV.UK lists them: a weekend holiday's substitute day)."""
    days = _days(start, end, tz)
    return {d: n for d, n in bank_holidays(days[0], days[-1]).items() if d.weekday() < 5} if days else {}


def touches_night(start: datetime, end: datetime, tz: tzinfo) -> bool:
    """Whether [start, end) overlaps the local hours from 18:00 to 08:00 the next morning (a real
    interval, so the clock change inside a night changes its length, not the answer)."""
    for day in [start.astimezone(tz).date() - timedelta(days=1), *_days(start, end, tz)]:
        night_start = localize(datetime.combine(day, NIGHT_FROM), tz)
        night_end = localize(datetime.combine(day + timedelta(days=1), NIGHT_UNTIL), tz)
        if start < night_end and end > night_start:
            return True
    return False


def _gap(
    start: datetime, end: datetime, rules: tuple[str, ...], tz: tzinfo, holidays: dict[date, str]
) -> OutlookGap:
    days = _days(start, end, tz)
    named = [holidays[d] for d in days if d in holidays]
    return OutlookGap(
        start=start,
        end=end,
        rules=rules,
        night=touches_night(start, end, tz),
        weekend=any(d.weekday() >= 5 for d in days),
        bank_holiday="; ".join(dict.fromkeys(named)) or None,
    )


def _duties(
    rota: Rota, role: str, rules: list[Rule], start: datetime, end: datetime, tz: tzinfo
) -> tuple[Duty, ...]:
    """Shifts of the role's active responders overlapping [start, end), earliest first, with the bands
    they count for (qualified for at least one rule of that band at some time in the shift)."""
    lo, hi = pl.lit(start).cast(UTC_US), pl.lit(end).cast(UTC_US)
    people = rota.responders.filter((pl.col("role") == role) & pl.col("active").fill_null(True))
    shifts = rota.shifts.join(people, on="responder_id", how="inner").filter(
        (pl.col("start") < hi) & (pl.col("end") > lo)
    )
    if shifts.is_empty():
        return ()
    qualified: dict[str, list[tuple[str, datetime, datetime]]] = {}
    for rule in rules:
        applies_to = [band for band, band_lo, band_hi in BANDS if _applies(rule, band_lo, band_hi)]
        if not applies_to:
            continue
        for rid, a, b in qualified_intervals(rota, rule, start, end, tz).iter_rows():
            qualified.setdefault(rid, []).extend((band, a, b) for band in applies_to)
    absences = rota.absences.filter((pl.col("start") < hi) & (pl.col("end") > lo))
    away: dict[str, list[tuple[datetime, datetime]]] = {}
    for rid, a, b in absences.select("responder_id", "start", "end").iter_rows():
        away.setdefault(rid, []).append((a, b))
    out = []
    for r in shifts.sort("start", "name", "responder_id").iter_rows(named=True):
        rid, a, b = r["responder_id"], r["start"], r["end"]
        mine = tuple(q for q in qualified.get(rid, []) if q[1] < b and q[2] > a)
        bands = {band for band, _qa, _qb in mine}
        out.append(
            Duty(
                responder_id=rid,
                name=r["name"],
                phone=r["phone"],
                agency=r["agency"],
                kind=r["kind"],
                start=a,
                end=b,
                counts_for=tuple(label for label, _lo, _hi in BANDS if label in bands),
                absent=any(xa <= a and xb >= b for xa, xb in away.get(rid, [])),
                partly_absent=any(xa < b and xb > a for xa, xb in away.get(rid, []))
                and not any(xa <= a and xb >= b for xa, xb in away.get(rid, [])),
                qualified=mine,
            )
        )
    return tuple(out)
