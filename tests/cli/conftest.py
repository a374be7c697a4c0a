from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from rota.cli import main

RESPONDERS = """responder_id,name,role,agency,email,active
P1,Dr Ada Testwood,paediatrician,Vale Hospitals,ada@example.org,true
S1,DI Bram Fictor,sio,Vale Police,bram@example.org,true
A1,Cleo Madeup,ambulance,Downs Ambulance,cleo@example.org,true
"""
TRAINING = """responder_id,competency,valid_from,valid_until
P1,jar,2020-01-01,
P1,jar-16-17,2020-01-01,
S1,jar,2020-01-01,2030-12-31
A1,jar,01/01/2020,
A1,jar-16-17,01/01/2020,
"""
# All three on duty around the October 2026 clock change, with a 30-minute hole for the SIO.
SHIFTS = """shift_id,responder_id,start,end,kind
X1,P1,2026-10-24T00:00:00+01:00,2026-10-27T00:00:00+00:00,oncall
X2,S1,2026-10-24T00:00:00+01:00,2026-10-25 12:00,oncall
X3,S1,2026-10-25 12:30,2026-10-27 00:00,oncall
X4,A1,2026-10-24T00:00:00+01:00,2026-10-27T00:00:00+00:00,onsite
"""
ABSENCES = """responder_id,start,end,reason
A1,2026-10-26 08:00,2026-10-26 09:00,training
"""


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    folder = tmp_path / "bundle"
    folder.mkdir()
    for name, text in {
        "responders.csv": RESPONDERS,
        "training.csv": TRAINING,
        "shifts.csv": SHIFTS,
        "absences.csv": ABSENCES,
    }.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    def _run(*argv: str) -> tuple[int, str, str]:
        try:
            code = main(list(argv))
        except SystemExit as exc:  # argparse's own exits (wrong options)
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return _run
