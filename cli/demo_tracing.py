"""The demo's tracing act: its processes export to the local Zipkin; one order's trace is shown.

The demo records a documented share of traces (`DEMO_SAMPLE_RATIO`, or more if
PRIMESTREAM_TRACING_SAMPLE_RATIO asks for more) so that some filled orders are sampled; the
trace of one of them is read back from Zipkin's API and printed stage by stage.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Iterator, Sequence

import httpx
from confluent_kafka import Consumer
from rich.table import Table

from cli.context import console
from consumers.render import Received
from consumers.tail import TailRequest, tail
from infra.clients import consumer_config
from infra.settings import Settings
from infra.telemetry import parse_traceparent
from infra.trace_reader import TraceSpan, fetch_trace, path_to_root, stage_of
from infra.tracing_backend import spans_url, trace_ui_url, ui_url
from schemas.clients import Clients

__all__ = [
    "DEMO_SAMPLE_RATIO",
    "ORDER_STAGES",
    "exported",
    "order_trace",
    "show_order_trace",
    "traced",
]

DEMO_SAMPLE_RATIO = 0.05
"""Share of the demo's records whose traces are recorded: ~2,500 of its 50,000 quotes."""

ORDER_STAGES = ("send", "signals", "risk", "order", "fill", "position")
"""The spans of a filled order's trace, root first (see streams/trading/core.py)."""

_CANDIDATES = 25  # sampled fills whose traces are looked at, newest first
_WAIT_SECS = 20.0  # spans reach Zipkin in batches (every 5 s, and when a process exits)
_SHOWN_TAGS = ("symbol", "strategy", "order.id")


def _say(line: str) -> None:
    console.print(f"[dim]·[/dim] {line}", highlight=False)


def traced(settings: Settings, address: str) -> Settings:
    """Return SETTINGS exporting to the Zipkin at ADDRESS, sampling at least the demo's share."""
    return settings.model_copy(
        update={
            "tracing_exporter": "zipkin",
            "zipkin_endpoint": spans_url(address),
            "tracing_sample_ratio": max(settings.tracing_sample_ratio, DEMO_SAMPLE_RATIO),
        }
    )


@contextlib.contextmanager
def exported(settings: Settings) -> Iterator[None]:
    """Hand SETTINGS' tracing fields to the child processes started inside (the worker)."""
    values = {
        "PRIMESTREAM_TRACING_EXPORTER": settings.tracing_exporter,
        "PRIMESTREAM_ZIPKIN_ENDPOINT": settings.zipkin_endpoint,
        "PRIMESTREAM_TRACING_SAMPLE_RATIO": repr(settings.tracing_sample_ratio),
    }
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def order_trace(spans: Sequence[TraceSpan], fill_span_id: str) -> list[TraceSpan]:
    """Return a filled order's spans, root first: the path down to its fill, then the position.

    Complete when their stages are `ORDER_STAGES`.
    """
    path = path_to_root(spans, fill_span_id)
    moved = [s for s in spans if s.parent_id == fill_span_id and stage_of(s) == "position"]
    return [*path, *moved[:1]]


def _sampled_fills(runtime: Clients) -> list[tuple[str, str, Received]]:
    topic = runtime.settings.topic("fills")
    record = runtime.record_of(topic)
    assert record is not None
    group = f"demo-{uuid.uuid4().hex[:8]}"
    consumer = Consumer(
        consumer_config(runtime.settings, runtime.endpoints.bootstrap_servers, group)
    )
    try:
        request = TailRequest(topic, from_beginning=True, max_records=None, idle_secs=2.0)
        fills = list(tail(consumer, request, runtime.deserializer(record)))
    finally:
        consumer.close()
    found = []
    for fill in reversed(fills):
        parsed = parse_traceparent([(k, v.encode()) for k, v in fill.headers.items()])
        if parsed is not None and parsed[2]:
            found.append((parsed[0], parsed[1], fill))
    return found[:_CANDIDATES]


def _best_trace(
    address: str, candidates: Sequence[tuple[str, str, Received]]
) -> tuple[str, Received, list[TraceSpan]]:
    # The first complete trace; while none is, wait for late batches, then take the longest.
    deadline = time.monotonic() + _WAIT_SECS
    best: tuple[str, Received, list[TraceSpan]] = (candidates[0][0], candidates[0][2], [])
    with httpx.Client(timeout=5.0, trust_env=False) as client:
        while True:
            for trace_id, span_id, fill in candidates:
                spans = order_trace(fetch_trace(address, trace_id, client=client), span_id)
                if tuple(stage_of(s) for s in spans) == ORDER_STAGES:
                    return trace_id, fill, spans
                if len(spans) > len(best[2]):
                    best = (trace_id, fill, spans)
            if time.monotonic() >= deadline:
                return best
            time.sleep(1.0)


def _record(span: TraceSpan, namespace: str) -> str:
    # The Kafka record the stage was processing: topic (namespace left out), partition, offset.
    topic = span.tags.get("messaging.destination.name", "")
    where = topic.removeprefix(f"{namespace}.") if namespace else topic
    partition = span.tags.get("messaging.destination.partition.id")
    offset = span.tags.get("messaging.kafka.offset")
    return where + (f" p{partition}" if partition else "") + (f" @{offset}" if offset else "")


def _stages_table(spans: Sequence[TraceSpan], namespace: str) -> Table:
    table = Table(title="the order's trace, as Zipkin returns it", header_style="bold cyan")
    for column in ("stage", "kind", "+ms", "parent", "record", *_SHOWN_TAGS):
        table.add_column(column, overflow="fold")
    start = spans[0].start_us if spans else 0
    names = {s.span_id: stage_of(s) for s in spans}
    for span in spans:
        table.add_row(
            stage_of(span),
            span.kind or "",
            f"{(span.start_us - start) / 1000:.1f}",
            names.get(span.parent_id or "", "" if span.parent_id is None else "?"),
            _record(span, namespace),
            *(span.tags.get(tag, "") for tag in _SHOWN_TAGS),
        )
    return table


def show_order_trace(runtime: Clients, address: str) -> None:
    """Print the UI link, one sampled filled order's trace id and link, and its stages."""
    _say(f"tracing UI: [bold]{ui_url(address)}[/bold]")
    candidates = _sampled_fills(runtime)
    if not candidates:
        ratio = runtime.settings.tracing_sample_ratio
        _say(f"no filled order was sampled (ratio {ratio:g}): no order trace to show")
        return
    try:
        trace_id, fill, spans = _best_trace(address, candidates)
    except httpx.HTTPError as exc:
        _say(f"[red]the tracing backend did not answer: {exc}[/red]")
        return
    value = fill.value or {}
    what = f"{value.get('side', '')} {value.get('qty', '')} {fill.key or ''}".strip()
    order_id = value.get("order_id", "?")
    _say(f"a filled order ({what}, order {order_id}): trace [bold]{trace_id}[/bold]")
    _say(f"its trace in the UI: [bold]{trace_ui_url(address, trace_id)}[/bold]")
    console.print(_stages_table(spans, runtime.settings.namespace))
    stages = tuple(stage_of(s) for s in spans)
    if stages == ORDER_STAGES:
        _say("complete: " + " → ".join(stages) + ", each stage the parent of the next")
    else:
        missing = [stage for stage in ORDER_STAGES if stage not in stages]
        _say(f"[yellow]incomplete trace: missing {', '.join(missing)}[/yellow]")
