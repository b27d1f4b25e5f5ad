"""Average-cost position accounting of one (account, symbol), fed by fills, marked by quotes.

Rules (`PositionBook.apply_fill`), with qty signed (long > 0, short < 0):

- a fill on the side of the position (or from flat) re-averages:
  avg = (|qty| * avg + fill_qty * price) / (|qty| + fill_qty);
- a fill against it realizes (price - avg) * closed for a long, (avg - price) * closed for
  a short, where closed = min(fill_qty, |qty|), and leaves avg unchanged;
- a fill through zero realizes the closed part and opens the remainder at the fill price
  (long <-> short); a fill that ends exactly flat sets avg to 0.

realized_pnl is GROSS of fees (as Position.avsc says): fees accumulate apart, so net P&L is
realized_pnl - fees. Money is Decimal quantized to 6 places per fill; qty, avg_price and
unrealized_pnl = (mark - avg_price) * qty are floats. ts_event_us is the newest event time
applied (a late fill does not move it back), and version grows by one per change.

**Duplicate fills.** A fill id already applied is ignored. The book remembers the last
`fill_id_memory` ids (1,000 by default) and that bound is safe: under exactly-once a fill is
redelivered only after an aborted transaction, which also rolls back this table, so the
memory only guards at-least-once producers (a live broker poller re-reading its last page
of fills), whose repeats are recent. A bigger memory costs table space on every write.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation
from typing import Any

from streams.exceptions import InvalidInputError

__all__ = ["FILL_ID_MEMORY", "PositionBook", "recompute_positions"]

FILL_ID_MEMORY = 1_000
_FLAT_EPS = 1e-9  # shares: a position this small is float noise, i.e. flat
_INF = math.inf
_MONEY = Decimal("0.000001")
_CTX = Context(prec=34, rounding=ROUND_HALF_EVEN)  # explicit: no dependence on the global one


def _money(value: Decimal) -> Decimal:
    return value.quantize(_MONEY, context=_CTX)


def _decimal(value: object, what: str) -> Decimal:
    """Return VALUE (a Decimal, or a number through its shortest repr) as a finite Decimal."""
    try:
        dec = (
            value
            if isinstance(value, Decimal)
            else Decimal(repr(value) if isinstance(value, float) else str(value))
        )
    except InvalidOperation:
        dec = Decimal("NaN")
    if isinstance(value, bool) or not dec.is_finite():
        raise InvalidInputError(f"fill {what} must be a finite number, got {value!r}")
    return dec


class PositionBook:
    """The position of one account in one symbol (see the module docstring for the rules)."""

    __slots__ = (
        "_applied",
        "_mark_ts_us",
        "account",
        "avg_price",
        "fees",
        "fill_id_memory",
        "last_fill_id",
        "last_mark",
        "qty",
        "realized_pnl",
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
        self.qty = 0.0
        self.avg_price = 0.0
        self.realized_pnl = Decimal("0.000000")
        self.fees = Decimal("0.000000")
        self.last_mark: float | None = None
        self.version = 0
        self.last_fill_id: str | None = None
        self.ts_event_us = 0
        self._mark_ts_us: int | None = None
        self._applied: dict[str, None] = {}  # recent fill ids, oldest first (an ordered set)

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
        if self.qty == 0.0 or (self.qty > 0.0) == (side == "BUY"):
            held = abs(self.qty)
            self.avg_price = (held * self.avg_price + qty * float(price)) / (held + qty)
            self.qty = self.qty + qty if side == "BUY" else self.qty - qty
        else:
            closed = min(qty, abs(self.qty))
            avg = Decimal(self.avg_price)  # exact: the float's binary value
            per_share = _CTX.subtract(price, avg) if self.qty > 0.0 else _CTX.subtract(avg, price)
            self.realized_pnl = _money(
                self.realized_pnl + _money(_CTX.multiply(per_share, Decimal(closed)))
            )
            new_qty = self.qty + qty if side == "BUY" else self.qty - qty
            if abs(new_qty) <= _FLAT_EPS:
                self.qty, self.avg_price = 0.0, 0.0
            else:
                if qty - closed > _FLAT_EPS:  # through zero: the remainder opens at the fill price
                    self.avg_price = float(price)
                self.qty = new_qty
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
            "qty": self.qty,
            "avg_price": self.avg_price,
            "realized_pnl": str(self.realized_pnl),
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
            book.qty = float(state["qty"])
            book.avg_price = float(state["avg_price"])
            book.realized_pnl = Decimal(state["realized_pnl"])
            book.fees = Decimal(state["fees"])
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
        if not (book.realized_pnl.is_finite() and book.fees.is_finite()):
            raise InvalidInputError(f"position state has non-finite money: {dict(state)!r}")
        return book

    def _checked(self, fill: Mapping[str, Any]) -> tuple[str, str, float, Decimal, Decimal, int]:
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
        return fill_id, side, float(qty), price, _decimal(fill.get("fee", 0), "fee"), ts_us

    def _remember(self, fill_id: str) -> None:
        self._applied[fill_id] = None
        if len(self._applied) > self.fill_id_memory:
            del self._applied[next(iter(self._applied))]


def recompute_positions(fills: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], PositionBook]:
    """Return the positions that FILLS lead to, keyed by (account, symbol), fills deduplicated.

    An independent re-derivation of `PositionBook.apply_fill` (its own loop, same rules) that
    remembers every fill id, for checking a positions table against the fills topic.
    Positions come back never marked, version = fills applied, fills assumed valid.
    """
    totals: dict[tuple[str, str], dict[str, Any]] = {}
    seen: set[tuple[str, str, str]] = set()
    for fill in fills:
        key = (str(fill.get("account", "default")), str(fill["symbol"]))
        if (*key, fill["id"]) in seen:
            continue
        seen.add((*key, fill["id"]))
        t = totals.setdefault(
            key,
            {
                "qty": 0.0,
                "avg": 0.0,
                "realized": Decimal(0),
                "fees": Decimal(0),
                "ids": [],
                "ts": 0,
            },
        )
        qty, price = float(fill["qty"]), _decimal(fill["price"], "price")
        signed = qty if fill["side"] == "BUY" else -qty
        before = t["qty"]
        after = before + signed
        if before == 0.0 or (before > 0.0) == (signed > 0.0):
            t["avg"] = (abs(before) * t["avg"] + qty * float(price)) / (abs(before) + qty)
        else:
            closed = min(qty, abs(before))
            avg = Decimal(t["avg"])
            gain = _CTX.subtract(price, avg) if before > 0.0 else _CTX.subtract(avg, price)
            t["realized"] = _money(t["realized"] + _money(_CTX.multiply(gain, Decimal(closed))))
            if abs(after) <= _FLAT_EPS:
                after, t["avg"] = 0.0, 0.0
            elif qty > closed + _FLAT_EPS:
                t["avg"] = float(price)
        t["qty"] = after
        t["fees"] = _money(t["fees"] + _decimal(fill.get("fee", 0), "fee"))
        t["ids"].append(fill["id"])
        t["ts"] = max(t["ts"], int(fill["ts_event_us"]))
    return {
        key: PositionBook.from_state(
            {
                "account": key[0],
                "symbol": key[1],
                "fill_id_memory": FILL_ID_MEMORY,
                "qty": t["qty"],
                "avg_price": t["avg"],
                "realized_pnl": str(_money(t["realized"])),
                "fees": str(_money(t["fees"])),
                "last_mark": None,
                "mark_ts_us": None,
                "version": len(t["ids"]),
                "last_fill_id": t["ids"][-1],
                "ts_event_us": t["ts"],
                "applied": t["ids"][-FILL_ID_MEMORY:],
            }
        )
        for key, t in totals.items()
    }
