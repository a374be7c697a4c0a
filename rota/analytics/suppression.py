"""Long because secondary suppression is one algorithm (the grid of cells, bound propagation, and the
choice of what to hide next) that has to be read whole to be trusted.

Small-number suppression for commissioners' views (docs/methods.md, "Small-number suppression"): counts 1
to 4 shown as "<5", and secondary suppression so that no hidden count can be worked out from the
published totals.

Pure functions on polars frames; no database, no dashboard. The model:

* A table holds count columns (numerator, denominator, ...). Each count of each row is a *cell*; a count
  may be shared by several rows (the denominator of a period and split is the same for every measure), so
  `cell_keys` says which key columns identify its cell.
* `Partition`s say which cells add up to which published total: in hours + out of hours = all; the NCMD
  age bands add up to all; months add up to their quarter; and so on. Parts missing from the table count
  as 0. A partition may be *incomplete* (16-17 is only part of 15-17): the rest (15-17 minus 16-17, the
  15-year-olds) is never published but anyone can work it out, so it is protected like a published cell,
  and it takes part in the other partitions (the 15-year-olds of a quarter are those of its months).
* `RowSum`s relate counts of one row (denominator = numerator + not met); `at_most` pairs are
  inequalities within a row (numerator <= denominator).

Rules:

* Primary: a published count from 1 to `threshold - 1` is hidden and shown as "<5" (for the default
  threshold 5). Zero is shown: it identifies nobody.
* No breakdown of a small total: every part of a total from 1 to `threshold - 1` is shown as "*", zeros
  and "<5" parts included (otherwise the number of "<5" parts, each at least 1, pins them: four "<5"
  parts of a "<5" total are all 1; and such bounds combine across partitions in ways no single partition
  shows).
* Secondary: a hidden count must not be worked out. The reader is assumed to know every partition and
  that "<5" means 1 to 4, "*" anything from 0 up, a count is never negative, and the rest of an incomplete
  partition anything from 0 up. From that knowledge every cell gets the range of values consistent with
  every partition (bound propagation to a fixed point). Whenever a count under the threshold (hidden, or
  the rest of an incomplete partition) is pinned to one value, one more cell of the partition that pins
  it is shown as "*", the first of these that frees it: the smallest non-zero published part; a "<5"
  part, then a "<5" total, shown as "*" instead (saying less: it may then be 0 or 5 or more); a zero
  part; the published total last (totals are the figures people look for, and hiding one spreads to the
  level above). The partition that pins a count is found by following the sums that set its range, and
  the pinned hidden cells they used, back to one that a single partition pins on its own. This repeats
  until nothing under the threshold is pinned, which always ends (every round hides or widens at least
  one cell). The outcome depends on the order of the rows, so give the same table in the same order
  (sorted) every time: two different hidings of the same table, side by side, could give counts away.
* A rate is hidden (null) whenever its numerator or denominator is hidden: with the denominator known a
  rate gives the numerator away.

What is and is not guaranteed: bound propagation finds every value pinned by one partition or by a chain
of them, with the ranges of "<5" taken into account; it does not solve the whole linear system, so a
count that only a sum of several cells across two partitions at once pins can slip through
(`tests/analytics/test_suppression.py` keeps such an example as a known limit). The property tests check
one period exactly (an exhaustive search over every table consistent with what is shown: nothing under
the threshold has only one possible value) and months with their quarter against a reader following
bounds through the partitions.

Complements (denominator minus numerator, the cases where a step was not met) are protected only where
they are published as a count of their own (a `not_met` column in the table with a `RowSum`).
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import polars as pl

DEFAULT_THRESHOLD = 5
SECONDARY_MARK = "*"
SUPPRESSED = "suppressed"
SHOWN_SUFFIX = "_shown"

# cell states
_SHOWN = 0
_PRIMARY = 1  # 1 <= value < threshold, shown as "<5"
_SECONDARY = 2  # shown as "*": a visible count hidden to protect another, or a "<5" widened
_REST = 3  # never published: the rest of an incomplete partition

_INF = 1 << 62  # "no upper bound"; anything above _INF // 2 is treated as unbounded


def primary_mark(threshold: int = DEFAULT_THRESHOLD) -> str:
    """How a count under the threshold is shown: "<5" for the default threshold."""
    return f"<{threshold}"


def check_threshold(threshold: int) -> int:
    """`threshold` if usable: 1 turns suppression off; 2 is refused (a "<2" would say "exactly 1")."""
    if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 1:
        raise ValueError(f"the suppression threshold must be a whole number from 1 up, not {threshold!r}")
    if threshold == 2:
        raise ValueError("a suppression threshold of 2 would show every 1 as '<2'; use 1 (off) or 3 and up")
    return threshold


@dataclass(frozen=True)
class Partition:
    """Rows whose counts add up to the counts of another row, told apart by one key column.

    `parent` maps a part's value of `column` to its total's value, for example
    ``{"in_hours": "all", "out_of_hours": "all"}``; a hierarchy fits in one mapping (months to quarters,
    quarters to years). Rows are matched on their other key columns. `complete=False` when the parts do
    not make up the whole total (``{"16-17": "15-17"}``): the rest is protected and never shown.
    """

    column: str
    parent: Mapping[str, str]
    complete: bool = True

    @classmethod
    def of(cls, column: str, total: str, parts: Iterable[str], complete: bool = True) -> Partition:
        """One total and its parts: ``Partition.of("split", "all", ["in_hours", "out_of_hours"])``."""
        return cls(column, {p: total for p in parts}, complete)


@dataclass(frozen=True)
class RowSum:
    """Within each row: count `total` = the sum of counts `parts` (denominator = numerator + not_met)."""

    total: str
    parts: tuple[str, ...]


# ------------------------------------------------------------------------------------------ the cell grid


class _Grid:
    """Cells, their values and states, and the constraints between them."""

    def __init__(self, threshold: int) -> None:
        self.t = threshold
        self.value: list[int] = []
        self.state: list[int] = []
        self.index: dict[tuple[str, tuple[object, ...]], int] = {}
        self.key: list[tuple[object, ...]] = []
        self.of_count: dict[str, list[int]] = defaultdict(list)
        self.sums: list[tuple[int, tuple[int, ...]]] = []  # total = sum(parts)
        self.le: list[tuple[int, int]] = []  # small <= large
        self._seen_sums: set[tuple[int, tuple[int, ...]]] = set()
        self._seen_le: set[tuple[int, int]] = set()
        self.sums_of: list[list[int]] = []
        self.le_of: list[list[int]] = []
        self.why: tuple[list[int], list[int]] = ([], [])

    def cell(self, count: str, key: tuple[object, ...], value: int, rest: bool = False) -> int:
        ident = (count, key)
        found = self.index.get(ident)
        if found is not None:
            if self.value[found] != value:
                raise ValueError(
                    f"{count} for {_key_text(key)} is both {self.value[found]} and {value}; "
                    "a count shared by several rows must be the same in each"
                )
            return found
        if value < 0:
            raise ValueError(f"{count} for {_key_text(key)} is negative ({value})")
        i = len(self.value)
        self.index[ident] = i
        self.key.append(key)
        self.of_count[count].append(i)
        self.value.append(value)
        if rest:
            self.state.append(_REST)
        else:
            self.state.append(_PRIMARY if 1 <= value < self.t else _SHOWN)
        self.sums_of.append([])
        self.le_of.append([])
        return i

    def add_sum(self, total: int, parts: Sequence[int]) -> None:
        key = (total, tuple(sorted(parts)))
        if key in self._seen_sums or not parts:
            return
        self._seen_sums.add(key)
        k = len(self.sums)
        self.sums.append((total, tuple(parts)))
        for c in (total, *parts):
            self.sums_of[c].append(k)

    def add_le(self, small: int, large: int) -> None:
        if (small, large) in self._seen_le or small == large:
            return
        self._seen_le.add((small, large))
        k = len(self.le)
        self.le.append((small, large))
        self.le_of[small].append(k)
        self.le_of[large].append(k)

    def sensitive(self, i: int) -> bool:
        return self.state[i] != _SHOWN and 1 <= self.value[i] < self.t

    def prior(self, i: int) -> tuple[int, int]:
        """What a reader knows of a cell from the table alone."""
        s = self.state[i]
        if s == _SHOWN:
            return self.value[i], self.value[i]
        if s == _PRIMARY:
            return 1, self.t - 1
        return 0, _INF

    # ------------------------------------------------------------------------------- propagation

    def propagate(self) -> tuple[list[int], list[int]]:
        """The narrowest ranges bound propagation finds for every cell (a sound outer bound). Also notes in
        `self.why` the sums that last raised each cell's lower bound and lowered its upper bound.

        A work list of constraints (sums first, then the inequalities, numbered on from the sums); a
        constraint goes back on the list whenever one of its cells narrows. Kept flat for speed: this loop
        is most of the time suppression takes."""
        n = len(self.value)
        priors = [self.prior(i) for i in range(n)]
        lo = [a for a, _ in priors]
        hi = [b for _, b in priors]
        why_lo: list[int] = [-1] * n
        why_hi: list[int] = [-1] * n
        self.why = (why_lo, why_hi)
        sums, le = self.sums, self.le
        n_sums = len(sums)
        touching = [[*ks, *(n_sums + k for k in ls)] for ks, ls in zip(self.sums_of, self.le_of, strict=True)]
        queued = bytearray(n_sums + len(le))
        queue: deque[int] = deque()
        for k, (total, parts) in enumerate(sums):
            if lo[total] != hi[total] or any(lo[p] != hi[p] for p in parts):
                queue.append(k)
                queued[k] = 1
        for k, (a, b) in enumerate(le):
            if lo[a] != hi[a] or lo[b] != hi[b]:
                queue.append(n_sums + k)
                queued[n_sums + k] = 1
        half = _INF // 2
        narrowed: list[int] = []

        while queue:
            c = queue.popleft()
            queued[c] = 0
            narrowed.clear()
            if c >= n_sums:
                a, b = le[c - n_sums]
                if hi[b] < hi[a]:
                    hi[a] = hi[b]
                    narrowed.append(a)
                if lo[a] > lo[b]:
                    lo[b] = lo[a]
                    narrowed.append(b)
            else:
                total, parts = sums[c]
                sum_lo = 0
                sum_hi = 0
                open_hi = 0  # parts without an upper bound
                for p in parts:
                    sum_lo += lo[p]
                    if hi[p] >= _INF:
                        open_hi += 1
                    else:
                        sum_hi += hi[p]
                if sum_lo > lo[total]:
                    lo[total] = sum_lo
                    why_lo[total] = c
                    narrowed.append(total)
                if not open_hi and sum_hi < hi[total]:
                    hi[total] = sum_hi
                    why_hi[total] = c
                    narrowed.append(total)
                t_lo, t_hi = lo[total], hi[total]
                for p in parts:
                    p_hi = hi[p]
                    p_open = p_hi >= _INF
                    if t_hi < _INF:
                        new_hi = t_hi - (sum_lo - lo[p])
                        if new_hi < p_hi:
                            hi[p] = new_hi if new_hi <= half else _INF
                            why_hi[p] = c
                            narrowed.append(p)
                    if open_hi - (1 if p_open else 0) == 0:
                        new_lo = t_lo - (sum_hi - (0 if p_open else p_hi))
                        if new_lo > lo[p]:
                            lo[p] = new_lo
                            why_lo[p] = c
                            narrowed.append(p)
            for i in narrowed:
                if lo[i] > hi[i]:  # the true table always fits, so this is a bug
                    raise AssertionError(f"suppression: empty range for cell {i}")
                for k in touching[i]:
                    if not queued[k]:
                        queued[k] = 1
                        queue.append(k)
        return lo, hi

    # ------------------------------------------------------------------------------- choosing a cell

    def _bound_from(self, x: int, k: int, widened: int | None) -> tuple[int, int]:
        """x's range from sum k alone, with the other cells at their priors (`widened` as "*")."""

        def rng(i: int) -> tuple[int, int]:
            return (0, _INF) if i == widened else self.prior(i)

        x_lo, x_hi = rng(x)
        total, parts = self.sums[k]
        if x == total:
            s_lo = sum(rng(p)[0] for p in parts)
            highs = [rng(p)[1] for p in parts]
            s_hi = _INF if any(h >= _INF for h in highs) else sum(highs)
            return max(x_lo, s_lo), min(x_hi, s_hi)
        t_lo, t_hi = rng(total)
        others = [rng(p) for p in parts if p != x]
        o_lo = sum(r[0] for r in others)
        o_hi = _INF if any(r[1] >= _INF for r in others) else sum(r[1] for r in others)
        new_lo = t_lo - o_hi if o_hi < _INF else 0
        new_hi = t_hi - o_lo if t_hi < _INF else _INF
        return max(x_lo, new_lo), min(x_hi, new_hi)

    def _candidates(self, k: int) -> list[int]:
        """Cells of sum k that could be hidden (or widened), in the order they are tried: non-zero shown
        parts (smallest first), "<5" parts then a "<5" total, zero parts, the shown total."""
        total, parts = self.sums[k]
        shown_parts = sorted(
            (p for p in parts if self.state[p] == _SHOWN and self.value[p] > 0), key=self.value.__getitem__
        )
        out = list(shown_parts)
        out += sorted((p for p in parts if self.state[p] == _PRIMARY), key=self.value.__getitem__)
        if self.state[total] == _PRIMARY:
            out.append(total)
        out += [p for p in parts if self.state[p] == _SHOWN and self.value[p] == 0]
        if self.state[total] == _SHOWN and self.value[total] > 0:
            out.append(total)
        return out

    def choose(self, x: int, lo: list[int], hi: list[int]) -> int | None:
        """The cell to hide so that pinned cell x stops being pinned: follow the sums that pinned it (and
        the pinned hidden cells they used) back to a sum that pins a cell on its own, and hide the first
        cell of that sum that frees it (see `_candidates` for the order)."""
        why_lo, why_hi = self.why
        seen = {x}
        queue = deque([x])
        while queue:
            z = queue.popleft()
            culprits = [k for k in dict.fromkeys((why_lo[z], why_hi[z])) if k >= 0]
            for k in culprits:
                b_lo, b_hi = self._bound_from(z, k, None)
                if b_lo < b_hi:
                    continue
                for y in self._candidates(k):
                    n_lo, n_hi = self._bound_from(z, k, y)
                    if n_lo < n_hi:
                        return y
            for k in culprits:
                total, parts = self.sums[k]
                for c in (total, *parts):
                    if c not in seen and self.state[c] != _SHOWN and lo[c] == hi[c]:
                        seen.add(c)
                        queue.append(c)
        # pinned only by several sums together: widen the closest one
        for k in sorted(self.sums_of[x], key=lambda k: self._open_cells(k, lo, hi)):
            candidates = self._candidates(k)
            if candidates:
                return candidates[0]
        return None

    def _open_cells(self, k: int, lo: list[int], hi: list[int]) -> int:
        total, parts = self.sums[k]
        return sum(1 for c in (total, *parts) if lo[c] != hi[c])

    def withhold_small_breakdowns(self) -> None:
        """Show every part of a total under the threshold as "*" (zeros and "<5" included)."""
        for total, parts in self.sums:
            if 1 <= self.value[total] < self.t:
                for p in parts:
                    if self.state[p] != _REST:
                        self.state[p] = _SECONDARY

    def resolve(self) -> None:
        """Hide cells until no count under the threshold is pinned to one value."""
        self.withhold_small_breakdowns()
        while True:
            lo, hi = self.propagate()
            pinned = [i for i in range(len(self.value)) if lo[i] == hi[i] and self.sensitive(i)]
            if not pinned:
                return
            touched: set[int] = set()
            widened: list[int] = []
            for x in pinned:
                if any(k in touched for k in self.sums_of[x]):
                    continue  # wait for the next round: the change made for a neighbour may do
                y = self.choose(x, lo, hi)
                if y is None:
                    continue
                self.state[y] = _SECONDARY
                touched.update(self.sums_of[x])
                touched.update(self.sums_of[y])
                widened.append(y)
            if not widened:
                # Nothing left to hide near a pinned cell: cannot happen while a pinned cell has a
                # partition (a partition whose cells are all "*" pins nothing).
                raise AssertionError("suppression: a small count is pinned and nothing can be hidden")


def _key_text(key: tuple[object, ...]) -> str:
    return ", ".join(str(k) for k in key) or "the table"


# ------------------------------------------------------------------------------------------ the table


def suppress_table(
    df: pl.DataFrame,
    keys: Sequence[str],
    counts: Sequence[str],
    partitions: Sequence[Partition] = (),
    *,
    row_sums: Sequence[RowSum] = (),
    at_most: Sequence[tuple[str, str]] = (),
    threshold: int = DEFAULT_THRESHOLD,
    cell_keys: Mapping[str, Sequence[str]] | None = None,
    rates: Mapping[str, tuple[str, str]] | None = None,
) -> pl.DataFrame:
    """`df` as a commissioner may see it (see the module docstring for the rules).

    - `keys`: the columns that say what a row is (period, split, measure); every other column but the
      counts and rates is passed through.
    - `counts`: the count columns (whole numbers, 0 up; null = no such count).
    - `partitions`, `row_sums`, `at_most` (pairs of counts, the first never above the second in a row):
      how the counts relate, so that nothing hidden can be worked out from them.
    - `cell_keys`: for a count shared by rows, the key columns that identify it (default all `keys`).
    - `rates`: rate column -> (numerator count, denominator count); the rate is nulled when either is hidden.

    Returns the same rows in the same order, with each count nulled where hidden, a text column
    `<count>_shown` per count (the number, "<5", "*" or null), rates nulled where either count is hidden,
    and a boolean column `suppressed` (any count of the row hidden). Raises ValueError for a table that
    contradicts its partitions (parts adding up to more than their total, a shared count with two values).
    """
    check_threshold(threshold)
    ck = {c: tuple(cell_keys.get(c, keys) if cell_keys else keys) for c in counts}
    for c, cols in ck.items():
        for col in cols:
            if col not in keys:
                raise ValueError(f"the cell keys of {c} must be key columns; {col!r} is not")
    missing = [c for c in (*keys, *counts) if c not in df.columns]
    if missing:
        raise ValueError(f"no such columns: {', '.join(missing)}")
    for rs in row_sums:
        for c in (rs.total, *rs.parts):
            if c not in counts:
                raise ValueError(f"row sum uses {c!r}, which is not a count column")
    for a, b in at_most:
        if a not in counts or b not in counts:
            raise ValueError(f"at_most pair ({a!r}, {b!r}) must name count columns")
    for p in partitions:
        if p.column not in keys:
            raise ValueError(f"partition column {p.column!r} is not a key column")

    grid = _Grid(threshold)
    rows = df.select(*keys, *counts).rows()
    key_pos = {k: i for i, k in enumerate(keys)}
    row_cells: list[list[int | None]] = []
    for row in rows:
        cells: list[int | None] = []
        for j, c in enumerate(counts):
            v = row[len(keys) + j]
            if v is None:
                cells.append(None)
                continue
            if not float(v).is_integer():
                raise ValueError(f"{c} must hold whole numbers, not {v!r}")
            key = tuple(row[key_pos[col]] for col in ck[c])
            cells.append(grid.cell(c, key, int(v)))
        row_cells.append(cells)

    if threshold > 1:
        _add_partitions(grid, counts, ck, partitions)
        col_of = {c: j for j, c in enumerate(counts)}
        for cells in row_cells:
            for rs in row_sums:
                total = cells[col_of[rs.total]]
                parts = [cells[col_of[p]] for p in rs.parts]
                if total is None or any(p is None for p in parts):
                    continue
                given = [p for p in parts if p is not None]
                if sum(grid.value[p] for p in given) != grid.value[total]:
                    raise ValueError(
                        f"{' + '.join(rs.parts)} does not add up to {rs.total} in a row "
                        f"({[grid.value[p] for p in given]} against {grid.value[total]})"
                    )
                grid.add_sum(total, given)
            for a, b in at_most:
                small, large = cells[col_of[a]], cells[col_of[b]]
                if small is None or large is None:
                    continue
                if grid.value[small] > grid.value[large]:
                    raise ValueError(f"{a} ({grid.value[small]}) is above {b} ({grid.value[large]}) in a row")
                grid.add_le(small, large)
        grid.resolve()

    mark = primary_mark(threshold)
    shown_text: dict[str, list[str | None]] = {c: [] for c in counts}
    kept: dict[str, list[int | None]] = {c: [] for c in counts}
    flags: list[bool] = []
    for cells in row_cells:
        hidden_row = False
        for c, i in zip(counts, cells, strict=True):
            if i is None:
                shown_text[c].append(None)
                kept[c].append(None)
                continue
            s = grid.state[i]
            if s == _SHOWN:
                shown_text[c].append(str(grid.value[i]))
                kept[c].append(grid.value[i])
            else:
                hidden_row = True
                shown_text[c].append(mark if s == _PRIMARY else SECONDARY_MARK)
                kept[c].append(None)
        flags.append(hidden_row)

    out = df.with_columns(
        *[pl.Series(c, kept[c], dtype=pl.Int64) for c in counts],
        *[pl.Series(f"{c}{SHOWN_SUFFIX}", shown_text[c], dtype=pl.String) for c in counts],
        pl.Series(SUPPRESSED, flags, dtype=pl.Boolean),
    )
    for rate, (num, den) in (rates or {}).items():
        if rate in out.columns:
            out = out.with_columns(
                pl.when(pl.col(num).is_null() | pl.col(den).is_null())
                .then(None)
                .otherwise(pl.col(rate))
                .alias(rate)
            )
    return out


def _add_partitions(
    grid: _Grid, counts: Sequence[str], ck: Mapping[str, tuple[str, ...]], partitions: Sequence[Partition]
) -> None:
    """Sums for every partition; incomplete ones first, so their rests join the complete ones."""
    ordered = [p for p in partitions if not p.complete] + [p for p in partitions if p.complete]
    for p in ordered:
        for c in counts:
            if p.column not in ck[c]:
                continue
            pos = ck[c].index(p.column)
            groups: dict[tuple[object, ...], list[int]] = defaultdict(list)
            for i in list(grid.of_count[c]):
                key = grid.key[i]
                value = key[pos]
                if isinstance(value, str) and value in p.parent:
                    total_key = (*key[:pos], p.parent[value], *key[pos + 1 :])
                    groups[total_key].append(i)
            for total_key, parts in groups.items():
                total = grid.index.get((c, total_key))
                if total is None:
                    continue  # no published total: nothing to subtract from
                s = sum(grid.value[i] for i in parts)
                t = grid.value[total]
                if s > t or (p.complete and s != t):
                    names = ", ".join(str(grid.key[i][pos]) for i in parts)
                    raise ValueError(
                        f"{c}: the parts {names} add up to {s} but their total {_key_text(total_key)} is {t}"
                    )
                if p.complete:
                    grid.add_sum(total, parts)
                else:
                    rest_key = (*total_key[:pos], f"{total_key[pos]} (rest)", *total_key[pos + 1 :])
                    rest = grid.cell(c, rest_key, t - s, rest=True)
                    grid.add_sum(total, [*parts, rest])


__all__ = [
    "DEFAULT_THRESHOLD",
    "SECONDARY_MARK",
    "SHOWN_SUFFIX",
    "SUPPRESSED",
    "Partition",
    "RowSum",
    "check_threshold",
    "primary_mark",
    "suppress_table",
]
