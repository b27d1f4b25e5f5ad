"""What one batch of a stage did, counted from its StageOutput and recorded as metrics.

Counting runs once per batch over the records the batch emitted (far fewer than it
consumed: a few signals, orders and position updates per thousand quotes), then adds a
handful of tallies and one latency sample. The per-record cost stays near zero: nothing
is counted inside a processor's loop.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from infra.clock import Clock, wall_clock_us
from infra.metrics import (
    DEADLETTERS,
    END_TO_END_LATENCY,
    FILLS,
    ORDERS,
    RECORDS_IN,
    RECORDS_OUT,
    RISK_REFUSALS,
    STAGE_LATENCY,
    Metrics,
)
from streams.deadletter import HEADER_PREFIX
from streams.edge import StageOutput
from streams.readiness import LastError

__all__ = ["BatchCounts", "StageMetrics", "count_batch"]

ERROR_TYPE_HEADER = f"{HEADER_PREFIX}error.type"
ERROR_MESSAGE_HEADER = f"{HEADER_PREFIX}error.message"
_READ = frozenset({"positions", "orders.events", "fills", "orders.rejected"})


@dataclass
class BatchCounts:
    """One batch's outcome by metric label: outputs per topic, reasons, statuses, sides."""

    records_in: int = 0
    records_out: Counter[str] = field(default_factory=Counter)
    deadletters: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    orders: Counter[str] = field(default_factory=Counter)
    fills: Counter[str] = field(default_factory=Counter)
    position_event_times_us: list[int] = field(default_factory=list)
    last_deadletter: tuple[str, str] | None = None  # (error type, message)


def _header(headers: list[tuple[str, bytes]], name: str) -> str:
    for key, value in headers:
        if key == name:
            return value.decode("utf-8", "replace")
    return ""


def count_batch(records_in: int, out: StageOutput) -> BatchCounts:
    """Count what a batch of RECORDS_IN records made: OUT's records, read by topic.

    Refusals come from `orders.rejected` records' `rule`, order states from
    `orders.events` records' `status`, fills by `side`, dead letters by their
    `deadletter.error.type` header; position updates give their event times.
    """
    counts = BatchCounts(records_in)
    for topic, record in out.records:
        counts.records_out[topic] += 1
        value = record.value
        if topic not in _READ or not isinstance(value, dict):
            continue
        if topic == "positions":
            ts = value.get("ts_event_us")
            if isinstance(ts, int):
                counts.position_event_times_us.append(ts)
        elif topic == "orders.events":
            counts.orders[str(value.get("status"))] += 1
        elif topic == "fills":
            counts.fills[str(value.get("side"))] += 1
        elif topic == "orders.rejected":
            counts.refusals[str(value.get("rule"))] += 1
    for dead in out.deadletters:
        reason = _header(dead.headers, ERROR_TYPE_HEADER) or "unknown"
        counts.deadletters[reason] += 1
        counts.last_deadletter = (reason, _header(dead.headers, ERROR_MESSAGE_HEADER))
    if out.deadletters:
        counts.records_out["deadletter"] += len(out.deadletters)
    return counts


class StageMetrics:
    """Record the batches of one agent into the process's metrics."""

    def __init__(
        self,
        metrics: Metrics,
        agent: str,
        topics: Mapping[str, str],
        *,
        errors: LastError | None = None,
        clock: Clock = wall_clock_us,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        """Bind AGENT; TOPICS maps its physical input topics to their logical names."""
        self.agent = agent
        self.timer = timer
        self._topics = topics
        self._errors = errors
        self._clock = clock
        self._in = metrics.tally(RECORDS_IN)
        self._out = metrics.tally(RECORDS_OUT)
        self._dead = metrics.tally(DEADLETTERS)
        self._refusals = metrics.tally(RISK_REFUSALS)
        self._orders = metrics.tally(ORDERS)
        self._fills = metrics.tally(FILLS)
        self._latency = metrics.histogram(STAGE_LATENCY)
        self._end_to_end = metrics.histogram(END_TO_END_LATENCY)
        self._stage_labels = {"stage": agent}
        self._agent_labels = {"agent": agent}

    def record(self, topic: str, records_in: int, out: StageOutput, elapsed_secs: float) -> None:
        """Record one batch of RECORDS_IN records from TOPIC that made OUT in ELAPSED_SECS."""
        counts = count_batch(records_in, out)
        agent = self.agent
        self._in.add((agent, self._topics.get(topic, topic)), records_in)
        for name, n in counts.records_out.items():
            self._out.add((agent, name), n)
        for reason, n in counts.deadletters.items():
            self._dead.add((agent, reason), n)
        for rule, n in counts.refusals.items():
            self._refusals.add((rule,), n)
        for status, n in counts.orders.items():
            self._orders.add((status,), n)
        for side, n in counts.fills.items():
            self._fills.add((side,), n)
        self._latency.record(elapsed_secs, self._stage_labels)
        if counts.position_event_times_us:
            now_us = self._clock()
            for ts in counts.position_event_times_us:
                self._end_to_end.record(max(0, now_us - ts) / 1e6, self._agent_labels)
        if counts.last_deadletter is not None and self._errors is not None:
            reason, message = counts.last_deadletter
            self._errors.note(self._clock(), f"deadletter ({agent})", f"{reason}: {message}")
