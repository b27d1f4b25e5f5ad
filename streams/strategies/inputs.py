"""Names and IndicatorSet specs of the indicators strategies read.

The names follow the `streams.indicators` contract: `IndicatorSet(specs)` takes
`{name: (kind, params)}` and its `snapshot()` exposes `name` (single-valued kinds) or
`name.<field>` (MACD, Bollinger bands, Donchian). Every name is built here, so a rename
touches one module.
"""

from __future__ import annotations

from streams.strategies.base import IndicatorParams

__all__ = [
    "MA_KINDS",
    "VWAP",
    "Spec",
    "bbands",
    "bbands_name",
    "donchian",
    "donchian_name",
    "ma_name",
    "macd",
    "macd_name",
    "moving_average",
    "number",
    "rsi",
    "rsi_name",
    "vwap",
]

MA_KINDS = ("sma", "ema", "wma")
"""Moving-average kinds a crossover can use."""

VWAP = "vwap"
"""Name of the session VWAP."""

Spec = tuple[str, tuple[str, IndicatorParams]]
"""One IndicatorSet spec: (name, (kind, params))."""


def number(value: float) -> str:
    """Format VALUE as indicator names do: `2` for 2.0, `2.5` for 2.5."""
    return f"{value:g}"


def ma_name(kind: str, period: int) -> str:
    """Return the name of a KIND moving average of PERIOD: `sma_10`."""
    return f"{kind}_{period}"


def rsi_name(period: int) -> str:
    """Return the name of RSI(PERIOD): `rsi_14`."""
    return f"rsi_{period}"


def macd_name(fast: int, slow: int, signal: int) -> str:
    """Return the MACD name, `macd_12_26_9`; its fields are .macd, .macd_signal, .macd_hist."""
    return f"macd_{fast}_{slow}_{signal}"


def bbands_name(period: int, k: float) -> str:
    """Return the Bollinger-bands name, `bbands_20_2`; its fields are .upper, .middle, .lower."""
    return f"bbands_{period}_{number(k)}"


def donchian_name(period: int) -> str:
    """Return the Donchian-channel name, `donchian_20`; its fields are .upper, .lower, .middle."""
    return f"donchian_{period}"


def moving_average(kind: str, period: int) -> Spec:
    """Return the spec of a KIND (sma, ema, wma) moving average of PERIOD updates."""
    return ma_name(kind, period), (kind, {"period": period})


def rsi(period: int) -> Spec:
    """Return the spec of RSI(PERIOD)."""
    return rsi_name(period), ("rsi", {"period": period})


def macd(fast: int, slow: int, signal: int) -> Spec:
    """Return the spec of MACD(FAST, SLOW, SIGNAL)."""
    return macd_name(fast, slow, signal), ("macd", {"fast": fast, "slow": slow, "signal": signal})


def bbands(period: int, k: float) -> Spec:
    """Return the spec of Bollinger bands of PERIOD updates, K standard deviations wide."""
    return bbands_name(period, k), ("bbands", {"period": period, "k": k})


def donchian(period: int) -> Spec:
    """Return the spec of the Donchian channel of PERIOD updates."""
    return donchian_name(period), ("donchian", {"period": period})


def vwap() -> Spec:
    """Return the spec of the session VWAP."""
    return VWAP, ("vwap", {})
