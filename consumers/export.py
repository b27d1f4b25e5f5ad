"""Read a topic between two times, decoded and typed: `primestream export` and notebooks.

Times select by event time, the records' `ts_event_us`, so `--from 2024-01-02T14:30Z`
means market time, as a researcher means it. (Kafka timestamps are ingest times, so that
retention counts from when data entered Kafka: they cannot bound event times, and the
whole topic is read.) The reader assigns partitions directly (no consumer group: an export
never disturbs the services that own the topic), reads `read_committed`, and stops at each
partition's end offset as it was when the export started, so a live topic still gives a
finite export.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from confluent_kafka import Consumer, KafkaError, TopicPartition

from consumers.columns import ExportRow, records_table
from infra.clients import consumer_config
from schemas.exceptions import DecodeError

if TYPE_CHECKING:
    import pandas as pd

    from schemas.clients import Clients

__all__ = [
    "ExportStats",
    "PartitionRange",
    "export_consumer",
    "in_range",
    "parse_time",
    "read_rows",
    "topic_frame",
]

Decoder = Callable[[bytes], Mapping[str, Any] | None]
_IDLE_SECS = 10.0


def parse_time(text: str) -> int:
    """Return ISO 8601 TEXT (a date, or a time with or without zone; UTC if none) in ms."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO 8601 time: {text!r} (e.g. 2024-01-02T14:30:00Z)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


@dataclass(frozen=True)
class PartitionRange:
    """Offsets [start, end) of one partition to read."""

    partition: int
    start: int
    end: int


@dataclass
class ExportStats:
    """What an export read: rows kept, records that did not decode (skipped), tombstones."""

    rows: int = 0
    undecodable: int = 0
    tombstones: int = 0
    errors: list[str] = field(default_factory=list)


def _ranges(consumer: Consumer, topic: str) -> list[PartitionRange]:
    metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
    if metadata is None or metadata.error is not None or not metadata.partitions:
        raise LookupError(f"topic {topic!r} does not exist")
    ranges = []
    for p in sorted(metadata.partitions):
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        ranges.append(PartitionRange(p, low, high))
    return ranges


def in_range(record: Mapping[str, Any], start_ms: int | None, end_ms: int | None) -> bool:
    """Return whether RECORD's event time is in [START_MS, END_MS) (None: unbounded)."""
    ts_ms = record.get("ts_event_us", 0) // 1000
    return (start_ms is None or ts_ms >= start_ms) and (end_ms is None or ts_ms < end_ms)


def read_rows(
    consumer: Consumer,
    topic: str,
    decode: Decoder,
    stats: ExportStats,
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
    on_total: Callable[[int], None] | None = None,
    on_read: Callable[[int], None] | None = None,
) -> Iterator[ExportRow]:
    """Yield (partition, offset, timestamp ms, key, record) of TOPIC, event time in range.

    The range is [START_MS, END_MS), None for unbounded. Undecodable records are counted
    in STATS (with their reason) and skipped: the export says how many, never stops on one.
    """
    ranges = [r for r in _ranges(consumer, topic) if r.end > r.start]
    if on_total is not None:
        on_total(sum(r.end - r.start for r in ranges))
    for message in _in_ranges(consumer, topic, ranges):
        if on_read is not None:
            on_read(1)
        record = _decoded(message, decode, stats)
        if record is not None and in_range(record, start_ms, end_ms):
            key = message.key()
            stats.rows += 1
            text_key = key.decode("utf-8", "replace") if key else None
            yield message.partition(), message.offset(), message.timestamp()[1], text_key, record


def _in_ranges(consumer: Consumer, topic: str, ranges: list[PartitionRange]) -> Iterator[Any]:
    """Yield the messages of RANGES, each partition until its end offset."""
    remaining = {r.partition: r for r in ranges}
    if not remaining:
        return
    consumer.assign([TopicPartition(topic, r.partition, r.start) for r in ranges])
    idle_since = time.monotonic()
    while remaining:
        message = consumer.poll(0.5)
        if message is None:
            if time.monotonic() - idle_since > _IDLE_SECS:
                return  # a partition whose end never came: a safety net, not the way out
            continue
        idle_since = time.monotonic()
        error = message.error()
        if error is not None:
            if error.code() != KafkaError._PARTITION_EOF:
                raise RuntimeError(f"reading {topic}: {error.str()}")
            # At the end: what lay between the last record and the end offset were
            # transaction markers (or aborted records), which are never delivered.
            remaining.pop(message.partition(), None)
            continue
        bound = remaining.get(message.partition())
        if bound is None or message.offset() >= bound.end:
            remaining.pop(message.partition(), None)
            continue
        if message.offset() + 1 >= bound.end:
            remaining.pop(message.partition(), None)
        yield message


def _decoded(message: Any, decode: Decoder, stats: ExportStats) -> Mapping[str, Any] | None:
    value = message.value()
    if value is None:
        stats.tombstones += 1
        return None
    try:
        record = decode(value)
    except DecodeError as exc:
        stats.undecodable += 1
        if len(stats.errors) < 5:
            stats.errors.append(f"partition {message.partition()} offset {message.offset()}: {exc}")
        return None
    if record is None:
        stats.tombstones += 1
    return record


def topic_frame(
    topic: str,
    *,
    start: str | datetime | None = None,
    end: str | datetime | None = None,
    runtime: Clients | None = None,
) -> pd.DataFrame:
    """Return TOPIC's records in [START, END) as a typed pandas DataFrame (for notebooks).

    TOPIC is a table name (`market.quotes`; the settings' namespace is applied) and START /
    END are datetimes or ISO 8601 strings. Settings come from the environment and files,
    as for every command.
    """
    from schemas.clients import Clients

    runtime = runtime or Clients()
    name = runtime.settings.topic(topic)
    record = runtime.record_of(name)
    if record is None:
        raise LookupError(f"topic {name!r} carries no Avro records")
    stats = ExportStats()
    consumer = export_consumer(runtime)
    try:
        rows = list(
            read_rows(
                consumer, name, runtime.deserializer(record), stats,
                start_ms=_ms(start), end_ms=_ms(end),
            )
        )  # fmt: skip
    finally:
        consumer.close()
    frame: pd.DataFrame = records_table(rows, record).to_pandas()
    return frame


def _ms(moment: str | datetime | None) -> int | None:
    if moment is None:
        return None
    if isinstance(moment, datetime):
        aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        return int(aware.timestamp() * 1000)
    return parse_time(moment)


def export_consumer(runtime: Clients) -> Consumer:
    """Return a read_committed consumer that assigns partitions itself (no group joins)."""
    group = f"primestream-export-{uuid.uuid4().hex[:8]}"
    config = consumer_config(runtime.settings, runtime.endpoints.bootstrap_servers, group)
    config.update({"enable.auto.commit": False, "enable.partition.eof": True})
    return Consumer(config)
