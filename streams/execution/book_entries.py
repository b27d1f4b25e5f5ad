"""What a paper book holds: resting orders and buffered quotes, checked on the way in."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from streams.exceptions import InvalidInputError
from streams.execution.fill_model import trading_day

__all__ = ["BookQuote", "RestingOrder", "check_quote", "order_rejection"]

_SIDES = ("BUY", "SELL")
_ORDER_TYPES = ("MARKET", "LIMIT")
_TIFS = ("DAY", "IOC", "GTC")


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
