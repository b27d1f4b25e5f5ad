"""How many shares a signal's order targets: fixed quantity, fixed notional or volatility target.

Every rule's raw quantity is capped at `max_qty`, then rounded down to a multiple of
`lot` (1: whole shares): rounding down never buys more risk than the rule allows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from streams.risk.config import SizingRule

__all__ = ["SizeResult", "round_to_lot", "size", "size_qty"]

# A quotient such as 0.3 / 0.1 = 2.9999999999999996 is 3 lots, not 2.
_LOT_SLACK: Final = 1e-9
_QTY_DIGITS: Final = 9


@dataclass(frozen=True, slots=True)
class SizeResult:
    """A rule's quantity (>= 0, whole lots), or None and why it cannot be computed."""

    qty: float | None
    reason: str


def round_to_lot(qty: float, lot: float) -> float:
    """Return QTY rounded down to a multiple of LOT (> 0)."""
    lots = math.floor(qty / lot + _LOT_SLACK)
    return round(max(lots, 0) * lot, _QTY_DIGITS)


def size(rule: SizingRule, signal: Mapping[str, Any]) -> SizeResult:
    """Return the quantity RULE gives SIGNAL (a Signal record), or None with the reason."""
    if rule.kind == "fixed_qty":
        raw, how = rule.qty, f"fixed_qty {_num(rule.qty)}"
    elif rule.kind == "fixed_notional":
        price = _positive(signal.get("ref_price"))
        if price is None:
            return SizeResult(None, f"ref_price {signal.get('ref_price')!r} is not a price")
        raw, how = rule.notional / price, f"{_num(rule.notional)} / {_num(price)}"
    else:
        atr = _positive(signal.get("features", {}).get(rule.atr_feature))
        if atr is None:
            got = signal.get("features", {}).get(rule.atr_feature)
            return SizeResult(None, f"feature {rule.atr_feature} is {got!r}, not a positive ATR")
        raw = rule.risk_per_trade / (rule.atr_multiple * atr)
        how = f"{_num(rule.risk_per_trade)} / ({_num(rule.atr_multiple)} x {_num(atr)})"
    qty = round_to_lot(min(raw, rule.max_qty), rule.lot)
    return SizeResult(qty, f"{how} = {_num(raw)} -> {_num(qty)} (lot {_num(rule.lot)})")


def size_qty(rule: SizingRule, signal: Mapping[str, Any]) -> float | None:
    """Return `size(rule, signal).qty` without writing its reason (a decision needs only it).

    The same arithmetic as `size`, in the same order: the same float.
    """
    if rule.kind == "fixed_qty":
        raw = rule.qty
    elif rule.kind == "fixed_notional":
        price = _positive(signal.get("ref_price"))
        if price is None:
            return None
        raw = rule.notional / price
    else:
        atr = _positive(signal.get("features", {}).get(rule.atr_feature))
        if atr is None:
            return None
        raw = rule.risk_per_trade / (rule.atr_multiple * atr)
    return round_to_lot(min(raw, rule.max_qty), rule.lot)


def _positive(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number) and number > 0.0:
            return number
    return None


def _num(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".") if math.isfinite(value) else str(value)
