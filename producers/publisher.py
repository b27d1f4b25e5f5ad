"""Validate, encode and send records to one topic, keyed by symbol, counting every outcome.

The hot loop does per record only what must be per record: one validation call, one
encode, one `produce`. Delivery reports come back for errors only
(`delivery.report.only.error`), so success is `sent - failed` after the final flush
rather than a Python callback per record.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from infra.telemetry import Headers, RecordTracer
from producers.rows import SourceRow

__all__ = ["Pacer", "PublishStats", "Publisher"]

_PROGRESS_EVERY = 4096  # a multiple of the 1024-record poll step


class KafkaProducer(Protocol):
    """The part of confluent_kafka.Producer the publisher uses."""

    def produce(
        self,
        topic: str,
        value: bytes,
        key: bytes,
        *,
        timestamp: int,
        headers: Headers,
    ) -> None: ...
    def poll(self, timeout: float) -> int: ...
    def flush(self, timeout: float) -> int: ...


@dataclass
class PublishStats:
    """Counts of one publish run; `delivered` is known after the final flush."""

    read: int = 0
    sent: int = 0
    failed: int = 0
    rejected: int = 0
    undelivered: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    elapsed_secs: float = 0.0

    @property
    def delivered(self) -> int:
        """Records the broker acknowledged."""
        return self.sent - self.failed - self.undelivered

    def on_delivery(self, err: Any, _msg: Any) -> None:
        """Count a failed delivery; wire it as the producer's `on_delivery`.

        It lives on the stats, not the publisher, so the producer's callback does not
        hold the publisher (and with it the producer) in a reference cycle.
        """
        if err is not None:
            self.failed += 1
            self.reasons[f"delivery: {err}"] += 1

    def outcomes(self) -> dict[str, int]:
        """Return the counts so far by outcome: produced, rejected, failed (only grow).

        Read while publishing too (a metrics scrape): `sent` is brought up to date every
        1024 records, and on every record of a paced run.
        """
        return {
            "produced": self.sent,
            "rejected": self.rejected,
            "failed": self.failed + self.undelivered,
        }

    @property
    def rate_per_sec(self) -> float:
        """Sent records per second of the run."""
        return self.sent / self.elapsed_secs if self.elapsed_secs > 0 else 0.0


class Pacer:
    """Throttle to RATE records/s by sleeping in small steps (token bucket, no busy wait)."""

    def __init__(
        self,
        rate: float,
        *,
        now: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._interval = 1.0 / rate
        self._now = now
        self._sleep = sleep
        self._next = now()

    def wait(self, n: int = 1) -> None:
        """Block until N more records may go."""
        self._next += n * self._interval
        delay = self._next - self._now()
        if delay > 0.001:
            self._sleep(delay)


RejectHandler = Callable[[int | None, str], None]
Validator = Callable[[Mapping[str, Any]], None]
Encoder = Callable[[Mapping[str, Any]], bytes]


class Publisher:
    """Send validated, encoded records to TOPIC with key = the record's symbol."""

    def __init__(
        self,
        producer: KafkaProducer,
        topic: str,
        encode: Encoder,
        validate: Validator,
        tracer: RecordTracer,
        *,
        on_reject: RejectHandler | None = None,
        stats: PublishStats | None = None,
    ) -> None:
        self._producer = producer
        self._topic = topic
        self._encode = encode
        self._validate = validate
        self._tracer = tracer
        self._on_reject = on_reject
        self._keys: dict[str, bytes] = {}
        self.stats = stats if stats is not None else PublishStats()

    def publish(
        self,
        rows: Iterable[SourceRow],
        *,
        max_records: int | None = None,
        rate: float | None = None,
        progress: Callable[[int], None] | None = None,
        flush_timeout_secs: float = 60.0,
    ) -> PublishStats:
        """Send ROWS; stop after MAX_RECORDS sent; pace to RATE/s. Return the counts."""
        start = time.perf_counter()
        try:
            self._loop(rows, max_records, Pacer(rate) if rate else None, progress)
        finally:
            self.stats.undelivered = self._producer.flush(flush_timeout_secs)
            self.stats.elapsed_secs = time.perf_counter() - start
        return self.stats

    def _loop(  # noqa: C901 - the per-record hot loop is kept flat on purpose
        self,
        rows: Iterable[SourceRow],
        max_records: int | None,
        pacer: Pacer | None,
        progress: Callable[[int], None] | None,
    ) -> None:
        # The hot loop: attribute lookups hoisted into locals, the send inlined; `sent`
        # is written back to the stats in `finally`, so counts hold on any exit.
        stats, validate, encode = self.stats, self._validate, self._encode
        produce, poll, start_trace = self._producer.produce, self._producer.poll, self._tracer.start
        topic, keys = self._topic, self._keys
        limit = max_records if max_records is not None else -1
        sent = stats.sent
        try:
            for row in rows:
                if sent == limit:
                    break
                stats.read += 1
                record = row.record
                if record is None:
                    self._reject(row.row, row.error or "unreadable row")
                    continue
                try:
                    validate(record)
                    value = encode(record)
                except ValueError as exc:  # ValidationError and EncodeError are ValueErrors
                    self._reject(row.row, str(exc))
                    continue
                symbol = record["symbol"]
                key = keys.get(symbol)
                if key is None:
                    key = keys[symbol] = symbol.encode()
                headers, span = start_trace(topic, symbol)
                # The Kafka timestamp is the ingest time: retention counts from when data
                # entered Kafka (historical event times would be deleted at once).
                timestamp_ms = record["ts_ingest_us"] // 1000
                try:
                    produce(topic, value, key, timestamp=timestamp_ms, headers=headers)
                except BufferError:  # local queue full: the rare path, out of line
                    self._produce_when_drained(value, key, timestamp_ms, headers)
                if span is not None:
                    span.end()
                sent += 1
                if sent & 0x3FF == 0:
                    stats.sent = sent  # what a metrics scrape sees meanwhile
                    poll(0)
                    if progress is not None and sent % _PROGRESS_EVERY == 0:
                        progress(sent)
                if pacer is not None:
                    stats.sent = sent
                    pacer.wait()
        finally:
            stats.sent = sent
        if progress is not None:
            progress(sent)

    def _produce_when_drained(
        self, value: bytes, key: bytes, timestamp_ms: int, headers: Headers
    ) -> None:
        while True:
            self._producer.poll(0.05)  # let librdkafka deliver and free queue space
            try:
                self._producer.produce(
                    self._topic, value, key, timestamp=timestamp_ms, headers=headers
                )
                return
            except BufferError:
                continue

    def _reject(self, row: int | None, reason: str) -> None:
        self.stats.rejected += 1
        self.stats.reasons[reason.split(" ", 1)[0]] += 1
        if self._on_reject is not None:
            self._on_reject(row, reason)
