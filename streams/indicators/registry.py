"""Indicators picked by kind name, and the stable names that carry their parameters."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from streams.indicators.averages import EMA, SMA, WMA
from streams.indicators.bands import BollingerBands, DonchianChannel
from streams.indicators.base import BaseIndicator
from streams.indicators.exceptions import IndicatorConfigError
from streams.indicators.oscillators import MACD, RSI
from streams.indicators.protocol import Indicator
from streams.indicators.statistics import ZScore
from streams.indicators.volatility import ATR
from streams.indicators.volume import OBV, VWAP

__all__ = ["KINDS", "build_indicator", "make_indicator", "parse_name"]

KINDS: Mapping[str, type[BaseIndicator]] = MappingProxyType(
    {
        cls.kind: cls
        for cls in (
            SMA,
            EMA,
            WMA,
            RSI,
            MACD,
            BollingerBands,
            ATR,
            VWAP,
            ZScore,
            DonchianChannel,
            OBV,
        )
    }
)


def build_indicator(kind: str, params: Mapping[str, float]) -> BaseIndicator:
    """Return a new indicator of KIND with PARAMS; raise IndicatorConfigError if invalid."""
    cls = KINDS.get(kind)
    if cls is None:
        raise IndicatorConfigError(f"unknown indicator kind {kind!r}; known: {sorted(KINDS)}")
    unknown = sorted(set(params) - set(cls.param_names))
    if unknown:
        raise IndicatorConfigError(f"{kind} takes {list(cls.param_names)}, not {unknown}")
    # Each class validates and coerces its own parameters (20.0 is a valid period).
    factory: Callable[..., BaseIndicator] = cls
    return factory(**params)


def make_indicator(kind: str, **params: float) -> Indicator:
    """Return a new indicator of KIND: ("sma", period=20), ("macd", fast=12, slow=26, signal=9).

    Kinds and parameters (defaults): sma/ema/wma period (20); rsi period (14); macd fast
    (12), slow (26), signal (9); bbands period (20), k (2.0); atr period (14); zscore
    period (20); donchian period (20); vwap session_offset_us (0), session_length_us (1 day);
    obv (none).
    """
    return build_indicator(kind, params)


def parse_name(name: str) -> tuple[str, dict[str, float]]:
    """Split a stable name into (kind, params): "macd_12_26_9" -> ("macd", {"fast": 12, ...}).

    Parameters follow the kind in the class's order, separated by "_"; missing trailing
    ones take their defaults; "p" stands for a decimal point ("bbands_20_2p5" -> k=2.5).
    """
    kind, *args = name.split("_")
    cls = KINDS.get(kind)
    if cls is None:
        raise IndicatorConfigError(f"{name!r}: unknown indicator kind {kind!r}")
    if len(args) > len(cls.param_names):
        raise IndicatorConfigError(f"{name!r}: {kind} takes at most {list(cls.param_names)}")
    params: dict[str, float] = {}
    for param, text in zip(cls.param_names, args, strict=False):
        try:
            number = float(text.replace("p", "."))
        except ValueError:
            raise IndicatorConfigError(f"{name!r}: {param} {text!r} is not a number") from None
        params[param] = int(number) if number.is_integer() and "p" not in text else number
    return kind, params
