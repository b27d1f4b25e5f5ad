"""Records with realistic defaults, so a test states only what it is about."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

__all__ = ["T0_US", "bar", "fill", "news_item", "quote", "signal"]

T0_US = 1_704_205_800_000_000  # 2024-01-02 14:30:00 UTC, a US market open


def quote(
    symbol: str = "AAPL",
    *,
    bid: float = 185.20,
    ask: float = 185.22,
    ts_event_us: int = T0_US,
    seq: int = 0,
    **overrides: Any,
) -> dict[str, Any]:
    """Return a valid Quote record."""
    rec: dict[str, Any] = {
        "symbol": symbol,
        "ts_event_us": ts_event_us,
        "ts_ingest_us": ts_event_us + 150,
        "bid": bid,
        "ask": ask,
        "bid_size": 300.0,
        "ask_size": 500.0,
        "last": None,
        "seq": seq,
    }
    rec.update(overrides)
    return rec


def bar(
    symbol: str = "GOOG", *, close: float = 140.0, ts_event_us: int = T0_US, **overrides: Any
) -> dict[str, Any]:
    """Return a valid daily Bar record."""
    rec: dict[str, Any] = {
        "symbol": symbol,
        "ts_event_us": ts_event_us,
        "ts_ingest_us": ts_event_us + 150,
        "interval_secs": 86_400,
        "open": close - 1.0,
        "high": close + 1.5,
        "low": close - 2.0,
        "close": close,
        "volume": 1_250_000.0,
        "seq": 0,
    }
    rec.update(overrides)
    return rec


def news_item(
    symbol: str = "AAPL",
    *,
    headline: str = "Apple beats estimates on record iPhone sales",
    compound: float = 0.62,
    **overrides: Any,
) -> dict[str, Any]:
    """Return a valid NewsItem record."""
    rec: dict[str, Any] = {
        "id": "n-1",
        "symbol": symbol,
        "symbols": [symbol],
        "headline": headline,
        "body": None,
        "source": "test-wire",
        "url": None,
        "ts_event_us": T0_US,
        "ts_ingest_us": T0_US + 150,
        "sentiment": {"compound": compound, "positive": 0.4, "neutral": 0.6, "negative": 0.0},
    }
    rec.update(overrides)
    return rec


def signal(symbol: str = "AAPL", **overrides: Any) -> dict[str, Any]:
    """Return a valid Signal record."""
    rec: dict[str, Any] = {
        "id": "sig-1",
        "symbol": symbol,
        "strategy": "sma_cross",
        "side": "BUY",
        "strength": 0.5,
        "confidence": 0.8,
        "ref_price": 185.21,
        "ts_event_us": T0_US,
        "params": {"fast": 10.0, "slow": 30.0},
        "features": {"sma_fast": 185.3},
        "trigger_ids": ["AAPL:0"],
    }
    rec.update(overrides)
    return rec


def fill(symbol: str = "AAPL", **overrides: Any) -> dict[str, Any]:
    """Return a valid Fill record."""
    rec: dict[str, Any] = {
        "id": "f-1",
        "order_id": "o-1",
        "symbol": symbol,
        "account": "default",
        "side": "BUY",
        "qty": 100.0,
        "price": Decimal("185.220000"),
        "fee": Decimal("1.000000"),
        "venue": "paper",
        "ts_event_us": T0_US,
    }
    rec.update(overrides)
    return rec
