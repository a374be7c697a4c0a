"""Importing 100,000 shifts into SQLite (docs/performance.md: under 5 s), via the same path as `rota import`:
read and validate the bundle, then one all-or-nothing transaction with an audit row per new row.

    python benchmarks/bench_import.py [--shifts 100000] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from national_bundle import write_bundle_dir

from rota.bundle import read_bundle
from rota.storage.db import init_db
from rota.storage.imports import import_rota


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--shifts", type=int, default=100_000)
    parser.add_argument("--responders", type=int, default=400)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="rota-import-"))
    write_bundle_dir(folder / "bundle", n_responders=args.responders, n_shifts=args.shifts)
    read_s, store_s = [], []
    for i in range(args.runs):
        engine = init_db(f"sqlite:///{folder / f'run{i}.db'}")
        t0 = time.perf_counter()
        rota = read_bundle(folder / "bundle")
        t1 = time.perf_counter()
        summary = import_rota(engine, rota, actor="bench")
        t2 = time.perf_counter()
        engine.dispose()
        read_s.append(t1 - t0)
        store_s.append(t2 - t1)
        print(f"run {i + 1}: read {t1 - t0:.2f} s, store {t2 - t1:.2f} s ({summary})")
    total = [a + b for a, b in zip(read_s, store_s, strict=True)]
    print(
        f"median: read {statistics.median(read_s):.2f} s, store {statistics.median(store_s):.2f} s, "
        f"total {statistics.median(total):.2f} s for {rota.shifts.height:,} shifts"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
