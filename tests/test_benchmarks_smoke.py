"""The national benchmark generator, at a tiny scale: its bundle reads back with the same row counts."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

bundle = pytest.importorskip("rota.bundle")

GENERATOR = Path(__file__).resolve().parents[1] / "benchmarks" / "national_bundle.py"


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("national_bundle", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("national_bundle", module)
    spec.loader.exec_module(module)
    return module


def test_small_national_bundle_reads_back(tmp_path: Path) -> None:
    gen = _generator()
    counts = gen.write_bundle_dir(tmp_path, seed=5, n_responders=20, n_shifts=500)
    assert counts["responders"] == 20
    assert counts["shifts"] == 500
    rota = bundle.read_bundle(tmp_path)
    assert rota.responders.height == counts["responders"]
    assert rota.training.height == counts["training"]
    assert rota.shifts.height == counts["shifts"]
    assert rota.absences.height == counts["absences"]
    assert [r.id for r in rota.rules] == [
        "paediatrician",
        "paediatrician-16-17",
        "sio",
        "sio-16-17",
        "ambulance",
        "ambulance-16-17",
    ]
    assert set(rota.responders["role"]) <= {"paediatrician", "sio", "ambulance"}
    assert (rota.shifts["end"] > rota.shifts["start"]).all()
    # times are written as local ISO 8601 with their offset
    first = (tmp_path / "shifts.csv").read_text(encoding="utf-8").splitlines()[1]
    assert first.split(",")[2][-6:] in ("+00:00", "+01:00")


def test_generator_is_deterministic(tmp_path: Path) -> None:
    gen = _generator()
    a = gen.build_frames(seed=11, n_responders=20, n_shifts=500)
    b = gen.build_frames(seed=11, n_responders=20, n_shifts=500)
    for kind in a:
        assert a[kind].equals(b[kind]), kind
