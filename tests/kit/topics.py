"""Read whole topics back, decoded, for assertions on what actually landed in Kafka."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from confluent_kafka import Consumer

from cli.context import Runtime
from consumers.render import Received
from consumers.tail import TailRequest, tail
from infra.clients import consumer_config

__all__ = ["RawMessage", "read_raw", "read_topic"]


def read_topic(runtime: Runtime, topic: str, *, idle_secs: float = 3.0) -> list[Received]:
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


def read_raw(runtime: Runtime, topic: str, *, idle_secs: float = 2.0) -> list[RawMessage]:
    """Return every committed record of TOPIC undecoded, in (partition, offset) order."""
    group = f"test-raw-{uuid.uuid4().hex[:8]}"
    consumer = Consumer(
        consumer_config(runtime.settings, runtime.endpoints.bootstrap_servers, group)
    )
    out: list[RawMessage] = []
    try:
        consumer.subscribe([topic])
        quiet_since = time.monotonic()
        while time.monotonic() - quiet_since < idle_secs:
            msg = consumer.poll(0.2)
            if msg is None or msg.error():
                continue
            quiet_since = time.monotonic()
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
