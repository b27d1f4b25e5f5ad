"""The paper broker: simulated execution against the quote stream, one `PaperBook` per symbol.

`PaperBroker` has the shape of the execution adapters (`venue`, `submit`, `cancel`,
`poll`, `positions`), so the execution agent drives the paper and live venues alike.
Fills come from quotes, and the quote that causes a fill is the one being processed: so
`on_quote` returns its report directly (the agent publishes it in the transaction of that
quote) and `poll` always returns EMPTY; a live adapter's `poll` is where its fills come in.
The fill rules are in `streams.execution.paper_book`; the agent may equally keep one
`PaperBook` per symbol in a table keyed by symbol and skip the broker.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from streams.exceptions import InvalidInputError
from streams.execution.fill_model import FillModel
from streams.execution.paper_book import VENUE, PaperBook
from streams.execution.reports import EMPTY, ExecutionReport

__all__ = ["FillModel", "PaperBook", "PaperBroker"]


class PaperBroker:
    """Paper execution of every symbol, with one fill model; see `PaperBook` for the rules."""

    venue = VENUE

    def __init__(self, model: FillModel | None = None) -> None:
        self.model = model if model is not None else FillModel()
        self._books: dict[str, PaperBook] = {}

    def book(self, symbol: str) -> PaperBook:
        """Return the book of SYMBOL, creating an empty one on first use."""
        book = self._books.get(symbol)
        if book is None:
            book = self._books[symbol] = PaperBook(symbol, self.model)
        return book

    def submit(self, order: Mapping[str, Any]) -> ExecutionReport:
        """Accept ORDER (NEW, maybe fills from buffered quotes) or reject it (REJECTED)."""
        symbol = order.get("symbol")
        if not isinstance(symbol, str) or not symbol:
            raise InvalidInputError(f"an order needs a symbol: {order!r}")
        return self.book(symbol).on_order(order)

    def cancel(self, order_id: str, symbol: str, ts_event_us: int) -> ExecutionReport:
        """Cancel open order ORDER_ID of SYMBOL at TS_EVENT_US; EMPTY if it is not open."""
        book = self._books.get(symbol)
        return EMPTY if book is None else book.cancel(order_id, ts_event_us)

    def on_quote(self, quote: Mapping[str, Any]) -> ExecutionReport:
        """Match QUOTE against its symbol's open orders; return the fills and events it caused."""
        symbol = quote.get("symbol")
        if not isinstance(symbol, str) or not symbol:
            raise InvalidInputError(f"a quote needs a symbol: {quote!r}")
        return self.book(symbol).on_quote(quote)

    def poll(self, ts_event_us: int) -> ExecutionReport:
        """Return EMPTY: paper fills are returned by `on_quote`, in the quote's transaction."""
        return EMPTY

    def positions(self) -> dict[str, float]:
        """Return symbol -> signed qty filled here (all accounts summed), for non-flat symbols."""
        return {s: b.position for s, b in sorted(self._books.items()) if b.position != 0.0}

    def state(self) -> dict[str, Any]:
        """Return the broker as a JSON-serializable dict (for a changelogged table)."""
        return {
            "model": self.model.state(),
            "books": {s: b.state() for s, b in sorted(self._books.items())},
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any], model: FillModel | None = None) -> PaperBroker:
        """Return the broker saved by `state()`, with its saved model unless MODEL replaces it."""
        try:
            broker = cls(model or FillModel.from_state(state["model"]))
            books = state["books"]
            broker._books = {
                str(s): PaperBook.from_state(b, broker.model) for s, b in books.items()
            }
        except (KeyError, TypeError, AttributeError) as exc:
            raise InvalidInputError(f"paper broker state is unusable: {exc!r}") from exc
        return broker
