"""The paper desk's spans: one trace per sampled quote, signals → risk → order → fill → position."""

from __future__ import annotations

import dataclasses
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from infra.settings import Settings
from infra.stage_tracing import StageTracer
from infra.telemetry import Tracing, parse_traceparent, setup_tracing
from streams.edge import OutRecord
from streams.trading import TRACED_STAGES, TradingCore
from tests.kit.desk import avro_decoders, offline_desk, scripted_quotes


def _desk(tracing: Tracing | None) -> TradingCore:
    tracers = {s: StageTracer(tracing, s, "desk-group") for s in TRACED_STAGES}
    return offline_desk(avro_decoders("market.quotes"), tracers=tracers)


def _run(tracing: Tracing | None, flags: str) -> dict[str, list[OutRecord]]:
    """Run the path one quote a batch (open orders' trace headers go through the table)."""
    desk = _desk(tracing)
    tables: dict[str, dict[str, Any]] = {name: {} for name in desk.tables()}
    loaders = {name: table.get for name, table in tables.items()}
    topics: dict[str, list[OutRecord]] = {}
    for raw in scripted_quotes():
        parent = f"00-{raw.offset + 1:032x}-{raw.offset + 1:016x}-{flags}".encode()
        out = desk.process([dataclasses.replace(raw, headers=[("traceparent", parent)])], loaders)
        for name, record in out.records:
            topics.setdefault(name, []).append(record)
        for table, key in out.changed:
            tables[table][key] = desk.state(table, key)
        desk.forget()
    return topics


def _span_id(record: OutRecord) -> int:
    parsed = parse_traceparent(list(record.headers))
    assert parsed is not None
    return int(parsed[1], 16)


def test_a_sampled_quote_traces_its_order_through_every_stage() -> None:
    exporter = InMemorySpanExporter()
    settings = Settings(_env_file=None, tracing_sample_ratio=0.0)  # type: ignore[call-arg]
    tracing = setup_tracing(settings, exporter=exporter)
    assert tracing is not None

    topics = _run(tracing, "01")
    tracing.provider.force_flush()

    spans: list[ReadableSpan] = [
        s
        for s in exporter.get_finished_spans()
        if s.context.trace_id == 4  # quote 3's trace
    ]
    names = [s.name.split(" ")[0] for s in spans]
    assert names == ["signals", "risk", "order", "fill", "position"]
    parents = [s.parent.span_id if s.parent else None for s in spans]
    assert parents == [4, *(s.context.span_id for s in spans[:-1])]  # quote 3's span id is 4
    offsets = [s.attributes["messaging.kafka.offset"] for s in spans if s.attributes]
    assert offsets == [3, 3, 3, 4, 4]  # the signal's quote, then the quote that filled it
    _signals, risk, order, fill, position = spans
    assert _span_id(topics["orders"][0]) == risk.context.span_id
    assert _span_id(topics["fills"][0]) == fill.context.span_id
    assert _span_id(topics["positions"][0]) == position.context.span_id
    assert order.attributes is not None
    assert order.attributes["order.id"] == topics["orders"][0].value["id"]
    assert order.attributes["messaging.consumer.group.name"] == "desk-group"


def test_unsampled_or_untraced_quotes_pass_their_traceparent_to_the_fill() -> None:
    exporter = InMemorySpanExporter()
    tracing = setup_tracing(Settings(_env_file=None), exporter=exporter)  # type: ignore[call-arg]

    for topics in (_run(tracing, "00"), _run(None, "01")):
        assert [_span_id(f) for f in topics["fills"]] == [4, 6]  # quotes 3 and 5 signalled

    assert exporter.get_finished_spans() == ()
