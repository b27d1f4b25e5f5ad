"""Read the `deadletter` topic and the redrive markers whole, as committed (the I/O half).

Partitions are assigned, not subscribed: a reader joins no group, commits nothing and
causes no rebalance. Each partition is read from its start to its end as a
`read_committed` consumer sees it (the last stable offset), so a dead letter of a
transaction still open is not listed yet, and one that was aborted never is.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition

from consumers.deadletters import StoredDeadLetter, decode_marker

__all__ = ["read_dead_letters", "read_markers"]

# How long one partition may go without a record or an end-of-partition event; librdkafka
# reports the end of every assigned partition, so this only guards against a broker gone.
_STALL_SECS = 60.0


def read_dead_letters(consumer: Consumer, topic: str) -> list[StoredDeadLetter]:
    """Return every committed dead letter of TOPIC (full name), by partition and offset."""
    letters = [
        StoredDeadLetter(
            message.partition() or 0,
            message.offset() or 0,
            message.timestamp()[1],
            message.key(),
            message.value() or b"",
            tuple((k, v or b"") for k, v in message.headers() or ()),
        )
        for message in _read_to_end(consumer, topic)
    ]
    return sorted(letters, key=lambda d: (d.partition, d.offset))


def read_markers(consumer: Consumer, topic: str) -> dict[bytes, int]:
    """Return the redrive markers of TOPIC: marker key → the dead letter's timestamp (ms)."""
    markers: dict[bytes, int] = {}
    for message in _read_to_end(consumer, topic):
        marker = decode_marker(message.key(), message.value())
        if marker is not None:
            markers[marker[0]] = marker[1]
        elif message.key() and message.value() is None:
            markers.pop(message.key() or b"", None)  # a tombstone withdraws the claim
    return markers


def _read_to_end(consumer: Consumer, topic: str) -> Iterator[Message]:
    metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
    if metadata is None or metadata.error is not None or not metadata.partitions:
        raise LookupError(f"topic {topic!r} does not exist: run `primestream topics apply`")
    assignment = []
    for p in sorted(metadata.partitions):
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
        if high > low:
            assignment.append(TopicPartition(topic, p, OFFSET_BEGINNING))
    if not assignment:
        return
    consumer.assign(assignment)
    try:
        ended: set[int] = set()
        last_seen = time.monotonic()
        while len(ended) < len(assignment):
            message = consumer.poll(0.5)
            if message is None:
                if time.monotonic() - last_seen > _STALL_SECS:
                    raise TimeoutError(f"reading {topic}: nothing for {_STALL_SECS:.0f} s")
                continue
            last_seen = time.monotonic()
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    ended.add(message.partition() or 0)
                    continue
                raise RuntimeError(f"reading {topic}: {error.str()}")
            ended.discard(message.partition() or 0)
            yield message
    finally:
        consumer.unassign()
