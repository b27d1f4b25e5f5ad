"""Bollinger bands, two ways: breakout (follow a close outside a band) and reversion (fade it).

Both are level strategies: they fire on every update whose price is outside the bands.
Strength is the distance beyond the band in half-band-widths (`k` standard deviations),
capped at 1: `(price - upper) / (upper - middle)` above, `(lower - price) / (middle - lower)`
below; a zero-width band (a flat series) makes any price outside it full strength.
"""

from __future__ import annotations

import math
from collections.abc import Callable

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

__all__ = ["BOLLINGER_BREAKOUT", "BOLLINGER_REVERSION"]

_INF = math.inf

PARAMS = {
    "period": Param(20, low=2, high=MAX_PERIOD, doc="Period of the bands, in updates."),
    "k": Param(2.0, low=0.1, doc="Half-width of the bands, in standard deviations."),
    "confidence": CONFIDENCE,
}


def indicators(params: Params) -> IndicatorSpecs:
    """Return the Bollinger bands the strategies read."""
    return dict([inputs.bbands(int(params["period"]), float(params["k"]))])


def _excess(
    snapshot: Snapshot, price: float, params: Params
) -> tuple[int, float, dict[str, float]] | None:
    """Return (side of the band the price is beyond, distance in half-widths, features)."""
    keys = inputs.bbands_keys(int(params["period"]), float(params["k"]))
    values = read(snapshot, *keys)
    if values is None:
        return None
    upper, middle, lower = values
    features = dict(zip(keys, values, strict=True))
    if price > upper:
        width = upper - middle
        return 1, (price - upper) / width if width > 0.0 else 1.0, features
    if price < lower:
        width = middle - lower
        return -1, (lower - price) / width if width > 0.0 else 1.0, features
    return None


def evaluate_breakout(
    snapshot: Snapshot, previous: Snapshot | None, price: float, params: Params
) -> StrategyView | None:
    """Return BUY above the upper band, SELL below the lower band."""
    found = _excess(snapshot, price, params)
    if found is None:
        return None
    sign, excess, features = found
    features["band_excess"] = sign * excess
    return directional(sign, excess, float(params["confidence"]), features)


def evaluate_reversion(
    snapshot: Snapshot, previous: Snapshot | None, price: float, params: Params
) -> StrategyView | None:
    """Return SELL above the upper band, BUY below the lower band: back toward the middle."""
    found = _excess(snapshot, price, params)
    if found is None:
        return None
    sign, excess, features = found
    features["band_excess"] = sign * excess
    return directional(-sign, excess, float(params["confidence"]), features)


def _binder(direction: int) -> Callable[[Params], Bound]:
    """Return the `bind` of the breakout (DIRECTION 1) or the reversion (-1)."""

    def bind(params: Params) -> Bound:
        """Return the evaluation with PARAMS bound: the same view, keys worked out once."""
        keys = inputs.bbands_keys(int(params["period"]), float(params["k"]))
        upper_key, middle_key, lower_key = keys
        confidence = float(params["confidence"])

        def bound(
            snapshot: Snapshot, previous: Snapshot | None, price: float
        ) -> StrategyView | None:
            upper, middle, lower = (
                snapshot.get(upper_key),
                snapshot.get(middle_key),
                snapshot.get(lower_key),
            )
            if (
                upper is None
                or middle is None
                or lower is None
                or not (-_INF < upper < _INF and -_INF < middle < _INF and -_INF < lower < _INF)
            ):
                return None
            # `_excess`, inline: nothing to build while the price is inside the bands.
            if price > upper:
                sign, width = 1, upper - middle
                excess = (price - upper) / width if width > 0.0 else 1.0
            elif price < lower:
                sign, width = -1, middle - lower
                excess = (lower - price) / width if width > 0.0 else 1.0
            else:
                return None
            features = {upper_key: upper, middle_key: middle, lower_key: lower}
            features["band_excess"] = sign * excess
            return directional(direction * sign, excess, confidence, features)

        return bound

    return bind


BOLLINGER_BREAKOUT = Strategy(
    kind="bollinger_breakout",
    evaluate=evaluate_breakout,
    indicators=indicators,
    params=PARAMS,
    uses_previous=False,
    bind=_binder(1),
)

BOLLINGER_REVERSION = Strategy(
    kind="bollinger_reversion",
    evaluate=evaluate_reversion,
    indicators=indicators,
    params=PARAMS,
    uses_previous=False,
    bind=_binder(-1),
)
