"""What live sources share: a poll interval kept without drift, and a clean stop on Ctrl-C.

A live source is a generator that never ends by itself. Ctrl-C (SIGINT; the CLI maps
SIGTERM onto it) raises KeyboardInterrupt wherever the main thread is, which for a live
source is nearly always inside the generator (waiting for the next poll, an HTTP answer
or a line of stdin). `until_interrupted` ends the iteration there instead, so the
publisher flushes what it sent, prints its counts and exits 0. An interrupt that lands
in the producer itself still ends the command (exit 130), after the same flush.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

__all__ = ["PollSchedule", "until_interrupted"]

T = TypeVar("T")


def until_interrupted(rows: Iterable[T]) -> Iterator[T]:
    """Yield ROWS until they end or Ctrl-C interrupts producing the next one."""
    iterator = iter(rows)
    while True:
        try:
            row = next(iterator)
        except (StopIteration, KeyboardInterrupt):
            return
        yield row


class PollSchedule:
    """Start a poll every INTERVAL_SECS (measured start to start), at most POLLS times."""

    def __init__(
        self,
        interval_secs: float,
        *,
        polls: int | None = None,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if interval_secs <= 0:
            raise ValueError("the poll interval must be positive")
        self.interval_secs = interval_secs
        self._left = polls
        self._now = now
        self._sleep = sleep
        self._next: float | None = None

    def __iter__(self) -> Iterator[int]:
        """Yield the poll number (0, 1, ...) when each poll is due."""
        number = 0
        while self._left is None or number < self._left:
            due = self._next if self._next is not None else self._now()
            delay = due - self._now()
            if delay > 0:
                self._sleep(delay)
            self._next = max(due, self._now() - self.interval_secs) + self.interval_secs
            yield number
            number += 1
