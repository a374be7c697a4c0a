"""Generate the national-scale rota bundle of docs/performance.md, deterministically from a seed.

    python benchmarks/national_bundle.py OUT_DIR [--seed N] [--responders N] [--shifts N] [--year Y]

Defaults: 2,000 responders (paediatricians, SIOs, ambulance clinicians), 500,000 shifts over one
calendar year in Europe/London, training records, absences and a rules.toml holding the six default
rules. The folder is a bundle in the docs/bundle.md format: times are local ISO 8601 with their offset
(`2026-10-25T01:30:00+01:00`), dates `YYYY-MM-DD`.

What the data looks like (all of it drawn from one numpy generator, so a seed always gives the same
files byte for byte):

- responders: about 36% paediatricians, 32% SIOs, 32% ambulance; about 1% inactive; agencies are NHS
  trusts, police forces and ambulance services.
- shifts: each responder works on distinct days of the year (or the last day of the year before):
  12-hour day shifts (08:00-20:00 local, onsite), 12-hour nights (20:00-08:00, on call) and 24-hour
  on-call shifts (09:00-09:00); one in ten starts half an hour early or late; a night or 24-hour shift
  over a clock change lasts 11, 13, 23 or 25 real hours. A 24-hour shift followed by a day shift
  overlaps it by an hour, and about 4% of the shifts are onsite call-outs of 2-6 hours starting at any
  minute of an on-call shift of the same responder (some run past its end), so overlapping shifts are
  common.
- training: `jar` for about 93% of responders (a three-year validity, some lapsing in the year and
  renewed weeks later, some lapsing for good, a quarter without expiry); `jar-16-17` for far fewer
  (30% of paediatricians, 12% of SIOs, 2% of ambulance clinicians), some gained or lapsing in the year;
  plus an unrelated `paediatric-life-support` competency the rules ignore.
- absences: about three a responder: annual leave (3-14 days), sickness (1-5 days), training days,
  from local midnight to local midnight.

The scarce `ambulance-16-17` cover makes real gaps, so the gap list is not empty.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

TZ = "Europe/London"
ROLES = ("paediatrician", "sio", "ambulance")
ROLE_SHARE = (0.36, 0.32, 0.32)
# shift patterns: (local start hour, wall-clock hours, kind)
PATTERNS = ((8, 12, "onsite"), (20, 12, "oncall"), (9, 24, "oncall"))
PATTERN_P = {  # per role: day 12 h, night 12 h, on-call 24 h
    "paediatrician": (0.35, 0.20, 0.45),
    "sio": (0.50, 0.35, 0.15),
    "ambulance": (0.50, 0.40, 0.10),
}
CALLOUT_SHARE = 0.04
JAR_SHARE = 0.93
JAR1617_SHARE = {"paediatrician": 0.30, "sio": 0.12, "ambulance": 0.02}
AGENCIES = {
    "paediatrician": [f"NHS Trust {i:02d}" for i in range(1, 41)],
    "sio": [f"Police Force {i:02d}" for i in range(1, 40)],
    "ambulance": [f"Ambulance Service {i:02d}" for i in range(1, 11)],
}
EMAIL_DOMAIN = {"paediatrician": "nhs.example", "sio": "police.example", "ambulance": "ambulance.example"}
FIRST = (
    "Amira",
    "Ben",
    "Chloe",
    "Daniel",
    "Eleanor",
    "Faisal",
    "Grace",
    "Harry",
    "Isla",
    "Jack",
    "Kiran",
    "Leah",
    "Mohammed",
    "Niamh",
    "Oliver",
    "Priya",
    "Quentin",
    "Rosa",
    "Samuel",
    "Tara",
    "Usman",
    "Vera",
    "William",
    "Xena",
    "Yusuf",
    "Zara",
    "Aled",
    "Bethan",
    "Callum",
    "Deepa",
)
LAST = (
    "Ahmed",
    "Baker",
    "Clarke",
    "Davies",
    "Evans",
    "Fletcher",
    "Green",
    "Hughes",
    "Iqbal",
    "Jones",
    "Khan",
    "Lewis",
    "Morgan",
    "Nolan",
    "Owen",
    "Patel",
    "Quinn",
    "Roberts",
    "Singh",
    "Taylor",
    "Usher",
    "Vaughan",
    "Walker",
    "Young",
    "Zaman",
    "Begum",
    "Campbell",
    "Doyle",
    "Ellis",
    "Foster",
)
RULES_TOML = """# The six default coverage rules (docs/engine.md), written out for the benchmark.
{tables}"""


def _localize(walls: pl.Series) -> pl.Series:
    """Naive local wall times to UTC instants (none of the generated wall times is in a DST gap)."""
    return (
        walls.dt.replace_time_zone(TZ, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
        .cast(pl.Datetime("us", "UTC"))
    )


def _days(year: int) -> int:
    return (date(year + 1, 1, 1) - date(year, 1, 1)).days


def build_frames(
    *, seed: int = 2026, n_responders: int = 2_000, n_shifts: int = 500_000, year: int = 2026
) -> dict[str, pl.DataFrame]:
    """The bundle as typed frames (instants UTC, dates as dates), in the column order of the files."""
    if n_responders < 1 or n_shifts < n_responders:
        raise ValueError("need at least one responder and at least one shift per responder")
    rng = np.random.default_rng(seed)
    n_days = _days(year)
    jan1 = np.datetime64(f"{year}-01-01", "D")

    # ---------------------------------------------------------------- responders
    role_idx = rng.choice(len(ROLES), size=n_responders, p=ROLE_SHARE)
    roles = np.array(ROLES)[role_idx]
    ids = np.array([f"R{i:05d}" for i in range(1, n_responders + 1)])
    first = np.array(FIRST)[rng.integers(0, len(FIRST), n_responders)]
    last = np.array(LAST)[rng.integers(0, len(LAST), n_responders)]
    agency = np.array([AGENCIES[r][rng.integers(0, len(AGENCIES[r]))] for r in roles])
    email = [
        f"{f.lower()}.{s.lower()}{i[1:]}@{EMAIL_DOMAIN[r]}"
        for f, s, i, r in zip(first, last, ids, roles, strict=True)
    ]
    active = rng.random(n_responders) >= 0.01
    responders = pl.DataFrame(
        {
            "responder_id": ids,
            "name": np.char.add(np.char.add(first, " "), last),
            "role": roles,
            "agency": agency,
            "email": email,
            "active": active,
        }
    )

    # ---------------------------------------------------------------- shifts
    per = np.full(n_responders, n_shifts // n_responders)
    per[rng.permutation(n_responders)[: n_shifts % n_responders]] += 1
    callouts = rng.binomial(per - 1, CALLOUT_SHARE)
    rostered = per - callouts
    # distinct working days per responder: the first `rostered` of a random permutation of the days of
    # the year and the last day of the year before (so nights and on-calls cover the first morning)
    n_slots = n_days + 1
    if rostered.max() > n_slots:
        raise ValueError(f"more than {n_slots} rostered shifts a responder; give more responders")
    order = np.argsort(rng.random((n_responders, n_slots)), axis=1)
    rows, cols = np.nonzero(np.arange(n_slots)[None, :] < rostered[:, None])
    who = rows
    day = order[rows, cols] - 1
    pattern = np.empty(who.size, dtype=np.int64)
    for r, role in enumerate(ROLES):
        sel = role_idx[who] == r
        pattern[sel] = rng.choice(len(PATTERNS), size=int(sel.sum()), p=PATTERN_P[role])
    start_hour = np.array([p[0] for p in PATTERNS])[pattern]
    hours = np.array([p[1] for p in PATTERNS])[pattern]
    jitter = np.where(rng.random(who.size) < 0.10, rng.choice([-30, 30], size=who.size), 0)
    start_wall = (
        jan1
        + day.astype("timedelta64[D]")
        + start_hour.astype("timedelta64[h]")
        + jitter.astype("timedelta64[m]")
    )
    end_wall = start_wall + hours.astype("timedelta64[h]")
    rostered_frame = pl.DataFrame(
        {
            "who": who,
            "start": _localize(pl.Series(start_wall.astype("datetime64[us]"))),
            "end": _localize(pl.Series(end_wall.astype("datetime64[us]"))),
            "kind": np.array([p[2] for p in PATTERNS])[pattern],
        }
    )
    # call-outs: onsite, 2-6 h, starting at a whole minute inside an on-call shift of the same responder
    # (or any of their shifts when they have no on-call shift)
    pool = (
        rostered_frame.filter((pl.col("kind") == "oncall") | ~(pl.col("kind") == "oncall").any().over("who"))
        .sort("who", "start")
        .with_row_index("i")
    )
    bounds = pool.group_by("who").agg(pl.col("i").min().alias("first"), pl.len().alias("n")).sort("who")
    first_row = np.zeros(n_responders, dtype=np.int64)
    n_pool = np.zeros(n_responders, dtype=np.int64)
    first_row[bounds["who"].to_numpy()] = bounds["first"].to_numpy()
    n_pool[bounds["who"].to_numpy()] = bounds["n"].to_numpy()
    co_who = np.repeat(np.arange(n_responders), callouts)
    parent = first_row[co_who] + (rng.random(co_who.size) * n_pool[co_who]).astype(np.int64)
    p_start = pool["start"].dt.replace_time_zone(None).to_numpy()[parent]
    p_end = pool["end"].dt.replace_time_zone(None).to_numpy()[parent]
    p_len_min = ((p_end - p_start) / np.timedelta64(1, "m")).astype(np.int64)
    offset = (rng.random(co_who.size) * p_len_min).astype("timedelta64[m]")
    length = rng.integers(120, 361, co_who.size).astype("timedelta64[m]")
    co_start = p_start.astype("datetime64[us]") + offset
    callout_frame = pl.DataFrame(
        {
            "who": co_who,
            "start": pl.Series(co_start).dt.replace_time_zone("UTC"),
            "end": pl.Series(co_start + length).dt.replace_time_zone("UTC"),
            "kind": np.full(co_who.size, "onsite"),
        }
    )
    shifts = (
        pl.concat([rostered_frame, callout_frame])
        .sort("start", "who", "end")
        .select(
            pl.format("S{}", pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(7)).alias("shift_id"),
            pl.col("who").replace_strict(list(range(n_responders)), ids.tolist()).alias("responder_id"),
            "start",
            "end",
            "kind",
        )
    )

    # ---------------------------------------------------------------- training
    def dates(offsets: np.ndarray) -> np.ndarray:
        return jan1 + offsets.astype("timedelta64[D]")

    train: list[pl.DataFrame] = []

    def add(who_: np.ndarray, comp: str, frm: np.ndarray, until: np.ndarray, has_until: np.ndarray) -> None:
        train.append(
            pl.DataFrame(
                {
                    "who": who_,
                    "competency": np.full(who_.size, comp),
                    "valid_from": pl.Series(dates(frm)),
                    "valid_until": pl.Series(dates(until)),
                    "has_until": has_until,
                }
            )
            .with_columns(pl.when(pl.col("has_until")).then(pl.col("valid_until")).alias("valid_until"))
            .drop("has_until")
        )

    # jar: three years from a date in the last three years; a quarter never expire
    jar = np.nonzero(rng.random(n_responders) < JAR_SHARE)[0]
    frm = rng.integers(-3 * 365 + 30, 0, jar.size)
    until = frm + 3 * 365 - 1
    has_until = rng.random(jar.size) >= 0.25
    add(jar, "jar", frm, until, has_until)
    lapsing = has_until & (until >= 0) & (until < n_days)
    renewed = lapsing & (rng.random(jar.size) < 0.7)  # the rest lapse for good
    gap_days = rng.integers(1, 61, jar.size)
    add(
        jar[renewed],
        "jar",
        (until + gap_days)[renewed],
        (until + gap_days + 3 * 365)[renewed],
        np.ones(int(renewed.sum()), dtype=bool),
    )
    # jar-16-17: far fewer; briefed up to two years ago or during the year, valid two years or open
    share = np.array([JAR1617_SHARE[r] for r in ROLES])[role_idx]
    b = np.nonzero((rng.random(n_responders) < share) & np.isin(np.arange(n_responders), jar))[0]
    frm = rng.integers(-2 * 365, n_days // 2, b.size)
    add(b, "jar-16-17", frm, frm + 2 * 365 - 1, rng.random(b.size) >= 0.4)
    # a competency no default rule needs
    pls = np.nonzero((role_idx != ROLES.index("sio")) & (rng.random(n_responders) < 0.5))[0]
    frm = rng.integers(-365, n_days, pls.size)
    add(pls, "paediatric-life-support", frm, frm + 365, np.ones(pls.size, dtype=bool))
    training = (
        pl.concat(train)
        .sort("who", "competency", "valid_from")
        .select(
            pl.col("who").replace_strict(list(range(n_responders)), ids.tolist()).alias("responder_id"),
            "competency",
            "valid_from",
            "valid_until",
        )
    )

    # ---------------------------------------------------------------- absences
    n_abs = rng.poisson(3.0, n_responders)
    a_who = np.repeat(np.arange(n_responders), n_abs)
    reason_idx = rng.choice(3, size=a_who.size, p=(0.55, 0.30, 0.15))
    length_days = np.select(
        [reason_idx == 0, reason_idx == 1],
        [rng.integers(3, 15, a_who.size), rng.integers(1, 6, a_who.size)],
        1,
    )
    a_day = rng.integers(0, n_days, a_who.size)
    a_start = dates(a_day).astype("datetime64[us]")
    a_end = dates(a_day + length_days).astype("datetime64[us]")
    absences = (
        pl.DataFrame(
            {
                "who": a_who,
                "start": _localize(pl.Series(a_start)),
                "end": _localize(pl.Series(a_end)),
                "reason": np.array(["annual leave", "sickness", "training course"])[reason_idx],
            }
        )
        # two draws can give a responder the same absence twice; a bundle gives each once (docs/bundle.md)
        .unique(subset=["who", "start", "end"], keep="first", maintain_order=True)
        .sort("who", "start")
        .select(
            pl.col("who").replace_strict(list(range(n_responders)), ids.tolist()).alias("responder_id"),
            "start",
            "end",
            "reason",
        )
    )
    return {"responders": responders, "training": training, "shifts": shifts, "absences": absences}


def rules_toml() -> str:
    from rota.rules import default_rules

    tables = []
    for rule in default_rules():
        comps = ", ".join(f'"{c}"' for c in rule.competencies)
        tables.append(
            f'[[rule]]\nid = "{rule.id}"\nrole = "{rule.role}"\nmin_count = {rule.min_count}\n'
            f'competencies = [{comps}]\nage_band = "{rule.age_band}"\n'
        )
    return RULES_TOML.format(tables="\n".join(tables))


def to_files(frames: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """The frames as written: instants as local ISO 8601 with offset, dates as YYYY-MM-DD."""
    out = {}
    for kind, df in frames.items():
        exprs = []
        for name, dtype in df.schema.items():
            if isinstance(dtype, pl.Datetime):
                exprs.append(pl.col(name).dt.convert_time_zone(TZ).dt.strftime("%Y-%m-%dT%H:%M:%S%:z"))
            elif isinstance(dtype, pl.Date):
                exprs.append(pl.col(name).dt.strftime("%Y-%m-%d"))
            elif dtype == pl.Boolean:
                exprs.append(
                    pl.when(pl.col(name)).then(pl.lit("true")).otherwise(pl.lit("false")).alias(name)
                )
            else:
                exprs.append(pl.col(name))
        out[kind] = df.select(exprs)
    return out


def write_bundle_dir(
    out_dir: Path | str,
    *,
    seed: int = 2026,
    n_responders: int = 2_000,
    n_shifts: int = 500_000,
    year: int = 2026,
    with_rules: bool = True,
) -> dict[str, int]:
    """Write the bundle folder; return the row count of each file."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    frames = build_frames(seed=seed, n_responders=n_responders, n_shifts=n_shifts, year=year)
    for kind, df in to_files(frames).items():
        df.write_csv(out / f"{kind}.csv")
    if with_rules:
        (out / "rules.toml").write_text(rules_toml(), encoding="utf-8")
    return {kind: df.height for kind, df in frames.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--responders", type=int, default=2_000)
    parser.add_argument("--shifts", type=int, default=500_000)
    parser.add_argument("--year", type=int, default=2026)
    parser.add_argument("--no-rules", action="store_true", help="leave rules.toml out (defaults apply)")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    counts = write_bundle_dir(
        args.out_dir,
        seed=args.seed,
        n_responders=args.responders,
        n_shifts=args.shifts,
        year=args.year,
        with_rules=not args.no_rules,
    )
    took = time.perf_counter() - t0
    summary = ", ".join(f"{n:,} {kind}" for kind, n in counts.items())
    print(f"Wrote {summary} to {args.out_dir} in {took:.1f} s (seed {args.seed}).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
