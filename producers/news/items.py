"""A news item's id, its fan-out to one NewsItem record per symbol, and company names."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from producers.exceptions import ValidationError
from producers.news.sentiment import score_news

__all__ = ["COMPANY_NAMES", "fan_out", "news_id"]

COMPANY_NAMES: Mapping[str, str] = {
    "AAPL": "Apple", "MSFT": "Microsoft", "GOOG": "Alphabet", "AMZN": "Amazon",
    "TSLA": "Tesla", "NVDA": "Nvidia", "META": "Meta", "NFLX": "Netflix",
}  # fmt: skip
"""Company names of common tickers, as headlines name them."""


def news_id(source: str, headline: str, ts_event_us: int) -> str:
    """Return a stable id for an item that has none: a hash of source, headline and time."""
    key = f"{source}\x1f{headline}\x1f{ts_event_us}".encode()
    return hashlib.blake2b(key, digest_size=10).hexdigest()


def fan_out(item: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return one NewsItem record per distinct symbol ITEM mentions, all with the same id.

    ITEM has the NewsItem fields except `symbol`; a missing `id` is `news_id(...)` and a
    missing `sentiment` is scored. Raise ValidationError if it mentions no symbol.
    """
    symbols = list(dict.fromkeys(item["symbols"]))
    if not symbols:
        raise ValidationError("symbols is empty", "symbols")
    body = item.get("body")
    item_id = item.get("id") or news_id(item["source"], item["headline"], item["ts_event_us"])
    sentiment = item.get("sentiment") or score_news(item["headline"], body)
    shared = {
        "symbols": symbols,
        "headline": item["headline"],
        "body": body,
        "source": item["source"],
        "url": item.get("url"),
        "ts_event_us": item["ts_event_us"],
        "ts_ingest_us": item["ts_ingest_us"],
    }
    return [
        {"id": item_id, "symbol": symbol, **shared, "sentiment": dict(sentiment)}
        for symbol in symbols
    ]
