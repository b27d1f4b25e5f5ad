"""A backtest's round trips: each position from flat back to flat, as backtesting.py lists trades.

The fills are what the pipeline produced; a round trip is how people read them ("# Trades"
and the trade list of backtesting.py). Per (account, symbol), a trip starts with the fill
that takes the position away from 0 and ends with the one that brings it back (a fill that
flips the position ends one trip and starts the next with what remains of it; its fee is
split by quantity). For each trip:

- `qty`: every share it opened (a long that bought 100 then 50 is 150); `side` LONG/SHORT;
- entry and exit: the time of the first opening and the last closing fill, their bars (the
  index of the symbol's price step the fill happened in, 0-based: backtesting.py's
  `EntryBar`/`ExitBar`), and the quantity-weighted average prices of the opening and of
  the closing fills;
- `pnl`: net, in account currency: what the closing fills received minus what the opening
  fills paid (signs flipped for a short), minus every fee of the trip; `return_pct`:
  pnl / (entry_price x qty), a fraction (backtesting.py's `ReturnPct` without costs);
- a trip still open at the end has no exit: its pnl marks the open shares at the symbol's
  last price (`open` true), as the report's final equity does.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = ["RoundTrip", "round_trips"]

_ZERO = Decimal(0)


@dataclass(frozen=True)
class RoundTrip:
    """One position from flat to flat (see the module doc)."""

    account: str
    symbol: str
    side: str
    qty: float
    entry_us: int
    entry_bar: int
    entry_price: float
    exit_us: int | None
    exit_bar: int | None
    exit_price: float | None
    fees: float
    pnl: float
    return_pct: float
    open: bool


@dataclass
class _Trip:
    sign: int
    entry_us: int
    opened: Decimal = _ZERO
    paid: Decimal = _ZERO  # Σ qty x price of the opening fills
    closed: Decimal = _ZERO
    received: Decimal = _ZERO  # Σ qty x price of the closing fills
    fees: Decimal = _ZERO
    exit_us: int | None = None
    position: Decimal = field(default=_ZERO)

    def trip(self, account: str, symbol: str, bar: _BarIndex, mark: Decimal | None) -> RoundTrip:
        entry = self.paid / self.opened
        leftover = self.opened - self.closed
        value = self.received + (leftover * mark if mark is not None else _ZERO)
        pnl = (value - self.paid) * self.sign - self.fees
        exit_price = self.received / self.closed if self.closed else None
        done = self.exit_us is not None
        return RoundTrip(
            account=account,
            symbol=symbol,
            side="LONG" if self.sign > 0 else "SHORT",
            qty=float(self.opened),
            entry_us=self.entry_us,
            entry_bar=bar(symbol, self.entry_us),
            entry_price=float(entry),
            exit_us=self.exit_us if done else None,
            exit_bar=bar(symbol, self.exit_us) if self.exit_us is not None else None,
            exit_price=float(exit_price) if done and exit_price is not None else None,
            fees=float(self.fees),
            pnl=float(pnl),
            return_pct=float(pnl / (entry * self.opened)) if entry else 0.0,
            open=not done,
        )


class _BarIndex:
    """The index of the price step each fill happened in, per symbol."""

    def __init__(self, prices: Iterable[tuple[int, str, float]]) -> None:
        self._times: dict[str, list[int]] = {}
        self.last: dict[str, Decimal] = {}
        for ts, symbol, price in prices:
            self._times.setdefault(symbol, []).append(int(ts))
            self.last[symbol] = Decimal(repr(float(price)))

    def __call__(self, symbol: str, ts_us: int) -> int:
        """Return the index of the first price step of SYMBOL at or after TS_US.

        A bar's fill happens at its opening, before its close time: the bar it is in.
        """
        return bisect.bisect_left(self._times.get(symbol, []), ts_us)


def _number(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(repr(float(value)))


def round_trips(
    fills: Sequence[Mapping[str, Any]], prices: Iterable[tuple[int, str, float]]
) -> list[RoundTrip]:
    """Return the round trips of FILLS, in order of entry (then account, symbol).

    PRICES are the (ts_event_us, symbol, price) steps the backtest saw, in time order.
    """
    bar = _BarIndex(prices)
    ordered = sorted(fills, key=lambda f: (int(f["ts_event_us"]), str(f["id"])))
    trips: list[RoundTrip] = []
    current: dict[tuple[str, str], _Trip] = {}
    for fill in ordered:
        key = (str(fill.get("account", "default")), str(fill["symbol"]))
        qty, price, fee = _number(fill["qty"]), _number(fill["price"]), _number(fill["fee"])
        sign = 1 if fill["side"] == "BUY" else -1
        ts = int(fill["ts_event_us"])
        left = qty
        trip = current.get(key)
        if trip is not None and trip.sign != sign:  # closes (part of) the open trip
            closing = min(left, trip.position)
            trip.closed += closing
            trip.received += closing * price
            trip.fees += fee * closing / qty
            trip.position -= closing
            left -= closing
            if trip.position == 0:
                trip.exit_us = ts
                trips.append(trip.trip(*key, bar, None))
                del current[key]
        if left > 0:
            trip = current.get(key) or current.setdefault(key, _Trip(sign, ts))
            trip.opened += left
            trip.paid += left * price
            trip.fees += fee * left / qty
            trip.position += left
    for key, trip in current.items():
        trips.append(trip.trip(*key, bar, bar.last.get(key[1])))
    return sorted(trips, key=lambda t: (t.entry_us, t.account, t.symbol))
