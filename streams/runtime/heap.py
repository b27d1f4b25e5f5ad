"""The worker's heap and the cycle collector: freeze what start-up made, time every pause.

A worker imports faust, OpenTelemetry and the codecs, builds its app and tables: some
hundreds of thousands of long-lived objects. CPython's full (generation 2) collection walks
all of them, so each one paused the loop ~100-120 ms (measured at 5,000 quotes/s: 7 in 40 s,
the latency tail's largest single cause). `gc.freeze()` (documented for exactly this) moves
what exists at start into a permanent generation the collector no longer walks: later full
collections see only what the worker made since. Cycles among new objects are still found.

The young generation is collected every `YOUNG_THRESHOLD` net allocations instead of
CPython's 700: a worker allocates some twenty objects per record (the record, its decoded
dict and floats, outputs), nearly all freed at once by reference counting, so at 700 the
collector ran every few dozen records for nothing (~3.5% of the alert-only worker's time
in process, BENCHMARKS.md "Compiled hot path"); a pass over 20,000 young objects takes
about half a millisecond.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

__all__ = ["YOUNG_THRESHOLD", "PauseClock", "freeze_startup_heap"]

YOUNG_THRESHOLD = 20_000


def freeze_startup_heap() -> int:
    """Collect once, freeze every object alive now, widen the young generation.

    Return how many objects were frozen.
    """
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, older, oldest)
    return gc.get_freeze_count()


class PauseClock:
    """Times the collector's pauses (through `gc.callbacks`) and hands each to ON_PAUSE."""

    def __init__(
        self, on_pause: Callable[[int, float], None], clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self._on_pause = on_pause
        self._clock = clock
        self._began = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        """Take the collector's start or stop of a pass (the `gc.callbacks` protocol)."""
        if phase == "start":
            self._began = self._clock()
        else:
            self._on_pause(int(info["generation"]), self._clock() - self._began)

    def install(self) -> None:
        """Start timing (idempotent)."""
        if self not in gc.callbacks:
            gc.callbacks.append(self)

    def remove(self) -> None:
        """Stop timing."""
        if self in gc.callbacks:
            gc.callbacks.remove(self)
