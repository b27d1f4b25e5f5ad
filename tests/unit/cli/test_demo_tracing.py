"""The demo's tracing act without a backend: its settings, its worker env, a trace's stages."""

from __future__ import annotations

import os

import pytest

from cli.demo_tracing import DEMO_SAMPLE_RATIO, ORDER_STAGES, exported, order_trace, traced
from infra.settings import Settings
from infra.trace_reader import TraceSpan, stage_of


def _span(span_id: str, parent: str | None, stage: str, start_us: int) -> TraceSpan:
    return TraceSpan("t", span_id, parent, f"{stage} market.quotes", None, start_us, 1, None, {})


def test_the_demo_exports_to_the_backend_and_samples_at_least_its_share() -> None:
    settings = Settings(_env_file=None, tracing_sample_ratio=0.01)  # type: ignore[call-arg]

    demo = traced(settings, "http://127.0.0.1:19411")

    assert demo.tracing_exporter == "zipkin"
    assert demo.zipkin_endpoint == "http://127.0.0.1:19411/api/v2/spans"
    assert demo.tracing_sample_ratio == DEMO_SAMPLE_RATIO
    assert (
        traced(demo.model_copy(update={"tracing_sample_ratio": 1.0}), "x").tracing_sample_ratio
        == 1.0
    )


def test_the_worker_gets_the_tracing_settings_only_while_it_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PRIMESTREAM_TRACING_EXPORTER", "console")
    monkeypatch.delenv("PRIMESTREAM_ZIPKIN_ENDPOINT", raising=False)
    demo = traced(Settings(_env_file=None), "http://127.0.0.1:19411")  # type: ignore[call-arg]

    with exported(demo):
        inside = {k: os.environ[k] for k in os.environ if k.startswith("PRIMESTREAM_")}

    assert inside["PRIMESTREAM_TRACING_EXPORTER"] == "zipkin"
    assert inside["PRIMESTREAM_ZIPKIN_ENDPOINT"] == "http://127.0.0.1:19411/api/v2/spans"
    assert Settings(_env_file=None).tracing_exporter == "console"  # type: ignore[call-arg]
    assert "PRIMESTREAM_ZIPKIN_ENDPOINT" not in os.environ


def test_an_order_trace_is_the_path_to_its_fill_and_the_position_below_it() -> None:
    spans = [
        _span("a", None, "send", 1),
        _span("b", "a", "signals", 2),
        _span("c", "b", "risk", 3),
        _span("d", "c", "order", 4),
        _span("x", "d", "orders.events", 4),  # not on the path
        _span("e", "d", "fill", 5),
        _span("f", "e", "position", 6),
    ]

    assert tuple(stage_of(s) for s in order_trace(spans, "e")) == ORDER_STAGES
    assert [stage_of(s) for s in order_trace(spans[3:], "e")] == ["order", "fill", "position"]
