"""`primestream tail TOPIC`: decoded records as a readable table or JSON lines."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import typer
from confluent_kafka import Consumer

from cli.context import console, fail
from consumers.deadletter_render import tail_view
from consumers.render import Received, record_line, records_table, to_json_line
from consumers.tail import TailRequest, tail
from infra.clients import consumer_config
from schemas.clients import Clients

__all__ = ["tail_command"]

_TABLE_BATCH = 50

Decoder = Callable[[bytes], Mapping[str, Any] | None]


def _raw(data: bytes) -> Mapping[str, Any]:
    return {"bytes": len(data), "hex": data[:48].hex()}


def _records(
    runtime: Clients, consumer: Consumer, request: TailRequest, decode: Decoder
) -> Iterator[Received]:
    records = tail(consumer, request, decode)
    if request.topic == runtime.settings.topic("deadletter"):
        return map(tail_view, records)  # the headers say why: show it beside the bytes
    return records


def tail_command(
    topic: str = typer.Argument(
        ..., help="Topic to read (namespace applied if it is a table name)."
    ),
    from_beginning: bool = typer.Option(
        False, "--from-beginning", help="Start at the oldest record."
    ),
    max_records: int = typer.Option(20, "--max", help="Stop after N records (0: no limit)."),
    follow: bool = typer.Option(False, "--follow", "-f", help="Keep waiting for new records."),
    key: str = typer.Option(None, "--key", help="Only records with this key (symbol)."),
    output: str = typer.Option("table", "--output", "-o", help="table or json"),
) -> None:
    """Print decoded records of TOPIC."""
    runtime = Clients()
    if output not in ("table", "json"):
        fail(f"--output must be table or json, not {output!r}")
    ns = runtime.settings.namespace
    name = topic if ns and topic.startswith(ns + ".") else runtime.settings.topic(topic)
    try:
        record = runtime.record_of(name)
    except LookupError as exc:
        fail(str(exc))
    decode = runtime.deserializer(record) if record else _raw
    request = TailRequest(
        name, from_beginning=from_beginning, max_records=max_records or None, follow=follow, key=key
    )
    group = f"primestream-tail-{uuid.uuid4().hex[:8]}"
    consumer = Consumer(
        consumer_config(
            runtime.settings,
            runtime.endpoints.bootstrap_servers,
            group,
            **{"enable.auto.commit": False},
        )
    )
    batch: list[Received] = []
    try:
        for received in _records(runtime, consumer, request, decode):
            if output == "json":
                console.print(to_json_line(received), highlight=False, soft_wrap=True)
                continue
            if follow:  # one aligned line per record as it arrives; a table needs the batch
                console.print(record_line(received), highlight=False, soft_wrap=True)
                continue
            batch.append(received)
            if len(batch) >= _TABLE_BATCH:
                console.print(records_table(name, batch))
                batch = []
    except LookupError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
    if batch:
        console.print(records_table(name, batch))
