"""Bars as the paper broker sees them: an order fills at the next bar's open.

A bar is one price path summarized, so the paper broker cannot fill inside it without
guessing. The convention (documented, and tested against a vectorized computation): a
bar's signals come at its close, and the orders they make fill at the **next** bar's
open, never on the bar that produced them. The book sees a bar as a quote at its opening
moment with bid = ask = open and the bar's volume displayed on each side; marks use the
close. The opening moment is what the fill is stamped with: the session's open when the
caller knows it (a daily bar of a symbol with an exchange calendar: 09:30 New York), else
close time - interval, plus 1 µs so that it is strictly after the previous bar's close,
when the orders of that close were made. A symbol trades on bars or on
quotes, not both: the book needs its quotes in event-time order.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["bar_close", "bar_open"]


def bar_open(bar: Mapping[str, Any], session_open_us: int | None = None) -> dict[str, Any]:
    """Return BAR's opening as a Quote-shaped record for the paper book.

    SESSION_OPEN_US: the open of the bar's session, used when it lies inside the bar.
    """
    close_us, interval_us = int(bar["ts_event_us"]), int(bar["interval_secs"]) * 1_000_000
    opened_us = close_us - interval_us + 1
    if session_open_us is not None and opened_us <= session_open_us <= close_us:
        opened_us = session_open_us
    price, volume = float(bar["open"]), float(bar["volume"])
    return {
        "symbol": bar["symbol"],
        "ts_event_us": opened_us,
        "bid": price,
        "ask": price,
        "bid_size": volume,
        "ask_size": volume,
    }


def bar_close(bar: Mapping[str, Any]) -> dict[str, Any]:
    """Return BAR's close as a Quote-shaped record for marking positions to market."""
    price = float(bar["close"])
    return {"ts_event_us": int(bar["ts_event_us"]), "bid": price, "ask": price}
