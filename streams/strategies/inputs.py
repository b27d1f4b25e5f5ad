"""Names and IndicatorSet specs of the indicators strategies read.

The names follow `streams.indicators`: `IndicatorSet(specs)` takes `{name: (kind, params)}`
and its `snapshot()` exposes `name` (single-valued kinds) or `name.<field>` (MACD, Bollinger
bands, Donchian). A name holds no "." (that separates the field), so a fractional parameter
is written with "p" for the point, as `streams.indicators.registry.parse_name` reads it:
`bbands_20_2p5` is k = 2.5. Every name is built here, so a rename touches one module.
"""

from __future__ import annotations

from streams.strategies.base import IndicatorParams

__all__ = [
    "MA_KINDS",
    "VWAP",
    "Spec",
    "bbands",
    "bbands_keys",
    "bbands_name",
    "donchian",
    "donchian_keys",
    "donchian_name",
    "ma_name",
    "macd",
    "macd_keys",
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
    """Format VALUE as indicator names do: `2` for 2.0, `2p5` for 2.5."""
    return f"{value:g}".replace(".", "p")


def ma_name(kind: str, period: int) -> str:
    """Return the name of a KIND moving average of PERIOD: `sma_10`."""
    return f"{kind}_{period}"


def rsi_name(period: int) -> str:
    """Return the name of RSI(PERIOD): `rsi_14`."""
    return f"rsi_{period}"


def macd_name(fast: int, slow: int, signal: int) -> str:
    """Return the MACD name: `macd_12_26_9`."""
    return f"macd_{fast}_{slow}_{signal}"


def bbands_name(period: int, k: float) -> str:
    """Return the Bollinger-bands name: `bbands_20_2`, and `bbands_20_2p5` for k = 2.5."""
    return f"bbands_{period}_{number(k)}"


def donchian_name(period: int) -> str:
    """Return the Donchian-channel name: `donchian_20`."""
    return f"donchian_{period}"


def macd_keys(fast: int, slow: int, signal: int) -> tuple[str, str, str]:
    """Return the snapshot keys of MACD's (macd, signal line, histogram)."""
    name = macd_name(fast, slow, signal)
    return f"{name}.macd", f"{name}.macd_signal", f"{name}.macd_hist"


def bbands_keys(period: int, k: float) -> tuple[str, str, str]:
    """Return the snapshot keys of the Bollinger bands' (upper, middle, lower)."""
    name = bbands_name(period, k)
    return f"{name}.upper", f"{name}.middle", f"{name}.lower"


def donchian_keys(period: int) -> tuple[str, str]:
    """Return the snapshot keys of the Donchian channel's (upper, lower)."""
    name = donchian_name(period)
    return f"{name}.upper", f"{name}.lower"


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
