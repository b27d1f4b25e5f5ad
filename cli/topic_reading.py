"""Read a whole topic, decoded, for the commands that report on it (pnl, live start)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from confluent_kafka import Consumer

from cli.context import Runtime
from consumers.tail import TailRequest, tail
from infra.clients import consumer_config

__all__ = ["read_whole_topic"]

# A topic is read to its end; this is only how long to wait for a partition that says
# nothing (no end-of-partition event either) before giving up on it.
_IDLE_SECS = 5.0


def read_whole_topic(runtime: Runtime, topic: str) -> tuple[list[Mapping[str, Any]], int]:
    """Return every decodable record of TOPIC in partition order, and how many were not."""
    record = runtime.record_of(topic)
    if record is None:
        raise LookupError(f"topic {topic!r} carries no Avro records")
    decode = runtime.deserializer(record)
    group = f"primestream-read-{uuid.uuid4().hex[:8]}"
    consumer = Consumer(
        consumer_config(runtime.settings, runtime.endpoints.bootstrap_servers, group)
    )
    values: list[Mapping[str, Any]] = []
    undecodable = 0
    try:
        request = TailRequest(topic, from_beginning=True, max_records=None, idle_secs=_IDLE_SECS)
        for received in tail(consumer, request, decode):
            if received.value is None:
                undecodable += 1
            else:
                values.append(received.value)
    finally:
        consumer.close()
    return values, undecodable
