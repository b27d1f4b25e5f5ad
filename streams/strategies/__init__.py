"""Pure trading strategies over indicator snapshots, their TOML config, and Signal records.

No Kafka here: the agents feed each symbol's indicator snapshots in and publish what
comes out. Per update of a symbol, for each `StrategySpec` in `config.for_symbol(symbol)`:

    previous = gaps.previous_for(previous_snapshot, previous_ts_us, ts_us, interval_secs)
    view = spec.strategy(snapshot, previous, price, spec.params)
    if view is not None:
        record = make_signal(symbol, spec.name, view, ref_price=price,
                             ts_event_us=ts_us, params=spec.params, trigger_ids=[...])

`required_indicators(config, symbol)` are the specs of the symbol's `IndicatorSet`;
`required_sentiment(config, symbol)` the half-lives of the `DecayedSentiment`s whose
values go into the snapshot under `streams.sentiment.sentiment_key(half_life)`.
"""

from __future__ import annotations

from streams.exceptions import ConfigError
from streams.strategies.base import (
    IndicatorSpecs,
    Param,
    Params,
    ParamValue,
    Side,
    Snapshot,
    Strategy,
    StrategyView,
)
from streams.strategies.config import (
    StrategyConfig,
    StrategySpec,
    ensemble_weights,
    load_config,
    parse_config,
    required_indicators,
    required_sentiment,
)
from streams.strategies.ensemble import EnsembleSpec, combine
from streams.strategies.gaps import GapPolicy
from streams.strategies.registry import STRATEGIES
from streams.strategies.signals import make_signal, signal_id, view_from_signal

__all__ = [
    "STRATEGIES",
    "ConfigError",
    "EnsembleSpec",
    "GapPolicy",
    "IndicatorSpecs",
    "Param",
    "ParamValue",
    "Params",
    "Side",
    "Snapshot",
    "Strategy",
    "StrategyConfig",
    "StrategySpec",
    "StrategyView",
    "combine",
    "ensemble_weights",
    "load_config",
    "make_signal",
    "parse_config",
    "required_indicators",
    "required_sentiment",
    "signal_id",
    "view_from_signal",
]
