"""Replay recorded topics into a namespace: one stable order, any speed, nothing live touched.

What is replayed is what was recorded: the very bytes, keys, headers, Kafka timestamps
and partitions, so the pipeline in the namespace sees its input as the live one did
(garbage included: it is dead-lettered there as it was live). Several topics are merged
in one stable order, event time, then topic (in the order given), partition and offset,
with each partition's records kept in offset order (a k-way merge of the partitions), so
two replays of the same recording publish the same sequence. `--from`/`--to` select by the
Kafka timestamps, which are ingest times: "what arrived between 9:30 and 10:00".
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from confluent_kafka import Consumer, KafkaError, TopicPartition

from schemas.exceptions import DecodeError

__all__ = ["Recorded", "merge", "paced", "read_partitions"]

Decoder = Callable[[bytes], Mapping[str, Any] | None]


@dataclass(frozen=True, order=True)
class Recorded:
    """One recorded record; ordered by (event time, topic rank, partition, offset)."""

    ts_event_us: int
    topic_rank: int
    partition: int
    offset: int
    table: str = field(compare=False)
    key: bytes | None = field(compare=False)
    value: bytes | None = field(compare=False)
    headers: list[tuple[str, bytes]] = field(compare=False)
    timestamp_ms: int = field(compare=False)


def merge(partitions: Iterable[Iterable[Recorded]]) -> Iterator[Recorded]:
    """Merge partitions (each in offset order) into one stable event-time order."""
    return heapq.merge(*partitions)


def paced(
    records: Iterable[Recorded],
    speed: float | None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Iterator[Recorded]:
    """Yield RECORDS at SPEED times their recorded event-time pace (None: at once)."""
    if speed is None:
        yield from records
        return
    first_event: int | None = None
    started = clock()
    for record in records:
        if first_event is None:
            first_event = record.ts_event_us
        due = started + (record.ts_event_us - first_event) / 1e6 / speed
        wait = due - clock()
        if wait > 0:
            sleep(wait)
        yield record


def read_partitions(
    consumer: Consumer,
    topic: str,
    table: str,
    rank: int,
    decode: Decoder,
    *,
    start_ms: int | None,
    end_ms: int | None,
) -> list[list[Recorded]]:
    """Return TOPIC's records with Kafka timestamps in [START_MS, END_MS), per partition.

    A record's event time is its value's `ts_event_us`; one that does not decode keeps
    its place by its Kafka timestamp, and is replayed as it was.
    """
    metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
    if metadata is None or metadata.error is not None or not metadata.partitions:
        raise LookupError(f"topic {topic!r} does not exist")
    result = []
    for p in sorted(metadata.partitions):
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        start, end = (
            _offset_at(consumer, topic, p, start_ms, low),
            _offset_at(consumer, topic, p, end_ms, high),
        )
        result.append(list(_read(consumer, topic, table, rank, p, start, end, decode)))
    return result


def _offset_at(consumer: Consumer, topic: str, p: int, ms: int | None, default: int) -> int:
    if ms is None:
        return default
    (found,) = consumer.offsets_for_times([TopicPartition(topic, p, ms)], timeout=10)
    if found.offset < 0:
        return int(consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1])
    return int(found.offset)


def _read(
    consumer: Consumer,
    topic: str,
    table: str,
    rank: int,
    partition: int,
    start: int,
    end: int,
    decode: Decoder,
) -> Iterator[Recorded]:
    if end <= start:
        return
    consumer.assign([TopicPartition(topic, partition, start)])
    try:
        idle = 0
        while idle < 20:
            message = consumer.poll(0.5)
            if message is None:
                idle += 1  # aborted records or markers at the end: nothing more to read
                continue
            idle = 0
            if message.error() is not None:
                if message.error().code() == KafkaError._PARTITION_EOF:
                    return
                raise RuntimeError(f"reading {topic}: {message.error().str()}")
            if message.offset() >= end:
                return
            yield _recorded(message, table, rank, decode)
            if message.offset() + 1 >= end:
                return
    finally:
        consumer.unassign()


def _recorded(message: Any, table: str, rank: int, decode: Decoder) -> Recorded:
    timestamp_ms = message.timestamp()[1]
    ts_event_us = timestamp_ms * 1000
    value = message.value()
    if value is not None:
        try:
            record = decode(value)
        except DecodeError:
            record = None
        if record is not None and "ts_event_us" in record:
            ts_event_us = int(record["ts_event_us"])
    return Recorded(
        ts_event_us, rank, message.partition(), message.offset(), table,
        message.key(), value, list(message.headers() or []), timestamp_ms,
    )  # fmt: skip
