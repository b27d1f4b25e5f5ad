"""Read whole topics back, decoded, for assertions on what actually landed in Kafka."""

from __future__ import annotations

import uuid

from confluent_kafka import Consumer

from cli.context import Runtime
from consumers.render import Received
from consumers.tail import TailRequest, tail
from infra.clients import consumer_config

__all__ = ["read_topic"]


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
