"""Moving-average crossover: BUY when the fast average crosses above the slow one, SELL below.

Strength is the spread between the averages at the crossing, in bps of the slow average,
scaled so `full_bps` (or more) is full strength: `min(1, |fast - slow| / slow * 1e4 / full_bps)`.
A crossing needs the previous snapshot, so none fires on the first update or after a gap.
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

__all__ = ["MA_CROSS"]

_INF = math.inf

PARAMS = {
    "fast": Param(10, low=1, high=MAX_PERIOD, doc="Period of the fast average, in updates."),
    "slow": Param(30, low=2, high=MAX_PERIOD, doc="Period of the slow average, in updates."),
    "ma": Param("sma", choices=inputs.MA_KINDS, doc="Kind of both averages."),
    "full_bps": Param(50.0, low=0.1, doc="Spread (bps of the slow average) of full strength."),
    "confidence": CONFIDENCE,
}


def _check(params: Params) -> ParamError | None:
    if int(params["fast"]) >= int(params["slow"]):
        return ParamError("fast", params["fast"], f"must be below slow ({params['slow']})")
    return None


def indicators(params: Params) -> IndicatorSpecs:
    """Return the two moving averages the crossover reads."""
    kind = str(params["ma"])
    return dict(
        [
            inputs.moving_average(kind, int(params["fast"])),
            inputs.moving_average(kind, int(params["slow"])),
        ]
    )


def evaluate(
    snapshot: Snapshot, previous: Snapshot | None, price: float, params: Params
) -> StrategyView | None:
    """Return BUY/SELL on the update where the fast average crosses the slow one."""
    if previous is None:
        return None
    kind = str(params["ma"])
    fast_name = inputs.ma_name(kind, int(params["fast"]))
    slow_name = inputs.ma_name(kind, int(params["slow"]))
    now, before = read(snapshot, fast_name, slow_name), read(previous, fast_name, slow_name)
    if now is None or before is None or now[1] <= 0.0:
        return None
    fast, slow = now
    sign = crossing(before[0] - before[1], fast - slow)
    if sign == 0:
        return None
    spread_bps = (fast - slow) / slow * 1e4
    features = {fast_name: fast, slow_name: slow, "spread_bps": spread_bps}
    magnitude = abs(spread_bps) / float(params["full_bps"])
    return directional(sign, magnitude, float(params["confidence"]), features)


def bind(params: Params) -> Bound:
    """Return `evaluate` with PARAMS bound: the same view, names and numbers worked out once."""
    kind = str(params["ma"])
    fast_name = inputs.ma_name(kind, int(params["fast"]))
    slow_name = inputs.ma_name(kind, int(params["slow"]))
    full_bps, confidence = float(params["full_bps"]), float(params["confidence"])

    def bound(snapshot: Snapshot, previous: Snapshot | None, price: float) -> StrategyView | None:
        if previous is None:
            return None
        fast, slow = snapshot.get(fast_name), snapshot.get(slow_name)
        fast_before, slow_before = previous.get(fast_name), previous.get(slow_name)
        # `read`'s test, inline: present and finite (False for NaN), then a positive slow.
        if (
            fast is None
            or slow is None
            or fast_before is None
            or slow_before is None
            or not (-_INF < fast < _INF and -_INF < slow < _INF)
            or not (-_INF < fast_before < _INF and -_INF < slow_before < _INF)
            or slow <= 0.0
        ):
            return None
        before, now = fast_before - slow_before, fast - slow
        if before <= 0.0 < now:  # `crossing`, inline
            sign = 1
        elif before >= 0.0 > now:
            sign = -1
        else:
            return None
        spread_bps = (fast - slow) / slow * 1e4
        features = {fast_name: fast, slow_name: slow, "spread_bps": spread_bps}
        return directional(sign, abs(spread_bps) / full_bps, confidence, features)

    return bound


MA_CROSS = Strategy(
    kind="ma_cross",
    evaluate=evaluate,
    indicators=indicators,
    params=PARAMS,
    uses_previous=True,
    check=_check,
    bind=bind,
)
