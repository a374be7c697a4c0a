"""Coverage rules: who must be available, for which age band, during which weekly local-time windows."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from rota.limits import ID_MAX, MIN_COUNT_MAX, NAME_MAX, text_reason
from rota.timeutil import wall_to_instant_forward

DEFAULT_ROLES: tuple[str, ...] = ("paediatrician", "sio", "ambulance")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_AGE_BAND = re.compile(r"^(\d{1,2})-(\d{1,2})$")
_WINDOW = re.compile(r"^(?:(?P<days>[A-Za-z ,\-]+?)\s+)?(?P<t1>\d{1,2}:\d{2})\s*-\s*(?P<t2>\d{1,2}:\d{2})$")
_RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


class RuleError(ValueError):
    """A rule or window that cannot be used; the message names the bad part."""


@dataclass(frozen=True)
class Window:
    """A weekly local-time window: on each listed weekday from `start` for `minutes` (may pass midnight)."""

    weekdays: frozenset[int]  # 0 = Monday
    start: time
    minutes: int
    text: str

    def intervals(self, start: datetime, end: datetime, tz: tzinfo) -> list[tuple[datetime, datetime]]:
        """UTC intervals of this window that touch [start, end), in wall-clock terms on each local day."""
        first = start.astimezone(tz).date() - timedelta(days=2)
        last = end.astimezone(tz).date()
        out: list[tuple[datetime, datetime]] = []
        d: date = first
        while d <= last:
            if d.weekday() in self.weekdays:
                wall_start = datetime.combine(d, self.start)
                wall_end = wall_start + timedelta(minutes=self.minutes)
                a = wall_to_instant_forward(wall_start, tz)
                b = wall_to_instant_forward(wall_end, tz)
                if b > start and a < end and b > a:
                    out.append((max(a, start), min(b, end)))
            d += timedelta(days=1)
        return out


def _parse_time(text: str, *, end: bool) -> int:
    hh, mm = (int(x) for x in text.split(":"))
    if end and hh == 24 and mm == 0:
        return 24 * 60
    if hh > 23 or mm > 59:
        raise RuleError(f"{text!r} is not a time of day (use HH:MM, 00:00 to 24:00)")
    return hh * 60 + mm


def _parse_days(text: str) -> frozenset[int]:
    lookup = {d.lower(): i for i, d in enumerate(DAYS)}
    out: set[int] = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        if part.lower() in ("daily", "every day", "all", "*"):
            out.update(range(7))
            continue
        bounds = [b.strip()[:3].lower() for b in part.split("-")]
        if len(bounds) > 2 or any(b not in lookup for b in bounds):
            raise RuleError(f"{part!r} is not a day or day range (use Mon, Tue, ..., Sun, like Mon-Fri)")
        a = lookup[bounds[0]]
        b = lookup[bounds[-1]]
        i = a
        out.add(i)
        while i != b:  # ranges may wrap the week end: Fri-Mon
            i = (i + 1) % 7
            out.add(i)
    if not out:
        raise RuleError(f"{text!r} lists no days")
    return frozenset(out)


def parse_window(text: str) -> Window:
    """Read a window like `Mon-Fri 09:00-17:00`, `Sat,Sun 00:00-24:00` or `17:00-09:00` (every day)."""
    m = _WINDOW.match(text.strip())
    if m is None:
        raise RuleError(f"window {text!r} is not like 'Mon-Fri 09:00-17:00'")
    days = _parse_days(m["days"]) if m["days"] else frozenset(range(7))
    a = _parse_time(m["t1"], end=False)
    b = _parse_time(m["t2"], end=True)
    if a == b:
        raise RuleError(f"window {text!r} starts and ends at the same time")
    minutes = b - a if b > a else 24 * 60 - a + b
    return Window(days, time(a // 60, a % 60), minutes, text.strip())


def parse_age_band(text: str) -> tuple[int, int]:
    m = _AGE_BAND.match(text.strip())
    if m is None:
        raise RuleError(f"age band {text!r} is not like 0-15")
    lo, hi = int(m[1]), int(m[2])
    if lo > hi or hi > 17:
        raise RuleError(f"age band {text!r} must run from a lower to a higher age within 0-17")
    return lo, hi


@dataclass(frozen=True)
class Rule:
    """At least `min_count` responders of `role` holding every competency, during the windows."""

    id: str
    role: str
    min_count: int = 1
    competencies: tuple[str, ...] = ("jar",)
    age_band: str = "0-15"
    windows: tuple[Window, ...] = field(default_factory=tuple)

    @property
    def always(self) -> bool:
        return not self.windows

    def window_intervals(self, start: datetime, end: datetime, tz: tzinfo) -> list[tuple[datetime, datetime]]:
        if self.always:
            return [(start, end)] if end > start else []
        out: list[tuple[datetime, datetime]] = []
        for w in self.windows:
            out.extend(w.intervals(start, end, tz))
        return sorted(out)

    def as_toml_table(self) -> dict[str, object]:
        table: dict[str, object] = {
            "id": self.id,
            "role": self.role,
            "min_count": self.min_count,
            "competencies": list(self.competencies),
            "age_band": self.age_band,
        }
        if self.windows:
            table["windows"] = [w.text for w in self.windows]
        return table


def make_rule(table: dict[str, object], known_roles: tuple[str, ...] | None = None) -> Rule:
    """Build a rule from a TOML-like table, raising RuleError naming the bad key."""
    allowed = {"id", "role", "min_count", "competencies", "age_band", "windows", "description"}
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise RuleError(f"unknown key(s) {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    rid = table.get("id")
    if not isinstance(rid, str) or not _RULE_ID.match(rid) or len(rid) > ID_MAX:
        raise RuleError(
            f"id must be a short name (at most {ID_MAX} characters) of letters, digits, '-', '_' or '.'"
        )
    role = table.get("role")
    if not isinstance(role, str) or not role:
        raise RuleError(f"rule {rid}: role is required")
    why = text_reason("role", role, "id")
    if why:
        raise RuleError(f"rule {rid}: {why}")
    if known_roles is not None and role not in known_roles:
        raise RuleError(f"rule {rid}: unknown role {role!r} (known: {', '.join(known_roles)})")
    min_count = table.get("min_count", 1)
    if not isinstance(min_count, int) or isinstance(min_count, bool) or not 1 <= min_count <= MIN_COUNT_MAX:
        raise RuleError(f"rule {rid}: min_count must be a whole number from 1 to {MIN_COUNT_MAX}")
    comps = table.get("competencies", ["jar"])
    if isinstance(comps, str):
        comps = [c.strip() for c in comps.split(",") if c.strip()]
    if not isinstance(comps, list) or not all(isinstance(c, str) and c for c in comps):
        raise RuleError(f"rule {rid}: competencies must be a list of names")
    for c in comps:
        why = text_reason("competency", c, "id")
        if why:
            raise RuleError(f"rule {rid}: {why}")
    description = table.get("description")
    if description is not None:
        why = text_reason("description", description, "text") if isinstance(description, str) else None
        if not isinstance(description, str) or why:
            raise RuleError(f"rule {rid}: {why or 'description must be text'}")
    band = table.get("age_band", "0-17")
    if not isinstance(band, str):
        raise RuleError(f"rule {rid}: age_band must be text like 0-15")
    try:
        parse_age_band(band)
    except RuleError as exc:
        raise RuleError(f"rule {rid}: {exc}") from exc
    wins = table.get("windows", [])
    if isinstance(wins, str):
        wins = [wins]
    if not isinstance(wins, list) or not all(isinstance(w, str) and len(w) <= NAME_MAX for w in wins):
        raise RuleError(f"rule {rid}: windows must be a list like ['Mon-Fri 09:00-17:00']")
    try:
        windows = tuple(parse_window(w) for w in wins)
    except RuleError as exc:
        raise RuleError(f"rule {rid}: {exc}") from exc
    return Rule(rid, role, min_count, tuple(dict.fromkeys(comps)), band.strip(), windows)


def default_rules(roles: tuple[str, ...] = DEFAULT_ROLES) -> list[Rule]:
    """The rules used when none are configured: 0-15 and 16-17 cover for each default role."""
    out: list[Rule] = []
    for role in roles:
        out.append(Rule(role, role, 1, ("jar",), "0-15"))
        out.append(Rule(f"{role}-16-17", role, 1, ("jar", "jar-16-17"), "16-17"))
    return out


def age_in_band(age_years: int, band: str) -> bool:
    lo, hi = parse_age_band(band)
    return lo <= age_years <= hi
