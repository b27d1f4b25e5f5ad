"""Read a topic from chosen offsets and yield decoded records (the I/O half of `tail`).

Partitions are assigned directly rather than joining a consumer group: a tail is a
read-only observer, so it neither commits offsets nor causes rebalances for the
services that own the topic.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition

from consumers.render import Received
from infra.kafka_access import topic_access_error
from schemas.exceptions import DecodeError

__all__ = ["TailRequest", "tail"]

Decoder = Callable[[bytes], Mapping[str, Any] | None]


@dataclass(frozen=True)
class TailRequest:
    """What to read: TOPIC, from the beginning or the last MAX records, optionally following."""

    topic: str
    from_beginning: bool = False
    max_records: int | None = 20
    follow: bool = False
    key: str | None = None
    poll_secs: float = 0.5
    idle_secs: float = 10.0


def _start_offsets(consumer: Consumer, request: TailRequest) -> list[TopicPartition]:
    metadata = consumer.list_topics(request.topic, timeout=10)
    topic = metadata.topics.get(request.topic)
    refused = topic_access_error(request.topic, topic.error) if topic and topic.error else None
    if refused is not None:
        raise refused
    if topic is None or topic.error is not None or not topic.partitions:
        raise LookupError(f"topic {request.topic!r} does not exist")
    assignment = []
    for p in sorted(topic.partitions):
        low, high = consumer.get_watermark_offsets(TopicPartition(request.topic, p), timeout=10)
        if request.from_beginning or request.max_records is None:
            start = OFFSET_BEGINNING if request.from_beginning else high
        else:
            start = max(low, high - request.max_records)
        assignment.append(TopicPartition(request.topic, p, start))
    return assignment


def _text(value: str | bytes | None) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value or ""


def _received(message: Message, decode: Decoder) -> Received:
    raw = message.headers() or []
    headers = {k: _text(v) for k, v in (raw.items() if isinstance(raw, dict) else raw)}
    key_bytes = message.key()
    key = _text(key_bytes) if key_bytes is not None else None
    value: Mapping[str, Any] | None = None
    error: str | None = None
    try:
        value = decode(message.value() or b"")
    except DecodeError as exc:
        error = f"undecodable: {exc.reason}"
    return Received(
        message.topic() or "",
        message.partition() or 0,
        message.offset() or 0,
        key,
        value,
        headers,
        error,
    )


def tail(consumer: Consumer, request: TailRequest, decode: Decoder) -> Iterator[Received]:
    """Yield decoded records of REQUEST.topic until the end (or forever with follow)."""
    assignment = _start_offsets(consumer, request)
    consumer.assign(assignment)
    at_end: set[int] = set()
    yielded = 0
    idle = 0.0
    while True:
        message = consumer.poll(request.poll_secs)
        if message is None:
            idle += request.poll_secs
            if not request.follow and idle >= request.idle_secs:
                return
            continue
        idle = 0.0
        error = message.error()
        if error is not None:
            if error.code() == KafkaError._PARTITION_EOF:
                at_end.add(message.partition() or 0)
                if not request.follow and len(at_end) >= len(assignment):
                    return
                continue
            raise topic_access_error(request.topic, error) or RuntimeError(
                f"consume failed: {error}"
            )
        at_end.discard(message.partition() or 0)
        received = _received(message, decode)
        if request.key is not None and received.key != request.key:
            continue
        yield received
        yielded += 1
        if request.max_records is not None and yielded >= request.max_records:
            return
