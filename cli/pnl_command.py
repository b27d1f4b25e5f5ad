"""`primestream pnl`: P&L per symbol and in total, from the fills and positions topics."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import typer
from confluent_kafka import Consumer

from cli.context import Runtime, console, err_console, fail
from consumers.pnl import InvalidFillError, pnl_report
from consumers.pnl_render import empty_line, report_json, report_view
from consumers.tail import TailRequest, tail
from infra.clients import consumer_config

__all__ = ["pnl_command"]

# A topic is read to its end; this is only how long to wait for a partition that says
# nothing (no end-of-partition event either) before giving up on it.
_IDLE_SECS = 5.0


def _read_topic(runtime: Runtime, topic: str) -> tuple[list[Mapping[str, Any]], int]:
    """Return every decodable record of TOPIC in partition order, and how many were not."""
    record = runtime.record_of(topic)
    if record is None:
        raise LookupError(f"topic {topic!r} carries no Avro records")
    decode = runtime.deserializer(record)
    group = f"primestream-pnl-{uuid.uuid4().hex[:8]}"
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


def pnl_command(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document (for machines)."),
    account: str | None = typer.Option(None, "--account", help="Only this trading account."),
) -> None:
    """Print realized and unrealized P&L, fees, exposure, trade stats and max drawdown."""
    runtime = Runtime()
    fills_topic = runtime.settings.topic("fills")
    positions_topic = runtime.settings.topic("positions")
    try:
        fills, bad_fills = _read_topic(runtime, fills_topic)
        positions, bad_positions = _read_topic(runtime, positions_topic)
        report = pnl_report(fills, positions, account=account)
    except (LookupError, InvalidFillError) as exc:
        fail(str(exc))
    if as_json:
        # Plain text: JSON brackets must not be read as rich markup, nor long lines wrapped.
        console.print(report_json(report), markup=False, highlight=False, soft_wrap=True)
    elif report.fills == 0:
        console.print(empty_line(fills_topic, account), highlight=False)
    else:
        console.print(report_view(report))
    for topic, bad in ((fills_topic, bad_fills), (positions_topic, bad_positions)):
        if bad:
            err_console.print(
                f"[yellow]warning:[/yellow] skipped {bad} undecodable records of {topic}",
                highlight=False,
            )
    if bad_fills or bad_positions:  # the report is incomplete: say so in the exit code
        raise typer.Exit(1)
