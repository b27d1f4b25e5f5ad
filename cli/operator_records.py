"""What an operator command writes: one record to every partition of a control topic.

Kill, reset and cancel requests go to every partition, so each partition's agent sees
them in order with the rest of its input; the record names the operator who sent it.
"""

from __future__ import annotations

import getpass
from collections.abc import Mapping
from typing import Any

from confluent_kafka import Producer

from cli.context import fail
from infra.clients import producer_config
from infra.clock import wall_clock_us
from schemas.clients import Clients

__all__ = ["broadcast"]


def broadcast(
    runtime: Clients, table_name: str, record_type: str, fields: Mapping[str, Any], what: str
) -> int:
    """Write FIELDS (+ source, time) as RECORD_TYPE to every partition; return how many.

    WHAT names the request in the one-line errors (a missing topic, an undelivered write).
    """
    settings = runtime.settings
    topic = settings.topic(table_name)
    encode = runtime.serializer(record_type, topic)
    producer = Producer(producer_config(settings, runtime.endpoints.bootstrap_servers))
    metadata = producer.list_topics(topic, timeout=10).topics.get(topic)
    partitions = metadata.partitions if metadata is not None else {}
    if not partitions:
        fail(f"topic {topic} does not exist: run `primestream topics apply`")
    record = {
        **fields,
        "source": f"operator:{getpass.getuser()}",
        "ts_event_us": wall_clock_us(),
    }
    value = encode(record)
    for partition in sorted(partitions):
        producer.produce(topic, value, b"*", partition=partition)
    if producer.flush(30) != 0:
        fail(f"could not deliver the {what} to every partition of {topic}", code=3)
    return len(partitions)
