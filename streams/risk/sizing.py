"""How many shares a signal's order targets: fixed qty or notional, volatility target, equity.

The equity kinds (pct_equity, all_in) size at the signal's price here, for the risk
rules; the paper venue sizes them again at the fill price (`streams.trading.funds`).

Every rule's raw quantity is capped at `max_qty`, then rounded down to a multiple of
`lot` (1: whole shares): rounding down never buys more risk than the rule allows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from streams.risk.config import EQUITY_SIZING, SizingRule

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


def size(rule: SizingRule, signal: Mapping[str, Any], *, equity: float | None = None) -> SizeResult:
    """Return the quantity RULE gives SIGNAL (a Signal record), or None with the reason.

    EQUITY: the account's (None: no account), which pct_equity and all_in need.
    """
    if rule.kind in EQUITY_SIZING:
        price = _positive(signal.get("ref_price"))
        if equity is None or price is None:
            why = "no account to size from (set risk.capital)" if equity is None else "no ref_price"
            return SizeResult(None, f"{rule.kind}: {why}")
        share = _share(rule)
        raw, how = share * equity / price, f"{_num(share)} x {_num(equity)} / {_num(price)}"
    elif rule.kind == "fixed_qty":
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


def size_qty(
    rule: SizingRule, signal: Mapping[str, Any], *, equity: float | None = None
) -> float | None:
    """Return `size(rule, signal).qty` without writing its reason (a decision needs only it).

    The same arithmetic as `size`, in the same order: the same float.
    """
    if rule.kind in EQUITY_SIZING:
        price = _positive(signal.get("ref_price"))
        if equity is None or price is None:
            return None
        raw = _share(rule) * equity / price
    elif rule.kind == "fixed_qty":
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


def _share(rule: SizingRule) -> float:
    """Return the fraction of equity RULE puts in: pct, or all of it."""
    return 1.0 if rule.kind == "all_in" else rule.pct


def _positive(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
        if math.isfinite(number) and number > 0.0:
            return number
    return None


def _num(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".") if math.isfinite(value) else str(value)
