"""A batch of raw records through decode, engines and dead-lettering (alert-only core), no Kafka."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from infra.settings import Settings
from infra.stage_tracing import StageTracer
from infra.telemetry import parse_traceparent, setup_tracing
from schemas.codec import deserializer_for, serializer_for
from streams.engine import EngineSettings
from streams.risk.config import RiskConfig
from streams.strategies import parse_config
from streams.trading import LEDGERS, RISK, SIGNALS, TRACED_STAGES, TradingCore
from tests.kit import stubs
from tests.kit.desk import PAPER_LIMITS

_CONFIG = parse_config(
    {
        "strategies": {
            "sma_cross": {
                "kind": "ma_cross",
                "symbols": "*",
                "params": {"fast": 2, "slow": 3, "ma": "sma"},
            }
        }
    }
)
_ENCODE = serializer_for("Quote", registry=None)


@dataclass(frozen=True)
class _Raw:
    value: bytes | None
    key: bytes | None
    offset: int
    topic: str = "market.quotes"
    partition: int = 0
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def _quotes(prices: list[float], symbol: str = "AAPL") -> list[_Raw]:
    return [
        _Raw(
            _ENCODE(
                stubs.quote(
                    symbol,
                    bid=p - 0.01,
                    ask=p + 0.01,
                    ts_event_us=stubs.T0_US + i * 1_000_000,
                    seq=i,
                )
            ),
            symbol.encode(),
            i,
            headers=[("traceparent", f"00-{i:032x}-{1:016x}-01".encode())],
        )
        for i, p in enumerate(prices)
    ]


_ALERTS = RiskConfig(mode="alert-only", limits=PAPER_LIMITS)
_DECODERS = {"market.quotes": ("Quote", deserializer_for("Quote", registry=None))}


def _processor(tracers: dict[str, StageTracer] | None = None) -> TradingCore:
    return TradingCore(
        _CONFIG, EngineSettings(), _ALERTS, partitions=1, decoders=_DECODERS, tracers=tracers
    )


def _none(_key: str) -> dict[str, Any] | None:
    return None


_no_state = {SIGNALS: _none, RISK: _none, LEDGERS: _none}


def test_quotes_become_signals_that_continue_the_trigger_trace() -> None:
    result = _processor().process(_quotes([10, 10, 10, 11, 12, 9, 8]), _no_state)

    assert [s["side"] for s in result.of("signals")] == ["BUY", "SELL"]
    assert result.outs("signals")[0].key == b"AAPL"
    assert result.outs("signals")[0].headers == [
        ("traceparent", f"00-{3:032x}-{1:016x}-01".encode())
    ]
    assert result.changed == {(SIGNALS, "AAPL"), (RISK, "partition-0"), (LEDGERS, "AAPL")}
    assert [a["signal_id"] for a in result.of("alerts")] == [s["id"] for s in result.of("signals")]
    assert result.processed == 7


def test_garbage_is_dead_lettered_with_its_reason_and_the_stream_goes_on() -> None:
    records = _quotes([10, 10, 10, 11])
    records.insert(2, _Raw(b"{not avro}", b"AAPL", 99))

    result = _processor().process(records, _no_state)

    (dead,) = result.deadletters
    headers = {k: v.decode() for k, v in dead.headers}
    assert dead.value == b"{not avro}"
    assert headers["deadletter.error.type"] == "DecodeError"
    assert headers["deadletter.source.offset"] == "99"
    assert [s["side"] for s in result.of("signals")] == ["BUY"]


def test_a_key_that_disagrees_with_the_symbol_is_dead_lettered() -> None:
    (raw,) = _quotes([10])
    wrong = _Raw(raw.value, b"MSFT", 0)

    result = _processor().process([wrong], _no_state)

    assert {k: v.decode() for k, v in result.deadletters[0].headers}[
        "deadletter.error.type"
    ] == "KeyMismatch"


def test_engines_resume_from_table_state() -> None:
    records = _quotes([10, 10, 10, 11, 12, 9, 8])
    first = _processor()
    first.process(records[:4], _no_state)
    table = {s: e.state() for s, e in first.engines.items()}

    resumed = _processor().process(records[4:], {**_no_state, SIGNALS: table.get})

    assert [s["side"] for s in resumed.of("signals")] == ["SELL"]


def test_a_version_1_risk_book_has_its_ledgers_written_to_their_own_table() -> None:
    # Before the ledgers had a table of their own they rode inside the partition's book.
    first = _processor()
    first.process(_quotes([10, 10, 10, 11, 12, 9, 8]) + _quotes([5, 5, 5, 6], "MSFT"), _no_state)
    book = first.risk_books["partition-0"]
    ledgers = {s: book.ledger_state(s) for s in book.ledgers}
    v1 = {**book.state(), "version": 1, "ledgers": ledgers}
    del v1["exposure"]

    resumed = _processor()
    out = resumed.process(_quotes([8])[:1], {**_no_state, RISK: {"partition-0": v1}.get})

    assert {(LEDGERS, "AAPL"), (LEDGERS, "MSFT"), (RISK, "partition-0")} <= out.changed
    migrated = resumed.state(LEDGERS, "MSFT")
    assert migrated.pop("day") == v1["day"]  # version 1 counted every ledger's P&L as today's
    assert migrated == {k: v for k, v in ledgers["MSFT"].items() if k != "day"}
    assert resumed.state(RISK, "partition-0")["version"] == 2
    assert resumed.risk_books["partition-0"].exposure() == book.exposure()


def test_sampled_triggers_get_a_child_span_and_the_batch_links_them() -> None:
    exporter = InMemorySpanExporter()
    settings = Settings(_env_file=None, tracing_sample_ratio=0.0)  # type: ignore[call-arg]
    tracing = setup_tracing(settings, exporter=exporter)
    assert tracing is not None
    processor = _processor(
        {stage: StageTracer(tracing, stage, "primestream-test") for stage in TRACED_STAGES}
    )

    result = processor.process(_quotes([10, 10, 10, 11, 12, 9, 8]), _no_state)
    tracing.provider.force_flush()
    tracing.root_provider.force_flush()

    spans = exporter.get_finished_spans()
    children = [s for s in spans if s.name == "signals market.quotes"]
    decisions = [s for s in spans if s.name == "risk market.quotes"]
    (batch,) = [s for s in spans if s.name == "signals batch market.quotes"]
    assert len(children) == 2  # one per quote that fired a signal
    assert len(decisions) == 2  # and below each, the risk gate's decision
    (child,) = [s for s in children if (s.attributes or {})["messaging.kafka.offset"] == 3]
    buy = parse_traceparent(result.outs("signals")[0].headers)
    assert buy is not None
    assert buy[0] == f"{3:032x}"  # the trigger's trace goes on ...
    assert buy[1] == f"{child.context.span_id:016x}"  # ... below the stage's span ...
    assert child.parent is not None
    assert child.parent.span_id == 1  # ... below the trigger's
    assert child.kind is SpanKind.CONSUMER
    assert child.attributes is not None
    assert child.attributes["messaging.destination.name"] == "market.quotes"
    assert child.attributes["messaging.kafka.offset"] == 3
    assert child.attributes["messaging.consumer.group.name"] == "primestream-test"
    # every record is sampled, but the first's all-zero trace id is invalid (W3C): no link
    assert {link.context.trace_id for link in batch.links} == set(range(1, 7))


def test_unsampled_triggers_pass_their_traceparent_on_and_record_nothing() -> None:
    exporter = InMemorySpanExporter()
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    tracing = setup_tracing(settings, exporter=exporter)
    assert tracing is not None
    tracer = StageTracer(tracing, "signals", "g")
    unsampled = [("traceparent", f"00-{5:032x}-{2:016x}-00".encode())]

    out = tracer.continue_trace(unsampled, topic="t", partition=0, offset=1, key=b"AAPL")
    tracer.batch([unsampled], topic="t", partition=0, size=1)
    tracing.provider.force_flush()
    tracing.root_provider.force_flush()

    assert out == unsampled
    assert exporter.get_finished_spans() == ()
    assert tracer.recorded == 0


def test_end_of_stream_markers_are_skipped_not_dead_lettered() -> None:
    from streams.edge import END_OF_STREAM

    records = _quotes([10, 10, 10, 11])
    records.append(_Raw(b"", None, 4, headers=[(END_OF_STREAM, b"1")]))

    result = _processor().process(records, _no_state)

    assert result.deadletters == []
    assert result.processed == 5, "the marker is consumed (its offset commits)"
    assert [s["side"] for s in result.of("signals")] == ["BUY"]
