"""VWAP reversion: when the price is more than `k_bps` from VWAP, trade back toward it.

A level strategy: SELL while the price is more than `k_bps` above VWAP, BUY while it is
more than `k_bps` below. Strength is the deviation scaled so `full_bps` is full strength:
`min(1, |price - vwap| / vwap * 1e4 / full_bps)`.
"""

from __future__ import annotations

import math

from streams.strategies import inputs
from streams.strategies.base import (
    CONFIDENCE,
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

__all__ = ["VWAP_REVERSION"]

_INF = math.inf

PARAMS = {
    "k_bps": Param(50.0, low=0.0, doc="Deviation from VWAP (bps) beyond which it trades."),
    "full_bps": Param(100.0, low=0.1, doc="Deviation (bps) of full strength."),
    "confidence": CONFIDENCE,
}


def indicators(params: Params) -> IndicatorSpecs:
    """Return the VWAP the strategy reads."""
    return dict([inputs.vwap()])


def evaluate(
    snapshot: Snapshot, previous: Snapshot | None, price: float, params: Params
) -> StrategyView | None:
    """Return SELL far above VWAP, BUY far below it."""
    values = read(snapshot, inputs.VWAP)
    if values is None or not values[0] > 0.0:
        return None
    vwap = values[0]
    deviation_bps = (price - vwap) / vwap * 1e4
    if abs(deviation_bps) <= float(params["k_bps"]):
        return None
    sign = -1 if deviation_bps > 0.0 else 1
    features = {inputs.VWAP: vwap, "deviation_bps": deviation_bps}
    magnitude = abs(deviation_bps) / float(params["full_bps"])
    return directional(sign, magnitude, float(params["confidence"]), features)


def bind(params: Params) -> Bound:
    """Return `evaluate` with PARAMS bound: the same view, numbers read once."""
    name = inputs.VWAP
    k_bps, full_bps = float(params["k_bps"]), float(params["full_bps"])
    confidence = float(params["confidence"])

    def bound(snapshot: Snapshot, previous: Snapshot | None, price: float) -> StrategyView | None:
        vwap = snapshot.get(name)
        if vwap is None or not -_INF < vwap < _INF or not vwap > 0.0:
            return None
        deviation_bps = (price - vwap) / vwap * 1e4
        if abs(deviation_bps) <= k_bps:
            return None
        sign = -1 if deviation_bps > 0.0 else 1
        features = {name: vwap, "deviation_bps": deviation_bps}
        return directional(sign, abs(deviation_bps) / full_bps, confidence, features)

    return bound


VWAP_REVERSION = Strategy(
    kind="vwap_reversion",
    evaluate=evaluate,
    indicators=indicators,
    params=PARAMS,
    uses_previous=False,
    bind=bind,
)
