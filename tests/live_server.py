"""The real dashboard on a free local port, and Debian's Chromium to drive it: shared by the browser tests
(tests/e2e, tests/test_oidc.py) and benchmarks/bench_browser.py. Never a downloaded browser (`playwright
install` is not run anywhere): ROTA_CHROMIUM names another binary."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = os.environ.get("ROTA_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rota_up(port: int) -> list[str]:
    """`rota up` on `port`, local connections only."""
    return [sys.executable, "-m", "rota.cli", "up", "--port", str(port), "--address", "127.0.0.1"]


@contextmanager
def running(
    command: Sequence[str],
    port: int,
    log_path: Path,
    *,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    timeout_s: float = 90,
) -> Iterator[subprocess.Popen[bytes]]:
    """Start the dashboard server `command` listening on `port`, its output in `log_path`; yield the process
    once `/_stcore/health` answers (or raise with the log if it stops or does not answer in `timeout_s`),
    and stop it afterwards."""
    with log_path.open("w") as log:
        proc = subprocess.Popen(list(command), env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the dashboard did not start:\n{log_path.read_text()}")
            time.sleep(0.3)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
