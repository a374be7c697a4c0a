"""The command line's manners: a close guess for a mistyped command or choice, a command's own usage for an
option it does not know, and each command's help naming the format it really writes by default."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from rota.cli.parser import build_parser, did_you_mean

Run = Callable[..., tuple[int, str, str]]


def test_a_mistyped_command_gets_a_guess_and_exit_2(run: Run) -> None:
    code, out, err = run("gapz")
    assert code == 2 and out == ""
    assert err.rstrip().endswith("did you mean 'gaps'?")
    code, _, err = run("jobs", "run", "gap-scna")
    assert code == 2 and "did you mean 'gap-scan'?" in err
    code, _, err = run("frobnicate")
    assert code == 2 and "did you mean" not in err  # nothing close: no guess


def test_did_you_mean_reads_argparse_messages() -> None:
    message = "argument COMMAND: invalid choice: 'conflict' (choose from 'gaps', 'conflicts', 'coverage')"
    assert did_you_mean(message) == "; did you mean 'conflicts'?"
    assert did_you_mean("unrecognized arguments: --x") == ""


def test_an_unknown_option_shows_the_commands_own_usage(run: Run) -> None:
    code, _, err = run("gaps", "--bogus")
    assert code == 2
    assert err.startswith("usage: rota gaps ") and "rota: error: unrecognized arguments: --bogus" in err
    code, _, err = run("jobs", "list", "--bogus")
    assert code == 2 and err.startswith("usage: rota jobs list ")


@pytest.mark.parametrize(("command", "default"), [("forecast", "json"), ("spc", "json"), ("gaps", "table")])
def test_the_help_names_the_default_format(command: str, default: str) -> None:
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    fmt = next(a for a in sub.choices[command]._actions if a.dest == "format")  # type: ignore[index]
    assert f"{default} (default)" in (fmt.help or "") or f"{default} for people (default)" in (fmt.help or "")


def test_forecast_writes_json_by_default_as_its_help_says(run: Run, bundle: Path, tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'rota.db'}"  # an empty database: no stored cases, the prior alone
    assert run("--db", db, "init")[0] == 0
    period = ("--start", "2026-10-24", "--end", "2026-10-28")
    code, out, err = run("--db", db, "forecast", "--bundle", str(bundle), *period, "--population", "100000")
    assert code == 0, err
    assert {"start", "end", "expected_cases", "interval_80", "interval_95", "rules"} <= set(json.loads(out))
