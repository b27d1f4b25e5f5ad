"""One core for paper and live: the same input gives the same orders, fills and positions.

The recorded input (an SMA 2/3 path with several crossings and flips) runs through the
trading core twice. In paper mode the paper venue fills each order on the next quote. In
live mode the core's orders go to the live venue's stage, which places them at the local
fake E*TRADE server over HTTP; the server executes each at the next quote's touch (what
the market would have done, and what the paper venue assumes), a poll brings the
executions back, and the core applies them as fill records. Nothing else differs: the
same core decides, sizes and books in both.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from infra.clock import ManualClock
from schemas.codec import deserializer_for, serializer_for
from streams.edge import StageOutput
from streams.engine import EngineSettings
from streams.execution.fill_model import FillModel
from streams.execution.venue import VENUE_TABLE, VenueProcessor
from streams.trading import TradingCore
from tests.kit.desk import CROSS_2_3, RawRecord, offline_desk, paper_risk, scripted_quotes
from tests.kit.etrade_server import FakeETrade
from tests.kit.stubs import T0_US
from tests.unit.streams.test_etrade import make_broker

# Crossings of the 2/3 SMA: a BUY, a SELL through flat (a flip), a BUY back (another flip).
PATH = (10, 10, 10, 11, 12, 9, 8, 7, 8, 9, 11, 12, 13, 12, 10, 9, 8)
FREE = FillModel()  # no slippage, no commission: E*TRADE's fake charges none either
_DECODE = {r: deserializer_for(r, registry=None) for r in ("Quote", "Fill", "OrderEvent")}
_ENCODE = {r: serializer_for(r, registry=None) for r in ("Fill", "OrderEvent", "Order")}


def _none(_key: str) -> Any:
    return None


async def _inline(call: Callable[[], Any]) -> Any:
    return call()


def _raw(topic: str, record: str, value: dict[str, Any], offset: int) -> RawRecord:
    return RawRecord(_ENCODE[record](value), offset, key=b"ACME", topic=topic)


def _paper() -> dict[str, list[Any]]:
    core = offline_desk({"market.quotes": ("Quote", _DECODE["Quote"])}, fill_model=FREE)
    loaders = dict.fromkeys(core.tables(), _none)
    seen: dict[str, list[Any]] = {}
    for quote in scripted_quotes(mids=PATH):
        _collect(seen, core.process([quote], loaders))
    return seen


def _collect(seen: dict[str, list[Any]], out: StageOutput) -> None:
    for name, record in out.records:
        seen.setdefault(name, []).append(record.value)


class _LiveDesk:
    """The core in live mode and the venue stage at the fake E*TRADE, wired as topics would."""

    def __init__(self, server: FakeETrade) -> None:
        self.server = server
        decoders = {
            "market.quotes": ("Quote", _DECODE["Quote"]),
            "fills": ("Fill", _DECODE["Fill"]),
            "orders.events": ("OrderEvent", _DECODE["OrderEvent"]),
        }
        risk = replace(paper_risk(), mode="live")
        self.core = TradingCore(CROSS_2_3, EngineSettings(), risk, partitions=1, decoders=decoders)
        self.venue = VenueProcessor(
            make_broker(server, ManualClock(T0_US)),
            {
                "orders": ("Order", deserializer_for("Order", registry=None)),
                "venue.poll": ("VenuePoll", deserializer_for("VenuePoll", registry=None)),
            },
            run=_inline,
        )
        self.loaders = dict.fromkeys(self.core.tables(), _none)
        self.offset = 0
        self.seen: dict[str, list[Any]] = {}

    def quote(self, raw: RawRecord, quote: dict[str, Any]) -> None:
        """The market moves: the venue executes what rests at this touch, then the core runs."""
        if self._execute_at(quote):
            self._back(self._venue([self._poll(quote["ts_event_us"])]))
        out = self.core.process([raw], self.loaders)
        _collect(self.seen, out)
        orders = out.of("orders")
        if orders:
            placed = [_raw("orders", "Order", o, self._next()) for o in orders]
            self._back(self._venue(placed))

    def _execute_at(self, quote: dict[str, Any]) -> bool:
        executed = False
        for venue_id, order in list(self.server.orders.items()):
            left = order.quantity - order.filled
            if left > 0:
                price = quote["ask"] if order.action == "BUY" else quote["bid"]
                ms = quote["ts_event_us"] // 1000
                self.server.fill(venue_id, left, price, executed_ms=ms)
                executed = True
        return executed

    def _venue(self, records: list[RawRecord]) -> StageOutput:
        out = asyncio.run(self.venue.process(records, {VENUE_TABLE: _none}))
        self.venue_state = self.venue.state(VENUE_TABLE, "partition-0")
        return out

    def _back(self, reported: StageOutput) -> None:
        """The venue's fills and order events come back to the core as input records."""
        records = [
            _raw(name, "Fill" if name == "fills" else "OrderEvent", out.value, self._next())
            for name, out in reported.records
        ]
        for name, out in reported.records:
            self.seen.setdefault(f"venue {name}", []).append(out.value)
        if records:
            _collect(self.seen, self.core.process(records, self.loaders))

    def _poll(self, ts_us: int) -> RawRecord:
        value = serializer_for("VenuePoll", registry=None)({"ts_event_us": ts_us, "source": "t"})
        return RawRecord(value, self._next(), key=b"*", topic="venue.poll")

    def _next(self) -> int:
        self.offset += 1
        return self.offset


@pytest.fixture
def server() -> Iterator[FakeETrade]:
    with FakeETrade() as fake:
        yield fake


def _live(server: FakeETrade) -> dict[str, list[Any]]:
    desk = _LiveDesk(server)
    for raw in scripted_quotes(mids=PATH):
        desk.quote(raw, _DECODE["Quote"](raw.value))
    return desk.seen


def test_paper_and_live_give_the_same_orders_fills_and_positions(server: FakeETrade) -> None:
    paper, live = _paper(), _live(server)

    assert len(paper["orders"]) >= 3, "the path crosses at least three times"
    assert live["orders"] == paper["orders"]
    fill_keys = ("id", "order_id", "side", "qty", "price", "ts_event_us")
    assert [{k: f[k] for k in fill_keys} for f in live["venue fills"]] == [
        {k: f[k] for k in fill_keys} for f in paper["fills"]
    ]
    position_keys = ("qty", "avg_price", "realized_pnl", "fees", "last_fill_id", "version")
    applied = [p for p in paper["positions"] if p["last_fill_id"] is not None]
    assert [{k: p[k] for k in position_keys} for p in live["positions"] if p["version"]] == [
        {k: p[k] for k in position_keys} for p in applied
    ]
    assert paper["positions"][-1]["qty"] != 0.0, "the path ends holding a flipped position"
