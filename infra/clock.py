"""Clocks, injected everywhere time is read, so tests and replays are deterministic."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["Clock", "ManualClock", "wall_clock_us"]

Clock = Callable[[], int]
"""Returns now as integer microseconds since the Unix epoch (UTC)."""


def wall_clock_us() -> int:
    """Return the wall-clock time in µs; the only place primestream reads it."""
    return time.time_ns() // 1_000


class ManualClock:
    """A clock that moves only when told to (tests, replays)."""

    def __init__(self, start_us: int = 1_700_000_000_000_000) -> None:
        self.now_us = start_us

    def __call__(self) -> int:
        """Return the current time in µs."""
        return self.now_us

    def advance(self, micros: int) -> None:
        """Move the clock forward by MICROS."""
        self.now_us += micros
