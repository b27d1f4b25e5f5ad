"""Pure E*TRADE order logic: clientOrderIds, request payloads, listings and the portfolio.

No I/O here: these functions turn our Order records into pyetrade's keyword arguments and
E*TRADE's JSON/XML answers into plain values (`VenueOrder`, positions).

- **clientOrderId.** E*TRADE accepts at most 20 alphanumeric characters, unique within
  the account, and refuses a second order with the same one. Ours is the first 20
  characters of the base32 SHA-256 of our order id (upper-case A-Z and 2-7, 100 bits):
  the same order always gets the same clientOrderId, so a resent order is a duplicate to
  E*TRADE, never a second order.
- **Orders.** BUY/SELL, MARKET/LIMIT, DAY/GTC/IOC (IOC for limit orders only), whole
  shares, regular session. Short sales (SELL_SHORT, BUY_TO_COVER) are not mapped.
"""

from __future__ import annotations

import base64
import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from streams.exceptions import InvalidInputError

__all__ = [
    "CLIENT_ORDER_ID_CHARS",
    "VENUE",
    "UnsupportedOrderError",
    "VenueOrder",
    "as_list",
    "client_order_id",
    "order_request",
    "parse_positions",
    "venue_order",
]

CLIENT_ORDER_ID_CHARS = 20  # E*TRADE's limit: 20 alphanumeric characters
VENUE = "etrade"

_TERMS = {"DAY": "GOOD_FOR_DAY", "GTC": "GOOD_UNTIL_CANCEL", "IOC": "IMMEDIATE_OR_CANCEL"}


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


def _decimal(value: Any) -> Decimal | None:
    """Return VALUE as a finite Decimal, None if it is missing or not a finite number."""
    if value is None or value == "":
        return None
    try:
        number = Decimal(repr(value) if isinstance(value, float) else str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


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
    if not math.isfinite(filled):
        raise InvalidInputError(f"E*TRADE order {entry.get('orderId')}: filled {filled!r}")
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
        avg_price=_decimal(avg) if filled > 0 else None,
        executed_ms=int(executed) if executed not in (None, "") else None,
        commission=_decimal(entry.get("totalCommission")) or Decimal(0),
    )


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
