"""The venue port of the trading core: where orders go and where executions come from.

The core decides; a venue executes. In paper mode (also backtests and replays) the venue
is `PaperVenue`, in the process: each symbol's `PaperBook` takes the core's orders and
matches them against the quotes the core hands it, and the core applies the fills it
reports at once. In live mode orders leave the process on the `orders` topic for the live
venue's agent (`streams.agents.venue`), and the fills and order events it reports
come back to the core as input records: the same core code applies them. In alert-only
mode there is no venue at all.

`PaperVenue` keeps, with each book, the trace headers of its open orders: a fill continues
the trace of the order it executes (one trace per trade), not the trace of the quote that
happened to fill it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from streams.edge import StateLoader
from streams.execution.fill_model import FillModel
from streams.execution.funds import Funds
from streams.execution.paper_book import PaperBook
from streams.execution.reports import ExecutionReport

__all__ = ["PaperVenue", "TraceHeaders"]

TraceHeaders = list[list[str]]  # (name, value) pairs, JSON-able: kept in the table


class PaperVenue:
    """Paper books by symbol, with the trace headers of their open orders."""

    def __init__(self, model: FillModel) -> None:
        # Orders reach the book in event-time order with the quotes (one core does both),
        # so no order is ever late: the book needs no quote history (a smaller state).
        self._model = replace(model, quote_history=1)
        self.books: dict[str, PaperBook] = {}
        self.traces: dict[str, dict[str, TraceHeaders]] = {}

    def book(self, symbol: str, load: StateLoader) -> PaperBook:
        """Return SYMBOL's book, restored from the table on first use."""
        book = self.books.get(symbol)
        if book is None:
            state = load(symbol)
            if state is not None:
                book = PaperBook.from_state(state["book"], self._model)
                self.traces[symbol] = dict(state["traces"])
            else:
                book = PaperBook(symbol, self._model)
                self.traces[symbol] = {}
            self.books[symbol] = book
        return book

    @property
    def model(self) -> FillModel:
        """Return the fill model of every book (prices and fees, for the account's funds)."""
        return self._model

    def on_order(
        self,
        order: Mapping[str, Any],
        headers: TraceHeaders,
        load: StateLoader,
        funds: Funds | None = None,
    ) -> ExecutionReport:
        """Take ORDER into its symbol's book; HEADERS: the trace its fills continue."""
        symbol = str(order["symbol"])
        book = self.book(symbol, load)
        self.traces[symbol][str(order["id"])] = headers
        return book.on_order(order, funds)

    def on_quote(
        self,
        symbol: str,
        quote: Mapping[str, Any],
        load: StateLoader,
        funds: Funds | None = None,
    ) -> ExecutionReport:
        """Match SYMBOL's open orders against QUOTE (a quote, or a bar's opening).

        FUNDS: the account's, asked at each order's first fill (None: fill as sent).
        """
        return self.book(symbol, load).on_quote(quote, funds)

    def trace_of(self, symbol: str, order_id: str) -> list[tuple[str, bytes]]:
        """Return the trace headers an execution of ORDER_ID carries."""
        return [(k, v.encode()) for k, v in self.traces.get(symbol, {}).get(order_id, ())]

    def ended(self, symbol: str, order_id: str) -> None:
        """Forget an ended order's trace."""
        self.traces.get(symbol, {}).pop(order_id, None)

    def state(self, symbol: str) -> dict[str, Any]:
        """Return SYMBOL's book and open orders' trace headers (the table value)."""
        return {"book": self.books[symbol].state(), "traces": self.traces[symbol]}

    def forget(self) -> None:
        """Drop the working set: the table is the truth again."""
        self.books.clear()
        self.traces.clear()
