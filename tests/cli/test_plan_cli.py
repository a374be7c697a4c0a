"""`rota plan` (docs/commands.md, docs/planner.md): the JSON fields, fills that keep every limit, the
training needed, the table, and exit 2 naming what is wrong."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from rota.bundle import read_bundle
from rota.planner import Fill, PlanLimits, violations
from tests.cli.test_forecast_cli import no_cases, simulated_cases

Run = Callable[..., tuple[int, str, str]]
PERIOD = ("--start", "2026-10-24", "--end", "2026-10-27")  # around the October clock change


def _plan(run: Run, bundle: Path, *extra: str) -> dict:  # type: ignore[type-arg]
    code, out, err = run(
        "plan", *PERIOD, "--bundle", str(bundle), "--format", "json", "--time-limit", "10", *extra
    )
    assert code == 0, err
    return json.loads(out)


def test_the_json_answer(run: Run, bundle: Path, tmp_path: Path) -> None:
    p = _plan(run, bundle, "--cases", str(simulated_cases(tmp_path)))
    assert p["status"] in ("optimal", "feasible")
    for key in ("gaps_before", "gaps_after", "fills", "training_needed"):
        assert isinstance(p[key], list)
    assert p["gaps_before"] and set(p["gaps_before"][0]) >= {"rule_id", "start", "end"}
    assert p["start"] == "2026-10-24T00:00:00+01:00" and p["end"] == "2026-10-27T00:00:00+00:00"
    # S1 is the only SIO and holds no jar-16-17: the 16-17 SIO rule is in gap throughout, and nobody
    # in the bundle can fill it, so it takes new people
    assert any(g["rule_id"] == "sio-16-17" for g in p["gaps_after"])
    needs = {n["role"]: n for n in p["training_needed"]}
    assert set(needs["sio"]) == {"role", "competencies", "agency", "people", "hours", "closes_all"}
    assert needs["sio"]["closes_all"] is True
    assert needs["sio"]["competencies"] == ["jar", "jar-16-17"]
    assert needs["sio"]["agency"] == "Vale Police"  # the role's only agency
    assert needs["sio"]["people"] >= 2  # 73 hours in a row with 12-hour fills and 11 hours' rest
    before, after = p["expected_uncovered_cases_before"], p["expected_uncovered_cases_after"]
    assert before > 0 and 0 <= after <= before


def test_fills_keep_every_limit(run: Run, bundle: Path, tmp_path: Path) -> None:
    p = _plan(run, bundle, "--cases", str(simulated_cases(tmp_path)), "--max-weekly-hours", "100")
    rota = read_bundle(bundle)
    fills = [
        Fill(
            f["responder_id"],
            datetime.fromisoformat(f["start"]),
            datetime.fromisoformat(f["end"]),
            f["kind"],
            tuple(f["closes"]),
        )
        for f in p["fills"]
    ]
    assert all(f["kind"] == "oncall" and f["closes"] for f in p["fills"])
    assert violations(rota, fills, PlanLimits(max_weekly_hours=100)) == []


def test_without_cases_or_population_every_hour_weighs_the_same(
    run: Run, bundle: Path, tmp_path: Path
) -> None:
    p = _plan(run, bundle, "--cases", str(no_cases(tmp_path)))
    assert p["demand"] == "flat"
    assert p["expected_uncovered_cases_before"] is None
    with_prior = _plan(run, bundle, "--cases", str(no_cases(tmp_path)), "--population", "113000")
    assert with_prior["demand"] == "forecast from national rates"
    assert with_prior["expected_uncovered_cases_before"] > 0


def test_the_table(run: Run, bundle: Path, tmp_path: Path) -> None:
    code, out, err = run(
        "plan", *PERIOD, "--bundle", str(bundle), "--cases", str(no_cases(tmp_path)), "--time-limit", "10"
    )
    assert code == 0, err
    assert "Plan from 24/10/2026 00:00 BST to 27/10/2026 00:00 GMT" in out
    assert "every gap hour weighs the same" in out
    assert "Training needed to close the rest:" in out
    assert "more sio people (Vale Police) trained in jar, jar-16-17" in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--max-consecutive-nights", "0"), "consecutive nights"),
        (("--rest-hours", "-1"), "rest hours"),
        (("--max-shift-hours", "30"), "longest fill"),
        (("--max-weekly-hours", "0"), "most hours in a week"),
        (("--time-limit", "0"), "time limit"),
        (("--agency", "Atlantis Police"), "Atlantis Police"),
        (("--format", "csv"), "--format csv"),
        (("--end", "2027-03-01"), "at most 92 days"),
        (("--end", "2026-10-20"), "after"),
        (("--start", "0000-01-01"), "--start"),
    ],
)
def test_bad_input_exits_2_naming_it(run: Run, bundle: Path, extra: tuple[str, ...], message: str) -> None:
    code, out, err = run("plan", *PERIOD, "--bundle", str(bundle), *extra)
    assert code == 2, (out, err)
    assert message in err
    assert "Traceback" not in err and out == ""


def test_an_empty_rota_needs_people_for_every_role(run: Run, tmp_path: Path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "responders.csv").write_text("responder_id,name,role,agency,email,active\n", encoding="utf-8")
    code, out, err = run(
        "plan",
        "--start",
        "2026-12-07",
        "--end",
        "2026-12-10",
        "--bundle",
        str(folder),
        "--format",
        "json",
        "--time-limit",
        "9",
    )
    assert code == 0, err
    p = json.loads(out)
    assert p["fills"] == []
    # around the clock for three days: 72 hours, at most 48 each, so at least two people per role
    assert {(n["role"], n["closes_all"]) for n in p["training_needed"]} == {
        ("ambulance", True),
        ("paediatrician", True),
        ("sio", True),
    }
    assert all(n["people"] >= 2 and n["hours"] >= 72 for n in p["training_needed"])
