"""What a paper book holds: resting orders and buffered quotes, checked on the way in."""

from __future__ import annotations

import math
import operator
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from streams.exceptions import InvalidInputError
from streams.execution.fill_model import trading_day

__all__ = ["BookQuote", "QuoteHistory", "RestingOrder", "check_quote", "order_rejection"]

_SIDES = ("BUY", "SELL")
_ORDER_TYPES = ("MARKET", "LIMIT")
_TIFS = ("DAY", "IOC", "GTC")
_INF = math.inf


def _positive_finite(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


def _non_negative_finite(value: object) -> bool:
    return _positive_finite(value) or (type(value) in (int, float) and value == 0)


def _int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def order_rejection(order: Mapping[str, Any], symbol: str) -> str | None:
    """Return why ORDER cannot rest in the book of SYMBOL, or None if it can."""
    if order.get("symbol") != symbol:
        return f"symbol {order.get('symbol')!r} is not this book's ({symbol})"
    checks = (
        ("side", order.get("side"), _SIDES),
        ("order_type", order.get("order_type"), _ORDER_TYPES),
        ("tif", order.get("tif", "DAY"), _TIFS),
    )
    for field, value, allowed in checks:
        if value not in allowed:
            return f"{field} must be one of {', '.join(allowed)}, got {value!r}"
    qty = order.get("qty")
    if not _positive_finite(qty):
        return f"qty must be a finite number > 0, got {qty!r}"
    limit = order.get("limit_price")
    if order["order_type"] == "LIMIT" and not _positive_finite(limit):
        return f"a LIMIT order needs a positive finite limit_price, got {limit!r}"
    return None


@dataclass(slots=True)
class RestingOrder:
    """An accepted order and what it has filled so far (notional and fees are exact)."""

    id: str
    account: str
    side: str
    qty: float
    limit_price: float | None  # None: a market order
    tif: str
    ts_event_us: int
    trading_day: int  # America/New_York date ordinal of ts_event_us, for DAY expiry
    filled_qty: float = 0.0
    notional: Decimal = Decimal(0)  # sum of price * qty over the fills
    fees: Decimal = Decimal(0)  # commission charged so far
    fills: int = 0  # fills made; the next fill id is f"{id}-{fills + 1}"
    closed: bool = False
    strategy: str = ""  # whose sizing rule the account's funds apply at the first fill

    @classmethod
    def accept(cls, order: Mapping[str, Any]) -> RestingOrder:
        """Return the resting form of ORDER, which `order_rejection` has passed."""
        is_limit = order["order_type"] == "LIMIT"
        return cls(
            id=order["id"],
            account=order.get("account", "default"),
            side=order["side"],
            qty=float(order["qty"]),
            limit_price=float(order["limit_price"]) if is_limit else None,
            tif=order.get("tif", "DAY"),
            ts_event_us=order["ts_event_us"],
            trading_day=trading_day(order["ts_event_us"]),
            strategy=str(order.get("strategy", "")),
        )

    @property
    def leaves_qty(self) -> float:
        """Return the quantity still open (0 once closed)."""
        return 0.0 if self.closed else self.qty - self.filled_qty

    @property
    def avg_fill_price(self) -> float | None:
        """Return the average price of the fills so far, None before the first."""
        return float(self.notional / Decimal(repr(self.filled_qty))) if self.fills else None

    def state(self) -> dict[str, Any]:
        """Return the order as a JSON-serializable dict."""
        return {
            "id": self.id,
            "account": self.account,
            "side": self.side,
            "qty": self.qty,
            "limit_price": self.limit_price,
            "tif": self.tif,
            "ts_event_us": self.ts_event_us,
            "trading_day": self.trading_day,
            "filled_qty": self.filled_qty,
            "notional": str(self.notional),
            "fees": str(self.fees),
            "fills": self.fills,
            "strategy": self.strategy,
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> RestingOrder:
        """Return the order saved by `state()`."""
        return cls(
            id=str(state["id"]),
            account=str(state["account"]),
            side=str(state["side"]),
            qty=float(state["qty"]),
            limit_price=None if state["limit_price"] is None else float(state["limit_price"]),
            tif=str(state["tif"]),
            ts_event_us=int(state["ts_event_us"]),
            trading_day=int(state["trading_day"]),
            filled_qty=float(state["filled_qty"]),
            notional=Decimal(state["notional"]),
            fees=Decimal(state["fees"]),
            fills=int(state["fills"]),
            strategy=str(state.get("strategy", "")),
        )


@dataclass(slots=True)
class BookQuote:
    """A buffered quote and the displayed size its orders have not taken yet."""

    ts_event_us: int
    bid: float
    ask: float
    bid_left: float
    ask_left: float
    trading_day: int

    def state(self) -> list[float | int]:
        """Return the quote as a compact JSON-serializable list."""
        return [
            self.ts_event_us,
            self.bid,
            self.ask,
            self.bid_left,
            self.ask_left,
            self.trading_day,
        ]

    @classmethod
    def from_state(cls, state: Sequence[Any]) -> BookQuote:
        """Return the quote saved by `state()`."""
        ts_us, bid, ask, bid_left, ask_left, day = state
        return cls(int(ts_us), float(bid), float(ask), float(bid_left), float(ask_left), int(day))


def check_quote(quote: Mapping[str, Any], symbol: str) -> BookQuote:
    """Return QUOTE (a Quote record) as a BookQuote; raise InvalidInputError if it is corrupt."""
    if quote.get("symbol") != symbol:
        raise InvalidInputError(f"quote of {quote.get('symbol')!r} sent to the book of {symbol}")
    ts_us = quote.get("ts_event_us")
    bid, ask = quote.get("bid"), quote.get("ask")
    bid_size, ask_size = quote.get("bid_size"), quote.get("ask_size")
    # What a decoder hands over, checked in one go; anything else takes the checks below.
    if (
        type(ts_us) is int
        and type(bid) is float
        and type(ask) is float
        and type(bid_size) is float
        and type(ask_size) is float
        and 0.0 < bid < _INF
        and 0.0 < ask < _INF
        and 0.0 <= bid_size < _INF
        and 0.0 <= ask_size < _INF
    ):
        return BookQuote(ts_us, bid, ask, bid_size, ask_size, trading_day(ts_us))
    if not _int(ts_us):
        raise InvalidInputError(f"quote ts_event_us must be an int, got {ts_us!r}")
    for field in ("bid", "ask"):
        if not _positive_finite(quote.get(field)):
            raise InvalidInputError(
                f"quote {field} must be finite and > 0, got {quote.get(field)!r}"
            )
    for field in ("bid_size", "ask_size"):
        size = quote.get(field)
        if not _non_negative_finite(size):
            raise InvalidInputError(f"quote {field} must be finite and >= 0, got {size!r}")
    assert isinstance(ts_us, int)  # for mypy: checked above
    return BookQuote(
        ts_us,
        float(quote["bid"]),
        float(quote["ask"]),
        float(quote["bid_size"]),
        float(quote["ask_size"]),
        trading_day(ts_us),
    )


Columns = list[list[Any]]
"""A quote history as `state()` saves it: event times, bids, asks, bids left, asks left."""


class QuoteHistory:
    """A book's last CAPACITY quotes, oldest first, in five flat arrays: 40 bytes a quote.

    A deque of BookQuote objects took ~160 bytes a quote, so 5,000 symbols' books of 1,024
    quotes would not fit a worker's 512 MB. A quote is a BookQuote again only while an
    order is matched against it (`after`); its trading day is worked out from its time.
    """

    __slots__ = ("_ask", "_ask_left", "_bid", "_bid_left", "_capacity", "_sorted", "_start", "_ts")

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._ts = array("q")
        self._bid, self._ask = array("d"), array("d")
        self._bid_left, self._ask_left = array("d"), array("d")
        self._start = 0  # where the oldest quote is once the ring is full
        self._sorted = True  # event times never went down: `after` may skip the older ones

    def __len__(self) -> int:
        return len(self._ts)

    @property
    def capacity(self) -> int:
        """Return how many quotes the history keeps."""
        return self._capacity

    def oldest_ts_us(self) -> int:
        """Return the event time of the oldest quote (the history is not empty)."""
        return self._ts[self._start]

    def append(self, quote: BookQuote) -> None:
        """Add QUOTE as the newest, dropping the oldest once CAPACITY quotes are held."""
        ts = self._ts
        n, ts_us = len(ts), quote.ts_event_us
        if n < self._capacity:
            if n and ts_us < ts[n - 1]:
                self._sorted = False
            ts.append(ts_us)
            self._bid.append(quote.bid)
            self._ask.append(quote.ask)
            self._bid_left.append(quote.bid_left)
            self._ask_left.append(quote.ask_left)
            return
        i = self._start
        if ts_us < ts[i - 1]:  # i - 1 is the newest (-1: the last slot)
            self._sorted = False
        ts[i] = ts_us
        self._bid[i], self._ask[i] = quote.bid, quote.ask
        self._bid_left[i], self._ask_left[i] = quote.bid_left, quote.ask_left
        self._start = i + 1 if i + 1 < n else 0

    def after(self, ts_us: int) -> Iterator[tuple[int, BookQuote]]:
        """Yield (slot, quote) of every quote later than TS_US, oldest first.

        Give a quote whose displayed size was taken back with `put_left(slot, quote)`.
        """
        ts, start, n = self._ts, self._start, len(self._ts)
        first = n
        if self._sorted:  # only the newest can be later: walk back from the end
            while first and ts[(start + first - 1) % n] > ts_us:
                first -= 1
        else:
            first = 0
        for i in range(first, n):
            slot = (start + i) % n
            quote_ts = ts[slot]
            if quote_ts > ts_us:
                yield (
                    slot,
                    BookQuote(
                        quote_ts,
                        self._bid[slot],
                        self._ask[slot],
                        self._bid_left[slot],
                        self._ask_left[slot],
                        trading_day(quote_ts),
                    ),
                )

    def put_left(self, slot: int, quote: BookQuote) -> None:
        """Store the displayed size QUOTE (yielded by `after` at SLOT) has left."""
        self._bid_left[slot], self._ask_left[slot] = quote.bid_left, quote.ask_left

    def columns(self) -> Columns:
        """Return the quotes, oldest first, as lists: times, bids, asks, bids and asks left."""
        start = self._start
        arrays = (self._ts, self._bid, self._ask, self._bid_left, self._ask_left)
        if not start:
            return [a.tolist() for a in arrays]
        return [a[start:].tolist() + a[:start].tolist() for a in arrays]

    @classmethod
    def from_columns(cls, capacity: int, columns: Sequence[Sequence[Any]]) -> QuoteHistory:
        """Return a history of CAPACITY holding the newest of COLUMNS (as `columns()` saves)."""
        ts, bid, ask, bid_left, ask_left = columns
        n = len(ts)
        if not (len(bid) == len(ask) == len(bid_left) == len(ask_left) == n):
            raise ValueError("quote columns of different lengths")
        keep = max(0, n - capacity)
        history = cls(capacity)
        history._ts = array("q", ts[keep:])
        history._bid, history._ask = array("d", bid[keep:]), array("d", ask[keep:])
        history._bid_left = array("d", bid_left[keep:])
        history._ask_left = array("d", ask_left[keep:])
        kept = history._ts
        history._sorted = all(map(operator.le, kept, kept[1:]))
        return history
