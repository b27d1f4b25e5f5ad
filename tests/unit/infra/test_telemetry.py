import re

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from infra.settings import Settings
from infra.telemetry import RecordTracer, parse_traceparent, setup_tracing

_TRACEPARENT = re.compile(rb"^00-[0-9a-f]{32}-[0-9a-f]{16}-0[0-3]$")


def test_every_record_gets_a_valid_unsampled_traceparent_when_tracing_is_off() -> None:
    tracer = RecordTracer(None, 1.0, seed=1)

    headers = [tracer.start("market.quotes", "AAPL")[0] for _ in range(1000)]

    values = [dict(h)["traceparent"] for h in headers]
    assert all(_TRACEPARENT.match(v) for v in values)
    assert all(v.endswith(b"-00") for v in values)
    assert len(set(values)) == 1000


def test_sampled_records_get_a_recorded_producer_span_with_messaging_attributes() -> None:
    exporter = InMemorySpanExporter()
    settings = Settings(_env_file=None, tracing_sample_ratio=1.0)  # type: ignore[call-arg]
    tracing = setup_tracing(settings, exporter=exporter)
    assert tracing is not None
    tracer = RecordTracer(tracing, 1.0, seed=1)

    headers, span = tracer.start("market.quotes", "AAPL", partition=2)
    assert span is not None
    span.end()
    tracing.shutdown()

    (finished,) = exporter.get_finished_spans()
    trace_id, span_id, sampled = parse_traceparent(headers) or ("", "", False)
    assert sampled
    assert trace_id == f"{finished.context.trace_id:032x}"
    assert span_id == f"{finished.context.span_id:016x}"
    attrs = dict(finished.attributes or {})
    assert attrs["messaging.system"] == "kafka"
    assert attrs["messaging.destination.name"] == "market.quotes"
    assert attrs["messaging.destination.partition.id"] == "2"


def test_sampling_ratio_is_applied_once() -> None:
    exporter = InMemorySpanExporter()
    settings = Settings(_env_file=None, tracing_sample_ratio=0.1)  # type: ignore[call-arg]
    tracing = setup_tracing(settings, exporter=exporter)
    tracer = RecordTracer(tracing, 0.1, seed=42)

    for _ in range(20_000):
        _, span = tracer.start("market.quotes", "AAPL")
        if span is not None:
            span.end()
    assert tracing is not None
    tracing.shutdown()

    # Binomial(20000, 0.1): mean 2000, sd ~42; a double-applied ratio would give ~200.
    assert 1800 < len(exporter.get_finished_spans()) < 2200


def test_parse_traceparent_rejects_garbage() -> None:
    assert parse_traceparent([("traceparent", b"nonsense")]) is None
    assert parse_traceparent(None) is None
    assert parse_traceparent({"other": b"x"}) is None
