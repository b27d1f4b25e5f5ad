"""The risk rules as a table of named checks over a candidate order, evaluated in order.

A check returns a Refusal (why, and the numbers it compared) or None. Limits are
inclusive: a value equal to its limit passes (a confidence equal to the minimum too), and
floats within 1e-9 relative of a limit count as equal, so that 100 x 185.21 is not refused
by a limit of 18521 for its last bit. Position and exposure limits refuse only an order
that makes the measure worse: a book already over a limit (prices moved, the budget
shrank) can always reduce it.

An operator's flatten (`primestream risk flatten`: a FLAT signal of strategy
`OPERATOR_FLATTEN`) passes the kill switch and the cooldown: the switch stops new risk,
not its removal, and closing a position must not wait for a strategy's cooldown. Every
other rule applies to it as to any signal.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final

from streams.risk.candidate import Candidate
from streams.risk.session import trading_calendar, us_to_iso

__all__ = ["OPERATOR_FLATTEN", "RULES", "Check", "Refusal", "evaluate", "exceeds"]

_SLACK: Final = 1e-9
OPERATOR_FLATTEN: Final = "operator:flatten"
"""The strategy name of the FLAT signals `primestream risk flatten` has decided."""


@dataclass(init=False, slots=True)
class Refusal:
    """Why a check refused: a readable reason and the numbers (at least value and limit).

    Fields are `Final`; the `__init__` is written out so that it compiles (see
    `streams.strategies.base.StrategyView`).
    """

    reason: Final[str]
    values: Final[Mapping[str, float]]

    def __init__(self, reason: str, values: Mapping[str, float]) -> None:
        self.reason = reason
        self.values = values


Check = Callable[[Candidate], Refusal | None]


def _num(value: float) -> str:
    return f"{value:,.6f}".rstrip("0").rstrip(".") if math.isfinite(value) else str(value)


def exceeds(value: float, limit: float) -> bool:
    """Return True if VALUE is over LIMIT by more than float noise (1e-9 relative)."""
    return value > limit + _SLACK * max(1.0, abs(limit))


def _over(what: str, value: float, limit: float, **extra: float) -> Refusal:
    text = f"{what} {_num(value)} exceeds the limit {_num(limit)}"
    return Refusal(text, {"value": value, "limit": limit, **extra})


def _operator_flatten(c: Candidate) -> bool:
    return c.signal.side == "FLAT" and c.signal.strategy == OPERATOR_FLATTEN


def _kill_switch(c: Candidate) -> Refusal | None:
    if c.kill_reason is None or _operator_flatten(c):
        return None
    return Refusal(f"kill switch is on: {c.kill_reason}", {"value": 1.0, "limit": 0.0})


def _duplicate(c: Candidate) -> Refusal | None:
    if not c.ledger.seen_signal(c.signal.id):
        return None
    return Refusal(f"signal {c.signal.id} was already decided", {"value": 1.0, "limit": 0.0})


def _session(c: Candidate) -> Refusal | None:
    calendar, ts = c.limits.calendar, c.signal.ts_event_us
    if calendar is None or not c.limits.session_filtered(c.signal.symbol):
        return None
    sessions = trading_calendar(calendar)
    if sessions.is_open(ts):
        return None
    next_open = sessions.next_open_us(ts)
    if next_open is None or ts < sessions.first_open_us:
        reason = f"{us_to_iso(ts)} is outside the span of the {calendar} calendar"
        return Refusal(reason, {"value": float(ts), "limit": 0.0})
    reason = f"{us_to_iso(ts)} is outside {calendar} sessions (next open {us_to_iso(next_open)})"
    return Refusal(reason, {"value": float(ts), "limit": float(next_open)})


def _min_confidence(c: Candidate) -> Refusal | None:
    value, limit = c.signal.confidence, c.limits.min_confidence
    if value >= limit:
        return None
    return Refusal(
        f"confidence {_num(value)} is below the minimum {_num(limit)}",
        {"value": value, "limit": limit},
    )


def _cooldown(c: Candidate) -> Refusal | None:
    last = c.ledger.last_accept_us
    if last is None or _operator_flatten(c):
        return None
    elapsed_us, cooldown_us = c.signal.ts_event_us - last, round(c.limits.cooldown_secs * 1e6)
    if elapsed_us >= cooldown_us:
        return None
    value, limit = elapsed_us / 1e6, c.limits.cooldown_secs
    reason = f"{_num(value)} s since the last accepted order, cooldown {_num(limit)} s"
    return Refusal(reason, {"value": value, "limit": limit})


def _sizing(c: Candidate) -> Refusal | None:
    if not c.needs_size:
        return None
    rule, qty = c.config.sizing_for(c.signal.strategy), c.size_qty
    if qty is not None and qty >= rule.lot:
        return None
    result = c.sizing
    reason = f"size not computable: {result.reason}"
    if result.qty is not None:
        reason = f"size is less than one lot: {result.reason}"
    return Refusal(reason, {"value": result.qty or 0.0, "limit": rule.lot})


def _at_target(c: Candidate) -> Refusal | None:
    if c.order_qty != 0.0:
        return None
    reason = f"already at target {_num(c.target)} (position + pending {_num(c.current)})"
    values = {"value": 0.0, "limit": 0.0, "target": c.target, "committed": c.current}
    return Refusal(reason, values)


def _max_order_notional(c: Candidate) -> Refusal | None:
    price = c.limit_price if c.limit_price is not None else c.signal.ref_price
    value, limit = abs(c.order_qty) * price, c.limits.max_order_notional
    return _over("order notional", value, limit, price=price) if exceeds(value, limit) else None


def _worse(after: float, before: float, limit: float) -> bool:
    return exceeds(after, limit) and after > before


def _max_position_qty(c: Candidate) -> Refusal | None:
    after, before, limit = abs(c.target), abs(c.current), c.limits.max_position_qty
    return (
        _over("position qty", after, limit, before=before) if _worse(after, before, limit) else None
    )


def _max_position_notional(c: Candidate) -> Refusal | None:
    price, limit = c.signal.ref_price, c.limits.max_position_notional
    after, before = abs(c.target) * price, abs(c.current) * price
    if not _worse(after, before, limit):
        return None
    return _over("position notional", after, limit, before=before)


def _max_gross_exposure(c: Candidate) -> Refusal | None:
    limit = c.limits.max_gross_exposure * c.budget
    if limit == math.inf:  # nothing exceeds it: skip summing the book's every symbol
        return None
    before, after, _, _ = c.exposures
    if not _worse(after, before, limit):
        return None
    return _over("gross exposure", after, limit, before=before, budget=c.budget)


def _max_net_exposure(c: Candidate) -> Refusal | None:
    limit = c.limits.max_net_exposure * c.budget
    if limit == math.inf:  # nothing exceeds it: skip summing the book's every symbol
        return None
    _, _, before, after = c.exposures
    if not _worse(abs(after), abs(before), limit):
        return None
    return _over("net exposure", abs(after), limit, before=abs(before), budget=c.budget)


def _price_band(c: Candidate) -> Refusal | None:
    if c.limit_price is None:
        return None
    ref = c.signal.ref_price
    value, limit = abs(c.limit_price - ref) / ref * 1e4, c.limits.price_band_bps
    if not exceeds(value, limit):
        return None
    reason = f"limit price {_num(c.limit_price)} is {_num(value)} bps from {_num(ref)}"
    return Refusal(f"{reason}, band {_num(limit)} bps", {"value": value, "limit": limit})


def _daily_loss(c: Candidate) -> Refusal | None:
    value, limit = -c.realized_today, c.limits.max_daily_loss * c.budget
    if not exceeds(value, limit):
        return None
    return _over("realized loss today", value, limit, budget=c.budget)


RULES: Final[tuple[tuple[str, Check], ...]] = (
    ("kill_switch", _kill_switch),
    ("duplicate", _duplicate),
    ("session", _session),
    ("min_confidence", _min_confidence),
    ("cooldown", _cooldown),
    ("sizing", _sizing),
    ("at_target", _at_target),
    ("max_order_notional", _max_order_notional),
    ("max_position_qty", _max_position_qty),
    ("max_position_notional", _max_position_notional),
    ("max_gross_exposure", _max_gross_exposure),
    ("max_net_exposure", _max_net_exposure),
    ("price_band", _price_band),
    ("daily_loss", _daily_loss),
)
"""The rules in evaluation order, the first refusal wins: switches and filters, sizing, then
the limits on the order and on the book after it."""


def evaluate(candidate: Candidate) -> tuple[str, Refusal] | None:
    """Return the first rule that refuses CANDIDATE and its refusal; None if all accept."""
    for name, check in RULES:
        refusal = check(candidate)
        if refusal is not None:
            return name, refusal
    return None
