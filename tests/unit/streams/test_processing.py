"""A batch of raw records through decode, engines and dead-lettering, without Kafka."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from schemas.codec import deserializer_for, serializer_for
from streams.engine import EngineSettings
from streams.signals.processing import SignalProcessor
from streams.strategies import parse_config
from tests.kit import stubs

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


def _processor() -> SignalProcessor:
    return SignalProcessor(
        _CONFIG,
        EngineSettings(),
        {"market.quotes": ("Quote", deserializer_for("Quote", registry=None))},
    )


def _no_state(_symbol: str) -> dict[str, Any] | None:
    return None


def test_quotes_become_signals_that_continue_the_trigger_trace() -> None:
    result = _processor().process(_quotes([10, 10, 10, 11, 12, 9, 8]), _no_state)

    assert [s.value["side"] for s in result.signals] == ["BUY", "SELL"]
    assert result.signals[0].key == b"AAPL"
    assert result.signals[0].headers == [("traceparent", f"00-{3:032x}-{1:016x}-01".encode())]
    assert result.changed == {"AAPL"}
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
    assert [s.value["side"] for s in result.signals] == ["BUY"]


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

    resumed = _processor().process(records[4:], table.get)

    assert [s.value["side"] for s in resumed.signals] == ["SELL"]
