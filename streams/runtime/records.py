"""Consumed records as the stages read them: plain attributes, not librdkafka method calls."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from confluent_kafka import KafkaError

from streams.edge import Headers

__all__ = ["ConsumedRecord", "to_records"]


class ConsumedRecord:
    """One consumed Kafka record (satisfies `streams.edge.RawRecord`)."""

    __slots__ = ("headers", "key", "offset", "partition", "timestamp_ms", "topic", "value")

    def __init__(
        self,
        topic: str,
        partition: int,
        offset: int,
        key: bytes | None,
        value: bytes | None,
        headers: Headers,
        timestamp_ms: int,
    ) -> None:
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp_ms = timestamp_ms

    def __repr__(self) -> str:
        return f"ConsumedRecord({self.topic}[{self.partition}]@{self.offset})"


def to_records(
    messages: Iterable[Any], on_error: Callable[[KafkaError], None]
) -> list[ConsumedRecord]:
    """Return MESSAGES (confluent-kafka `Message`s) as records; errors go to ON_ERROR."""
    records: list[ConsumedRecord] = []
    append = records.append
    for m in messages:
        error = m.error()
        if error is not None:
            on_error(error)
            continue
        record = ConsumedRecord(
            m.topic(), m.partition(), m.offset(), m.key(), m.value(),
            m.headers() or [], m.timestamp()[1],
        )  # fmt: skip
        append(record)
    return records
