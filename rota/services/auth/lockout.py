"""The slow-down after wrong passwords (docs/security.md): after MAX_FAILURES consecutive failures sign-in
pauses for 30 seconds, doubling with every further failure up to 15 minutes.

The same policy covers usernames that have no account (counted in memory), so that the pause does not
tell an attacker which usernames exist.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from datetime import datetime, timedelta

MAX_FAILURES = 5  # consecutive wrong passwords before the slow-down starts
FIRST_LOCKOUT = timedelta(seconds=30)  # then doubling with every further failure ...
MAX_LOCKOUT = timedelta(minutes=15)  # ... up to this


def lockout_window(failures: int) -> timedelta:
    """How long sign-in stays refused after `failures` consecutive wrong passwords (0 below the limit)."""
    if failures < MAX_FAILURES:
        return timedelta(0)
    doublings = min(failures - MAX_FAILURES, 20)  # 30 s * 2**20 is far past the cap already
    window: timedelta = FIRST_LOCKOUT * 2**doublings
    return min(window, MAX_LOCKOUT)


def locked_until(failures: int, last_failed_at: datetime | None) -> datetime | None:
    """When sign-in opens again for an account with this failure record (None: it is open)."""
    window = lockout_window(failures)
    if not window or last_failed_at is None:
        return None
    return last_failed_at + window


def reopen_instants(now: datetime) -> list[tuple[int, datetime]]:
    """For each failure count whose pause is shorter than MAX_LOCKOUT: the latest last failure that leaves
    sign-in open at `now` (for counts not listed it is `now - MAX_LOCKOUT`). The database checks these in
    the one statement that claims an attempt."""
    opens: list[tuple[int, datetime]] = []
    failures = MAX_FAILURES
    while lockout_window(failures) < MAX_LOCKOUT:
        opens.append((failures, now - lockout_window(failures)))
        failures += 1
    return opens


def _wait_text(wait: timedelta) -> str:
    seconds = max(1, math.ceil(wait.total_seconds()))
    if seconds < 120:
        return "1 second" if seconds == 1 else f"{seconds} seconds"
    return f"{math.ceil(seconds / 60)} minutes"


def slow_down_message(until: datetime, now: datetime) -> str:
    """What the person signing in is told while sign-in is paused until `until`."""
    return (
        "Too many wrong passwords for this username: sign-in is paused. "
        f"Try again in {_wait_text(until - now)}."
    )


class UnknownNameFailures:
    """Failure counts for usernames that have no account, kept in memory (bounded), so that the slow-down
    does not tell an attacker which usernames exist."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._seen: OrderedDict[str, tuple[int, datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, name: str) -> tuple[int, datetime | None]:
        with self._lock:
            count, last = self._seen.get(name, (0, None))
            return count, last

    def claim(self, name: str, now: datetime) -> int | None:
        """Count one more failure unless sign-in for `name` is paused (then None), as one step, like the
        database's claim for real accounts."""
        with self._lock:
            count, last = self._seen.get(name, (0, None))
            until = locked_until(count, last)
            if until is not None and now < until:
                return None
            self._seen.pop(name, None)
            self._seen[name] = (count + 1, now)
            while len(self._seen) > self._capacity:
                self._seen.popitem(last=False)
            return count + 1

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()
