"""backtesting.py's side of the parity tests, and the comparison with our round trips.

Both strategies run as backtesting.py's README runs its SmaCross example:
`Backtest(GOOG, strategy, commission=.002, exclusive_orders=True)` with its default cash
(10,000), `trade_on_close=False` (fill at the next bar's open), spread 0 and
`finalize_trades=False`. With `exclusive_orders` a new order first closes the open
trade, so a buy while short (or a sell while long) reverses the position, all in: the
new size is `int(equity / (open x 1.002))`, the equity being what closing left.

- **SmaCross**, the README's own: SMA(Close, 10) against SMA(Close, 20), `buy()` on the
  cross up, `sell()` on the cross down: always in the market, long or short;
- **RsiReversion**, a mean reversion on another indicator: RSI(10) with Wilder's
  smoothing; all in when it crosses up through 35 (if flat), `position.close()` when it
  crosses down through 65: long or flat.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "CASH",
    "EQUITY_TOLERANCE",
    "RSI_PARAMS",
    "BtTrade",
    "backtesting_py_run",
    "our_trades",
    "rsi",
]

CASH = 10_000.0
"""backtesting.py's default cash, as its example runs; our backtests get `--capital` it."""

RSI_PARAMS = (10, 35.0, 65.0)
"""RsiReversion's period, oversold and overbought: as `backtest_rsi_reversion_parity.toml`."""

EQUITY_TOLERANCE = 1e-4
"""Final equity may differ by at most a hundredth of a cent, and only from float rounding.

The trades are identical (bars, prices, whole-share sizes), so both sides book the same
cash flows: prices have 2 decimals and sizes are whole, so every fill's value and its
0.2% commission have at most 5 decimals, which our fills (decimals, money to 6 places)
hold exactly. Left is the float rounding where each side sums them into an equity
(backtesting.py's cash, our equity curve): over ~190 fills of up to ~$60,000 it is
~1e-11 (measured: 4e-11 on SmaCross, 1e-11 on the RSI). 1e-4 leaves room for that and
catches any real difference (one share, one fee, one tick is cents or more).
"""


@dataclass(frozen=True)
class BtTrade:
    """One trade as both sides are compared: bars, signed size (short < 0) and prices."""

    entry_bar: int
    exit_bar: int | None
    size: float
    entry_price: float
    exit_price: float | None


def rsi(close: Any, period: int) -> np.ndarray:
    """Return Wilder's RSI of CLOSE, seeded with the plain mean of the first PERIOD changes.

    NaN until PERIOD changes are seen; 50 where a window has no change at all. Written
    here from the definition, not from our indicator, so the parity checks it too.
    """
    closes = np.asarray(close, dtype=float)
    out = np.full(len(closes), np.nan)
    changes = np.diff(closes)
    if len(changes) < period:
        return out
    gains, losses = np.clip(changes, 0.0, None), np.clip(-changes, 0.0, None)
    gain, loss = gains[:period].mean(), losses[:period].mean()
    out[period] = _rsi_value(gain, loss)
    for i in range(period, len(changes)):
        gain = (gain * (period - 1) + gains[i]) / period
        loss = (loss * (period - 1) + losses[i]) / period
        out[i + 1] = _rsi_value(gain, loss)
    return out


def _rsi_value(gain: float, loss: float) -> float:
    if loss == 0.0:
        return 50.0 if gain == 0.0 else 100.0
    return 100.0 - 100.0 / (1.0 + gain / loss)


def _strategies() -> dict[str, type]:
    """Return backtesting.py's strategies by name (imported late: a slow import)."""
    from backtesting import Strategy
    from backtesting.lib import crossover
    from backtesting.test import SMA

    class SmaCross(Strategy):  # type: ignore[misc]  # backtesting ships no type information
        def init(self) -> None:
            price = self.data.Close
            self.ma1 = self.I(SMA, price, 10)
            self.ma2 = self.I(SMA, price, 20)

        def next(self) -> None:
            if crossover(self.ma1, self.ma2):
                self.buy()
            elif crossover(self.ma2, self.ma1):
                self.sell()

    period, oversold, overbought = RSI_PARAMS

    class RsiReversion(Strategy):  # type: ignore[misc]
        def init(self) -> None:
            self.rsi = self.I(rsi, self.data.Close, period)

        def next(self) -> None:
            before, now = self.rsi[-2], self.rsi[-1]  # NaN compares False: no trade yet
            if before <= oversold < now and not self.position:
                self.buy()
            elif before >= overbought > now:
                self.position.close()

    return {"sma_cross": SmaCross, "rsi_reversion": RsiReversion}


def backtesting_py_run(strategy: str) -> tuple[list[BtTrade], list[BtTrade], float]:
    """Run STRATEGY ("sma_cross", "rsi_reversion") on GOOG as the module doc says.

    Return its closed trades, its trades still open at the end and its final equity.
    """
    from backtesting import Backtest
    from backtesting.test import GOOG

    backtest = Backtest(
        GOOG, _strategies()[strategy], cash=CASH, commission=0.002, exclusive_orders=True
    )
    with warnings.catch_warnings():  # an open trade at the end, pandas deprecations: its own
        warnings.simplefilter("ignore")
        stats = backtest.run()
    trades: pd.DataFrame = stats["_trades"]
    closed = [
        BtTrade(int(t.EntryBar), int(t.ExitBar), float(t.Size), t.EntryPrice, t.ExitPrice)
        for t in trades.itertuples()
    ]
    # An open trade at the end is not in _trades (finalize_trades=False): it is in the
    # equity, and our report lists it as an open round trip.
    still_open = [
        BtTrade(int(t.entry_bar), None, float(t.size), t.entry_price, None)
        for t in stats["_strategy"].trades
    ]
    return closed, still_open, float(stats["Equity Final [$]"])


def our_trades(round_trips: Sequence[Any]) -> tuple[list[BtTrade], list[BtTrade]]:
    """Return (closed, open) round trips (objects or rows with RoundTrip's fields)."""
    closed, still_open = [], []
    for t in round_trips:
        sign = 1.0 if t.side == "LONG" else -1.0
        trade = BtTrade(
            int(t.entry_bar),
            None if t.open else int(t.exit_bar),
            sign * float(t.qty),
            float(t.entry_price),
            None if t.open else float(t.exit_price),
        )
        (still_open if t.open else closed).append(trade)
    return closed, still_open
