"""Average-cost position accounting of one (account, symbol), fed by fills, marked by quotes.

The average-cost rules are `streams.positions.cost_basis` (shared with the risk gate and
the P&L report): quantity, average price and realized P&L are exact Decimals there.

realized_pnl is GROSS of fees (as Position.avsc says): fees accumulate apart, so net P&L is
realized_pnl - fees. The Position record carries money quantized to 6 places and qty,
avg_price and unrealized_pnl = (mark - avg_price) * qty as floats. ts_event_us is the newest
event time applied (a late fill does not move it back), and version grows by one per change.

**Duplicate fills.** A fill id already applied is ignored. The book remembers the last
`fill_id_memory` ids (64 by default) and that bound is safe: under exactly-once a fill is
redelivered only after an aborted transaction, which also rolls back this table, so the
memory only guards at-least-once producers (a live broker poller re-reading its last page
of fills), whose repeats are recent. Each id costs memory and table space for every symbol
held: a worker of 5,000 symbols kept 1,000 of them each, ~1 GB, before the bound was 64.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Context, Decimal
from typing import Any

from streams.exceptions import InvalidInputError
from streams.positions.cost_basis import CostBasis, exact

__all__ = ["FILL_ID_MEMORY", "PositionBook", "recompute_positions"]

FILL_ID_MEMORY = 64
_INF = math.inf
_MONEY = Decimal("0.000001")
_CTX = Context(prec=34, rounding=ROUND_HALF_EVEN)  # explicit: no dependence on the global one


def _money(value: Decimal) -> Decimal:
    return value.quantize(_MONEY, context=_CTX)


def _decimal(value: object, what: str) -> Decimal:
    """Return VALUE (a Decimal, or a number through its shortest repr) as a finite Decimal."""
    try:
        return exact(value)
    except ValueError:
        raise InvalidInputError(f"fill {what} must be a finite number, got {value!r}") from None


class PositionBook:
    """The position of one account in one symbol (see the module docstring for the rules)."""

    __slots__ = (
        "_applied",
        "_cost",
        "_mark_ts_us",
        "_qty",
        "account",
        "fees",
        "fill_id_memory",
        "last_fill_id",
        "last_mark",
        "symbol",
        "ts_event_us",
        "version",
    )

    def __init__(self, account: str, symbol: str, *, fill_id_memory: int = FILL_ID_MEMORY) -> None:
        if isinstance(fill_id_memory, bool) or not (
            isinstance(fill_id_memory, int) and fill_id_memory >= 1
        ):
            raise InvalidInputError(f"fill_id_memory must be an int >= 1, got {fill_id_memory!r}")
        self.account = account
        self.symbol = symbol
        self.fill_id_memory = fill_id_memory
        self._cost = CostBasis()
        self._qty = 0.0  # float(self._cost.qty), read on every quote's mark
        self.fees = Decimal("0.000000")
        self.last_mark: float | None = None
        self.version = 0
        self.last_fill_id: str | None = None
        self.ts_event_us = 0
        self._mark_ts_us: int | None = None
        self._applied: dict[str, None] = {}  # recent fill ids, oldest first (an ordered set)

    @property
    def qty(self) -> float:
        """Return the signed quantity (long > 0)."""
        return self._qty

    @property
    def avg_price(self) -> float:
        """Return the average price of the open quantity (0 when flat)."""
        return float(self._cost.avg_price)

    @property
    def realized_pnl(self) -> Decimal:
        """Return the realized P&L, gross of fees, to 6 places (kept exact underneath)."""
        return _money(self._cost.realized)

    @property
    def unrealized_pnl(self) -> float:
        """Return (last_mark - avg_price) * qty; 0 when flat or never marked."""
        if self.last_mark is None or self.qty == 0.0:
            return 0.0
        return (self.last_mark - self.avg_price) * self.qty

    def has_applied(self, fill_id: str) -> bool:
        """Return True if FILL_ID is among the remembered applied fills."""
        return fill_id in self._applied

    def apply_fill(self, fill: Mapping[str, Any]) -> bool:
        """Apply FILL (a Fill record of this account and symbol); False if already applied.

        Raise InvalidInputError, changing nothing, for a fill of another position or a
        corrupt one (qty not finite and > 0, price not finite and > 0, fee not finite).
        """
        fill_id, side, qty, price, fee, ts_us = self._checked(fill)
        if fill_id in self._applied:
            return False
        self._cost.apply(qty if side == "BUY" else -qty, price)
        self._qty = float(self._cost.qty)
        self.fees = _money(self.fees + fee)
        self._remember(fill_id)
        self.last_fill_id = fill_id
        self.ts_event_us = max(self.ts_event_us, ts_us)
        self.version += 1
        return True

    def mark(self, price: float, ts_event_us: int) -> bool:
        """Mark the position to PRICE at TS_EVENT_US; True if the mark changed.

        A mark older than the last one is ignored (False): quotes and fills interleave.
        """
        if not (type(price) is float and 0.0 < price < _INF):  # a mid passes in one test
            if isinstance(price, bool) or not (
                isinstance(price, int | float) and math.isfinite(price) and price > 0
            ):
                raise InvalidInputError(f"mark price must be finite and > 0, got {price!r}")
            price = float(price)
        mark_ts_us = self._mark_ts_us
        if mark_ts_us is not None and ts_event_us < mark_ts_us:
            return False
        self._mark_ts_us = ts_event_us
        if self.last_mark == price:
            return False
        self.last_mark = price
        if ts_event_us > self.ts_event_us:
            self.ts_event_us = ts_event_us
        self.version += 1
        return True

    def to_record(self) -> dict[str, Any]:
        """Return the position as a Position record (Position.avsc)."""
        return {
            "account": self.account,
            "symbol": self.symbol,
            "qty": self.qty,
            "avg_price": self.avg_price,
            "realized_pnl": _money(self.realized_pnl),
            "fees": _money(self.fees),
            "last_mark": self.last_mark,
            "unrealized_pnl": self.unrealized_pnl,
            "version": self.version,
            "last_fill_id": self.last_fill_id,
            "ts_event_us": self.ts_event_us,
        }

    def state(self) -> dict[str, Any]:
        """Return the position as a JSON-serializable dict (for a changelogged table)."""
        return {
            "account": self.account,
            "symbol": self.symbol,
            "fill_id_memory": self.fill_id_memory,
            "qty": str(self._cost.qty),
            "avg_price": str(self._cost.avg_price),
            "realized_pnl": str(self._cost.realized),
            "fees": str(self.fees),
            "last_mark": self.last_mark,
            "mark_ts_us": self._mark_ts_us,
            "version": self.version,
            "last_fill_id": self.last_fill_id,
            "ts_event_us": self.ts_event_us,
            "applied": list(self._applied),
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> PositionBook:
        """Return the position saved by `state()`; raise InvalidInputError if STATE is corrupt."""
        try:
            book = cls(
                str(state["account"]), str(state["symbol"]), fill_id_memory=state["fill_id_memory"]
            )
            # Exact strings; floats too (states written before the cost basis was Decimal).
            book._cost = CostBasis(
                exact(state["qty"]), exact(state["avg_price"]), exact(state["realized_pnl"])
            )
            book._qty = float(book._cost.qty)
            book.fees = exact(state["fees"])
            mark = state["last_mark"]
            book.last_mark = None if mark is None else float(mark)
            mark_ts = state["mark_ts_us"]
            book._mark_ts_us = None if mark_ts is None else int(mark_ts)
            book.version = int(state["version"])
            last = state["last_fill_id"]
            book.last_fill_id = None if last is None else str(last)
            book.ts_event_us = int(state["ts_event_us"])
            book._applied = dict.fromkeys(str(i) for i in state["applied"][-book.fill_id_memory :])
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            raise InvalidInputError(f"position state is unusable: {exc!r}") from exc
        return book

    def _checked(self, fill: Mapping[str, Any]) -> tuple[str, str, Decimal, Decimal, Decimal, int]:
        fill_id, side, qty, ts_us = (
            fill.get("id"),
            fill.get("side"),
            fill.get("qty"),
            fill.get("ts_event_us"),
        )
        where = (fill.get("account", "default"), fill.get("symbol"))
        if where != (self.account, self.symbol):
            raise InvalidInputError(
                f"fill of {where} applied to the position of {(self.account, self.symbol)}"
            )
        if not isinstance(fill_id, str) or side not in ("BUY", "SELL"):
            raise InvalidInputError(f"fill needs a str id and a side BUY or SELL: {dict(fill)!r}")
        if isinstance(qty, bool) or not (
            isinstance(qty, int | float) and math.isfinite(qty) and qty > 0
        ):
            raise InvalidInputError(f"fill qty must be finite and > 0, got {qty!r}")
        if isinstance(ts_us, bool) or not isinstance(ts_us, int):
            raise InvalidInputError(f"fill ts_event_us must be an int, got {ts_us!r}")
        price = _decimal(fill.get("price"), "price")
        if price <= 0:
            raise InvalidInputError(f"fill price must be > 0, got {price}")
        return fill_id, side, exact(float(qty)), price, _decimal(fill.get("fee", 0), "fee"), ts_us

    def _remember(self, fill_id: str) -> None:
        self._applied[fill_id] = None
        if len(self._applied) > self.fill_id_memory:
            del self._applied[next(iter(self._applied))]


def recompute_positions(fills: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], PositionBook]:
    """Return the positions that FILLS lead to, keyed by (account, symbol), fills deduplicated.

    Every fill id is remembered (not just the last `fill_id_memory`), for checking a
    positions table against the whole fills topic. Positions come back never marked,
    version = fills applied, fills assumed valid.
    """
    books: dict[tuple[str, str], PositionBook] = {}
    seen: set[tuple[str, str, str]] = set()
    for fill in fills:
        key = (str(fill.get("account", "default")), str(fill["symbol"]))
        if (*key, fill["id"]) in seen:
            continue
        seen.add((*key, fill["id"]))
        book = books.get(key)
        if book is None:
            book = books[key] = PositionBook(*key)
        book.apply_fill(fill)
    return books
