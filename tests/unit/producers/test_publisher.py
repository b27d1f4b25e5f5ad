"""The publisher's counting and rejection logic, against a recording stand-in for the client.

The real producer path is covered by tests/integration against the real broker.
"""

from collections.abc import Mapping
from typing import Any

import pytest

from infra.telemetry import RecordTracer
from producers.publisher import Pacer, Publisher
from producers.rows import SourceRow
from tests.kit import stubs


class _RecordingProducer:
    def __init__(self, undelivered: int = 0) -> None:
        self.sent: list[tuple[str, bytes, bytes, int, list[tuple[str, bytes]]]] = []
        self.undelivered = undelivered

    def produce(
        self,
        topic: str,
        value: bytes,
        key: bytes,
        *,
        timestamp: int,
        headers: list[tuple[str, bytes]],
    ) -> None:
        self.sent.append((topic, value, key, timestamp, headers))

    def poll(self, timeout: float) -> int:
        return 0

    def flush(self, timeout: float) -> int:
        return self.undelivered


def _validate(rec: Mapping[str, Any]) -> None:
    if rec["bid"] != rec["bid"]:
        raise ValueError("bid is NaN")


def _publisher(producer: _RecordingProducer, rejects: list[tuple[int | None, str]]) -> Publisher:
    return Publisher(
        producer,
        "market.quotes",
        lambda r: r["symbol"].encode(),
        _validate,
        RecordTracer(None, 0.0, seed=3),
        on_reject=lambda row, why: rejects.append((row, why)),
    )


def test_invalid_rows_are_rejected_with_their_row_number_and_never_sent() -> None:
    producer, rejects = _RecordingProducer(), []
    rows = [
        SourceRow(1, stubs.quote()),
        SourceRow(2, stubs.quote(bid=float("nan"))),
        SourceRow(3, None, "bid 'abc' is not a number"),
        SourceRow(4, stubs.quote("MSFT")),
    ]

    stats = _publisher(producer, rejects).publish(rows)

    assert rejects == [(2, "bid is NaN"), (3, "bid 'abc' is not a number")]
    assert [s[2] for s in producer.sent] == [b"AAPL", b"MSFT"]
    assert (stats.read, stats.sent, stats.rejected, stats.delivered) == (4, 2, 2, 2)


def test_records_are_keyed_by_symbol_stamped_with_ingest_time_and_carry_traceparent() -> None:
    producer = _RecordingProducer()
    ingest_us = stubs.T0_US + 5_000_000
    quote = stubs.quote("AAPL", ts_event_us=stubs.T0_US, ts_ingest_us=ingest_us)

    _publisher(producer, []).publish([SourceRow(1, quote)])

    (topic, _, key, timestamp, headers) = producer.sent[0]
    assert (topic, key, timestamp) == ("market.quotes", b"AAPL", ingest_us // 1000)
    assert dict(headers)["traceparent"].startswith(b"00-")


def test_max_counts_sent_records_not_rejected_ones() -> None:
    producer = _RecordingProducer()
    rows = [
        SourceRow(i, stubs.quote(bid=float("nan")) if i % 2 else stubs.quote(seq=i))
        for i in range(100)
    ]

    stats = _publisher(producer, []).publish(rows, max_records=10)

    assert stats.sent == 10
    assert len(producer.sent) == 10


def test_undelivered_and_failed_records_are_not_counted_as_delivered() -> None:
    producer = _RecordingProducer(undelivered=1)
    publisher = _publisher(producer, [])
    publisher.stats.on_delivery("Broker: Message size too large", None)

    stats = publisher.publish([SourceRow(i, stubs.quote(seq=i)) for i in range(5)])

    assert (stats.sent, stats.failed, stats.undelivered, stats.delivered) == (5, 1, 1, 3)


@pytest.mark.parametrize(
    ("rate", "records", "expected_secs"), [(100.0, 50, 0.5), (1000.0, 2000, 2.0)]
)
def test_pacer_sleeps_to_hold_the_rate(rate: float, records: int, expected_secs: float) -> None:
    now = [0.0]
    pacer = Pacer(rate, now=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))

    for _ in range(records):
        pacer.wait()

    assert now[0] == pytest.approx(expected_secs, abs=1.5 / rate)


class _FullQueueProducer(_RecordingProducer):
    """Refuses every other produce with BufferError, as librdkafka does when its queue is full."""

    def __init__(self) -> None:
        super().__init__()
        self.refusals = 0
        self.polls = 0

    def produce(
        self,
        topic: str,
        value: bytes,
        key: bytes,
        *,
        timestamp: int,
        headers: list[tuple[str, bytes]],
    ) -> None:
        if self.refusals <= len(self.sent):
            self.refusals += 1
            raise BufferError("Local: Queue full")
        super().produce(topic, value, key, timestamp=timestamp, headers=headers)

    def poll(self, timeout: float) -> int:
        self.polls += 1
        return 0


def test_a_full_local_queue_is_drained_and_nothing_is_lost() -> None:
    producer = _FullQueueProducer()

    stats = _publisher(producer, []).publish([SourceRow(i, stubs.quote(seq=i)) for i in range(50)])

    assert len(producer.sent) == 50
    assert stats.sent == 50
    assert producer.refusals == 50
    assert producer.polls >= 50
