"""The live execution stage over raw batches, against the local fake E*TRADE server."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from infra.clock import ManualClock
from schemas.codec import deserializer_for, serializer_for
from streams.edge import StageOutput
from streams.execution.venue import VENUE_TABLE, VenueProcessor, partition_key
from tests.kit.etrade_server import FakeETrade, slow, stall
from tests.unit.streams.test_etrade import T0_US, make_broker, order

_DECODERS = {
    "orders": ("Order", deserializer_for("Order", registry=None)),
    "venue.poll": ("VenuePoll", deserializer_for("VenuePoll", registry=None)),
}


@dataclass(frozen=True)
class _Raw:
    topic: str
    value: bytes | None
    key: bytes | None
    offset: int
    partition: int = 3
    headers: list[tuple[str, bytes]] = field(default_factory=list)


def _order_raw(offset: int, **overrides: Any) -> _Raw:
    value = serializer_for("Order", registry=None)(order(**overrides))
    return _Raw("orders", value, b"AAPL", offset, headers=[("traceparent", b"00-ab-cd-01")])


def _poll_raw(offset: int, ts_us: int) -> _Raw:
    value = serializer_for("VenuePoll", registry=None)({"ts_event_us": ts_us, "source": "t"})
    return _Raw("venue.poll", value, b"*", offset)


async def _inline(call: Callable[[], Any]) -> Any:
    return call()


class _Table(dict[str, Any]):
    def loaders(self) -> dict[str, Callable[[str], Any]]:
        return {VENUE_TABLE: self.get}


def _run(processor: VenueProcessor, table: _Table, *records: _Raw) -> StageOutput:
    out = asyncio.run(processor.process(records, table.loaders()))
    for name, key in out.changed:
        table[key] = processor.state(name, key)
    processor.forget()
    return out


@pytest.fixture
def server() -> Iterator[FakeETrade]:
    with FakeETrade() as fake:
        yield fake


def test_an_order_is_placed_then_a_poll_brings_its_fill(server: FakeETrade) -> None:
    processor = VenueProcessor(make_broker(server, ManualClock(T0_US)), _DECODERS, run=_inline)
    table = _Table()

    placed = _run(processor, table, _order_raw(0))
    assert [e["status"] for e in placed.of("orders.events")] == ["NEW"]
    assert placed.outs("orders.events")[0].headers == [("traceparent", b"00-ab-cd-01")]
    assert partition_key(3) in table, "the partition's tracker is the stage's state"

    (venue_id,) = server.orders
    server.fill(venue_id, 10, 185.25, executed_ms=T0_US // 1000 + 1_000, fee="1.00")
    polled = _run(processor, table, _poll_raw(1, T0_US + 2_000_000))
    (fill,) = polled.of("fills")
    assert (fill["id"], fill["qty"]) == (f"{order()['id']}-1", 10.0)
    assert str(fill["price"]) == "185.250000"
    assert [e["status"] for e in polled.of("orders.events")] == ["FILLED"]


def test_a_replayed_batch_places_no_second_order_and_repeats_the_fill_ids(
    server: FakeETrade,
) -> None:
    processor = VenueProcessor(make_broker(server, ManualClock(T0_US)), _DECODERS, run=_inline)
    committed = _Table()
    _run(processor, committed, _order_raw(0))
    (venue_id,) = server.orders
    server.fill(venue_id, 10, 185.25, executed_ms=T0_US // 1000 + 1_000)

    first, replay = _Table(committed), _Table(committed)  # a crash: the batch runs again
    once = _run(processor, first, _poll_raw(1, T0_US + 2_000_000))
    again = _run(processor, replay, _poll_raw(1, T0_US + 2_000_000))
    assert [f["id"] for f in once.of("fills")] == [f["id"] for f in again.of("fills")]

    # the same order redelivered (its transaction aborted after placing): E*TRADE refuses
    # the client order id it has seen, so there is still one order at the venue
    replayed = _run(processor, _Table(), _order_raw(0))
    assert list(server.orders) == [venue_id]
    assert "REJECTED" not in [e["status"] for e in replayed.of("orders.events")]


def test_an_unreachable_venue_leaves_the_order_pending_until_a_poll_finds_it(
    server: FakeETrade,
) -> None:
    processor = VenueProcessor(make_broker(server, ManualClock(T0_US)), _DECODERS, run=_inline)
    table = _Table()
    server.script("place", slow(0.8))  # placed, but the answer comes too late
    server.script("orders", *[stall(0.8)] * 3)  # and the listing cannot tell

    sent = _run(processor, table, _order_raw(0))
    assert sent.of("orders.events") == [], "outcome unknown: nothing claimed yet"
    assert sent.changed == {(VENUE_TABLE, partition_key(3))}

    polled = _run(processor, table, _poll_raw(1, T0_US + 5_000_000))
    assert [e["status"] for e in polled.of("orders.events")] == ["NEW"]
    assert server.endpoints().count("place") == 1
    assert len(server.orders) == 1, "never two orders at the venue for one of ours"


def test_garbage_on_the_poll_topic_is_dead_lettered(server: FakeETrade) -> None:
    processor = VenueProcessor(make_broker(server, ManualClock(T0_US)), _DECODERS, run=_inline)
    out = _run(processor, _Table(), _Raw("venue.poll", b"\x00garbage", b"*", 0))
    assert len(out.deadletters) == 1
    assert out.records == []
