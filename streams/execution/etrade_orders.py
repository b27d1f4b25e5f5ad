"""Pure E*TRADE order logic: ids, request payloads, and venue snapshots turned into records.

No I/O here. `OrderTracker` remembers what was last reported for each order we placed, so
listing the account's orders twice reports each change once; its state round-trips
through a JSON-able dict (it lives in a faust table).

- **clientOrderId.** E*TRADE accepts at most 20 alphanumeric characters, unique within
  the account, and refuses a second order with the same one. Ours is the first 20
  characters of the base32 SHA-256 of our order id (upper-case A-Z and 2-7, 100 bits):
  the same order always gets the same clientOrderId, so a resent order is a duplicate to
  E*TRADE, never a second order.
- **Fills.** E*TRADE lists an order's cumulative filled quantity and average price; each
  increase is one execution. Execution n of E*TRADE order N has fill id `etrade-N-n`, its
  quantity the increase, its price the one that moves the average from the old to the new
  value, its fee the increase of the order's total commission. Given the same tracker
  state and the same listing, the ids are the same (a replayed poll dedupes by fill id).
- **Statuses.** OPEN, INDIVIDUAL_FILLS, PARTIAL, CANCEL_REQUESTED: NEW or
  PARTIALLY_FILLED by the filled quantity; EXECUTED: FILLED; CANCELLED and EXPIRED:
  CANCELED; REJECTED: REJECTED. Terminal orders leave the tracker.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Collection, Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from streams.execution.reports import ExecutionReport, fill_record, order_event

__all__ = [
    "CLIENT_ORDER_ID_CHARS",
    "OrderTracker",
    "TrackedOrder",
    "UnsupportedOrderError",
    "VenueOrder",
    "as_list",
    "client_order_id",
    "find_venue_order",
    "order_request",
    "parse_positions",
    "venue_order",
]

CLIENT_ORDER_ID_CHARS = 20  # E*TRADE's limit: 20 alphanumeric characters
VENUE = "etrade"

_TERMS = {"DAY": "GOOD_FOR_DAY", "GTC": "GOOD_UNTIL_CANCEL", "IOC": "IMMEDIATE_OR_CANCEL"}
_OPEN = frozenset({"OPEN", "INDIVIDUAL_FILLS", "PARTIAL", "CANCEL_REQUESTED"})
_TERMINAL = {
    "EXECUTED": ("FILLED", None),
    "CANCELLED": ("CANCELED", "canceled at E*TRADE"),
    "EXPIRED": ("CANCELED", "expired at E*TRADE"),
    "REJECTED": ("REJECTED", "rejected by E*TRADE"),
}


class UnsupportedOrderError(ValueError):
    """An Order record E*TRADE cannot take as is; the message is the rejection reason."""


def client_order_id(order_id: str) -> str:
    """Return E*TRADE's clientOrderId for our ORDER_ID: 20 base32 chars of its SHA-256."""
    digest = hashlib.sha256(order_id.encode("utf-8")).digest()
    return base64.b32encode(digest).decode("ascii")[:CLIENT_ORDER_ID_CHARS]


def _price_text(price: float) -> str:
    return format(Decimal(repr(price)), "f")


def order_request(
    order: Mapping[str, Any], *, account_id_key: str, client_id: str
) -> dict[str, Any]:
    """Return pyetrade's equity-order keyword arguments for an Order record.

    Raise `UnsupportedOrderError` for what E*TRADE refuses or we do not map: fractional
    or non-positive quantities, a LIMIT without a positive limit price, IOC on a market
    order (E*TRADE takes IOC for limit orders only), unknown sides, types or tifs.
    SELL maps to SELL: short sales (SELL_SHORT / BUY_TO_COVER) are not supported.
    """
    qty = float(order["qty"])
    if not math.isfinite(qty) or qty <= 0 or qty != int(qty):
        raise UnsupportedOrderError(f"E*TRADE takes whole positive share quantities, got {qty!r}")
    side, order_type = order.get("side"), order.get("order_type")
    tif = order.get("tif") or "DAY"
    if side not in ("BUY", "SELL"):
        raise UnsupportedOrderError(f"unknown side {side!r}")
    if tif not in _TERMS:
        raise UnsupportedOrderError(f"unknown time in force {tif!r}")
    kwargs: dict[str, Any] = {
        "accountIdKey": account_id_key,
        "symbol": order["symbol"],
        "orderAction": side,
        "clientOrderId": client_id,
        "quantity": int(qty),
        "marketSession": "REGULAR",
        "orderTerm": _TERMS[tif],
    }
    if order_type == "MARKET":
        if tif == "IOC":
            raise UnsupportedOrderError("E*TRADE takes IOC for limit orders only")
        kwargs["priceType"] = "MARKET"
    elif order_type == "LIMIT":
        limit = order.get("limit_price")
        if limit is None or not math.isfinite(limit) or limit <= 0:
            raise UnsupportedOrderError(f"LIMIT order needs a positive limit_price, got {limit!r}")
        kwargs["priceType"] = "LIMIT"
        kwargs["limitPrice"] = _price_text(float(limit))
    else:
        raise UnsupportedOrderError(f"unknown order type {order_type!r}")
    return kwargs


def as_list(value: Any) -> list[Any]:
    """Return VALUE as a list: XML parsing gives a dict for one child, a list for several."""
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _decimal(value: Any, default: str = "0") -> Decimal:
    try:
        return Decimal(repr(value) if isinstance(value, float) else str(value))
    except (InvalidOperation, ValueError):
        return Decimal(default)


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """The part of an E*TRADE order listing entry the adapter uses."""

    etrade_id: int
    client_id: str | None
    symbol: str
    action: str
    status: str
    ordered_qty: float
    filled_qty: float
    avg_price: Decimal | None
    executed_ms: int | None
    commission: Decimal


def venue_order(entry: Mapping[str, Any]) -> VenueOrder:
    """Return the `VenueOrder` of one `OrdersResponse.Order[]` entry (single-leg equity)."""
    detail = (as_list(entry.get("OrderDetail")) or [{}])[0]
    instrument = (as_list(detail.get("Instrument")) or [{}])[0]
    filled = float(instrument.get("filledQuantity") or 0.0)
    avg = instrument.get("averageExecutionPrice")
    executed = detail.get("executedTime")
    client_id = entry.get("clientOrderId", detail.get("clientOrderId"))
    return VenueOrder(
        etrade_id=int(entry["orderId"]),
        client_id=str(client_id) if client_id is not None else None,
        symbol=str((instrument.get("Product") or {}).get("symbol", "")),
        action=str(instrument.get("orderAction", "")),
        status=str(detail.get("status", "OPEN")).upper(),
        ordered_qty=float(instrument.get("orderedQuantity") or instrument.get("quantity") or 0.0),
        filled_qty=filled,
        avg_price=_decimal(avg) if avg not in (None, "") and filled > 0 else None,
        executed_ms=int(executed) if executed not in (None, "") else None,
        commission=_decimal(entry.get("totalCommission") or 0),
    )


def find_venue_order(
    listing: Iterable[VenueOrder], order: TrackedOrder, taken: Collection[int] = ()
) -> VenueOrder | None:
    """Return ORDER's entry in LISTING: by clientOrderId, else by what it looks like.

    E*TRADE's documentation says clientOrderId "does not appear in any API responses", so
    when the listing carries none, the newest order with ORDER's symbol, side and quantity
    whose number is not TAKEN (by another tracked order) is taken as ours.
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


class OrderTracker:
    """Open orders placed at E*TRADE, in placement order, with what was last reported."""

    def __init__(self, orders: Mapping[str, TrackedOrder] | None = None) -> None:
        self._orders: dict[str, TrackedOrder] = dict(orders or {})

    def get(self, order_id: str) -> TrackedOrder | None:
        """Return the tracked order ORDER_ID, or None."""
        return self._orders.get(order_id)

    def open_orders(self) -> list[TrackedOrder]:
        """Return the tracked orders in placement order."""
        return list(self._orders.values())

    def venue_ids(self) -> set[int]:
        """Return the E*TRADE order numbers already matched to a tracked order."""
        return {o.etrade_id for o in self._orders.values() if o.etrade_id is not None}

    def track(self, order: TrackedOrder) -> None:
        """Start (or keep) tracking ORDER."""
        self._orders[order.id] = order

    def forget(self, order_id: str) -> None:
        """Stop tracking ORDER_ID (rejected or terminal)."""
        self._orders.pop(order_id, None)

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
        tracked = replace(tracked, status=status)
        if terminal:
            self.forget(order_id)
        else:
            self._orders[order_id] = tracked
        return report + ExecutionReport(events=events, fills=fills)

    def state(self) -> dict[str, Any]:
        """Return the tracker as a JSON-able dict."""
        return {"orders": [asdict(order) for order in self._orders.values()]}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> OrderTracker:
        """Rebuild a tracker from `state()`."""
        orders = [TrackedOrder(**entry) for entry in state.get("orders", [])]
        return cls({order.id: order for order in orders})


def _execution(
    tracked: TrackedOrder, venue: VenueOrder, ts_event_us: int
) -> tuple[dict[str, Any], TrackedOrder]:
    assert venue.avg_price is not None  # checked by the caller
    old_qty, new_qty = Decimal(repr(tracked.filled_qty)), Decimal(repr(venue.filled_qty))
    old_avg = Decimal(tracked.avg_price) if tracked.avg_price is not None else Decimal(0)
    qty = new_qty - old_qty
    price = (venue.avg_price * new_qty - old_avg * old_qty) / qty
    fee = max(venue.commission - Decimal(tracked.commission), Decimal(0))
    n = tracked.executions + 1
    fill = fill_record(
        asdict(tracked), fill_id=f"{VENUE}-{venue.etrade_id}-{n}", qty=float(qty),
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


def parse_positions(portfolio: Mapping[str, Any]) -> dict[str, float]:
    """Return symbol -> signed quantity of the equity positions of a PortfolioResponse.

    Lots of one symbol are summed; SHORT positions count negative whatever the sign E*TRADE
    gives them; options and other security types are left out (their quantities are
    contracts, not shares).
    """
    totals: dict[str, float] = {}
    response = portfolio.get("PortfolioResponse") or {}
    for account in as_list(response.get("AccountPortfolio")):
        for position in as_list(account.get("Position")):
            product = position.get("Product") or {}
            if str(product.get("securityType", "EQ")).upper() != "EQ":
                continue
            qty = abs(float(position.get("quantity") or 0.0))
            if str(position.get("positionType", "LONG")).upper() == "SHORT":
                qty = -qty
            symbol = str(product.get("symbol") or position.get("symbolDescription"))
            totals[symbol] = totals.get(symbol, 0.0) + qty
    return totals
