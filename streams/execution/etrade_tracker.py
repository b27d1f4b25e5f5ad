"""What we placed at E*TRADE and what we last reported of it: listings become records.

No I/O here. `OrderTracker` remembers, for each order we placed and that is still open,
the status, filled quantity and average price last reported, so listing the account's
orders twice reports each change once; its state round-trips through a JSON-able dict
(it lives in a faust table).

- **Fills.** E*TRADE lists an order's cumulative filled quantity and average price; each
  increase is one execution. Execution n of E*TRADE order N has fill id `etrade-N-n`, its
  quantity the increase, its price the one that moves the average from the old to the new
  value, its fee the increase of the order's total commission, its time E*TRADE's
  executedTime. Given the same tracker state and the same listing, the ids are the same
  (a replayed poll dedupes by fill id).
- **Statuses.** OPEN, INDIVIDUAL_FILLS, PARTIAL, CANCEL_REQUESTED: NEW or
  PARTIALLY_FILLED by the filled quantity; EXECUTED: FILLED; CANCELLED and EXPIRED:
  CANCELED; REJECTED: REJECTED; an unknown status changes nothing but the fills. Event
  times are the poll's. Terminal orders leave the tracker.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from decimal import Decimal
from typing import Any

from streams.execution.etrade_orders import VENUE, VenueOrder
from streams.execution.reports import ExecutionReport, fill_record, order_event

__all__ = ["OrderTracker", "TrackedOrder", "find_venue_order"]

_OPEN = frozenset({"OPEN", "INDIVIDUAL_FILLS", "PARTIAL", "CANCEL_REQUESTED"})
_TERMINAL = {
    "EXECUTED": ("FILLED", None),
    "CANCELLED": ("CANCELED", "canceled at E*TRADE"),
    "EXPIRED": ("CANCELED", "expired at E*TRADE"),
    "REJECTED": ("REJECTED", "rejected by E*TRADE"),
}


@dataclass(frozen=True, slots=True)
class TrackedOrder:
    """What we placed and what we last reported of it; JSON-able through `asdict`."""

    id: str
    symbol: str
    account: str
    side: str
    qty: float
    client_id: str
    etrade_id: int | None = None
    status: str = "PENDING"  # PENDING: sent, not yet confirmed by E*TRADE
    filled_qty: float = 0.0
    avg_price: str | None = None  # Decimal text, exact across the state round trip
    commission: str = "0"
    executions: int = 0


def find_venue_order(
    listing: Iterable[VenueOrder], order: TrackedOrder, taken: Collection[int] = ()
) -> VenueOrder | None:
    """Return ORDER's entry in LISTING: by clientOrderId, else by what it looks like.

    E*TRADE's documentation says clientOrderId "does not appear in any API responses", so
    when the listing carries none, the newest order with ORDER's symbol, side and quantity
    whose number is not TAKEN (by another order of ours, open or done) is taken as ours.
    """
    listed = list(listing)
    exact = [venue for venue in listed if venue.client_id == order.client_id]
    if exact:
        return exact[0]
    candidates = [
        venue
        for venue in listed
        if venue.client_id is None
        and venue.etrade_id not in taken
        and (venue.symbol, venue.action, venue.ordered_qty) == (order.symbol, order.side, order.qty)
    ]
    return max(candidates, key=lambda venue: venue.etrade_id, default=None)


class OrderTracker:
    """Open orders placed at E*TRADE, in placement order, with what was last reported.

    It also remembers the E*TRADE numbers of its last `DONE_MEMORY` finished orders, so an
    order matched by its looks is never one of ours that is already done.
    """

    DONE_MEMORY = 1_024

    def __init__(
        self, orders: Mapping[str, TrackedOrder] | None = None, done: Iterable[int] = ()
    ) -> None:
        self._orders: dict[str, TrackedOrder] = dict(orders or {})
        self._done: deque[int] = deque(done, maxlen=self.DONE_MEMORY)

    def get(self, order_id: str) -> TrackedOrder | None:
        """Return the tracked order ORDER_ID, or None."""
        return self._orders.get(order_id)

    def open_orders(self) -> list[TrackedOrder]:
        """Return the tracked orders in placement order."""
        return list(self._orders.values())

    def venue_ids(self) -> set[int]:
        """Return the E*TRADE numbers of our orders, open or done."""
        open_ids = {o.etrade_id for o in self._orders.values() if o.etrade_id is not None}
        return open_ids | set(self._done)

    def track(self, order: TrackedOrder) -> None:
        """Start (or keep) tracking ORDER."""
        self._orders[order.id] = order

    def forget(self, order_id: str) -> None:
        """Stop tracking ORDER_ID (rejected or terminal)."""
        order = self._orders.pop(order_id, None)
        if order is not None and order.etrade_id is not None:
            self._done.append(order.etrade_id)

    def confirm(self, order_id: str, etrade_id: int | None, ts_event_us: int) -> ExecutionReport:
        """Report ORDER_ID accepted (NEW, once), with E*TRADE's order number if known.

        The number is unknown when E*TRADE refused a resend as a duplicate clientOrderId
        but its listing did not show the order yet; `apply` fills it in later.
        """
        tracked = self._orders[order_id]
        if tracked.status != "PENDING":
            return ExecutionReport.EMPTY
        tracked = replace(tracked, etrade_id=etrade_id, status="NEW")
        self._orders[order_id] = tracked
        event = order_event(
            asdict(tracked), "NEW", filled_qty=0.0, leaves_qty=tracked.qty,
            avg_fill_price=None, ts_event_us=ts_event_us,
        )  # fmt: skip
        return ExecutionReport(events=(event,))

    def apply(self, order_id: str, venue: VenueOrder, ts_event_us: int) -> ExecutionReport:
        """Report what changed in ORDER_ID since last time, as VENUE lists it now."""
        tracked = self._orders[order_id]
        report = ExecutionReport.EMPTY
        if tracked.status == "PENDING":
            report = self.confirm(order_id, venue.etrade_id, ts_event_us)
        tracked = replace(self._orders[order_id], etrade_id=venue.etrade_id)
        fills: tuple[dict[str, Any], ...] = ()
        if venue.filled_qty > tracked.filled_qty and venue.avg_price is not None:
            fill, tracked = _execution(tracked, venue, ts_event_us)
            fills = (fill,)
        status, reason = _status(venue, tracked)
        terminal = status in ("FILLED", "CANCELED", "REJECTED")
        leaves = 0.0 if terminal else tracked.qty - tracked.filled_qty
        events: tuple[dict[str, Any], ...] = ()
        if fills or status != tracked.status:
            avg = float(tracked.avg_price) if tracked.avg_price is not None else None
            events = (
                order_event(
                    asdict(tracked), status, filled_qty=tracked.filled_qty,
                    leaves_qty=max(leaves, 0.0), avg_fill_price=avg,
                    ts_event_us=ts_event_us, reason=reason,
                ),
            )  # fmt: skip
        self._orders[order_id] = replace(tracked, status=status)
        if terminal:
            self.forget(order_id)
        return report + ExecutionReport(events=events, fills=fills)

    def state(self) -> dict[str, Any]:
        """Return the tracker as a JSON-able dict."""
        return {
            "orders": [asdict(order) for order in self._orders.values()],
            "done": list(self._done),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> OrderTracker:
        """Rebuild a tracker from `state()`."""
        orders = [TrackedOrder(**entry) for entry in state.get("orders", [])]
        return cls({order.id: order for order in orders}, state.get("done", ()))


def _execution(
    tracked: TrackedOrder, venue: VenueOrder, ts_event_us: int
) -> tuple[dict[str, Any], TrackedOrder]:
    assert venue.avg_price is not None  # checked by the caller
    old_qty, new_qty = Decimal(repr(tracked.filled_qty)), Decimal(repr(venue.filled_qty))
    old_avg = Decimal(tracked.avg_price) if tracked.avg_price is not None else Decimal(0)
    qty = new_qty - old_qty
    price = (venue.avg_price * new_qty - old_avg * old_qty) / qty
    if price <= 0:  # E*TRADE rounds its averages; never let that make a price up
        price = venue.avg_price
    fee = max(venue.commission - Decimal(tracked.commission), Decimal(0))
    n = tracked.executions + 1
    fill = fill_record(
        # <order id>-<n>, as the paper venue names its fills: a fill's id says which of our
        # orders it executes, whatever the venue (and a replayed poll repeats it).
        asdict(tracked), fill_id=f"{tracked.id}-{n}", qty=float(qty),
        price=price, fee=fee, venue=VENUE,
        ts_event_us=venue.executed_ms * 1_000 if venue.executed_ms is not None else ts_event_us,
    )  # fmt: skip
    updated = replace(
        tracked, filled_qty=venue.filled_qty, avg_price=str(venue.avg_price),
        commission=str(max(venue.commission, Decimal(tracked.commission))), executions=n,
    )  # fmt: skip
    return fill, updated


def _status(venue: VenueOrder, tracked: TrackedOrder) -> tuple[str, str | None]:
    if venue.status in _TERMINAL:
        return _TERMINAL[venue.status]
    if venue.status not in _OPEN:
        # A status this adapter does not know: keep the order open and report fills only.
        return tracked.status, None
    return ("PARTIALLY_FILLED" if tracked.filled_qty > 0 else "NEW"), None
