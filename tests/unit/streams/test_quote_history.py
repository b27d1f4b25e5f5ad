"""The paper book's compact quote history, its saved form, and the cached trading day.

The history keeps quotes in flat arrays and answers "the quotes after t" without walking
the older ones when times never went down; these tests hold it to a plain list of
BookQuotes, to books saved in the older one-row-a-quote form, and the cached trading day
to the time-zone conversion it replaces.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from streams.execution import FillModel, PaperBook
from streams.execution.book_entries import BookQuote, QuoteHistory
from streams.execution.fill_model import trading_day
from tests.kit import stubs
from tests.kit.stubs import T0_US

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NEW_YORK = ZoneInfo("America/New_York")
_HOUR_US = 3_600_000_000


def _converted(ts_us: int) -> int:
    return (_EPOCH + timedelta(microseconds=ts_us)).astimezone(_NEW_YORK).toordinal()


def test_the_cached_trading_day_is_the_converted_one_around_midnights_and_dst() -> None:
    rng = random.Random(5)
    # 2024-03-10 and 2024-11-03 change the clocks in New York; walk both ways past them.
    edges = [
        int(datetime(2024, m, d, h, tzinfo=UTC).timestamp()) * 1_000_000
        for m, d in ((3, 10), (11, 3), (11, 4), (12, 31))
        for h in (3, 4, 5, 6, 7)
    ]
    times = [t + rng.randint(-2, 2) for t in edges for _ in range(3)]
    times += [T0_US + rng.randint(-400, 400) * _HOUR_US for _ in range(2_000)]
    for ts in times + sorted(times) + sorted(times, reverse=True):
        assert trading_day(ts) == _converted(ts), ts


def _quote(rng: random.Random, ts: int) -> BookQuote:
    bid = round(rng.uniform(10, 500), 2)
    return BookQuote(ts, bid, bid + 0.01, rng.choice((0.0, 100.0)), 300.0, _converted(ts))


@pytest.mark.parametrize("shuffled", [False, True])
def test_the_history_matches_a_plain_list_of_the_newest_quotes(shuffled: bool) -> None:
    rng = random.Random(int(shuffled))
    history, plain = QuoteHistory(7), []
    times = [T0_US + i * 1_000 for i in range(40)]
    if shuffled:
        times[20], times[21] = times[21], times[20]
    for ts in times:
        quote = _quote(rng, ts)
        history.append(quote)
        plain = [*plain, quote][-7:]
        assert len(history) == len(plain)
        assert history.oldest_ts_us() == plain[0].ts_event_us
        for after in (T0_US - 1, ts - 3_500, ts - 1, ts):
            assert [q for _, q in history.after(after)] == [
                q for q in plain if q.ts_event_us > after
            ]
        columns = history.columns()
        assert columns == [
            [getattr(q, f) for q in plain]
            for f in ("ts_event_us", "bid", "ask", "bid_left", "ask_left")
        ]
        assert QuoteHistory.from_columns(7, columns).columns() == columns


def test_displayed_size_taken_from_a_yielded_quote_is_kept() -> None:
    history = QuoteHistory(3)
    for i in range(5):
        history.append(BookQuote(T0_US + i, 99.0, 100.0, 50.0, 50.0, _converted(T0_US)))
    for slot, quote in history.after(T0_US + 3):
        quote.ask_left = 7.0
        history.put_left(slot, quote)

    assert history.columns()[4] == [50.0, 50.0, 7.0]


def _rows_state(book: PaperBook) -> dict[str, Any]:
    """Return BOOK's state in the form saved before the columns: a row per quote."""
    state = json.loads(json.dumps(book.state()))
    ts, bid, ask, bid_left, ask_left = state.pop("quote_columns")
    state["quotes"] = [
        [t, b, a, bl, al, _converted(t)]
        for t, b, a, bl, al in zip(ts, bid, ask, bid_left, ask_left, strict=True)
    ]
    return state


def _order(order_id: str, ts: int, qty: float) -> dict[str, Any]:
    return {
        "id": order_id, "signal_id": f"s-{order_id}", "symbol": "AAPL", "account": "default",
        "side": "BUY", "qty": qty, "order_type": "MARKET", "limit_price": None, "tif": "GTC",
        "strategy": "x", "ts_event_us": ts,
    }  # fmt: skip


def test_a_book_saved_with_a_row_per_quote_restores_to_the_same_book() -> None:
    model = FillModel(commission_min=Decimal("1"), quote_history=5)
    book = PaperBook("AAPL", model)
    for i in range(8):
        book.on_quote(stubs.quote("AAPL", ts_event_us=T0_US + i, bid_size=40.0, ask_size=40.0))
    book.on_order(_order("late", T0_US + 4, 100.0))  # takes size from the buffered quotes
    old = _rows_state(book)
    smaller = PaperBook.from_state(old, FillModel(quote_history=2))

    restored = PaperBook.from_state(old)

    assert restored.state() == book.state()
    assert smaller.state()["evicted_ts_us"] == T0_US + 5
    later = stubs.quote("AAPL", ts_event_us=T0_US + 9, ask_size=500.0)
    assert restored.on_quote(later) == book.on_quote(later)
    assert restored.state() == book.state()
