"""Read a whole topic, decoded, for the commands that report on it (pnl, demo, backtest)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from confluent_kafka import Consumer

from consumers.render import Received
from consumers.tail import TailRequest, tail
from infra.clients import consumer_config
from schemas.clients import Clients

__all__ = ["read_records", "read_whole_topic"]

# A topic is read to its end; this is only how long to wait for a partition that says
# nothing (no end-of-partition event either) before giving up on it.
_IDLE_SECS = 5.0


def read_records(runtime: Clients, topic: str, *, idle_secs: float = _IDLE_SECS) -> list[Received]:
    """Return every committed record of TOPIC (its full name), in partition order.

    Avro topics are decoded (a record that is not decodes to None); others, such as the
    dead letters, give their raw size.
    """
    record = runtime.record_of(topic)
    decode: Callable[[bytes], Mapping[str, Any] | None] = (
        runtime.deserializer(record) if record else (lambda b: {"bytes": len(b)})
    )
    group = f"primestream-read-{uuid.uuid4().hex[:8]}"
    consumer = Consumer(
        consumer_config(runtime.settings, runtime.endpoints.bootstrap_servers, group)
    )
    try:
        request = TailRequest(topic, from_beginning=True, max_records=None, idle_secs=idle_secs)
        return list(tail(consumer, request, decode))
    finally:
        consumer.close()


def read_whole_topic(runtime: Clients, topic: str) -> tuple[list[Mapping[str, Any]], int]:
    """Return every decodable record of TOPIC in partition order, and how many were not."""
    if runtime.record_of(topic) is None:
        raise LookupError(f"topic {topic!r} carries no Avro records")
    received = read_records(runtime, topic)
    values = [r.value for r in received if r.value is not None]
    return values, len(received) - len(values)
