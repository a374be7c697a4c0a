"""Statistical process control: NHS England "Making Data Count" XmR charts, and p-charts for proportions.

Pure functions (no dashboard, no database). Defaults follow the Making Data Count tool and its reference
implementation NHSRplotthedots (R), as docs/commands.md (`rota spc`) and docs/methods.md describe:

* Centre line: the mean of the baseline (the first ``baseline`` points when given, else all points).
* Moving ranges ``|x_i - x_(i-1)|`` within the baseline only; MR-bar is their mean; no outlier screening.
* Process limits: mean +/- 2.66 x MR-bar; 2-sigma lines: mean +/- (2/3 x 2.66 = 1.7733) x MR-bar.
* Rules are applied to ALL points (also those after the baseline):
  - beyond a limit: strictly above the upper / below the lower process limit;
  - shift: 7 or more consecutive points strictly on one side of the mean; a point on the mean breaks it;
  - trend: 7 or more consecutive points each strictly higher (lower) than the one before, i.e. 6 rises
    (falls) in a row; a tie breaks it;
  - two of three: in 3 consecutive points, at least 2 are beyond the same 2-sigma line (points beyond the
    process limits count, as in Making Data Count since Nov 2023).

Choices where those docs are silent (checked against NHSRplotthedots' ``ptd_spc_standard`` and
``ptd_calculate_point_type``):

* Every point of a qualifying run is flagged, including all points of a run longer than 7.
* Two of three follows NHSRplotthedots: all three points of the window lie on the same side of the mean
  (strictly), and only the points beyond the 2-sigma line are flagged (not the third point).
* A point's ``signal`` is the first that applies in the order ``above_upl, below_lpl, trend_up, trend_down,
  two_of_three_above, two_of_three_below, shift_above, shift_below``.
* ``type`` follows the direction of the point's signal (``above``/``up`` is improvement when improvement
  is "up" and concern when it is "down"); NHSRplotthedots uses the side of the mean instead, which only
  differs for a point of a trend on the other side of the mean. With improvement "neutral" every signal
  is ``special_cause_neutral`` (NHSRplotthedots adds ``_high``/``_low``; docs/commands.md has the plain name).
* "On the mean" allows for floating-point rounding: ``|x - mean| <= 1e-9 x max(1, |mean|)``.
* ``assurance_icon`` compares the target with the process limits: for improvement "up", a target below
  the lower limit is ``consistent_pass``, above the upper limit ``consistent_fail``, else ``inconsistent``
  (mirrored for "down"; a target exactly on a limit is ``inconsistent``); null without a target or when
  improvement is "neutral".
* p-chart: p-bar = total numerator / total denominator of the baseline; per-point limits
  p-bar +/- 3 sqrt(p-bar (1 - p-bar) / n_i) and 2-sigma lines with 2 in place of 3, all clipped to [0, 1];
  the same four rules apply with each point's own limits, and the assurance icon uses the latest point's
  limits (as NHSRplotthedots uses the latest row).
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from rota.errors import InputError, Problem
from rota.vocab import Assurance, SpcSignal, Variation, values_of
from rota.vocab import Improvement as ImprovementWord

Improvement = Literal["up", "down", "neutral"]  # the values of rota.vocab.Improvement
IMPROVEMENTS: tuple[str, ...] = values_of(ImprovementWord)

LIMIT = 2.66
TWO_SIGMA = 2 * LIMIT / 3  # 1.7733...
RUN = 7  # points in a shift or a trend

# The signals in the order a point's first one is chosen, and the point kinds and assurance words: the
# Making Data Count words of rota.vocab (docs/methods.md "Making Data Count words").
SIGNALS: tuple[str, ...] = values_of(SpcSignal)
_UPWARD = frozenset(s.value for s in SpcSignal if s.upward)


@dataclass(frozen=True)
class SpcPoint:
    value: float
    signal: str | None
    type: str
    upl: float | None = None  # per-point limits (p-chart only)
    lpl: float | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value, "signal": self.signal, "type": self.type}
        if self.upl is not None and self.lpl is not None:
            out["upl"] = self.upl
            out["lpl"] = self.lpl
        return out


@dataclass(frozen=True)
class SpcResult:
    """An XmR chart, or a p-chart (``upl``/``lpl`` of its latest point; each point has its own)."""

    mean: float
    upl: float
    lpl: float
    upper_two_sigma: float
    lower_two_sigma: float
    mr_bar: float | None
    baseline: int
    improvement: str
    target: float | None
    points: tuple[SpcPoint, ...]
    variation_icon: str
    assurance_icon: str | None

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of `rota spc` (docs/commands.md), with a few extra keys."""
        return {
            "mean": self.mean,
            "upl": self.upl,
            "lpl": self.lpl,
            "points": [p.as_dict() for p in self.points],
            "variation_icon": self.variation_icon,
            "assurance_icon": self.assurance_icon,
            "upper_two_sigma": self.upper_two_sigma,
            "lower_two_sigma": self.lower_two_sigma,
            "mr_bar": self.mr_bar,
            "baseline": self.baseline,
            "improvement": self.improvement,
            "target": self.target,
        }


# ------------------------------------------------------------------------------------------- checks


def _check_improvement(improvement: str) -> None:
    if improvement not in IMPROVEMENTS:
        raise ValueError(f"improvement must be one of {', '.join(IMPROVEMENTS)}, not {improvement!r}")


def _check_finite(values: Sequence[float], what: str) -> list[float]:
    out: list[float] = []
    for i, v in enumerate(values):
        x = float(v)
        if not math.isfinite(x):
            raise ValueError(f"{what} {i + 1} is not a finite number: {v!r}")
        out.append(x)
    return out


def _check_baseline(baseline: int | None, n: int) -> int:
    if n < 2:
        raise ValueError(f"at least 2 points are needed, got {n}")
    if baseline is None:
        return n
    if baseline < 2:
        raise ValueError(f"the baseline needs at least 2 points, got {baseline}")
    if baseline > n:
        raise ValueError(f"the baseline ({baseline} points) is longer than the series ({n} points)")
    return baseline


# ------------------------------------------------------------------------------------------- rules


def _side(x: float, centre: float) -> int:
    if abs(x - centre) <= 1e-9 * max(1.0, abs(centre)):
        return 0
    return 1 if x > centre else -1


def _runs(steps: Sequence[int], direction: int, length: int) -> list[bool]:
    """Flag every index in a run of at least ``length`` consecutive ``steps`` equal to ``direction``."""
    flags = [False] * len(steps)
    start = 0
    while start < len(steps):
        if steps[start] != direction:
            start += 1
            continue
        end = start
        while end < len(steps) and steps[end] == direction:
            end += 1
        if end - start >= length:
            for i in range(start, end):
                flags[i] = True
        start = end
    return flags


def _signals(
    values: Sequence[float],
    centre: float,
    upl: Sequence[float],
    lpl: Sequence[float],
    up2: Sequence[float],
    lo2: Sequence[float],
) -> list[str | None]:
    n = len(values)
    sides = [_side(x, centre) for x in values]
    shift_above = _runs(sides, 1, RUN)
    shift_below = _runs(sides, -1, RUN)

    # trend: step i compares point i with point i-1; 6 rises in a row make a 7-point trend
    steps = [0] + [
        (1 if values[i] > values[i - 1] else -1 if values[i] < values[i - 1] else 0) for i in range(1, n)
    ]
    trend_up = [False] * n
    trend_down = [False] * n
    for direction, flags in ((1, trend_up), (-1, trend_down)):
        rising = _runs(steps, direction, RUN - 1)
        for i in range(1, n):
            if rising[i]:
                flags[i] = flags[i - 1] = True

    beyond_up2 = [values[i] > up2[i] for i in range(n)]
    beyond_lo2 = [values[i] < lo2[i] for i in range(n)]
    two_above = [False] * n
    two_below = [False] * n
    for start in range(n - 2):
        window = range(start, start + 3)
        for beyond, side, flags in ((beyond_up2, 1, two_above), (beyond_lo2, -1, two_below)):
            if sum(beyond[i] for i in window) >= 2 and all(sides[i] == side for i in window):
                for i in window:
                    if beyond[i]:
                        flags[i] = True

    found = {
        "above_upl": [values[i] > upl[i] for i in range(n)],
        "below_lpl": [values[i] < lpl[i] for i in range(n)],
        "trend_up": trend_up,
        "trend_down": trend_down,
        "two_of_three_above": two_above,
        "two_of_three_below": two_below,
        "shift_above": shift_above,
        "shift_below": shift_below,
    }
    return [next((s for s in SIGNALS if found[s][i]), None) for i in range(n)]


def point_type(signal: str | None, improvement: str) -> str:
    """``common_cause`` or the kind of special cause, by the direction of the signal."""
    if signal is None:
        return Variation.COMMON_CAUSE.value
    if improvement == ImprovementWord.NEUTRAL:
        return Variation.NEUTRAL.value
    upward = signal in _UPWARD
    kind = Variation.IMPROVEMENT if upward == (improvement == ImprovementWord.UP) else Variation.CONCERN
    return kind.value


def assurance(target: float | None, improvement: str, upl: float, lpl: float) -> str | None:
    """Whether the process will consistently pass, consistently fail or sometimes hit the target."""
    if target is None or improvement == ImprovementWord.NEUTRAL:
        return None
    up = improvement == ImprovementWord.UP
    if target < lpl:
        return (Assurance.PASS if up else Assurance.FAIL).value
    if target > upl:
        return (Assurance.FAIL if up else Assurance.PASS).value
    return Assurance.HIT_AND_MISS.value


# ------------------------------------------------------------------------------------------- charts


def xmr(
    values: Sequence[float],
    improvement: Improvement = "neutral",
    target: float | None = None,
    baseline: int | None = None,
) -> SpcResult:
    """Making Data Count XmR chart of ``values`` (oldest first). Raises ValueError on unusable input."""
    _check_improvement(improvement)
    xs = _check_finite(values, "value")
    n_base = _check_baseline(baseline, len(xs))
    if target is not None and not math.isfinite(target):
        raise ValueError(f"the target is not a finite number: {target!r}")
    base = xs[:n_base]
    mean = math.fsum(base) / n_base
    mr_bar = math.fsum(abs(base[i] - base[i - 1]) for i in range(1, n_base)) / (n_base - 1)
    upl, lpl = mean + LIMIT * mr_bar, mean - LIMIT * mr_bar
    up2, lo2 = mean + TWO_SIGMA * mr_bar, mean - TWO_SIGMA * mr_bar
    n = len(xs)
    signals = _signals(xs, mean, [upl] * n, [lpl] * n, [up2] * n, [lo2] * n)
    points = tuple(SpcPoint(x, s, point_type(s, improvement)) for x, s in zip(xs, signals, strict=True))
    return _result(mean, (upl, lpl, up2, lo2), mr_bar, n_base, improvement, target, points)


def p_chart(
    numerators: Sequence[float],
    denominators: Sequence[float],
    improvement: Improvement = "neutral",
    target: float | None = None,
    baseline: int | None = None,
) -> SpcResult:
    """p-chart of the proportions ``numerators[i] / denominators[i]`` with per-point limits clipped to [0, 1].

    ``mean`` is p-bar; ``upl``/``lpl`` and the 2-sigma fields are those of the latest point.
    """
    _check_improvement(improvement)
    nums = _check_finite(numerators, "numerator")
    dens = _check_finite(denominators, "denominator")
    if len(nums) != len(dens):
        raise ValueError(f"{len(nums)} numerators but {len(dens)} denominators")
    for i, (k, d) in enumerate(zip(nums, dens, strict=True)):
        if d <= 0:
            raise ValueError(f"denominator {i + 1} must be above 0, got {d:g}")
        if not 0 <= k <= d:
            raise ValueError(f"numerator {i + 1} ({k:g}) must be between 0 and its denominator ({d:g})")
    n_base = _check_baseline(baseline, len(nums))
    if target is not None and not math.isfinite(target):
        raise ValueError(f"the target is not a finite number: {target!r}")
    p_bar = math.fsum(nums[:n_base]) / math.fsum(dens[:n_base])
    ps = [k / d for k, d in zip(nums, dens, strict=True)]

    def clip(x: float) -> float:
        return min(1.0, max(0.0, x))

    sds = [math.sqrt(p_bar * (1 - p_bar) / d) for d in dens]
    upl = [clip(p_bar + 3 * s) for s in sds]
    lpl = [clip(p_bar - 3 * s) for s in sds]
    up2 = [clip(p_bar + 2 * s) for s in sds]
    lo2 = [clip(p_bar - 2 * s) for s in sds]
    signals = _signals(ps, p_bar, upl, lpl, up2, lo2)
    points = tuple(
        SpcPoint(p, s, point_type(s, improvement), upl=u, lpl=lo)
        for p, s, u, lo in zip(ps, signals, upl, lpl, strict=True)
    )
    return _result(p_bar, (upl[-1], lpl[-1], up2[-1], lo2[-1]), None, n_base, improvement, target, points)


def _result(
    mean: float,
    limits: tuple[float, float, float, float],
    mr_bar: float | None,
    baseline: int,
    improvement: Improvement,
    target: float | None,
    points: tuple[SpcPoint, ...],
) -> SpcResult:
    """A chart from its mean, the latest point's limits (upper, lower, upper and lower two-sigma) and its
    points; both charts read their icons the same way: the variation icon is the latest point's type, the
    assurance icon compares the target with the latest limits."""
    upl, lpl, up2, lo2 = limits
    return SpcResult(
        mean=mean,
        upl=upl,
        lpl=lpl,
        upper_two_sigma=up2,
        lower_two_sigma=lo2,
        mr_bar=mr_bar,
        baseline=baseline,
        improvement=improvement,
        target=target,
        points=points,
        variation_icon=points[-1].type,
        assurance_icon=assurance(target, improvement, upl, lpl),
    )


# ------------------------------------------------------------------------------------------- input


def read_series(path: Path, column: str) -> list[float]:
    """The numbers of ``column`` in the CSV file ``path`` (header on line 1), oldest first.

    Raises InputError naming the file, line and column of every blank or non-numeric value.
    """
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(Problem(name, None, None, "no such file")) from None
    except IsADirectoryError:
        raise InputError(Problem(name, None, None, "is a folder, not a CSV file")) from None
    except UnicodeDecodeError as exc:
        raise InputError(Problem(name, None, None, f"not UTF-8 text ({exc.reason})")) from None
    except OSError as exc:
        raise InputError(Problem(name, None, None, f"cannot be read: {exc.strerror or exc}")) from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InputError(Problem(name, None, None, "the file is empty (a header line is needed)")) from None
    except csv.Error as exc:
        raise InputError(Problem(name, 1, None, f"not valid CSV: {exc}")) from None
    names = [h.strip() for h in header]
    if column not in names:
        raise InputError(
            Problem(name, 1, column, f"no such column; the columns are: {', '.join(names) or '(none)'}")
        )
    at = names.index(column)
    values: list[float] = []
    problems: list[Problem] = []
    line = 1
    try:
        for row in reader:
            line = reader.line_num
            cell = row[at].strip() if at < len(row) else ""
            if not cell:
                problems.append(Problem(name, line, column, "blank value (a number is needed)"))
                continue
            try:
                x = float(cell)
            except ValueError:
                problems.append(Problem(name, line, column, f"{cell!r} is not a number"))
                continue
            if not math.isfinite(x):
                problems.append(Problem(name, line, column, f"{cell!r} is not a finite number"))
                continue
            values.append(x)
    except csv.Error as exc:
        problems.append(Problem(name, line + 1, None, f"not valid CSV: {exc}"))
    if problems:
        raise InputError(problems)
    return values


def result_table(result: SpcResult) -> str:
    """A plain-text summary and one line per point, for people."""

    def num(x: float | None) -> str:
        return "-" if x is None else f"{x:.4g}"

    head = [
        f"mean {num(result.mean)}   upper limit {num(result.upl)}   lower limit {num(result.lpl)}",
        f"2-sigma lines {num(result.upper_two_sigma)} / {num(result.lower_two_sigma)}   "
        f"baseline: first {result.baseline} points   improvement: {result.improvement}",
        f"variation: {result.variation_icon}   assurance: {result.assurance_icon or '-'}",
        "",
    ]
    rows = [("#", "value", "signal", "type")] + [
        (str(i), num(p.value), p.signal or "-", p.type) for i, p in enumerate(result.points, start=1)
    ]
    widths = [max(len(r[c]) for r in rows) for c in range(4)]
    lines = [
        "  ".join(
            [r[0].rjust(widths[0]), r[1].rjust(widths[1]), r[2].ljust(widths[2]), r[3].ljust(widths[3])]
        ).rstrip()
        for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(head + lines)
