"""Bars through the paper desk: signal at a bar's close, fill at the next bar's open.

The desk's trades are checked against an independent vectorized pandas computation of
the same convention (SMA 2/3 crossover on closes, a signal on the crossing bar's close,
a market fill at the next bar's open, 100 shares a signal, shorts allowed, no costs).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd

from schemas.codec import serializer_for
from streams.execution.bars import bar_close, bar_open
from streams.execution.fill_model import FillModel
from tests.kit import stubs
from tests.kit.desk import RawRecord, avro_decoders, offline_desk

_FREE = FillModel(commission_per_share=Decimal("0"), commission_min=Decimal("0"))
_CLOSES = (10.0, 10.0, 10.0, 11.0, 12.0, 9.0, 8.0, 7.0, 8.0, 10.0, 12.0, 11.0, 9.0, 8.0)
_DAY_US = 86_400 * 1_000_000


def _bars() -> list[dict[str, Any]]:
    """Daily bars; each opens a quarter away from the previous close, so a fill's price
    tells which bar's open it got."""
    bars = []
    for i, close in enumerate(_CLOSES):
        opening = (_CLOSES[i - 1] if i else close) + 0.25
        ts_us = stubs.T0_US + i * _DAY_US
        high = max(close, opening) + 1.0
        bar = stubs.bar("ACME", close=close, ts_event_us=ts_us, seq=i)
        bars.append({**bar, "open": opening, "high": high, "low": 1.0})
    return bars


def _desk_trades() -> list[tuple[str, float, Decimal, int]]:
    desk = offline_desk(avro_decoders("market.bars", "Bar"), fill_model=_FREE)
    tables: dict[str, dict[str, Any]] = {name: {} for name in desk.tables()}
    loaders = {name: table.get for name, table in tables.items()}
    encode = serializer_for("Bar", registry=None)
    fills = []
    for i, bar in enumerate(_bars()):
        out = desk.process([RawRecord(encode(bar), i, topic="market.bars")], loaders)
        fills += [f for f in out.of("fills")]
        for table, key in out.changed:
            tables[table][key] = desk.state(table, key)
        desk.forget()
    return [(f["side"], f["qty"], f["price"], f["ts_event_us"]) for f in fills]


def _vectorized_trades() -> list[tuple[str, float, Decimal, int]]:
    bars = pd.DataFrame(_bars())
    fast, slow = bars["close"].rolling(2).mean(), bars["close"].rolling(3).mean()
    above = (fast > slow).where(slow.notna())
    crossed = above.ne(above.shift()) & above.notna() & above.shift().notna()
    trades, position = [], 0.0
    for i in bars.index[crossed]:
        if i + 1 >= len(bars):
            break  # a signal on the last bar has no next open
        target = 100.0 if above[i] else -100.0
        qty = target - position
        position = target
        opened = int(bars["ts_event_us"][i + 1]) - _DAY_US + 1
        side = "BUY" if qty > 0 else "SELL"
        trades.append((side, abs(qty), Decimal(str(bars["open"][i + 1])), opened))
    return trades


def test_bar_orders_fill_at_the_next_bars_open_as_a_vectorized_computation_says() -> None:
    desk = _desk_trades()

    assert len(desk) >= 4, "the path must trade enough to prove anything"
    assert desk == _vectorized_trades()


def test_an_order_never_fills_on_the_bar_that_produced_its_signal() -> None:
    bars = _bars()
    for side, _qty, price, ts in _desk_trades():
        filling = next(b for b in bars if bar_open(b)["ts_event_us"] == ts)
        signal_bar = bars[bars.index(filling) - 1]
        assert price == Decimal(str(filling["open"])), side
        assert ts > signal_bar["ts_event_us"], "the fill comes after the signal's bar closed"


def test_a_bar_opens_just_after_the_previous_close_and_marks_at_its_close() -> None:
    bar = stubs.bar("ACME", close=11.0, open=10.5, ts_event_us=stubs.T0_US)

    assert bar_open(bar)["ts_event_us"] == stubs.T0_US - _DAY_US + 1
    assert (bar_open(bar)["bid"], bar_open(bar)["ask"]) == (10.5, 10.5)
    assert bar_close(bar) == {"ts_event_us": stubs.T0_US, "bid": 11.0, "ask": 11.0}
