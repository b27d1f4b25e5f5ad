"""The project's own Zipkin holds the complete trace of one paper order, read back by trace id.

A scripted path (mids 10, 10, 10, 11, 12 under a 2/3 SMA crossover) makes one BUY signal on
quote 3 and its fill on quote 4. Everything is sampled (ratio 1.0); the fill record's
`traceparent` names the trace and the fill's span, and Zipkin's API must return the chain
send → signals → risk → order → fill → position, each span the parent of the next.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from infra import local
from infra.local import Endpoints
from infra.settings import Settings
from infra.telemetry import parse_traceparent
from infra.trace_reader import TraceSpan, fetch_trace, stage_of
from infra.tracing_backend import spans_url, ui_url
from streams.context import app_id
from tests.integration.conftest import Scope
from tests.kit.topics import RawMessage, read_raw
from tests.kit.waiting import eventually
from tests.kit.worker import WorkerProcess

pytestmark = pytest.mark.integration

_MIDS = (10, 10, 10, 11, 12)
_CONFIG = """
[strategies.cross]
kind = "ma_cross"
symbols = "*"
params = { fast = 2, slow = 3, ma = "sma" }

[risk]
min_confidence = 0.0
cooldown_secs = 0.0
calendar = "none"

[sizing."*"]
kind = "fixed_qty"
qty = 100.0
"""
_STAGES = ["send", "signals", "risk", "order", "fill", "position"]


@pytest.fixture(scope="module")
def tracing_settings(
    endpoints: Endpoints, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Settings]:
    """A home of its own holding only the tracing backend (the broker is the session's)."""
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        home=tmp_path_factory.mktemp("tracing-home"),
        bootstrap_servers=endpoints.bootstrap_servers,
        tracing_port=0,
    )
    try:
        local.up(settings, with_registry=False, with_tracing=True)
    except Exception as exc:
        pytest.fail(f"the local tracing backend could not start: {exc}", pytrace=False)
    try:
        yield settings
    finally:
        lines = local.down(settings)
        assert any(line.startswith("tracing: stopped") for line in lines), lines


@pytest.fixture(scope="module")
def zipkin(tracing_settings: Settings) -> str:
    (service,) = [s for s in local.status(tracing_settings) if s.name == "tracing"]
    assert service.running
    assert service.address is not None
    return service.address


@pytest.fixture
def traced(scope: Scope, zipkin: str) -> Scope:
    """SCOPE whose CLI processes sample every record and export to the local Zipkin."""
    env = {
        **scope.env,
        "PRIMESTREAM_TRACING_EXPORTER": "zipkin",
        "PRIMESTREAM_ZIPKIN_ENDPOINT": spans_url(zipkin),
        "PRIMESTREAM_TRACING_SAMPLE_RATIO": "1.0",
        "OTEL_BSP_SCHEDULE_DELAY": "200",  # export spans within 0.2 s, not 5 s
    }
    return dataclasses.replace(scope, env=env)


@pytest.fixture
def worker(traced: Scope, tmp_path: Path) -> Iterator[WorkerProcess]:
    config = tmp_path / "desk.toml"
    config.write_text(_CONFIG)
    env = {**traced.env, "PRIMESTREAM_TRADING_MODE": "paper"}
    process = WorkerProcess(env, ["--strategies", str(config)], tmp_path / "worker.log")
    yield process
    process.stop()
    sys.stderr.write(process.tail())


def test_status_lists_the_running_backend_and_its_ui_answers(
    tracing_settings: Settings, zipkin: str
) -> None:
    (service,) = [s for s in local.status(tracing_settings) if s.name == "tracing"]

    assert service.version is not None
    assert service.version.startswith("3.")
    assert httpx.get(ui_url(zipkin), follow_redirects=True, trust_env=False).status_code == 200


def _trace_of(message: RawMessage) -> tuple[str, str]:
    parsed = parse_traceparent(message.headers)
    assert parsed is not None
    trace_id, span_id, sampled = parsed
    assert sampled
    return trace_id, span_id


def _order_chain(spans: list[TraceSpan], fill_span_id: str) -> list[TraceSpan]:
    by_id = {span.span_id: span for span in spans}
    chain: list[TraceSpan] = []
    current = by_id.get(fill_span_id)
    while current is not None:
        chain.insert(0, current)
        current = by_id.get(current.parent_id or "")
    chain += [s for s in spans if s.parent_id == fill_span_id]
    return chain


def _whole(chain: list[TraceSpan]) -> list[TraceSpan]:
    # Spans arrive in batches from two processes: wait until every stage is in.
    return chain if len(chain) == len(_STAGES) else []


def test_one_filled_order_has_its_whole_trace_in_zipkin(
    traced: Scope,
    zipkin: str,
    worker: WorkerProcess,
    tmp_path: Path,
    tracing_settings: Settings,
) -> None:
    quotes_csv = tmp_path / "acme.csv"
    rows = ["symbol,ts,bid,ask,bid_size,ask_size"]
    rows += [
        f"ACME,2024-01-02T14:30:{i:02d}Z,{mid - 0.01:.2f},{mid + 0.01:.2f},1000,1000"
        for i, mid in enumerate(_MIDS)
    ]
    quotes_csv.write_text("\n".join(rows) + "\n")
    traced.cli("produce", "market", "--source", f"csv:{quotes_csv}")
    worker.start()

    fills = eventually(
        lambda: read_raw(traced.runtime, traced.topic("fills")),
        timeout=120,
        message="a fill",
    )
    trace_id, fill_span_id = _trace_of(fills[0])
    chain = eventually(
        lambda: _whole(_order_chain(fetch_trace(zipkin, trace_id), fill_span_id)),
        timeout=30,
        message="the order's trace in Zipkin",
    )
    quotes = read_raw(traced.runtime, traced.topic("market.quotes"))
    (order,) = read_raw(traced.runtime, traced.topic("orders"))
    position = read_raw(traced.runtime, traced.topic("positions"))[0]  # then marks

    # the stages, in causal and time order, each the parent of the next
    assert [stage_of(s) for s in chain] == _STAGES
    assert {s.trace_id for s in chain} == {trace_id}
    assert chain[0].parent_id is None
    assert [s.parent_id for s in chain[1:]] == [s.span_id for s in chain[:-1]]
    assert [s.start_us for s in chain] == sorted(s.start_us for s in chain)
    assert [s.kind for s in chain] == ["PRODUCER"] + ["CONSUMER"] * 5
    assert {s.service for s in chain} == {"primestream"}
    send, signals, risk, taken, fill, moved = chain
    # each record carries its own stage's context
    assert _trace_of(quotes[3]) == (trace_id, send.span_id)  # mid 11: the crossover
    assert _trace_of(order) == (trace_id, risk.span_id)
    assert _trace_of(position) == (trace_id, moved.span_id)

    # messaging attributes: the quote each stage was processing (signal on 3, fill on 4)
    quotes_topic = traced.topic("market.quotes")
    assert send.tags["messaging.system"] == "kafka"
    assert send.tags["messaging.destination.name"] == quotes_topic
    group = app_id(traced.settings)
    for span, quote in [(signals, 3), (risk, 3), (taken, 3), (fill, 4), (moved, 4)]:
        assert span.tags["messaging.system"] == "kafka", span.name
        assert span.tags["messaging.destination.name"] == quotes_topic, span.name
        assert span.tags["messaging.destination.partition.id"] == str(quotes[quote].partition)
        assert span.tags["messaging.kafka.offset"] == str(quotes[quote].offset), span.name
        assert span.tags["messaging.consumer.group.name"] == group, span.name
        assert span.tags["messaging.kafka.message.key"] == "ACME", span.name

    # domain attributes where they apply
    assert all(s.tags["symbol"] == "ACME" for s in chain)
    assert [s.tags.get("strategy") for s in (signals, risk, taken)] == ["cross"] * 3
    order_id = fill.tags["order.id"]
    assert [s.tags.get("order.id") for s in (risk, taken, moved)] == [order_id] * 3
    assert taken.tags["order.side"] == "BUY"
    assert fill.tags["fill.id"]
    assert moved.tags["account"] == "default"

    # the performance analyzer reads these traces back: per-stage figures, and its gate
    perf_env = {**traced.env, "PRIMESTREAM_HOME": str(tracing_settings.home)}
    perf = dataclasses.replace(traced, env=perf_env)
    report = json.loads(perf.cli("perf", "report", "--since", "10m", "--json").stdout)
    stages = {s["stage"]: s for s in report["stages"]}
    assert report["sample_ratio"] == 1.0, "read from the producer's spans"
    assert all(stages[s]["spans"] >= 1 for s in _STAGES)
    assert stages["fill"]["p99_ms"] >= stages["signals"]["p50_ms"] > 0.0
    strict, lenient = tmp_path / "strict.toml", tmp_path / "lenient.toml"
    strict.write_text("[perf.targets.fill]\nmax_p99_ms = 0.001\n")
    lenient.write_text(
        "[perf.targets.fill]\nmax_p99_ms = 3600000\n[perf.targets.signals]\nmax_p99_ms = 3600000\n"
    )
    gated = perf.cli("perf", "report", "--targets", str(strict), "--fail-over-target", check=False)
    assert gated.returncode == 1
    assert "OVER TARGET" in gated.stdout
    assert (
        perf.cli("perf", "report", "--targets", str(lenient), "--fail-over-target").returncode == 0
    )
