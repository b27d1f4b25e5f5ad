"""backtesting.py's side of the parity tests, and the comparison with our round trips.

The strategies are backtesting.py's SmaCross (buy on the cross up, `position.close()` on
the cross down) with a fast/slow pair and a size (its default: the whole equity), run
with its defaults: commission 0, spread 0, `trade_on_close=False` (fill at the next
bar's open), `exclusive_orders=False`, `finalize_trades=False`.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = ["EQUITY_TOLERANCE", "BtTrade", "backtesting_py_trades", "our_trades"]

EQUITY_TOLERANCE = 0.01
"""Final equity may differ by at most a cent: backtesting.py keeps cash in floats, we book
fills in decimals (money quantized to 6 places), and the two sum ~100 fills' cash in a
different order; the trades themselves (bars, prices, sizes) must be identical."""


@dataclass(frozen=True)
class BtTrade:
    """One trade as both sides are compared: bars, size and prices."""

    entry_bar: int
    exit_bar: int | None
    size: float
    entry_price: float
    exit_price: float | None


def backtesting_py_trades(
    fast: int, slow: int, size: float | None, cash: float = 100_000.0
) -> tuple[list[BtTrade], float]:
    """Run SmaCross(FAST, SLOW) on GOOG in backtesting.py; return its trades and final equity.

    SIZE None: backtesting.py's default (all the equity); else the fraction of equity.
    """
    from backtesting import Backtest, Strategy
    from backtesting.lib import crossover
    from backtesting.test import GOOG, SMA

    class SmaCross(Strategy):  # type: ignore[misc]  # backtesting ships no type information
        def init(self) -> None:
            self.ma1 = self.I(SMA, self.data.Close, fast)
            self.ma2 = self.I(SMA, self.data.Close, slow)

        def next(self) -> None:
            if crossover(self.ma1, self.ma2):
                self.buy() if size is None else self.buy(size=size)
            elif crossover(self.ma2, self.ma1):
                self.position.close()

    with warnings.catch_warnings():  # an open trade at the end, pandas deprecations: its own
        warnings.simplefilter("ignore")
        stats = Backtest(GOOG, SmaCross, cash=cash, commission=0.0, trade_on_close=False).run()
    trades: pd.DataFrame = stats["_trades"]
    closed = [
        BtTrade(int(t.EntryBar), int(t.ExitBar), float(t.Size), t.EntryPrice, t.ExitPrice)
        for t in trades.itertuples()
    ]
    # An open trade at the end is not in _trades (finalize_trades=False): it is in the
    # equity, and our report lists it as an open round trip.
    return closed, float(stats["Equity Final [$]"])


def our_trades(round_trips: Sequence[Any]) -> tuple[list[BtTrade], list[BtTrade]]:
    """Return (closed, open) round trips (objects or rows with RoundTrip's fields)."""
    closed, still_open = [], []
    for t in round_trips:
        trade = BtTrade(
            int(t.entry_bar),
            None if t.open else int(t.exit_bar),
            float(t.qty),
            float(t.entry_price),
            None if t.open else float(t.exit_price),
        )
        (still_open if t.open else closed).append(trade)
    return closed, still_open
