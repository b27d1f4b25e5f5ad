"""The latency benchmark's read_committed readers, in a process of their own or as threads.

A user's service reads our topics from its own process. Run as threads of the process that
paces the feed (`bench_latency`'s default, so its figures stay comparable), the readers
share one interpreter lock with the feed: a record that arrived may wait for the lock
before it is stamped. In a process of their own they share it only with each other. An
A/B at 1,000 quotes/s (BENCHMARKS.md, "One changelog topic") found the difference smaller
than the noise between runs.
"""

from __future__ import annotations

import multiprocessing
from typing import Any

from confluent_kafka import Message

from tests.bench.bench_signals import Namespace, VisibleSignals

__all__ = ["ObserverProcess", "ObserverThreads", "VisiblePositions"]

_START_SECS = 60.0
_RESULT_SECS = 120.0

Received = dict[tuple[int, int], int]
Seen = list[tuple[int, int, int]]


class VisiblePositions(VisibleSignals):
    """A read_committed reader of `positions`: when each (partition, offset) became visible."""

    def __init__(self, ns: Namespace) -> None:
        super().__init__(ns)
        self._topic = ns.topic("positions")
        self.received: Received = {}

    def _take(self, message: Message, received_us: int) -> None:
        self.received[(message.partition(), message.offset())] = received_us


class ObserverThreads:
    """Both readers as threads of this process."""

    def __init__(self, ns: Namespace) -> None:
        self._positions, self._signals = VisiblePositions(ns), VisibleSignals(ns)

    def start(self) -> None:
        """Assign the topics from their beginning and start reading."""
        self._positions.start()
        self._signals.start()

    def finish(self) -> tuple[Received, Seen]:
        """Wait until positions stop arriving, stop; return (positions received, signals seen)."""
        try:
            self._positions.wait_quiet(quiet_secs=1.0, timeout=30)
        finally:
            self._positions.stop()
            self._signals.stop()
        return self._positions.received, self._signals.seen


class ObserverProcess:
    """Both readers in a spawned process; their stamps come back when it finishes."""

    def __init__(self, ns: Namespace) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of librdkafka's threads
        self._ready, self._stop = context.Event(), context.Event()
        self._results: Any = context.Queue()
        self._process = context.Process(
            target=_observe,
            args=(ns, self._ready, self._stop, self._results),
            name="latency-readers",
            daemon=True,
        )

    def start(self) -> None:
        """Start the process; return once both readers are assigned and reading."""
        self._process.start()
        if not self._ready.wait(_START_SECS):
            self._process.kill()
            raise RuntimeError("the reader process did not start")

    def finish(self) -> tuple[Received, Seen]:
        """Wait until positions stop arriving, stop; return (positions received, signals seen)."""
        self._stop.set()
        try:
            received, seen = self._results.get(timeout=_RESULT_SECS)
        finally:
            self._process.join(10)
            if self._process.is_alive():
                self._process.kill()
        return received, seen


def _observe(ns: Namespace, ready: Any, stop: Any, results: Any) -> None:
    """The reader process: read until told to stop, then send the stamps back."""
    observers = ObserverThreads(ns)
    observers.start()
    ready.set()
    stop.wait()
    results.put(observers.finish())
