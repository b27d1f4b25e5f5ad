"""MACD momentum: BUY when the MACD histogram turns positive, SELL when it turns negative.

Strength is the new histogram in bps of the price, scaled so `full_bps` is full strength:
`min(1, |hist| / price * 1e4 / full_bps)`. A sign change needs the previous snapshot.
"""

from __future__ import annotations

import math

from streams.exceptions import ParamError
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
    crossing,
    directional,
    read,
)

__all__ = ["MACD_MOMENTUM"]

_INF = math.inf

PARAMS = {
    "fast": Param(12, low=1, high=MAX_PERIOD, doc="Period of the fast EMA, in updates."),
    "slow": Param(26, low=2, high=MAX_PERIOD, doc="Period of the slow EMA, in updates."),
    "signal": Param(9, low=1, high=MAX_PERIOD, doc="Period of the signal-line EMA, in updates."),
    "full_bps": Param(10.0, low=0.1, doc="Histogram (bps of price) of full strength."),
    "confidence": CONFIDENCE,
}


def _check(params: Params) -> ParamError | None:
    if int(params["fast"]) >= int(params["slow"]):
        return ParamError("fast", params["fast"], f"must be below slow ({params['slow']})")
    return None


def indicators(params: Params) -> IndicatorSpecs:
    """Return the MACD the strategy reads."""
    return dict([inputs.macd(int(params["fast"]), int(params["slow"]), int(params["signal"]))])


def evaluate(
    snapshot: Snapshot, previous: Snapshot | None, price: float, params: Params
) -> StrategyView | None:
    """Return BUY/SELL on the update where the histogram changes sign."""
    if previous is None or not price > 0.0:
        return None
    keys = inputs.macd_keys(int(params["fast"]), int(params["slow"]), int(params["signal"]))
    now, before = read(snapshot, *keys), read(previous, keys[2])
    if now is None or before is None:
        return None
    hist = now[2]
    sign = crossing(before[0], hist)
    if sign == 0:
        return None
    hist_bps = hist / price * 1e4
    features = {**dict(zip(keys, now, strict=True)), "hist_bps": hist_bps}
    magnitude = abs(hist_bps) / float(params["full_bps"])
    return directional(sign, magnitude, float(params["confidence"]), features)


def bind(params: Params) -> Bound:
    """Return `evaluate` with PARAMS bound: the same view, keys and numbers worked out once."""
    keys = inputs.macd_keys(int(params["fast"]), int(params["slow"]), int(params["signal"]))
    macd_key, signal_key, hist_key = keys
    full_bps, confidence = float(params["full_bps"]), float(params["confidence"])

    def bound(snapshot: Snapshot, previous: Snapshot | None, price: float) -> StrategyView | None:
        if previous is None or not price > 0.0:
            return None
        macd, signal = snapshot.get(macd_key), snapshot.get(signal_key)
        hist, hist_before = snapshot.get(hist_key), previous.get(hist_key)
        if (
            macd is None
            or signal is None
            or hist is None
            or hist_before is None
            or not (-_INF < macd < _INF and -_INF < signal < _INF and -_INF < hist < _INF)
            or not -_INF < hist_before < _INF
        ):
            return None
        if hist_before <= 0.0 < hist:  # `crossing`, inline
            sign = 1
        elif hist_before >= 0.0 > hist:
            sign = -1
        else:
            return None
        hist_bps = hist / price * 1e4
        features = {macd_key: macd, signal_key: signal, hist_key: hist, "hist_bps": hist_bps}
        return directional(sign, abs(hist_bps) / full_bps, confidence, features)

    return bound


MACD_MOMENTUM = Strategy(
    kind="macd_momentum",
    evaluate=evaluate,
    indicators=indicators,
    params=PARAMS,
    uses_previous=True,
    check=_check,
    bind=bind,
)
