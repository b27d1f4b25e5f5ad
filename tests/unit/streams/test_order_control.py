"""Live order control: cancels through the venue stage, an expired session, and flatten."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from infra.clock import ManualClock
from schemas.codec import deserializer_for, serializer_for
from streams.execution.venue import VenueProcessor
from streams.risk.checks import OPERATOR_FLATTEN
from tests.kit import stubs
from tests.kit.desk import RawRecord, offline_desk, scripted_quotes
from tests.kit.etrade_server import FakeETrade, unauthorized
from tests.unit.streams.test_etrade import T0_US, make_broker
from tests.unit.streams.test_venue_stage import (
    _DECODERS,
    _inline,
    _order_raw,
    _poll_raw,
    _Raw,
    _run,
    _Table,
)

_VENUE_DECODERS = {
    **_DECODERS,
    "orders.cancel": ("OrderCancel", deserializer_for("OrderCancel", registry=None)),
}


def _cancel_raw(offset: int, order_id: str | None, partition: int = 3) -> _Raw:
    value = serializer_for("OrderCancel", registry=None)(
        {"order_id": order_id, "reason": "test", "source": "operator:t", "ts_event_us": T0_US + 9}
    )
    return _Raw("orders.cancel", value, b"*", offset, partition=partition)


@pytest.fixture
def server() -> Iterator[FakeETrade]:
    with FakeETrade() as fake:
        yield fake


def _placed(server: FakeETrade, expired: list[str] | None = None) -> tuple[VenueProcessor, _Table]:
    broker = make_broker(server, ManualClock(T0_US))
    processor = VenueProcessor(
        broker, _VENUE_DECODERS, run=_inline,
        on_expired=None if expired is None else expired.append, clock=lambda: T0_US + 60_000_000,
    )  # fmt: skip
    table = _Table()
    _run(processor, table, _order_raw(0), _order_raw(1, order_id="sig-2:AAPL", signal_id="sig-2"))
    assert len(server.orders) == 2
    return processor, table


def test_a_cancel_by_id_cancels_that_order_only(server: FakeETrade) -> None:
    processor, table = _placed(server)

    out = _run(processor, table, _cancel_raw(2, "sig-2:AAPL"))

    assert [(e["order_id"], e["status"]) for e in out.of("orders.events")] == [
        ("sig-2:AAPL", "CANCELED")
    ]
    assert sorted(o.status for o in server.orders.values()) == ["CANCELLED", "OPEN"]
    assert server.endpoints().count("cancel") == 1


def test_a_cancel_of_all_cancels_every_open_order(server: FakeETrade) -> None:
    processor, table = _placed(server)

    out = _run(processor, table, _cancel_raw(2, None))

    events = out.of("orders.events")
    assert sorted((e["order_id"], e["status"]) for e in events) == [
        ("sig-1:AAPL", "CANCELED"), ("sig-2:AAPL", "CANCELED"),
    ]  # fmt: skip
    assert {o.status for o in server.orders.values()} == {"CANCELLED"}
    again = _run(processor, table, _cancel_raw(3, None))
    assert again.of("orders.events") == []
    assert server.endpoints().count("cancel") == 2, "nothing open: nothing sent"


def test_a_stale_cancel_cancels_nothing(server: FakeETrade) -> None:
    processor, table = _placed(server)
    stale = serializer_for("OrderCancel", registry=None)(
        {"order_id": None, "reason": "old", "source": "t", "ts_event_us": T0_US - 300_000_001}
    )

    out = _run(processor, table, _Raw("orders.cancel", stale, b"*", 2))

    assert out.of("orders.events") == []
    assert "cancel" not in server.endpoints()


def test_a_cancel_for_an_order_of_another_partition_sends_nothing(server: FakeETrade) -> None:
    processor, table = _placed(server)

    out = _run(processor, table, _cancel_raw(2, "sig-9:TSLA"))
    other = _run(processor, _Table(), _cancel_raw(0, None, partition=5))

    assert out.of("orders.events") == other.of("orders.events") == []
    assert "cancel" not in server.endpoints()


def test_a_filled_order_is_reported_filled_not_cancelled(server: FakeETrade) -> None:
    processor, table = _placed(server)
    first = min(server.orders)
    server.fill(first, 10, 185.4, executed_ms=T0_US // 1000 + 5)

    out = _run(processor, table, _cancel_raw(2, "sig-1:AAPL"))

    assert [e["status"] for e in out.of("orders.events")] == ["FILLED"]
    assert [f["qty"] for f in out.of("fills")] == [10.0]


def test_an_expired_session_rejects_the_order_and_asks_the_worker_to_stop(
    server: FakeETrade,
) -> None:
    expired: list[str] = []
    processor, table = _placed(server, expired)
    server.script("preview", unauthorized())
    server.script("renew", unauthorized())

    out = _run(processor, table, _order_raw(2, order_id="sig-3:AAPL"))

    (event,) = out.of("orders.events")
    assert (event["order_id"], event["status"]) == ("sig-3:AAPL", "REJECTED")
    assert event["reason"].startswith("venue session expired")
    assert len(expired) == 1
    assert "refused to renew" in expired[0]


def test_an_expired_session_on_a_poll_or_cancel_asks_the_worker_to_stop(
    server: FakeETrade,
) -> None:
    expired: list[str] = []
    processor, table = _placed(server, expired)
    server.script("orders", unauthorized())
    server.script("renew", unauthorized())
    polled = _run(processor, table, _poll_raw(2, T0_US + 1))
    server.script("cancel", unauthorized())
    server.script("renew", unauthorized())
    cancelled = _run(processor, table, _cancel_raw(3, None))

    assert polled.records == cancelled.records == []
    assert len(expired) == 2


# ------------------------------------------------------------------ flatten
_CORE_DECODERS = {
    "market.quotes": ("Quote", deserializer_for("Quote", registry=None)),
    "risk.control": ("RiskControl", deserializer_for("RiskControl", registry=None)),
}


def _control(
    offset: int, action: str, symbol: str | None = None, ts_us: int = stubs.T0_US + 5_500_000
) -> RawRecord:
    value = serializer_for("RiskControl", registry=None)(
        {
            "action": action,
            "reason": "operator test",
            "source": "operator:t",
            "symbol": symbol,
            "ts_event_us": ts_us,  # default: between the last two scripted quotes
        }
    )
    key = b"*" if symbol is None else symbol.encode()
    return RawRecord(value, offset, key=key, topic="risk.control")


def _none(_key: str) -> Any:
    return None


def test_flatten_closes_a_position_through_the_gate_even_when_killed() -> None:
    core = offline_desk(_CORE_DECODERS)
    loaders = dict.fromkeys(core.tables(), _none)
    *quotes, after = scripted_quotes(mids=(10, 10, 10, 11, 12, 12, 12))
    for quote in quotes:
        core.process([quote], loaders)
    assert core.risk_book(0, loaders).ledgers["ACME"].qty == 100.0, "the BUY filled"

    core.process([_control(100, "KILL")], loaders)
    out = core.process([_control(101, "FLATTEN", "ACME")], loaders)

    (signal,) = out.of("signals")
    assert (signal["strategy"], signal["side"]) == (OPERATOR_FLATTEN, "FLAT")
    (placed,) = out.of("orders")
    assert (placed["side"], placed["qty"]) == ("SELL", 100.0)
    assert out.of("orders.rejected") == []
    filled = core.process([after], loaders)
    assert [f["side"] for f in filled.of("fills")] == ["SELL"]
    assert core.risk_book(0, loaders).ledgers["ACME"].qty == 0.0
    assert core.risk_book(0, loaders).killed, "flatten does not reset the kill switch"
    replayed = core.process([_control(102, "FLATTEN", "ACME")], loaders)
    again = core.process([_control(103, "FLATTEN", "ACME", ts_us=stubs.T0_US + 7_000_000)], loaders)
    assert [r["rule"] for r in replayed.of("orders.rejected")] == ["duplicate"]
    assert [r["rule"] for r in again.of("orders.rejected")] == ["at_target"]
    assert again.of("orders") == []


def test_flatten_of_a_symbol_the_partition_never_met_is_dead_lettered() -> None:
    core = offline_desk(_CORE_DECODERS)
    loaders = dict.fromkeys(core.tables(), _none)

    unknown = core.process([_control(0, "FLATTEN", "ZZZZ")], loaders)

    assert len(unknown.deadletters) == 1
    assert unknown.of("orders") == []


def test_strategy_signals_stay_refused_while_killed() -> None:
    core = offline_desk(_CORE_DECODERS)
    loaders = dict.fromkeys(core.tables(), _none)
    core.process([_control(0, "KILL")], loaders)

    outs = [core.process([q], loaders) for q in scripted_quotes(mids=(10, 10, 10, 11, 12))]

    assert [o for out in outs for o in out.of("orders")] == []
    rules = {r["rule"] for out in outs for r in out.of("orders.rejected")}
    assert rules == {"kill_switch"}
