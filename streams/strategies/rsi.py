"""RSI mean reversion: BUY when RSI crosses up through `oversold`, SELL down through `overbought`.

Strength is how far from neutral (50) the RSI was on the update before the crossing:
`(50 - rsi_prev) / 50` for a BUY, `(rsi_prev - 50) / 50` for a SELL; the deeper the
excursion the crossing ends, the stronger the view. Needs the previous snapshot.
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

__all__ = ["RSI_REVERSION"]

_NEUTRAL = 50.0
_INF = math.inf

PARAMS = {
    "period": Param(14, low=2, high=MAX_PERIOD, doc="RSI period, in updates."),
    "oversold": Param(30.0, low=0.0, high=100.0, doc="BUY when RSI crosses up through it."),
    "overbought": Param(70.0, low=0.0, high=100.0, doc="SELL when RSI crosses down through it."),
    "confidence": CONFIDENCE,
}


def _check(params: Params) -> ParamError | None:
    if not float(params["oversold"]) < _NEUTRAL:
        return ParamError("oversold", params["oversold"], "must be below 50")
    if not float(params["overbought"]) > _NEUTRAL:
        return ParamError("overbought", params["overbought"], "must be above 50")
    return None


def indicators(params: Params) -> IndicatorSpecs:
    """Return the RSI the strategy reads."""
    return dict([inputs.rsi(int(params["period"]))])


def evaluate(
    snapshot: Snapshot, previous: Snapshot | None, price: float, params: Params
) -> StrategyView | None:
    """Return BUY/SELL on the update where RSI leaves the oversold/overbought zone."""
    if previous is None:
        return None
    name = inputs.rsi_name(int(params["period"]))
    now, before = read(snapshot, name), read(previous, name)
    if now is None or before is None:
        return None
    rsi, rsi_prev = now[0], before[0]
    features = {name: rsi, f"{name}.previous": rsi_prev}
    confidence = float(params["confidence"])
    oversold, overbought = float(params["oversold"]), float(params["overbought"])
    if crossing(rsi_prev - oversold, rsi - oversold) > 0:
        return directional(1, (_NEUTRAL - rsi_prev) / _NEUTRAL, confidence, features)
    if crossing(rsi_prev - overbought, rsi - overbought) < 0:
        return directional(-1, (rsi_prev - _NEUTRAL) / _NEUTRAL, confidence, features)
    return None


def bind(params: Params) -> Bound:
    """Return `evaluate` with PARAMS bound: the same view, names and numbers worked out once."""
    name = inputs.rsi_name(int(params["period"]))
    previous_name = f"{name}.previous"
    confidence = float(params["confidence"])
    oversold, overbought = float(params["oversold"]), float(params["overbought"])

    def bound(snapshot: Snapshot, previous: Snapshot | None, price: float) -> StrategyView | None:
        if previous is None:
            return None
        rsi, rsi_prev = snapshot.get(name), previous.get(name)
        if rsi is None or rsi_prev is None or not (-_INF < rsi < _INF and -_INF < rsi_prev < _INF):
            return None
        # `crossing(...) > 0` and `crossing(...) < 0`, inline.
        if rsi_prev - oversold <= 0.0 < rsi - oversold:
            features = {name: rsi, previous_name: rsi_prev}
            return directional(1, (_NEUTRAL - rsi_prev) / _NEUTRAL, confidence, features)
        if rsi_prev - overbought >= 0.0 > rsi - overbought:
            features = {name: rsi, previous_name: rsi_prev}
            return directional(-1, (rsi_prev - _NEUTRAL) / _NEUTRAL, confidence, features)
        return None

    return bound


RSI_REVERSION = Strategy(
    kind="rsi_reversion",
    evaluate=evaluate,
    indicators=indicators,
    params=PARAMS,
    uses_previous=True,
    check=_check,
    bind=bind,
)
