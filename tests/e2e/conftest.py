"""Browser tests: the real server (`rota up`) on a free port with a demo database, driven by Playwright in
Debian's Chromium (the `browser` fixture of tests/conftest.py; never a downloaded browser)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import pytest

DEMO_PASSWORD = "e2e-password-2026"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`rota demo` then `rota up` on a free port; yields the base URL once /_stcore/health answers."""
    if shutil.which("rota") is None:
        pytest.skip("the rota command is not installed")
    folder = tmp_path_factory.mktemp("e2e")
    env = dict(
        os.environ,
        ROTA_DATABASE_URL=f"sqlite:///{folder / 'rota.db'}",
        ROTA_DEMO_PASSWORD=DEMO_PASSWORD,
        ROTA_EMBEDDED_SCHEDULER="0",  # no gap scan writing alerts in the middle of a journey
    )
    subprocess.run([sys.executable, "-m", "rota.cli", "demo"], env=env, check=True, capture_output=True)
    port = _free_port()
    log = (folder / "server.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "rota.cli", "up", "--port", str(port), "--address", "127.0.0.1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the dashboard did not start:\n" + (folder / "server.log").read_text())
            time.sleep(0.5)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
