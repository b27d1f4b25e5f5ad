"""Read whole topics back, decoded, for assertions on what actually landed in Kafka."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

from consumers.render import Received
from consumers.tail import TailRequest, tail
from infra.clients import consumer_config
from schemas.clients import Clients

__all__ = ["RawMessage", "read_raw", "read_topic", "wait_settled"]


def read_topic(runtime: Clients, topic: str, *, idle_secs: float = 3.0) -> list[Received]:
    """Return every record of TOPIC (namespaced name), decoded with its table's schema."""
    record = runtime.record_of(topic)
    decode = runtime.deserializer(record) if record else (lambda b: {"raw": b})
    group = f"test-read-{uuid.uuid4().hex[:8]}"
    consumer = Consumer(
        consumer_config(runtime.settings, runtime.endpoints.bootstrap_servers, group)
    )
    try:
        request = TailRequest(topic, from_beginning=True, max_records=None, idle_secs=idle_secs)
        return list(tail(consumer, request, decode))
    finally:
        consumer.close()


@dataclass(frozen=True)
class RawMessage:
    """One record as it sits in Kafka: coordinates, key, value bytes, headers."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes]]


def read_raw(runtime: Clients, topic: str) -> list[RawMessage]:
    """Return every committed record of TOPIC undecoded, in (partition, offset) order.

    Reads each partition from its start to its end (read_committed: the last stable
    offset), not until a quiet spell: a slow group join or fetch cannot cut it short.
    """
    group = f"test-raw-{uuid.uuid4().hex[:8]}"
    consumer = Consumer(
        consumer_config(runtime.settings, runtime.endpoints.bootstrap_servers, group)
    )
    out: list[RawMessage] = []
    try:
        consumer.assign(
            [TopicPartition(topic, p, OFFSET_BEGINNING) for p in _partitions(consumer, topic)]
        )
        ended: set[int] = set()
        deadline = time.monotonic() + 120.0
        while len(ended) < len(consumer.assignment()):
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: partitions {sorted(ended)} ended, not all, in 120 s")
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            if msg.error() is not None:
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    ended.add(msg.partition() or 0)
                    continue
                raise RuntimeError(f"{topic}: {msg.error()}")
            ended.discard(msg.partition() or 0)
            out.append(
                RawMessage(
                    msg.topic(),
                    msg.partition(),
                    msg.offset(),
                    msg.key(),
                    msg.value(),
                    [(k, v or b"") for k, v in msg.headers() or ()],
                )
            )
    finally:
        consumer.close()
    return sorted(out, key=lambda m: (m.partition, m.offset))


def wait_settled(runtime: Clients, topics: list[str], *, timeout: float = 120.0) -> None:
    """Wait until no transaction is open on any partition of TOPICS.

    A transaction's markers reach its partitions one by one: its input offsets can show
    committed while a partition it wrote still ends, for read_committed readers, before
    its records (last stable offset below the high watermark). Reading then misses them.
    """
    servers = runtime.endpoints.bootstrap_servers
    group = f"test-settle-{uuid.uuid4().hex[:8]}"
    committed = Consumer(consumer_config(runtime.settings, servers, group))
    everything = Consumer(
        consumer_config(runtime.settings, servers, group, **{"isolation.level": "read_uncommitted"})
    )
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in _partitions(committed, t)]
        deadline = time.monotonic() + timeout
        while True:
            open_ = {
                f"{tp.topic}[{tp.partition}]": (stable, high)
                for tp in partitions
                if (stable := committed.get_watermark_offsets(tp, timeout=10, cached=False)[1])
                != (high := everything.get_watermark_offsets(tp, timeout=10, cached=False)[1])
            }
            if not open_:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"transactions still open after {timeout:.0f} s: {open_}")
            time.sleep(0.2)
    finally:
        committed.close()
        everything.close()


def _partitions(consumer: Consumer, topic: str) -> list[int]:
    metadata = consumer.list_topics(topic, timeout=10).topics.get(topic)
    if metadata is None or metadata.error is not None or not metadata.partitions:
        raise LookupError(f"topic {topic!r} does not exist")
    return sorted(metadata.partitions)
