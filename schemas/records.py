"""Typed shapes of the records in schemas/avro: one TypedDict per Avro record.

Field names mirror the .avsc files; enums are Literal strings; `ts_*_us` are int µs since
the epoch (UTC); Fill/Position money is Decimal (scale 6). Decoded records always have
every key; the encoder also fills fields that have defaults when they are missing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, NotRequired, TypedDict

__all__ = [
    "Alert",
    "Bar",
    "Fill",
    "NewsItem",
    "Order",
    "OrderCancel",
    "OrderEvent",
    "OrderStatus",
    "OrderType",
    "Position",
    "Quote",
    "Rejection",
    "RiskControl",
    "Sentiment",
    "Side",
    "Signal",
    "SignalSide",
    "TimeInForce",
    "VenuePoll",
]

Side = Literal["BUY", "SELL"]
SignalSide = Literal["BUY", "SELL", "FLAT"]
OrderType = Literal["MARKET", "LIMIT"]
TimeInForce = Literal["DAY", "IOC", "GTC"]
OrderStatus = Literal["NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "REJECTED"]


class Quote(TypedDict):
    """Top of book for one symbol at one instant."""

    symbol: str
    ts_event_us: int
    ts_ingest_us: int
    bid: float
    ask: float
    bid_size: float
    ask_size: float
    last: float | None
    seq: int


class Bar(TypedDict):
    """OHLCV bar; ts_event_us is the bar's close time."""

    symbol: str
    ts_event_us: int
    ts_ingest_us: int
    interval_secs: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    seq: int


class Sentiment(TypedDict):
    """VADER scores of a news item."""

    compound: float
    positive: float
    neutral: float
    negative: float


class NewsItem(TypedDict):
    """One news item, one copy per mentioned symbol."""

    id: str
    symbol: str
    symbols: list[str]
    headline: str
    body: str | None
    source: str
    url: str | None
    ts_event_us: int
    ts_ingest_us: int
    sentiment: Sentiment


class Signal(TypedDict):
    """A strategy's view on a symbol."""

    id: str
    symbol: str
    strategy: str
    side: SignalSide
    strength: float
    confidence: float
    ref_price: float
    ts_event_us: int
    params: dict[str, float]
    features: dict[str, float]
    trigger_ids: list[str]


class Order(TypedDict):
    """An order accepted by the risk gate."""

    id: str
    signal_id: str
    symbol: str
    account: str
    side: Side
    qty: float
    order_type: OrderType
    limit_price: float | None
    tif: TimeInForce
    strategy: str
    ts_event_us: int


class OrderEvent(TypedDict):
    """A step in an order's lifecycle."""

    order_id: str
    symbol: str
    account: str
    status: OrderStatus
    filled_qty: float
    leaves_qty: float
    avg_fill_price: float | None
    reason: str | None
    ts_event_us: int


class Rejection(TypedDict):
    """A signal the risk gate refused."""

    signal_id: str
    symbol: str
    strategy: str
    rule: str
    reason: str
    values: dict[str, float]
    ts_event_us: int


class Alert(TypedDict):
    """Alert-only mode: the decision and the order that would have been sent."""

    signal_id: str
    symbol: str
    strategy: str
    message: str
    strength: float
    order: Order
    ts_event_us: int


class Fill(TypedDict):
    """An execution of (part of) an order."""

    id: str
    order_id: str
    symbol: str
    account: str
    side: Side
    qty: float
    price: Decimal
    fee: Decimal
    venue: str
    ts_event_us: int


class Position(TypedDict):
    """Latest position of an account in a symbol (average-cost accounting)."""

    account: str
    symbol: str
    qty: float
    avg_price: float
    realized_pnl: Decimal
    fees: Decimal
    last_mark: float | None
    unrealized_pnl: float
    version: int
    last_fill_id: str | None
    ts_event_us: int


class RiskControl(TypedDict):
    """Trip or reset the kill switch of every partition's risk gate, or flatten a symbol."""

    action: Literal["KILL", "RESET", "FLATTEN"]
    reason: str
    source: str
    symbol: NotRequired[str | None]
    ts_event_us: int


class OrderCancel(TypedDict):
    """Ask the live execution agent to cancel one order (order_id) or every open one (None)."""

    order_id: str | None
    reason: str
    source: str
    ts_event_us: int


class VenuePoll(TypedDict):
    """Ask the live execution agent of a partition to poll the venue."""

    ts_event_us: int
    source: str
