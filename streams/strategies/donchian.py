"""Donchian breakout: BUY above the previous channel's upper line, SELL below its lower line.

The previous snapshot's channel is the reference, since the current channel already
contains the current price. Strength is the breakout distance in bps of the broken line,
scaled so `full_bps` is full strength. No previous snapshot (first update, gap): no signal.
"""

from __future__ import annotations

import math

from streams.strategies import inputs
from streams.strategies.base import (
    CONFIDENCE,
    MAX_PERIOD,
    Bound,
    IndicatorSpecs,
    Param,
    Params,
    Snapshot,
    Strategy,
    StrategyView,
    directional,
    read,
)

__all__ = ["DONCHIAN_BREAKOUT"]

_INF = math.inf

PARAMS = {
    "period": Param(20, low=1, high=MAX_PERIOD, doc="Channel length, in updates."),
    "full_bps": Param(50.0, low=0.1, doc="Breakout distance (bps) of full strength."),
    "confidence": CONFIDENCE,
}


def indicators(params: Params) -> IndicatorSpecs:
    """Return the Donchian channel the strategy reads."""
    return dict([inputs.donchian(int(params["period"]))])


def evaluate(
    snapshot: Snapshot, previous: Snapshot | None, price: float, params: Params
) -> StrategyView | None:
    """Return BUY/SELL when the price breaks out of the previous update's channel."""
    if previous is None:
        return None
    keys = inputs.donchian_keys(int(params["period"]))
    values = read(previous, *keys)
    if values is None or not values[1] > 0.0:
        return None
    upper, lower = values
    if price > upper:
        sign, line = 1, upper
    elif price < lower:
        sign, line = -1, lower
    else:
        return None
    breakout_bps = (price - line) / line * 1e4
    features = {keys[0]: upper, keys[1]: lower, "breakout_bps": breakout_bps}
    magnitude = abs(breakout_bps) / float(params["full_bps"])
    return directional(sign, magnitude, float(params["confidence"]), features)


def bind(params: Params) -> Bound:
    """Return `evaluate` with PARAMS bound: the same view, keys and numbers worked out once."""
    upper_key, lower_key = inputs.donchian_keys(int(params["period"]))
    full_bps, confidence = float(params["full_bps"]), float(params["confidence"])

    def bound(snapshot: Snapshot, previous: Snapshot | None, price: float) -> StrategyView | None:
        if previous is None:
            return None
        upper, lower = previous.get(upper_key), previous.get(lower_key)
        if (
            upper is None
            or lower is None
            or not (-_INF < upper < _INF and -_INF < lower < _INF)
            or not lower > 0.0
        ):
            return None
        if price > upper:
            sign, line = 1, upper
        elif price < lower:
            sign, line = -1, lower
        else:
            return None
        breakout_bps = (price - line) / line * 1e4
        features = {upper_key: upper, lower_key: lower, "breakout_bps": breakout_bps}
        return directional(sign, abs(breakout_bps) / full_bps, confidence, features)

    return bound


DONCHIAN_BREAKOUT = Strategy(
    kind="donchian_breakout",
    evaluate=evaluate,
    indicators=indicators,
    params=PARAMS,
    uses_previous=True,
    bind=bind,
)
