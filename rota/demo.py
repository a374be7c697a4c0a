"""Long because the demo is one seeded generator: its people, training, leave and rostering patterns draw
from one random stream in a fixed order, which splitting it would spread over several files.

A realistic, plainly fictional regional demo rota, calibrated on how England's child death review
partnerships work: pure and seeded.

`build_demo(today)` covers the past five years (and a month, so that the demo cases of
`rota.demo_cases` all fall within it) and the coming fourteen weeks of one CDOP footprint (three invented
councils): paediatricians, SIOs and ambulance responders on the patterns such teams really keep, training
that lapses, leave and sickness, and the gaps a CDOP manager would recognise. No database, no children.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from itertools import pairwise

import polars as pl

from rota.model import Rota, conform
from rota.rules import Rule, default_rules, parse_window
from rota.timeutil import SERVICE_TZ, bank_holidays, iso_local, utc_now, wall_to_instant_forward
from rota.vocab import ShiftKind

FOOTPRINT = "Wessex Vale CDOP"
COUNCILS: tuple[str, ...] = (
    "Testbury City Council",
    "Sampleshire County Council",
    "Exampleton Borough Council",
)
AGENCIES: dict[str, str] = {
    "paediatrician": "Vale Hospitals NHS Trust",
    "sio": "Vale Police",
    "ambulance": "South Downs Ambulance Service",
}
PAST_DAYS = 5 * 365 + 30
AHEAD_DAYS = 14 * 7  # a quarter ahead and a week: the default forecast period is rostered
JAR_VALIDITY_YEARS = 3

# Obviously invented names: a short first name and a surname built from a "this is not real" stem.
_FIRST_NAMES = (
    "Ada", "Alex", "Ari", "Bea", "Bo", "Cal", "Cleo", "Dara", "Dev", "Eden", "Elin", "Finn", "Flo", "Gus",
    "Gwen", "Hal", "Hana", "Iris", "Ivo", "Jo", "Jude", "Kai", "Kit", "Lena", "Lou", "Max", "Mo", "Nia",
    "Olly", "Pip", "Quin", "Rae", "Sam", "Tess", "Uma", "Vic", "Wren", "Yara", "Zac",
)  # fmt: skip
_SURNAME_STEMS = ("Test", "Sample", "Mock", "Demo", "Example", "Dummy", "Ficton")
_SURNAME_ENDS = ("wood", "ford", "field", "ridge", "ton", "ley", "worth", "ham", "shaw", "well", "combe")

ONCALL: str = ShiftKind.ONCALL.value
ONSITE: str = ShiftKind.ONSITE.value


@dataclass(frozen=True)
class _RolePlan:
    role: str
    prefix: str
    titles: tuple[str, ...]
    active: int
    inactive: int
    new_starters: int
    share_16_17: float  # of active responders briefed on 16-17s by today


_PLANS = (
    _RolePlan("paediatrician", "PAED", ("Dr",), 30, 2, 2, 0.75),
    _RolePlan("sio", "SIO", ("DI", "DI", "DCI", "DS"), 28, 2, 2, 0.7),
    _RolePlan("ambulance", "AMB", ("",), 36, 3, 3, 0.55),
)


@dataclass
class _Person:
    rid: str
    name: str
    role: str
    email: str
    phone: str
    active: bool
    fte: float
    joined: date  # first day on the rota
    left: date | None = None  # first day off the rota (lapsed and finally noticed, or left)
    blocked: set[date] = field(default_factory=set)  # leave the rota coordinator knew about
    absent: set[date] = field(default_factory=set)  # any absence, to keep absences apart
    busy_until: datetime | None = None  # end of their last duty, local wall time
    load: float = 0.0  # rostered hours per whole-time equivalent


@dataclass
class _Slot:
    """A duty to fill, in local wall time: `need` people of `role` over [start, end)."""

    role: str
    start: datetime
    end: datetime
    kind: str
    need: int

    def days(self) -> Iterator[date]:
        d = self.start.date()
        last = (self.end - timedelta(minutes=1)).date()
        while d <= last:
            yield d
            d += timedelta(days=1)

    @property
    def hours(self) -> float:
        return (self.end - self.start).total_seconds() / 3600


def _days(first: date, last: date) -> Iterator[date]:
    d = first
    while d <= last:
        yield d
        d += timedelta(days=1)


def _at(d: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(d, time(hh, mm))


def _add_years(d: date, years: int) -> date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:  # 29 February
        return d.replace(year=d.year + years, day=28)


def _jar_until(valid_from: date) -> date:
    return _add_years(valid_from, JAR_VALIDITY_YEARS) - timedelta(days=1)


def _jar_from(valid_until: date) -> date:
    return _add_years(valid_until + timedelta(days=1), -JAR_VALIDITY_YEARS)


def _rand_date(rng: random.Random, a: date, b: date) -> date:
    return a + timedelta(days=rng.randint(0, (b - a).days))


# --- people and training ---------------------------------------------------------------------------


def _names(rng: random.Random, n: int) -> list[tuple[str, str]]:
    surnames = [s + e for s in _SURNAME_STEMS for e in _SURNAME_ENDS]
    pairs = [(f, s) for s in surnames for f in _FIRST_NAMES]
    return rng.sample(pairs, n)


def _phone(n: int) -> str:
    """The n-th fictional mobile number: Ofcom keeps 07700 900000 to 07700 900999 for drama, so none of
    them reaches a real phone."""
    if not 0 <= n < 1000:
        raise ValueError("the drama range holds 1000 numbers")
    return f"07700 900{n:03d}"


def _people(
    rng: random.Random, today: date, first: date
) -> tuple[list[_Person], list[tuple[str, str, date, date | None]]]:
    names = iter(_names(rng, sum(p.active + p.inactive for p in _PLANS)))
    people: list[_Person] = []
    training: list[tuple[str, str, date, date | None]] = []
    for plan in _PLANS:
        roster: list[_Person] = []
        for i in range(plan.active + plan.inactive):
            given, surname = next(names)
            title = rng.choice(plan.titles)
            person = _Person(
                rid=f"{plan.prefix}-{i + 1:03d}",
                name=f"{title} {given} {surname}".strip(),
                role=plan.role,
                email=f"{given.lower()}.{surname.lower()}@example.org",
                phone=_phone(len(people) + len(roster)),
                active=i < plan.active,
                fte=rng.choice((1.0, 1.0, 1.0, 0.8, 0.6)),
                joined=first - timedelta(days=7),
            )
            roster.append(person)
        people.extend(roster)
        training.extend(_training(rng, today, first, plan, roster))
    return people, training


def _training(
    rng: random.Random, today: date, first: date, plan: _RolePlan, roster: list[_Person]
) -> list[tuple[str, str, date, date | None]]:
    """JAR training with a 3-year validity, lapsing for some; the 16-17 briefing for fewer (no expiry).

    Everyone's certificates reach back to before `first`: each was renewed up to a month before it ran
    out, or (about one renewal in ten) a few weeks late, a lapse nobody noticed in the rota."""
    out: list[tuple[str, str, date, date | None]] = []
    active = [p for p in roster if p.active]
    order = active[:]
    rng.shuffle(order)
    # categories, in this order, over the shuffled active responders
    starters = order[: plan.new_starters]
    lapsed = order[plan.new_starters : plan.new_starters + 2]
    renewed_late = order[plan.new_starters + 2 : plan.new_starters + 4]
    renewed_on_time = order[plan.new_starters + 4 : plan.new_starters + 6]
    expiring = order[plan.new_starters + 6 : plan.new_starters + 10]
    jar = "jar"

    def history(rid: str, start: date) -> None:
        """The certificates before one that starts on `start`, back to before `first`."""
        while start > first - timedelta(days=30):
            if rng.random() < 0.1:  # renewed late: one to five weeks without valid training
                until = start - timedelta(days=rng.randint(8, 35))
            else:
                until = start + timedelta(days=rng.randint(0, 30))
            start = _jar_from(until)
            out.append((rid, jar, start, until))

    for p in starters:
        p.joined = _rand_date(rng, today - timedelta(days=300), today - timedelta(days=40))
        start = p.joined - timedelta(days=rng.randint(0, 20))
        out.append((p.rid, jar, start, _jar_until(start)))
    for p in lapsed:
        # lapsed and not renewed: the coordinator kept rostering them for a few weeks before noticing
        until = _rand_date(rng, today - timedelta(days=320), today - timedelta(days=25))
        p.left = until + timedelta(days=rng.randint(20, 75))
        out.append((p.rid, jar, _jar_from(until), until))
        history(p.rid, _jar_from(until))
    for p in renewed_late:
        until = _rand_date(rng, today - timedelta(days=330), today - timedelta(days=45))
        renewed = until + timedelta(days=rng.randint(8, 35))
        out.append((p.rid, jar, _jar_from(until), until))
        out.append((p.rid, jar, renewed, _jar_until(renewed)))
        history(p.rid, _jar_from(until))
    for p in renewed_on_time:
        until = _rand_date(rng, today - timedelta(days=300), today - timedelta(days=5))
        renewed = until - timedelta(days=rng.randint(0, 30))
        out.append((p.rid, jar, _jar_from(until), until))
        out.append((p.rid, jar, renewed, _jar_until(renewed)))
        history(p.rid, _jar_from(until))
    for i, (p, (lo, hi)) in enumerate(zip(expiring, ((3, 30), (31, 60), (61, 90), (10, 80)), strict=False)):
        until = _rand_date(rng, today + timedelta(days=lo), today + timedelta(days=hi))
        out.append((p.rid, jar, _jar_from(until), until))
        history(p.rid, _jar_from(until))
        # the coordinator takes them off the rota when it lapses; the first is noticed a fortnight late
        p.left = until + timedelta(days=15 if i == 0 else 1)
    for p in order[plan.new_starters + 10 :]:
        until = _rand_date(
            rng, today + timedelta(days=95), _add_years(today, JAR_VALIDITY_YEARS) - timedelta(days=20)
        )
        start = _jar_from(until)
        out.append((p.rid, jar, start, until))
        history(p.rid, start)
    for p in roster:
        if not p.active:  # left the service before the demo's year; their training ran out
            p.joined = p.left = first
            until = _rand_date(rng, first - timedelta(days=400), first + timedelta(days=60))
            out.append((p.rid, jar, _jar_from(until), until))
    # The 16-17 briefing: a few early adopters before the demo's years, more over them, and half in the
    # past year (after the serious case review), so cover for 16-17-year-olds improves over the years.
    briefed = rng.sample(active, round(plan.share_16_17 * len(active)))
    for p in briefed:
        r = rng.random()
        if r < 0.2:
            when = _rand_date(rng, first - timedelta(days=400), first - timedelta(days=30))
        elif r < 0.5:
            when = _rand_date(rng, first, today - timedelta(days=380))
        else:
            when = _rand_date(rng, today - timedelta(days=330), today - timedelta(days=7))
        out.append((p.rid, "jar-16-17", max(when, p.joined), None))
    return out


# --- leave, sickness and training days --------------------------------------------------------------


def _absences(
    rng: random.Random, people: Sequence[_Person], today: date, first: date, last: date
) -> list[tuple[str, datetime, datetime, str]]:
    """Absences in local wall time. Most were known when the rota was drawn up (the person is not
    rostered); the rest overlap shifts and cancel cover, which is where gaps come from."""
    out: list[tuple[str, datetime, datetime, str]] = []

    def place(p: _Person, lo: date, hi: date, length: int) -> date | None:
        for _ in range(20):
            d0 = _rand_date(rng, lo, hi)
            span = {d0 + timedelta(days=k) for k in range(-2, length + 2)}
            if not span & p.absent:
                p.absent.update(d0 + timedelta(days=k) for k in range(length))
                return d0
        return None

    def record(p: _Person, d0: date, length: int, reason: str, known: bool) -> None:
        out.append((p.rid, _at(d0, 0), _at(d0 + timedelta(days=length), 0), reason))
        if known:
            p.blocked.update(d0 + timedelta(days=k) for k in range(length))

    for p in people:
        if not p.active:
            continue
        target = round(rng.randint(25, 32) * p.fte * (last - first).days / 365)
        taken = 0
        while taken < target:
            length = rng.choice((2, 3, 4, 5, 7, 7, 10, 14))
            d0 = place(p, first, last, length)
            if d0 is None:
                break
            taken += length
            # leave booked after the rota was published, and nobody swapped
            late = rng.random() < (0.15 if d0 > today else 0.04)
            record(p, d0, length, "annual leave", not late)
        for _ in range(rng.choice((0, 1, 1, 1, 2, 2, 3))):
            length = rng.choice((1, 1, 2, 2, 3, 3, 5, 7, 14))
            d0 = place(p, first, today - timedelta(days=1), length)
            if d0 is not None:
                # cover was found for most sickness; the rest is cancelled cover
                record(p, d0, length, "sickness", rng.random() < 0.7)
        if rng.random() < 0.6:
            d0 = place(p, first, last, 1)
            if d0 is not None and d0.weekday() < 5:
                out.append((p.rid, _at(d0, 9), _at(d0, 17), "training"))
                if rng.random() < 0.7:
                    p.blocked.add(d0)
            elif d0 is not None:
                p.absent.discard(d0)
    return out


# --- duties to fill ----------------------------------------------------------------------------------


def _office_and_oncall(
    role: str,
    rng: random.Random,
    first: date,
    last: date,
    bank: set[date],
    day_from: int,
    day_to: int,
    office_need: tuple[int, ...],
) -> list[_Slot]:
    """Office-hours cover on working days, and a 1-in-N on-call rota for every other hour.

    Long weekends are cut into on-call pieces of at most 64 hours (Friday evening to Monday morning)."""
    working = [d for d in _days(first - timedelta(days=7), last + timedelta(days=7)) if d.weekday() < 5]
    working = [d for d in working if d not in bank]
    slots: list[_Slot] = []
    for d in working:
        if first <= d <= last:
            slots.append(_Slot(role, _at(d, day_from), _at(d, day_to), ONSITE, rng.choice(office_need)))
    longest = timedelta(hours=64)
    for a, b in pairwise(working):
        s, e = _at(a, day_to), _at(b, day_from)
        if e <= _at(first, 0) or s >= _at(last + timedelta(days=1), 0):
            continue
        while e - s > longest:
            cut = _at((s + longest).date(), day_from)
            if cut > s + longest:
                cut -= timedelta(days=1)
            slots.append(_Slot(role, s, cut, ONCALL, 1))
            s = cut
        slots.append(_Slot(role, s, e, ONCALL, 1))
    return slots


def _ambulance(rng: random.Random, first: date, last: date) -> list[_Slot]:
    """12-hour shifts, 07:00-19:00 and 19:00-07:00, with two or three JAR-trained clinicians each."""
    slots: list[_Slot] = []
    for d in _days(first, last):
        for a, b in ((_at(d, 7), _at(d, 19)), (_at(d, 19), _at(d + timedelta(days=1), 7))):
            r = rng.random()
            need = 0 if r < 0.02 else 1 if r < 0.08 else 3 if r < 0.45 else 2
            slots.append(_Slot("ambulance", a, b, ONSITE, need))
    return slots


def _cut(slots: list[_Slot], holes: list[tuple[datetime, datetime]], kind: str) -> list[_Slot]:
    """Remove the holes from the slots of one kind: the hours nobody was found for."""
    out: list[_Slot] = []
    holes = sorted(holes)
    for slot in slots:
        pieces = [slot]
        if slot.kind == kind:
            for hs, he in holes:
                nxt: list[_Slot] = []
                for p in pieces:
                    if he <= p.start or hs >= p.end:
                        nxt.append(p)
                        continue
                    if hs > p.start:
                        nxt.append(_Slot(p.role, p.start, hs, p.kind, p.need))
                    if he < p.end:
                        nxt.append(_Slot(p.role, he, p.end, p.kind, p.need))
                pieces = nxt
        out.extend(pieces)
    return out


def _thin_weekends(today: date, first: date, last: date, bank: set[date]) -> list[date]:
    """Bank holidays whose weekend is left thin: past Christmases and New Years, and the upcoming one."""
    festive = [d for d in sorted(bank) if (d.month, d.day) in ((12, 25), (1, 1))]
    ahead = [d for d in sorted(bank) if today <= d <= today + timedelta(days=56)]
    chosen = [d for d in festive if d < today]
    upcoming = [d for d in ahead if d in festive] or ahead[:1]
    if not upcoming:  # none in the coming weeks: the most recent one shows the pattern instead
        upcoming = [d for d in sorted(bank) if first <= d < today][-1:]
    return sorted(set(chosen + upcoming))


def _slots(rng: random.Random, today: date, first: date, last: date, bank: set[date]) -> list[_Slot]:
    paed = _office_and_oncall("paediatrician", rng, first, last, bank, 9, 17, (2, 3, 3, 4))
    sio = _office_and_oncall("sio", rng, first, last, bank, 8, 18, (2, 2, 2, 3))
    amb = _ambulance(rng, first, last)
    future = [d for d in _days(today, today + timedelta(days=55))]
    nights = [d for d in _days(first, last) if d.weekday() < 4 and d not in bank]
    future_nights = [d for d in nights if d in set(future)]

    # paediatricians: the on-call consultant handing over at 08:30 (half an hour before the day team),
    # and the odd night nobody could be found for
    paed_holes: list[tuple[datetime, datetime]] = []
    handovers = [d for d in nights if rng.random() < 0.04] + [rng.choice(future_nights)]
    paed_holes += [(_at(d, 8, 30), _at(d, 9)) for d in handovers]
    empty_nights = [d for d in nights if rng.random() < 0.05] + [rng.choice(future_nights)]
    paed_holes += [(_at(d, 17), _at(d + timedelta(days=1), 9)) for d in empty_nights]
    saturdays = [d for d in _days(first, last) if d.weekday() == 5]
    paed_holes += [(_at(d, 9), _at(d, 21)) for d in saturdays if rng.random() < 0.05]

    # SIOs: holes in the on-call rota, whole nights or from 23:00
    sio_holes: list[tuple[datetime, datetime]] = []
    sio_nights = [d for d in nights if rng.random() < 0.06] + rng.sample(future_nights, 2)
    for i, d in enumerate(sorted(set(sio_nights))):
        sio_holes.append((_at(d, 18 if i % 2 == 0 else 23), _at(d + timedelta(days=1), 8)))
    sio_holes += [
        (_at(d + timedelta(days=1), 8), _at(d + timedelta(days=1), 20))
        for d in saturdays
        if rng.random() < 0.05
    ]

    # thin bank holiday weekends: no on-call consultant in the day, no SIO the night before, one
    # ambulance clinician a shift
    for h in _thin_weekends(today, first, last, bank):
        paed_holes.append((_at(h, 9), _at(h, 19)))
        sio_holes.append((_at(h - timedelta(days=1), 20), _at(h, 8)))
        for s in amb:
            if s.start.date() in (h - timedelta(days=1), h):
                s.need = min(s.need, 1)
        for s in amb:
            if s.start == _at(h, 19):
                s.need = 0
    return _cut(paed, paed_holes, ONCALL) + _cut(sio, sio_holes, ONCALL) + amb


# --- rostering -------------------------------------------------------------------------------------


def _roster(
    rng: random.Random, slots: list[_Slot], people: list[_Person], first: date
) -> list[tuple[str, datetime, datetime, str]]:
    """Fill each slot, in time order, with the rested, available people who have done least so far."""
    rest = {
        "paediatrician": timedelta(hours=12),
        "sio": timedelta(hours=12),
        "ambulance": timedelta(hours=11),
    }
    by_role: dict[str, list[_Person]] = {}
    for p in people:
        if p.active:
            by_role.setdefault(p.role, []).append(p)
    # start people who join mid-year level with the rest, so they are not given every shift at first
    for role, pool in by_role.items():
        hours = sum(s.hours * s.need for s in slots if s.role == role)
        capacity = sum(p.fte * ((p.left or first + timedelta(days=400)) - p.joined).days for p in pool)
        rate = hours / capacity if capacity else 0.0
        for p in pool:
            p.load = rate * (p.joined - first).days
    out: list[tuple[str, datetime, datetime, str]] = []
    for slot in sorted(slots, key=lambda s: (s.start, s.role, s.kind)):
        if slot.need <= 0:
            continue
        days = list(slot.days())
        pool = [
            p
            for p in by_role[slot.role]
            if p.joined <= days[0]
            and (p.left is None or days[-1] < p.left)
            and (p.busy_until is None or p.busy_until + rest[slot.role] <= slot.start)
            and not any(d in p.blocked for d in days)
        ]
        pool.sort(key=lambda p: p.load + rng.random() * 12)
        for p in pool[: slot.need]:
            out.append((p.rid, slot.start, slot.end, slot.kind))
            p.busy_until = slot.end
            p.load += slot.hours / p.fte
    return out


# --- the demo ----------------------------------------------------------------------------------------


def demo_rules() -> list[Rule]:
    """The six default rules, then two paediatricians on site in office hours (the designated doctor's
    team, which the next-working-day meeting relies on)."""
    office = Rule(
        "paediatrician-office-hours",
        "paediatrician",
        2,
        ("jar",),
        "0-17",
        (parse_window("Mon-Fri 09:00-17:00"),),
    )
    return [*default_rules(), office]


def build_demo(today: date, seed: int = 7, tz: tzinfo = SERVICE_TZ) -> Rota:
    """A regional rota from five years (and a month) before `today` to fourteen weeks after it, the same for
    the same seed.

    Shifts are planned in local wall time and stored as UTC instants, so a 19:00-07:00 shift on the
    night the clocks go back lasts 13 real hours."""
    rng = random.Random(seed)
    first = today - timedelta(days=PAST_DAYS)
    last = today + timedelta(days=AHEAD_DAYS)
    bank = set(bank_holidays(first - timedelta(days=14), last + timedelta(days=14)))

    people, training = _people(rng, today, first)
    absences = _absences(rng, people, today, first, last)
    slots = _slots(rng, today, first, last, bank)
    duties = _roster(rng, slots, people, first)

    cache: dict[datetime, datetime] = {}

    def instant(wall: datetime) -> datetime:
        if wall not in cache:
            cache[wall] = wall_to_instant_forward(wall, tz)
        return cache[wall]

    duties.sort(key=lambda r: (r[1], r[0]))
    shifts = pl.DataFrame(
        {
            "shift_id": [f"S{i + 1:06d}" for i in range(len(duties))],
            "responder_id": [r[0] for r in duties],
            "start": [instant(r[1]) for r in duties],
            "end": [instant(r[2]) for r in duties],
            "kind": [r[3] for r in duties],
        }
    )
    absences.sort(key=lambda r: (r[1], r[0]))
    absence_frame = pl.DataFrame(
        {
            "responder_id": [r[0] for r in absences],
            "start": [instant(r[1]) for r in absences],
            "end": [instant(r[2]) for r in absences],
            "reason": [r[3] for r in absences],
        }
    )
    responders = pl.DataFrame(
        {
            "responder_id": [p.rid for p in people],
            "name": [p.name for p in people],
            "role": [p.role for p in people],
            "agency": [AGENCIES[p.role] for p in people],
            "email": [p.email for p in people],
            "phone": [p.phone for p in people],
            "active": [p.active for p in people],
        }
    )
    training.sort(key=lambda r: (r[0], r[1], r[2]))
    training_frame = pl.DataFrame(
        {
            "responder_id": [r[0] for r in training],
            "competency": [r[1] for r in training],
            "valid_from": [r[2] for r in training],
            "valid_until": [r[3] for r in training],
        },
        schema={
            "responder_id": pl.String,
            "competency": pl.String,
            "valid_from": pl.Date,
            "valid_until": pl.Date,
        },
    )
    return Rota(
        responders=conform("responders", responders),
        training=conform("training", training_frame),
        shifts=conform("shifts", shifts),
        absences=conform("absences", absence_frame),
        rules=tuple(demo_rules()),
    )


def demo_summary(rota: Rota, today: date | None = None, tz: tzinfo = SERVICE_TZ) -> dict[str, object]:
    """Counts for the command line to print after loading the demo (JSON-friendly)."""
    if today is None:
        today = utc_now().astimezone(tz).date()
    r, t, s, a = rota.responders, rota.training, rota.shifts, rota.absences
    rid = "responder_id"

    def counts(df: pl.DataFrame, col: str) -> dict[str, int]:
        g = df.group_by(col).len().sort(col)
        return {str(k): int(v) for k, v in zip(g[col], g["len"], strict=True)}

    def valid_on(df: pl.DataFrame, d: date | pl.Expr) -> pl.DataFrame:
        return df.filter(
            (pl.col("valid_from") <= d) & (pl.col("valid_until").is_null() | (pl.col("valid_until") >= d))
        )

    def when(value: object) -> str | None:
        return iso_local(value, tz) if isinstance(value, datetime) else None

    active = r.filter(pl.col("active"))
    ids = active.select(rid)
    jar = t.filter(pl.col("competency") == "jar").join(ids, on=rid, how="semi")

    def holders(competency: str) -> dict[str, int]:
        valid = valid_on(t.filter(pl.col("competency") == competency), today)
        return counts(active.join(valid, on=rid, how="semi"), "role")

    # a lapse: the day after a JAR certificate ended, no certificate was valid
    ended = jar.filter(
        (pl.col("valid_until") < today) & (pl.col("valid_until") >= today - timedelta(days=365))
    ).select(rid, (pl.col("valid_until") + timedelta(days=1)).alias("day"))
    renewed = valid_on(ended.join(jar, on=rid), pl.col("day")).select(rid, "day")
    lapsed = ended.join(renewed, on=[rid, "day"], how="anti")[rid].n_unique()
    without_now = ids.join(valid_on(jar, today), on=rid, how="anti").height
    current_until = valid_on(jar, today).group_by(rid).agg(pl.col("valid_until").max())

    def expiring(days: int) -> int:
        end = today + timedelta(days=days)
        return current_until.filter(pl.col("valid_until") <= end).height

    return {
        "footprint": FOOTPRINT,
        "councils": list(COUNCILS),
        "responders": r.height,
        "active_responders": active.height,
        "responders_by_role": counts(r, "role"),
        "active_by_role": counts(active, "role"),
        "agencies": counts(r, "agency"),
        "jar_holders_by_role": holders("jar"),
        "jar_16_17_holders_by_role": holders("jar-16-17"),
        "training_records": t.height,
        "jar_lapsed_past_year": lapsed,
        "active_without_valid_jar": without_now,
        "jar_expiring_30_days": expiring(30),
        "jar_expiring_60_days": expiring(60),
        "jar_expiring_90_days": expiring(90),
        "shifts": s.height,
        "shifts_by_role": counts(s.join(r.select(rid, "role"), on=rid), "role"),
        "shifts_by_kind": counts(s, "kind"),
        "absences": a.height,
        "absences_by_reason": counts(a, "reason"),
        "rules": [rule.id for rule in rota.effective_rules()],
        "first_shift_start": when(s["start"].min()),
        "last_shift_end": when(s["end"].max()),
    }
