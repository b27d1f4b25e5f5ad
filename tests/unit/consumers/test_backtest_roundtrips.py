"""Round trips from fills: flat to flat, partial exits, flips, open trips, bars."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from consumers.backtest_roundtrips import RoundTrip, round_trips

_DAY = 86_400_000_000
# Bar closes on days 1..6; a fill at a bar's opening is before its close, in that bar.
_PRICES = [(d * _DAY, "ACME", 10.0 + d) for d in range(1, 7)]


def _fill(
    n: int, side: str, qty: float, price: str, fee: str = "1", day: int = 0
) -> dict[str, Any]:
    return {
        "id": f"o-{n}-1", "order_id": f"o-{n}", "symbol": "ACME", "account": "default",
        "side": side, "qty": qty, "price": Decimal(price), "fee": Decimal(fee),
        "ts_event_us": day * _DAY - _DAY // 2,
    }  # fmt: skip


def test_a_long_closed_in_two_parts_is_one_trip() -> None:
    fills = [
        _fill(1, "BUY", 100, "10", day=2),
        _fill(2, "SELL", 50, "12", day=4),
        _fill(3, "SELL", 50, "11", day=5),
    ]

    (trip,) = round_trips(fills, _PRICES)

    assert trip == RoundTrip(
        account="default", symbol="ACME", side="LONG", qty=100.0,
        entry_us=fills[0]["ts_event_us"], entry_bar=1, entry_price=10.0,
        exit_us=fills[2]["ts_event_us"], exit_bar=4, exit_price=11.5,
        fees=3.0, pnl=147.0, return_pct=0.147, open=False,
    )  # fmt: skip


def test_a_flip_ends_one_trip_and_opens_the_next_marked_at_the_last_price() -> None:
    fills = [_fill(1, "BUY", 100, "10", "3", day=1), _fill(2, "SELL", 150, "12", "3", day=3)]

    long, short = round_trips(fills, _PRICES)

    assert (long.side, long.qty, long.exit_price, long.fees) == ("LONG", 100.0, 12.0, 5.0)
    assert long.pnl == pytest.approx(200 - 5)
    assert (short.side, short.qty, short.entry_price, short.entry_bar) == ("SHORT", 50.0, 12.0, 2)
    assert (short.open, short.exit_us, short.exit_bar, short.exit_price) == (True, None, None, None)
    assert short.fees == 1.0  # the flip's fee, split by quantity
    assert short.pnl == pytest.approx((12 - 16) * 50 - 1)  # marked at the last close, 16


def test_no_fills_no_trips_and_symbols_are_apart() -> None:
    other = {**_fill(2, "SELL", 5, "20", day=2), "symbol": "XYZ"}
    trips = round_trips([_fill(1, "BUY", 1, "10", day=2), other], [*_PRICES, (_DAY, "XYZ", 20.0)])

    assert round_trips([], _PRICES) == []
    assert [(t.symbol, t.side, t.open) for t in trips] == [
        ("ACME", "LONG", True),
        ("XYZ", "SHORT", True),
    ]
