"""Browser tests: the real server (`rota up`) on a free port with a demo database, driven by Playwright in
Debian's Chromium (the `browser` fixture of tests/conftest.py; never a downloaded browser)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.live_server import free_port, rota_up, running

DEMO_PASSWORD = "e2e-password-2026"


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
    port = free_port()
    with running(rota_up(port), port, folder / "server.log", env=env, timeout_s=60):
        yield f"http://127.0.0.1:{port}"
