"""`primestream replay --into NAMESPACE`: recorded topics republished into a namespace."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

import typer
from confluent_kafka import Consumer, KafkaException, Producer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeRemainingColumn,
)

from cli.context import console, err_console, fail
from consumers.replay import Recorded, merge, paced, read_partitions
from infra.clients import consumer_config, producer_config
from infra.settings import Settings
from infra.topics import topic_specs
from schemas.clients import Clients

__all__ = ["replay_command"]

_INPUTS = "market.quotes,market.bars,news.items"


def replay_command(
    into: str = typer.Option(..., "--into", help="Namespace to replay into (never live)."),
    topics: str = typer.Option(_INPUTS, "--topics", help="Comma-separated topics, in merge order."),
    start: str = typer.Option(None, "--from", help="First ingest time (ISO 8601, UTC if no zone)."),
    end: str = typer.Option(None, "--to", help="End of the range (exclusive), ISO 8601."),
    speed: str = typer.Option("max", "--speed", help="max, or N: N times the recorded pace."),
) -> None:
    """Republish recorded topics into INTO in one stable order, as fast or paced."""
    from consumers.export import parse_time  # with pyarrow: not for every command

    runtime = Clients()
    source = runtime.settings
    if not into or into == source.namespace:
        fail(f"--into must name another namespace than the source ({source.namespace or 'live'})")
    try:
        start_ms, end_ms = (parse_time(t) if t else None for t in (start, end))
        pace = None if speed == "max" else float(speed)
    except ValueError as exc:
        fail(str(exc) if "ISO" in str(exc) else f"--speed must be max or a number, not {speed!r}")
    if pace is not None and pace <= 0:
        fail(f"--speed must be positive, not {speed}")
    tables = [t.strip() for t in topics.split(",") if t.strip()]
    known = {spec.name for spec in topic_specs(source)}
    unknown = [t for t in tables if t not in known]
    if unknown:
        fail(f"unknown topic(s) {', '.join(unknown)}: see `primestream topics list`")
    target = source.model_copy(update={"namespace": into})
    _ensure_topics(target)
    group = f"primestream-replay-{uuid.uuid4().hex[:8]}"
    consumer = Consumer(consumer_config(source, runtime.endpoints.bootstrap_servers, group))
    producer = Producer(producer_config(source, runtime.endpoints.bootstrap_servers))
    try:
        partitions = []
        for rank, table in enumerate(tables):
            record = runtime.record_of(source.topic(table))
            decode = runtime.deserializer(record) if record else (lambda _b: None)
            partitions += read_partitions(
                consumer, source.topic(table), table, rank, decode, start_ms=start_ms, end_ms=end_ms
            )
        total = sum(len(p) for p in partitions)
        sent = _publish(producer, target, merge(partitions), total, pace)
    except (LookupError, KafkaException, RuntimeError) as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        producer.flush(30)
        fail("interrupted: the namespace holds a partial replay", code=130)
    finally:
        consumer.close()
    console.print(f"replayed {sent:,} records of {', '.join(tables)} into namespace {into}")


def _publish(
    producer: Producer,
    target: Settings,
    records: Iterable[Recorded],
    total: int,
    pace: float | None,
) -> int:
    columns = (TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn())
    sent = 0
    with Progress(*columns, TimeRemainingColumn(), console=err_console) as progress:
        task = progress.add_task("replay", total=total)
        for record in paced(records, pace):
            topic = target.topic(record.table)
            while True:
                try:
                    producer.produce(
                        topic, record.value, record.key, partition=record.partition,
                        timestamp=record.timestamp_ms, headers=record.headers,
                    )  # fmt: skip
                    break
                except BufferError:
                    producer.poll(0.1)
            producer.poll(0)
            sent += 1
            progress.advance(task)
        producer.flush(60)
    return sent


def _ensure_topics(target: Settings) -> None:
    from cli.topic_commands import apply_all

    apply_all(Clients(target))
