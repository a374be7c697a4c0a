"""`rota forecast`: the docs/commands.md JSON, scenarios, the backtest, and exit 2 for bad input."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rota.analytics.demand import HOURS_PER_YEAR, Prior
from tests.analytics.simulate import TrueModel

Run = Callable[..., tuple[int, str, str]]
HEADER = "case_id,notified_at,age_years,age_days,jar_criteria_met,jar_triggered\n"


def no_cases(tmp_path: Path) -> Path:
    path = tmp_path / "cases.csv"
    path.write_text(HEADER, encoding="utf-8")
    return path


def simulated_cases(tmp_path: Path, years: int = 6) -> Path:
    cases = TrueModel(cases_per_year=40).draw(
        datetime(2020, 1, 1, tzinfo=UTC), datetime(2020 + years, 1, 1, tzinfo=UTC), seed=21
    )
    lines = [HEADER.strip()]
    for row in cases.iter_rows(named=True):
        stamp = row["notified_at"].strftime("%Y-%m-%dT%H:%M:%SZ")
        lines.append(f"{row['case_id']},{stamp},{row['age_years']},,true,true")
    path = tmp_path / "history.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def forecast_args(bundle: Path, cases: Path, *extra: str) -> list[str]:
    return [
        "forecast",
        "--start",
        "2026-10-24",
        "--end",
        "2026-10-27",
        "--bundle",
        str(bundle),
        "--cases",
        str(cases),
        *extra,
    ]


def test_prior_only_forecast_integrates_demand_over_the_bundles_gaps(
    run: Run, bundle: Path, tmp_path: Path
) -> None:
    code, out, err = run(*forecast_args(bundle, no_cases(tmp_path), "--population", "113000"))
    assert code == 0, err
    payload = json.loads(out)
    assert payload["start"] == "2026-10-24T00:00:00+01:00"
    assert payload["end"] == "2026-10-27T00:00:00+00:00"
    rate = Prior(113_000).yearly_cases((0, 15)) / HOURS_PER_YEAR  # type: ignore[operator]
    rules = {r["rule_id"]: r for r in payload["rules"]}
    # the SIO's 30-minute hole on 25/10/2026
    assert rules["sio"]["uncovered_hours"] == pytest.approx(0.5)
    assert rules["sio"]["expected_uncovered_cases"] == pytest.approx(0.5 * rate, rel=1e-4)
    # no jar-16-17 for the SIO: the whole 73 real hours (the clocks go back) are a gap
    assert rules["sio-16-17"]["uncovered_hours"] == pytest.approx(73.0)
    assert rules["paediatrician"]["uncovered_hours"] == 0
    assert payload["expected_cases"] == pytest.approx(
        73 * Prior(113_000).yearly_cases((0, 17)) / HOURS_PER_YEAR, rel=1e-3
    )  # type: ignore[operator]
    assert len(payload["interval_80"]) == 2 and len(payload["interval_95"]) == 2


def test_scenario_adds_night_cover_and_reports_the_change(run: Run, bundle: Path, tmp_path: Path) -> None:
    code, out, err = run(
        *forecast_args(
            bundle, no_cases(tmp_path), "--population", "113000", "--add", "sio:2@Mon-Sun 00:00-24:00"
        )
    )
    assert code == 0, err
    scenario = json.loads(out)["scenario"]
    assert scenario["changes"] == ["add 2 trained sio responders on Mon-Sun 00:00-24:00"]
    rules = {r["rule_id"]: r for r in scenario["rules"]}
    assert rules["sio-16-17"]["uncovered_hours"] == 0
    assert rules["sio-16-17"]["expected_uncovered_cases_change"] < 0
    assert rules["paediatrician"]["expected_uncovered_cases_change"] == 0


def test_history_drives_the_forecast(run: Run, bundle: Path, tmp_path: Path) -> None:
    code, out, err = run(
        "forecast",
        "--start",
        "2026-01-01",
        "--end",
        "2026-04-01",
        "--bundle",
        str(bundle),
        "--cases",
        str(simulated_cases(tmp_path)),
    )
    assert code == 0, err
    payload = json.loads(out)
    assert payload["expected_cases"] == pytest.approx(40 * 90 / 365.25, rel=0.3)
    assert payload["model"]["bands"][0]["cases_in_history"] > 150


def test_backtest_reports_coverage_and_scores(run: Run, bundle: Path, tmp_path: Path) -> None:
    code, out, err = run(
        "forecast",
        "--backtest",
        "--bundle",
        str(bundle),
        "--cases",
        str(simulated_cases(tmp_path)),
        "--history-end",
        "2026-01-01",
        "--step-days",
        "91",
    )
    assert code == 0, err
    payload = json.loads(out)
    assert payload["origins"] == len(payload["forecasts"]) >= 15
    for key in ("coverage_80", "coverage_95", "mean_log_score", "baseline_mean_log_score", "crps_skill"):
        assert key in payload
    assert 0.5 <= payload["coverage_80"] <= 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--add", "sio"), "write ROLE:N"),
        (("--add", "coroner:1"), "no coverage rule asks for the role 'coroner'"),
        (("--add", "sio:1@nights"), "is not like"),
        (("--lapse", "P1:jar"), "RESPONDER_ID:COMPETENCY:DATE"),
        (("--lapse", "P1:jar:31/02/2026"), "--lapse"),
        (("--remove", "NOBODY"), "unknown responder 'NOBODY'"),
        (("--population", "0"), "--population 0"),
        (("--commitment-hours", "0"), "--commitment-hours"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    run: Run, bundle: Path, tmp_path: Path, extra: tuple[str, ...], message: str
) -> None:
    args = forecast_args(bundle, no_cases(tmp_path), *extra)
    if "--population" not in extra:
        args += ["--population", "113000"]
    code, out, err = run(*args)
    assert code == 2
    assert message in err
    assert "Traceback" not in err
    assert out == ""


def test_no_history_and_no_population_says_what_to_do(
    run: Run, bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ROTA_CHILD_POPULATION", raising=False)
    code, _, err = run(*forecast_args(bundle, no_cases(tmp_path)))
    assert code == 2
    assert "child population" in err


def test_population_from_the_environment(
    run: Run, bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ROTA_CHILD_POPULATION", "226000")
    code, out, err = run(*forecast_args(bundle, no_cases(tmp_path)))
    assert code == 0, err
    assert json.loads(out)["expected_cases"] == pytest.approx(
        73 * Prior(226_000).yearly_cases((0, 17)) / HOURS_PER_YEAR,
        rel=1e-3,  # type: ignore[operator]
    )


def test_backtest_on_too_short_a_history_exits_2(run: Run, bundle: Path, tmp_path: Path) -> None:
    code, _, err = run(
        "forecast",
        "--backtest",
        "--bundle",
        str(bundle),
        "--cases",
        str(no_cases(tmp_path)),
        "--population",
        "1000",
    )
    assert code == 2
    assert "too short for a backtest" in err
