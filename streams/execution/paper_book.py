"""The paper broker's book of one symbol: open orders matched against quotes, no look-ahead.

Semantics (`PaperBook`):

- **Acceptance.** An Order record is accepted with a NEW event stamped with the order's
  event time, or REJECTED with a reason: qty not finite or <= 0, a LIMIT order without a
  positive finite limit_price, a side/order_type/tif the schema does not know, a symbol
  that is not the book's, or an order older than the quotes the book still holds (below).
  An order id the book has already seen (among its last 32) is ignored: client order
  ids are idempotent.
- **No look-ahead.** An order is only filled by quotes whose event time is strictly after
  the order's: the quote that produced its signal never fills it.
- **Arrival order does not matter.** Orders and quotes come from different topics in an
  order that depends on fetch timing, so the book keeps its last `quote_history` quotes
  with the displayed size they have left. An order that arrives after newer quotes is
  first matched against the buffered quotes with ts > order ts, oldest first, then waits
  for live ones. Since orders of a symbol arrive in their topic's order and every order is
  matched against a quote after all earlier orders, each order gets the same fills
  whatever the interleaving. If quotes after the order have already been evicted from the
  buffer the result could differ, so such an order is REJECTED (raise quote_history).
  Quotes must arrive in event-time order (one partition keeps them so).
- **Market orders** fill at the ask (buy) or bid (sell) plus slippage, up to the
  displayed size the quote has left; the remainder waits for later quotes (DAY, GTC).
- **Limit orders** fill when crossed, at the touch, never worse than the limit and without
  slippage: a buy when ask <= limit at the ask, a sell when bid >= limit at the bid.
- **IOC** waits for the first eligible quote, fills what it can there and cancels the rest.
- **DAY** orders are CANCELED ("day order expired") by the first eligible quote whose
  America/New_York date is after the order's. GTC orders never expire.
- **Events.** Each fill gives a PARTIALLY_FILLED event, the last one FILLED; filled_qty is
  cumulative and avg_fill_price the cumulative average. A cancel has leaves_qty 0.
  Fill and event times are the triggering quote's; NEW and REJECTED carry the order's.
- **Funds.** Given the account's `Funds` (`streams.execution.funds`), an order's first
  fill asks how much it may take at the price it fills at: an equity-sized order is sized
  there, an order beyond the cash available is reduced (its events say why) or, when
  nothing is affordable, CANCELED ("insufficient cash").
- **Ids and fees.** Fill ids are f"{order_id}-{n}", n = 1, 2, ...; venue "paper". The
  commission is charged per order (the minimum applies once): each fill pays
  `FillModel.commission` of the order's cumulative fills minus what it already paid.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from streams.exceptions import InvalidInputError
from streams.execution.book_entries import (
    BookQuote,
    Columns,
    QuoteHistory,
    RestingOrder,
    check_quote,
    order_rejection,
)
from streams.execution.fill_model import FillModel
from streams.execution.funds import Funds
from streams.execution.reports import EMPTY, ExecutionReport, fill_record, money, order_event

__all__ = ["VENUE", "PaperBook"]

VENUE = "paper"
# Order ids remembered for idempotence: a redelivery comes within seconds, and the list is
# kept (and written with the book's state) for every symbol the worker holds.
_SEEN_IDS = 32
_EPS = 1e-9  # shares: a remainder below this is float noise, not an open quantity


class PaperBook:
    """One symbol's open orders and recent quotes (see the module docstring for semantics)."""

    __slots__ = ("_evicted_ts_us", "_orders", "_quotes", "_seen", "model", "position", "symbol")

    def __init__(self, symbol: str, model: FillModel | None = None) -> None:
        self.symbol = symbol
        self.model = model if model is not None else FillModel()
        self.position = 0.0  # signed qty filled here: buys minus sells
        self._orders: list[RestingOrder] = []  # open orders, FIFO by arrival
        self._quotes = QuoteHistory(self.model.quote_history)
        self._evicted_ts_us: int | None = None  # newest event time pushed out of _quotes
        self._seen: dict[str, None] = {}  # recent order ids, oldest first (an ordered set)

    @property
    def open_orders(self) -> tuple[str, ...]:
        """Return the ids of the open orders, in priority (arrival) order."""
        return tuple(o.id for o in self._orders)

    def on_order(self, order: Mapping[str, Any], funds: Funds | None = None) -> ExecutionReport:
        """Accept ORDER (an Order record) and match it against the buffered newer quotes."""
        order_id, ts_us = order.get("id"), order.get("ts_event_us")
        if not isinstance(order_id, str) or isinstance(ts_us, bool) or not isinstance(ts_us, int):
            raise InvalidInputError(f"an order needs a str id and an int ts_event_us: {order!r}")
        if order_id in self._seen:
            return EMPTY
        self._remember(order_id)
        reason = order_rejection(order, self.symbol)
        if reason is None and self._evicted_ts_us is not None and ts_us < self._evicted_ts_us:
            reason = (
                f"order at {ts_us} predates the paper book's quote history (quotes up to "
                f"{self._evicted_ts_us} were dropped): raise FillModel.quote_history"
            )
        if reason is not None:
            rejected = order_event(
                {**order, "symbol": str(order.get("symbol"))},
                "REJECTED",
                filled_qty=0.0,
                leaves_qty=0.0,
                avg_fill_price=None,
                ts_event_us=ts_us,
                reason=reason,
            )
            return ExecutionReport(events=(rejected,))
        resting = RestingOrder.accept(order)
        report = ExecutionReport(events=(self._event(resting, "NEW", ts_us),))
        self._orders.append(resting)
        quotes = self._quotes
        for slot, quote in quotes.after(ts_us):
            report += self._match(resting, quote, funds)
            quotes.put_left(slot, quote)
            if resting.closed:
                break
        self._drop_closed()
        return report

    def on_quote(self, quote: Mapping[str, Any], funds: Funds | None = None) -> ExecutionReport:
        """Match QUOTE (a Quote record of this symbol) against the open orders, FIFO."""
        entry = check_quote(quote, self.symbol)
        quotes = self._quotes
        if len(quotes) == quotes.capacity:
            self._evicted_ts_us = quotes.oldest_ts_us()
        if not self._orders:
            quotes.append(entry)
            return EMPTY
        report = EMPTY
        try:
            for resting in self._orders:
                if entry.ts_event_us > resting.ts_event_us:
                    report += self._match(resting, entry, funds)
        finally:  # kept with the displayed size its orders have left
            quotes.append(entry)
        self._drop_closed()
        return report

    def cancel(self, order_id: str, ts_event_us: int) -> ExecutionReport:
        """Cancel open order ORDER_ID at TS_EVENT_US; EMPTY if it is not open (filled, unknown).

        A cancel takes effect when it arrives, as at a venue where cancels race fills.
        """
        for resting in self._orders:
            if resting.id == order_id:
                resting.closed = True
                self._drop_closed()
                event = self._event(resting, "CANCELED", ts_event_us, "canceled by request")
                return ExecutionReport(events=(event,))
        return EMPTY

    def _match(
        self, order: RestingOrder, quote: BookQuote, funds: Funds | None = None
    ) -> ExecutionReport:
        """Fill ORDER from QUOTE as far as the model allows; expire or cancel it as its tif says."""
        if order.tif == "DAY" and quote.trading_day > order.trading_day:
            order.closed = True
            event = self._event(order, "CANCELED", quote.ts_event_us, "day order expired")
            return ExecutionReport(events=(event,))
        report = EMPTY
        buy = order.side == "BUY"
        if order.limit_price is None:
            price = self.model.market_price(order.side, quote.bid, quote.ask)
            report = self._fill(order, quote, price, funds)
        elif buy and quote.ask <= order.limit_price:
            report = self._fill(order, quote, money(quote.ask), funds)
        elif not buy and quote.bid >= order.limit_price:
            report = self._fill(order, quote, money(quote.bid), funds)
        if order.tif == "IOC" and not order.closed:
            order.closed = True
            why = "IOC remainder canceled" if order.fills else "IOC not filled"
            report += ExecutionReport(
                events=(self._event(order, "CANCELED", quote.ts_event_us, why),)
            )
        return report

    def _fill(
        self, order: RestingOrder, quote: BookQuote, price: Decimal, funds: Funds | None = None
    ) -> ExecutionReport:
        """Fill what QUOTE's displayed size allows of ORDER at PRICE; charge the commission."""
        note = None
        if funds is not None and order.fills == 0:
            funded = funds.funded(self.symbol, order, price, self.position)
            if funded is not None and funded.qty <= _EPS:
                order.closed = True
                event = self._event(order, "CANCELED", quote.ts_event_us, funded.reason)
                return ExecutionReport(events=(event,))
            if funded is not None and funded.qty != order.qty:
                order.qty, note = funded.qty, funded.reason
        buy = order.side == "BUY"
        leaves = order.qty - order.filled_qty
        available = (
            (quote.ask_left if buy else quote.bid_left)
            if self.model.fill_displayed_size
            else math.inf
        )
        qty = min(leaves, available)
        if qty <= _EPS:
            return EMPTY
        done = leaves - qty <= _EPS
        if done:
            qty = leaves
        if self.model.fill_displayed_size:
            if buy:
                quote.ask_left = max(0.0, quote.ask_left - qty)
            else:
                quote.bid_left = max(0.0, quote.bid_left - qty)
        order.fills += 1
        order.filled_qty = order.qty if done else order.filled_qty + qty
        order.notional += price * Decimal(repr(qty))
        total_fee = self.model.commission(order.filled_qty, order.notional)
        fee, order.fees = total_fee - order.fees, total_fee
        order.closed = done
        self.position += qty if buy else -qty
        fill = fill_record(
            self._keys(order),
            fill_id=f"{order.id}-{order.fills}",
            qty=qty,
            price=price,
            fee=fee,
            venue=VENUE,
            ts_event_us=quote.ts_event_us,
        )
        status = "FILLED" if done else "PARTIALLY_FILLED"
        event = self._event(order, status, quote.ts_event_us, note)
        return ExecutionReport(events=(event,), fills=(fill,))

    def _event(
        self, order: RestingOrder, status: str, ts_event_us: int, reason: str | None = None
    ) -> dict[str, Any]:
        return order_event(
            self._keys(order),
            status,
            filled_qty=order.filled_qty,
            leaves_qty=order.leaves_qty,
            avg_fill_price=order.avg_fill_price,
            ts_event_us=ts_event_us,
            reason=reason,
        )

    def _keys(self, order: RestingOrder) -> dict[str, str]:
        """Return the fields of ORDER that its events and fills repeat."""
        return {"id": order.id, "symbol": self.symbol, "account": order.account, "side": order.side}

    def _remember(self, order_id: str) -> None:
        self._seen[order_id] = None
        if len(self._seen) > _SEEN_IDS:
            del self._seen[next(iter(self._seen))]

    def _drop_closed(self) -> None:
        if self._orders and any(o.closed for o in self._orders):
            self._orders = [o for o in self._orders if not o.closed]

    def state(self) -> dict[str, Any]:
        """Return the book as a JSON-serializable dict (for a changelogged table)."""
        return {
            "symbol": self.symbol,
            "model": self.model.state(),
            "position": self.position,
            "orders": [o.state() for o in self._orders],
            "quote_columns": self._quotes.columns(),
            "evicted_ts_us": self._evicted_ts_us,
            "seen": list(self._seen),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any], model: FillModel | None = None) -> PaperBook:
        """Return the book saved by `state()`, with its saved model unless MODEL replaces it.

        Raise InvalidInputError if STATE is corrupt.
        """
        try:
            book = cls(str(state["symbol"]), model or FillModel.from_state(state["model"]))
            book.position = float(state["position"])
            book._orders = [RestingOrder.from_state(o) for o in state["orders"]]
            columns = _quote_columns(state)
            evicted = state["evicted_ts_us"]
            book._evicted_ts_us = None if evicted is None else int(evicted)
            book._seen = dict.fromkeys(str(i) for i in state["seen"][-_SEEN_IDS:])
            keep = book.model.quote_history
            if len(columns[0]) > keep:  # a smaller quote_history: what it drops is evicted
                book._evicted_ts_us = int(columns[0][-keep - 1])
            book._quotes = QuoteHistory.from_columns(keep, columns)
        except (KeyError, TypeError, ValueError, ArithmeticError, OverflowError) as exc:
            raise InvalidInputError(f"paper book state is unusable: {exc!r}") from exc
        return book


def _quote_columns(state: Mapping[str, Any]) -> Columns:
    """Return the saved quotes as columns: `quote_columns`, or the older `quotes` rows."""
    if "quote_columns" in state:
        columns = state["quote_columns"]
        if not isinstance(columns, list) or len(columns) != 5:
            raise ValueError(f"quote_columns must be 5 lists, got {columns!r:.80}")
        return columns
    # Before the columns: one [ts, bid, ask, bid_left, ask_left, trading_day] row a quote.
    rows = [BookQuote.from_state(q) for q in state["quotes"]]
    return [
        [q.ts_event_us for q in rows],
        [q.bid for q in rows],
        [q.ask for q in rows],
        [q.bid_left for q in rows],
        [q.ask_left for q in rows],
    ]
