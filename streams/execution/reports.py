"""What a broker adapter hands back: order lifecycle events and fills, as Avro-shaped dicts.

Every adapter (paper, E*TRADE) answers `submit`, `cancel`, `poll` and quotes with an
`ExecutionReport`, so the execution agent publishes one shape whatever the venue:
`events` go to `orders.events` (OrderEvent records), `fills` to `fills` (Fill records).
The builders below keep the field sets of those schemas in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any, ClassVar

__all__ = ["EMPTY", "ExecutionReport", "fill_record", "money", "order_event"]

_MONEY_QUANTUM = Decimal("0.000001")  # decimal(18,6) in Fill.avsc and Position.avsc


@dataclass(frozen=True, slots=True)
class ExecutionReport:
    """Order events (OrderEvent records) and fills (Fill records), in the order they happened."""

    events: tuple[dict[str, Any], ...] = ()
    fills: tuple[dict[str, Any], ...] = ()

    EMPTY: ClassVar[ExecutionReport]

    def __add__(self, other: ExecutionReport) -> ExecutionReport:
        if not isinstance(other, ExecutionReport):
            return NotImplemented
        if not (other.events or other.fills):
            return self
        if not (self.events or self.fills):
            return other
        return ExecutionReport(self.events + other.events, self.fills + other.fills)

    def __bool__(self) -> bool:
        return bool(self.events or self.fills)


EMPTY = ExecutionReport()
ExecutionReport.EMPTY = EMPTY


def money(value: Decimal | float | int | str) -> Decimal:
    """Return VALUE as a Decimal quantized to 6 places (half-even), as decimal(18,6) stores it.

    A float goes through its shortest repr, so 185.22 becomes 185.220000, not the binary
    expansion of the double.
    """
    dec = (
        value
        if isinstance(value, Decimal)
        else Decimal(repr(value) if isinstance(value, float) else value)
    )
    return dec.quantize(_MONEY_QUANTUM, rounding=ROUND_HALF_EVEN)


def order_event(
    order: Mapping[str, Any],
    status: str,
    *,
    filled_qty: float,
    leaves_qty: float,
    avg_fill_price: float | None,
    ts_event_us: int,
    reason: str | None = None,
) -> dict[str, Any]:
    """Return an OrderEvent record: ORDER (its id, symbol, account) is now in STATUS.

    ORDER is anything with the Order record's "id", "symbol" and optional "account" keys.
    """
    return {
        "order_id": order["id"],
        "symbol": order["symbol"],
        "account": order.get("account", "default"),
        "status": status,
        "filled_qty": filled_qty,
        "leaves_qty": leaves_qty,
        "avg_fill_price": avg_fill_price,
        "reason": reason,
        "ts_event_us": ts_event_us,
    }


def fill_record(
    order: Mapping[str, Any],
    *,
    fill_id: str,
    qty: float,
    price: Decimal,
    fee: Decimal,
    venue: str,
    ts_event_us: int,
) -> dict[str, Any]:
    """Return a Fill record of QTY shares of ORDER at PRICE paying FEE (quantized to 6 places).

    ORDER is anything with the Order record's "id", "symbol", "side" and optional "account".
    """
    return {
        "id": fill_id,
        "order_id": order["id"],
        "symbol": order["symbol"],
        "account": order.get("account", "default"),
        "side": order["side"],
        "qty": qty,
        "price": money(price),
        "fee": money(fee),
        "venue": venue,
        "ts_event_us": ts_event_us,
    }
