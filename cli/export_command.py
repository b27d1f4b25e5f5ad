"""`primestream export TOPIC --to FILE.parquet`: decoded records, typed columns, by time."""

from __future__ import annotations

from pathlib import Path

import typer
from confluent_kafka import KafkaException
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from cli.context import console, err_console, fail
from schemas.clients import Clients

__all__ = ["export_command"]


def export_command(
    topic: str = typer.Argument(..., help="Topic to export (namespace applied to table names)."),
    to: Path = typer.Option(..., "--to", help="Parquet file to write."),
    start: str = typer.Option(None, "--from", help="First event time (ISO 8601, UTC if no zone)."),
    end: str = typer.Option(None, "--until", help="End of the range (exclusive), ISO 8601."),
) -> None:
    """Write TOPIC's decoded records to Parquet, one typed column per field."""
    # pyarrow loads only for an export, not for every command.
    from consumers.columns import records_table
    from consumers.export import ExportStats, export_consumer, parse_time, read_rows

    if to.suffix != ".parquet":
        fail(f"--to must name a .parquet file, not {str(to)!r}")
    try:
        start_ms = parse_time(start) if start else None
        end_ms = parse_time(end) if end else None
    except ValueError as exc:
        fail(str(exc))
    runtime = Clients()
    ns = runtime.settings.namespace
    name = topic if ns and topic.startswith(ns + ".") else runtime.settings.topic(topic)
    try:
        record = runtime.record_of(name)
    except LookupError as exc:
        fail(str(exc))
    if record is None:
        fail(f"topic {name!r} carries raw records (dead letters): use `primestream tail`")
    stats = ExportStats()
    consumer = export_consumer(runtime)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    try:
        with Progress(*columns, TimeRemainingColumn(), console=err_console) as progress:
            task = progress.add_task(f"reading {name}", total=None)
            rows = list(
                read_rows(
                    consumer, name, runtime.deserializer(record), stats,
                    start_ms=start_ms, end_ms=end_ms,
                    on_total=lambda n: progress.update(task, total=n),
                    on_read=lambda n: progress.advance(task, n),
                )
            )  # fmt: skip
    except (LookupError, KafkaException, RuntimeError) as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        fail("interrupted: nothing written", code=130)
    finally:
        consumer.close()
    import pyarrow.parquet as pq

    to.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(records_table(rows, record), to)
    console.print(f"wrote {stats.rows:,} {record} records of {name} to {to}")
    if stats.undecodable:
        for line in stats.errors:
            err_console.print(f"  skipped {line}", highlight=False)
        fail(f"{stats.undecodable:,} undecodable record(s) skipped (see above)", code=1)
