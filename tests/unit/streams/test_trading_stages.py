"""The paper venue over its table, and the live core applying reported fills, without Kafka."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from schemas.codec import deserializer_for, serializer_for
from streams.engine import EngineSettings
from streams.execution.fill_model import FillModel
from streams.risk.config import RiskConfig
from streams.trading import PaperVenue, TradingCore
from tests.kit import stubs
from tests.kit.desk import CROSS_2_3, PAPER_LIMITS


@dataclass(frozen=True)
class _Raw:
    topic: str
    value: bytes | None
    key: bytes | None
    offset: int
    partition: int = 0
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def _raw(topic: str, record: str, value: dict[str, Any], offset: int, trace: int = 0) -> _Raw:
    headers = [("traceparent", f"00-{trace:032x}-{1:016x}-00".encode())] if trace else []
    return _Raw(
        topic, serializer_for(record, registry=None)(value), b"AAPL", offset, headers=headers
    )


def _decoders(**topics: str) -> dict[str, tuple[str, Any]]:
    return {t.replace("_", "."): (r, deserializer_for(r, registry=None)) for t, r in topics.items()}


def _order(**overrides: Any) -> dict[str, Any]:
    order: dict[str, Any] = {
        "id": "o-1",
        "signal_id": "sig-1",
        "symbol": "AAPL",
        "account": "default",
        "side": "BUY",
        "qty": 100.0,
        "order_type": "MARKET",
        "limit_price": None,
        "tif": "DAY",
        "strategy": "sma_cross",
        "ts_event_us": stubs.T0_US,
    }
    order.update(overrides)
    return order


def _no_state(_key: str) -> None:
    return None


def test_an_order_fills_on_the_next_quote_and_the_fill_carries_the_orders_trace() -> None:
    model = FillModel(commission_per_share=Decimal("0.01"), commission_min=Decimal("1"))
    venue = PaperVenue(model)
    same_time = stubs.quote(bid=10.0, ask=10.02, ts_event_us=stubs.T0_US)
    later = stubs.quote(bid=10.01, ask=10.03, ts_event_us=stubs.T0_US + 1_000_000)
    trace = [["traceparent", f"00-{7:032x}-{1:016x}-00"]]

    def through_the_table(venue: PaperVenue) -> PaperVenue:
        table = {"AAPL": json.loads(json.dumps(venue.state("AAPL")))}
        restored = PaperVenue(model)
        restored.book("AAPL", table.get)
        return restored

    first = venue.on_quote("AAPL", same_time, _no_state)
    venue = through_the_table(venue)
    second = venue.on_order(_order(), trace, _no_state)
    venue = through_the_table(venue)
    third = venue.on_quote("AAPL", later, _no_state)

    assert not first  # nothing to fill, and never on the signal's own quote
    assert [e["status"] for e in second.events] == ["NEW"]
    (fill,) = third.fills
    assert (fill["qty"], fill["price"], fill["fee"]) == (100.0, Decimal("10.03"), Decimal("1"))
    assert [e["status"] for e in third.events] == ["FILLED"]
    assert dict(venue.trace_of("AAPL", "o-1"))["traceparent"].split(b"-")[1] == f"{7:032x}".encode()
    venue.ended("AAPL", "o-1")
    assert venue.state("AAPL")["traces"] == {}  # the filled order's trace is forgotten


def test_the_live_core_applies_fills_once_and_dead_letters_a_redelivered_one() -> None:
    core = TradingCore(
        CROSS_2_3,
        EngineSettings(),
        RiskConfig(mode="live", limits=PAPER_LIMITS),
        partitions=1,
        decoders=_decoders(fills="Fill", market_quotes="Quote"),
    )
    buy = stubs.fill(id="f-1", qty=100.0, price=Decimal("10"), fee=Decimal("1"))
    records = [
        _raw("fills", "Fill", buy, 0),
        _raw("fills", "Fill", buy, 1),
        _raw("market.quotes", "Quote", stubs.quote(bid=10.9, ask=11.1), 2),
        _raw("market.quotes", "Quote", stubs.quote(bid=11.9, ask=12.1), 3),
    ]

    out = core.process(records, dict.fromkeys(core.tables(), _no_state))

    positions = out.of("positions")
    assert len(positions) == 2  # the fill, then one coalesced mark for the batch
    assert positions[0]["qty"] == 100.0
    assert positions[-1]["last_mark"] == 12.0
    assert positions[-1]["unrealized_pnl"] == 200.0
    (dead,) = out.deadletters
    assert dict(dead.headers)["deadletter.error.type"] == b"DuplicateFill"
    assert len(positions) + len(out.deadletters) == 3  # two fills and one mark: nothing lost
    assert out.outs("positions")[0].partition == 0
    assert out.outs("positions")[0].key == b"AAPL"
    assert core.risk_books["partition-0"].ledgers["AAPL"].qty == 100.0  # the risk gate saw it
