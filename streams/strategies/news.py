"""News-sentiment momentum: follow the decayed news sentiment when it crosses +-`threshold`.

Reads `sentiment_<half_life_secs>` (see `streams.sentiment`), which the caller puts in the
snapshot: the symbol's decayed sentiment at the update's event time. BUY when it crosses
up through `+threshold`, SELL when it crosses down through `-threshold`; strength is the
sentiment itself. With `exit_on_fade`, a FLAT view when it falls back inside the band
(below `+threshold` from above, above `-threshold` from below). Needs the previous snapshot.
"""

from __future__ import annotations

import math

from streams.sentiment import sentiment_key
from streams.strategies.base import (
    CONFIDENCE,
    Bound,
    IndicatorSpecs,
    Param,
    Params,
    Side,
    Snapshot,
    Strategy,
    StrategyView,
    crossing,
    directional,
    read,
)

__all__ = ["SENTIMENT_MOMENTUM"]

_INF = math.inf

PARAMS = {
    "half_life_secs": Param(3600.0, low=1.0, doc="Half-life of the news sentiment's decay."),
    "threshold": Param(0.3, low=0.0, high=1.0, doc="Sentiment beyond +-threshold trades."),
    "exit_on_fade": Param(True, doc="FLAT when the sentiment falls back inside the band."),
    "confidence": CONFIDENCE,
}


def indicators(params: Params) -> IndicatorSpecs:
    """Return no IndicatorSet specs: the sentiment comes from `streams.sentiment`."""
    return {}


def half_life_secs(params: Params) -> float:
    """Return the half-life of the sentiment the strategy reads."""
    return float(params["half_life_secs"])


def evaluate(
    snapshot: Snapshot, previous: Snapshot | None, price: float, params: Params
) -> StrategyView | None:
    """Return BUY/SELL when the sentiment leaves the band, FLAT when it fades back into it."""
    if previous is None:
        return None
    key = sentiment_key(half_life_secs(params))
    now, before = read(snapshot, key), read(previous, key)
    if now is None or before is None:
        return None
    value, value_prev = now[0], before[0]
    threshold = float(params["threshold"])
    features = {key: value, f"{key}.previous": value_prev}
    confidence = float(params["confidence"])
    up = crossing(value_prev - threshold, value - threshold)
    down = crossing(value_prev + threshold, value + threshold)
    if up > 0:
        return directional(1, value, confidence, features)
    if down < 0:
        return directional(-1, -value, confidence, features)
    if params["exit_on_fade"] and (up < 0 or down > 0):
        return StrategyView(Side.FLAT, 0.0, confidence, features)
    return None


def bind(params: Params) -> Bound:
    """Return `evaluate` with PARAMS bound: the same view, key and numbers worked out once."""
    key = sentiment_key(half_life_secs(params))
    previous_key = f"{key}.previous"
    threshold, confidence = float(params["threshold"]), float(params["confidence"])
    exit_on_fade = params["exit_on_fade"]

    def bound(snapshot: Snapshot, previous: Snapshot | None, price: float) -> StrategyView | None:
        if previous is None:
            return None
        value, value_prev = snapshot.get(key), previous.get(key)
        if (
            value is None
            or value_prev is None
            or not (-_INF < value < _INF and -_INF < value_prev < _INF)
        ):
            return None
        up = crossing(value_prev - threshold, value - threshold)
        down = crossing(value_prev + threshold, value + threshold)
        if not (up or down):
            return None
        features = {key: value, previous_key: value_prev}
        if up > 0:
            return directional(1, value, confidence, features)
        if down < 0:
            return directional(-1, -value, confidence, features)
        if exit_on_fade and (up < 0 or down > 0):
            return StrategyView(Side.FLAT, 0.0, confidence, features)
        return None

    return bound


SENTIMENT_MOMENTUM = Strategy(
    kind="sentiment_momentum",
    evaluate=evaluate,
    indicators=indicators,
    params=PARAMS,
    uses_previous=True,
    sentiment_half_life_secs=half_life_secs,
    bind=bind,
)
