"""Making Data Count XmR and p-charts (rota.analytics.spc) against docs/commands.md and docs/methods.md."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rota.analytics.spc import SIGNALS, p_chart, xmr

VIGNETTE = [1, 2, 1, 2, 10, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1, 2, 1]
# A calm baseline of six points: mean 0, MR-bar 2, limits +/-5.32, 2-sigma lines +/-3.5467.
CALM = [1.0, -1.0, 1.0, -1.0, 1.0, -1.0]


def signals(values: list[float], **kw: object) -> list[str | None]:
    return [p.signal for p in xmr(values, **kw).points]  # type: ignore[arg-type]


def test_vignette_example() -> None:
    r = xmr(VIGNETTE)
    assert round(r.mean, 2) == 1.94
    assert round(r.upl, 2) == 6.95
    assert round(r.lpl, 2) == -3.06
    assert [p.signal for p in r.points] == [None] * 4 + ["above_upl"] + [None] * 13
    assert r.points[4].type == "special_cause_neutral"
    assert r.variation_icon == "common_cause"
    assert r.assurance_icon is None
    assert r.upper_two_sigma == pytest.approx(r.mean + 1.7733 * r.mr_bar, rel=1e-4)  # type: ignore[operator]


def test_calm_baseline_limits() -> None:
    r = xmr(CALM)
    assert r.mean == 0 and r.mr_bar == 2
    assert (r.upl, r.lpl) == pytest.approx((5.32, -5.32))
    assert all(p.signal is None and p.type == "common_cause" for p in r.points)


def test_trend_of_seven_flags_all_seven_and_six_is_not_enough() -> None:
    noisy = [0.0, 10.0, 0.0, 10.0, 0.0, 10.0]
    rising = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    got = signals([*noisy, *rising, 0.0, 10.0], baseline=6)
    assert got[6:13] == ["trend_up"] * 7
    assert got[13:] == [None, None]
    assert "trend_up" not in signals([*noisy, *rising[:6], 0.0], baseline=6)
    falling = signals([*noisy, *reversed(rising), 10.0], baseline=6)
    assert falling[6:13] == ["trend_down"] * 7


def test_a_tie_breaks_a_trend() -> None:
    # six rises, with a tie in the middle: no trend
    got = signals([0.0, 10.0, 0.0, 10.0, 0.0, 10.0, 1, 2, 3, 4, 4, 5, 6, 7], baseline=6)
    assert not {"trend_up", "trend_down"} & set(got)


def test_a_run_of_seven_is_a_shift_and_six_is_not() -> None:
    got = signals([*CALM, *[0.5] * 7, -1.0], baseline=6)
    assert got == [None] * 6 + ["shift_above"] * 7 + [None]
    assert signals([*CALM, *[0.5] * 6, -1.0], baseline=6) == [None] * 13
    below = signals([-1.0, 1.0, -1.0, 1.0, -1.0, 1.0, *[-0.5] * 8], baseline=6)
    assert below == [None] * 6 + ["shift_below"] * 8


def test_a_point_on_the_mean_breaks_a_shift() -> None:
    got = signals([*CALM, 0.5, 0.5, 0.5, 0.0, 0.5, 0.5, 0.5], baseline=6)
    assert got == [None] * 13


def test_two_of_three_beyond_the_two_sigma_line() -> None:
    assert signals([*CALM, 4.0, 0.5, 4.0], baseline=6)[6:] == [
        "two_of_three_above",
        None,
        "two_of_three_above",
    ]
    # a point beyond the process limit counts as beyond the 2-sigma line (and keeps its own signal)
    assert signals([*CALM, 6.0, 4.0, 0.5], baseline=6)[6:] == ["above_upl", "two_of_three_above", None]
    assert signals([*CALM, -4.0, -6.0], baseline=6)[6:] == ["two_of_three_below", "below_lpl"]
    # one point alone is not enough; nor (as in NHSRplotthedots) when the third point is across the mean
    assert signals([*CALM, 0.5, 4.0, 0.5, 0.5], baseline=6)[6:] == [None] * 4
    assert signals([*CALM, 4.0, -0.5, 4.0], baseline=6)[6:] == [None] * 3


def test_baseline_sets_the_limits_and_rules_apply_to_all_points() -> None:
    values = [*CALM, 9.0, -1.0, 1.0]
    fixed = xmr(values, baseline=6)
    assert fixed.mean == 0.0
    assert fixed.upl == pytest.approx(5.32)
    assert [p.signal for p in fixed.points][6] == "above_upl"
    everything = xmr(values)
    assert everything.upl != fixed.upl and everything.mean != fixed.mean
    assert everything.baseline == 9 and fixed.baseline == 6
    assert everything.points[6].signal is None


def test_precedence_beyond_limit_before_run_rules() -> None:
    got = signals([*CALM, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 9.0], baseline=6)
    assert got[6:] == ["trend_up"] * 6 + ["above_upl"]


@pytest.mark.parametrize(
    ("improvement", "high", "low"),
    [
        ("up", "special_cause_improvement", "special_cause_concern"),
        ("down", "special_cause_concern", "special_cause_improvement"),
        ("neutral", "special_cause_neutral", "special_cause_neutral"),
    ],
)
def test_improvement_direction(improvement: str, high: str, low: str) -> None:
    r = xmr([*CALM, 9.0, 0.0, -9.0], improvement=improvement, baseline=6)  # type: ignore[arg-type]
    assert [p.type for p in r.points[6:]] == [high, "common_cause", low]
    assert r.variation_icon == low
    trend = xmr([*[0.0, 10.0] * 3, *range(1, 8)], improvement=improvement, baseline=6)  # type: ignore[arg-type]
    assert trend.points[6].signal == "trend_up" and trend.points[6].type == high


@pytest.mark.parametrize(
    ("improvement", "target", "icon"),
    [
        ("up", -5.0, "consistent_pass"),
        ("up", 8.0, "consistent_fail"),
        ("up", 2.0, "inconsistent"),
        ("down", -5.0, "consistent_fail"),
        ("down", 8.0, "consistent_pass"),
        ("down", 2.0, "inconsistent"),
        ("neutral", 8.0, None),
        ("up", None, None),
    ],
)
def test_assurance_icon(improvement: str, target: float | None, icon: str | None) -> None:
    assert xmr(VIGNETTE, improvement=improvement, target=target).assurance_icon == icon  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("values", "kw", "match"),
    [
        ([1.0], {}, "at least 2 points"),
        ([], {}, "at least 2 points"),
        ([1.0, 2.0, 3.0], {"baseline": 1}, "at least 2"),
        ([1.0, 2.0, 3.0], {"baseline": 4}, "longer than the series"),
        ([1.0, math.nan], {}, "finite"),
        ([1.0, 2.0], {"improvement": "sideways"}, "improvement"),
    ],
)
def test_bad_input(values: list[float], kw: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        xmr(values, **kw)  # type: ignore[arg-type]


def test_p_chart_limits_clipped_with_small_denominators() -> None:
    r = p_chart([1, 1, 1, 2, 2, 3], [2, 3, 2, 4, 2, 40])
    p_bar = 10 / 53
    assert r.mean == pytest.approx(p_bar)
    for p, n in zip(r.points, [2, 3, 2, 4, 2, 40], strict=True):
        assert p.upl is not None and p.lpl is not None
        assert 0.0 <= p.lpl <= p.upl <= 1.0
        half = 3 * math.sqrt(p_bar * (1 - p_bar) / n)
        assert p.upl == pytest.approx(min(1.0, p_bar + half))
        assert p.lpl == pytest.approx(max(0.0, p_bar - half))
    assert (r.points[0].lpl, r.points[0].upl) == (0.0, 1.0)
    assert 0.0 < r.points[5].lpl < r.points[5].upl < 1.0  # type: ignore[operator]
    assert r.points[4].value == 1.0 and r.points[4].signal is None  # 1.0 is not beyond a limit of 1.0
    assert set(r.as_dict()["points"][0]) == {"value", "signal", "type", "upl", "lpl"}


def test_p_chart_signals_and_assurance() -> None:
    r = p_chart([10, 12, 9, 11, 10, 90], [100] * 6, improvement="down", target=0.5, baseline=5)
    assert r.mean == pytest.approx(52 / 500)
    assert r.points[-1].signal == "above_upl"
    assert r.variation_icon == "special_cause_concern"
    assert r.assurance_icon == "consistent_pass"
    with pytest.raises(ValueError, match="between 0"):
        p_chart([3, 1], [2, 2])
    with pytest.raises(ValueError, match="above 0"):
        p_chart([0, 1], [0, 2])
    with pytest.raises(ValueError, match="numerators but"):
        p_chart([0, 1], [2])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False), min_size=2, max_size=40),
    st.sampled_from(["up", "down", "neutral"]),
)
def test_property_limits_symmetric_and_signals_consistent(values: list[float], improvement: str) -> None:
    r = xmr(values, improvement=improvement)  # type: ignore[arg-type]
    assert r.upl - r.mean == pytest.approx(r.mean - r.lpl, rel=1e-9, abs=1e-6)
    assert r.lpl <= r.lower_two_sigma <= r.mean <= r.upper_two_sigma <= r.upl
    assert len(r.points) == len(values)
    for p in r.points:
        assert p.signal is None or p.signal in SIGNALS
        assert (p.type == "common_cause") == (p.signal is None)
        if p.signal == "above_upl":
            assert p.value > r.upl
        if p.signal == "below_lpl":
            assert p.value < r.lpl
        if p.value > r.upl:
            assert p.signal == "above_upl"
    assert r.variation_icon == r.points[-1].type
