"""Every strategy kind, by name: the table a config's `kind = "..."` is looked up in."""

from __future__ import annotations

from streams.strategies.base import Strategy
from streams.strategies.bollinger import BOLLINGER_BREAKOUT, BOLLINGER_REVERSION
from streams.strategies.crossover import MA_CROSS
from streams.strategies.donchian import DONCHIAN_BREAKOUT
from streams.strategies.macd import MACD_MOMENTUM
from streams.strategies.news import SENTIMENT_MOMENTUM
from streams.strategies.rsi import RSI_REVERSION
from streams.strategies.vwap import VWAP_REVERSION

__all__ = ["STRATEGIES"]

STRATEGIES: dict[str, Strategy] = {
    strategy.kind: strategy
    for strategy in (
        MA_CROSS,
        RSI_REVERSION,
        BOLLINGER_BREAKOUT,
        BOLLINGER_REVERSION,
        MACD_MOMENTUM,
        VWAP_REVERSION,
        DONCHIAN_BREAKOUT,
        SENTIMENT_MOMENTUM,
    )
}
"""Strategy kinds by name: ma_cross, rsi_reversion, bollinger_breakout, bollinger_reversion,
macd_momentum, vwap_reversion, donchian_breakout, sentiment_momentum. The ensemble is not
one of them: it combines their views (`streams.strategies.ensemble`)."""
