"""The engine's fast path returns exactly what the plain strategy functions return.

`StrategySpec.evaluate` (a strategy's evaluation with its params bound, which the engine
calls on every update) must give the same view as `strategy(snapshot, previous, price,
params)`, bit for bit, on realistic snapshots and on corrupt ones (missing keys, NaN,
infinities). And a `SymbolEngine` must fire the signals of a reference loop written from
the public pieces: an IndicatorSet, the strategies, `combine` and `make_signal`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

import pytest

from streams.engine import SIZING_ATR, EngineSettings, Event, SymbolEngine
from streams.indicators import IndicatorSet
from streams.sentiment import DecayedSentiment, sentiment_key
from streams.strategies import (
    STRATEGIES,
    GapPolicy,
    Snapshot,
    StrategyConfig,
    StrategySpec,
    StrategyView,
    combine,
    ensemble_weights,
    load_config,
    make_signal,
    required_indicators,
    required_sentiment,
)
from streams.strategies.config import EXAMPLES_DIR
from tests.kit import stubs

_SEC = 1_000_000
_ODD = (math.nan, math.inf, -math.inf, 0.0, -1.0)

PARAMS: dict[str, list[dict[str, Any]]] = {
    "ma_cross": [{}, {"fast": 2, "slow": 5, "ma": "ema", "full_bps": 0.1, "confidence": 1.0}],
    "rsi_reversion": [{}, {"period": 3, "oversold": 45.0, "overbought": 55.0}],
    "bollinger_breakout": [{}, {"period": 5, "k": 0.5}],
    "bollinger_reversion": [{}, {"period": 5, "k": 2.5}],
    "macd_momentum": [{}, {"fast": 2, "slow": 4, "signal": 2, "full_bps": 0.5}],
    "vwap_reversion": [{}, {"k_bps": 0.0, "full_bps": 1.0}],
    "donchian_breakout": [{}, {"period": 3, "full_bps": 0.2}],
    "sentiment_momentum": [
        {},
        {"threshold": 0.0, "exit_on_fade": False},
        {"half_life_secs": 900.5, "threshold": 0.9},
    ],
}


def test_every_strategy_kind_has_params_to_check() -> None:
    assert set(PARAMS) == set(STRATEGIES)


def _updates(spec: StrategySpec, rng: random.Random, n: int) -> list[tuple[Snapshot, float]]:
    """Return N (snapshot, price) of a jumpy walk through SPEC's indicators and sentiment."""
    indicators = IndicatorSet(spec.strategy.indicators(spec.params))
    half_life = spec.strategy.sentiment_half_life_secs(spec.params)
    out = []
    price = 100.0
    for i in range(n):
        price = max(1.0, price + rng.choice((-1.0, 1.0)) * rng.expovariate(2.0))
        volume = rng.choice((0.0, 100.0, 2_500.0))
        indicators.update(price, price + 0.3, price - 0.3, volume, stubs.T0_US + i * 60 * _SEC)
        snapshot = indicators.snapshot()
        if half_life is not None:
            snapshot[sentiment_key(half_life)] = rng.choice(
                (rng.uniform(-1.0, 1.0), float(spec.params["threshold"]), 0.0)
            )
        out.append((snapshot, price))
    return out


def _corrupt(snapshot: Snapshot, rng: random.Random) -> Snapshot:
    """Return SNAPSHOT with a key dropped or a value made odd, now and then."""
    if not snapshot or rng.random() < 0.7:
        return snapshot
    damaged = dict(snapshot)
    key = rng.choice(sorted(damaged))
    if rng.random() < 0.3:
        del damaged[key]
    else:
        damaged[key] = rng.choice(_ODD)
    return damaged


def _outcome(call: Any) -> str:
    try:
        return repr(call())  # repr: floats to the last bit, and the view's every field
    except Exception as exc:  # the same failure counts as the same outcome
        return f"raised {type(exc).__name__}: {exc}"


@pytest.mark.parametrize(
    ("kind", "params"), [(kind, p) for kind, sets in PARAMS.items() for p in sets]
)
def test_the_bound_evaluation_returns_what_evaluate_returns(
    kind: str, params: dict[str, Any]
) -> None:
    strategy = STRATEGIES[kind]
    spec = StrategySpec("s", kind, "*", strategy.resolve(params))
    rng = random.Random(f"{kind}{sorted(params.items())}")
    previous: Snapshot | None = None
    views = 0
    for snapshot, price in _updates(spec, rng, 1_500):
        now, before = _corrupt(snapshot, rng), None if previous is None else _corrupt(previous, rng)
        if rng.random() < 0.05:
            before = None
        for at in (price, rng.choice((0.0, -price, math.nan, price * 1.5, price / 1.5))):
            expected = _outcome(lambda: strategy(now, before, at, spec.params))  # noqa: B023
            assert _outcome(lambda: spec.evaluate(now, before, at)) == expected  # noqa: B023
            views += expected.startswith("StrategyView")
        previous = snapshot
    assert views >= 10  # the walk crossed the strategy's lines, not only its quiet stretches


def test_a_spec_binds_its_evaluation_once_and_shares_it() -> None:
    spec = StrategySpec("s", "ma_cross", "*", STRATEGIES["ma_cross"].resolve({}))

    assert spec.evaluate is spec.evaluate
    assert spec == StrategySpec("s", "ma_cross", "*", STRATEGIES["ma_cross"].resolve({}))


# --- the engine against a reference loop ------------------------------------------------


class ReferenceEngine:
    """The engine's documented loop from the public pieces, with none of its shortcuts."""

    def __init__(self, symbol: str, config: StrategyConfig) -> None:
        self.symbol, self.config = symbol, config
        specs = required_indicators(config, symbol)
        specs.setdefault(SIZING_ATR, ("atr", {"period": 14}))
        self.indicators = IndicatorSet(specs)
        self.sentiment = {h: DecayedSentiment(h) for h in required_sentiment(config, symbol)}
        self.weights = ensemble_weights(config, symbol)
        self.previous: Snapshot | None = None
        self.previous_ts: int | None = None
        self.price: float | None = None
        self.sides: dict[str, str] = {}
        self.views: dict[str, StrategyView] = {}

    def on_event(self, event: Event) -> list[dict[str, Any]]:
        r, interval = event.record, None
        if event.kind == "news":
            for sentiment in self.sentiment.values():
                sentiment.update(r["sentiment"]["compound"], event.ts_us)
        else:
            self.price = (r["bid"] + r["ask"]) / 2.0
            self.indicators.update(self.price, self.price, self.price, 0.0, event.ts_us)
            interval = 10.0
        if self.price is None:
            return []
        snapshot = self.indicators.snapshot()
        for half_life, sentiment in self.sentiment.items():
            snapshot[sentiment_key(half_life)] = sentiment.value_at(event.ts_us)
        previous = self.previous
        if interval is not None:
            previous = GapPolicy().previous_for(previous, self.previous_ts, event.ts_us, interval)
        signals = self._evaluate(snapshot, previous, event)
        if interval is not None:
            self.previous, self.previous_ts = snapshot, event.ts_us
        return signals

    def _evaluate(
        self, snapshot: Snapshot, previous: Snapshot | None, event: Event
    ) -> list[dict[str, Any]]:
        assert self.price is not None
        signals = []
        for spec in self.config.for_symbol(self.symbol):
            view = spec.strategy(snapshot, previous, self.price, spec.params)
            if view is not None:
                self.views[spec.name] = view
                signals += self._changed(spec.name, view, spec.params, event)
        ensemble = self.config.ensemble
        if ensemble is not None and self.weights:
            view = combine(self.views, self.weights, ensemble.min_strength)
            if view is not None:
                signals += self._changed(ensemble.name, view, {}, event)
        return signals

    def _changed(
        self, name: str, view: StrategyView, params: Mapping[str, Any], event: Event
    ) -> list[dict[str, Any]]:
        if self.sides.get(name, "FLAT") == view.side.value:
            return []
        self.sides[name] = view.side.value
        atr = self.indicators.snapshot().get(SIZING_ATR)
        if atr is not None and SIZING_ATR not in view.features:
            view = StrategyView(
                view.side, view.strength, view.confidence, {**view.features, SIZING_ATR: atr}
            )
        assert self.price is not None
        return [
            make_signal(
                self.symbol,
                name,
                view,
                ref_price=self.price,
                ts_event_us=event.ts_us,
                params=dict(params),
                trigger_ids=[event.trigger_id()],
            )
        ]


def _events(rng: random.Random, n: int) -> list[Event]:
    """Return N quotes of a jumpy walk, with news items and now and then a gap."""
    events, mid, ts = [], 100.0, stubs.T0_US
    for i in range(n):
        ts += rng.choice((_SEC, _SEC, _SEC, 45 * _SEC))
        mid = max(1.0, mid + rng.choice((-1.0, 1.0)) * rng.expovariate(3.0))
        quote = stubs.quote(bid=mid - 0.01, ask=mid + 0.01, ts_event_us=ts, seq=i)
        events.append(Event("quote", ts, quote))
        if rng.random() < 0.02:
            news = stubs.news_item(compound=rng.uniform(-1.0, 1.0), ts_event_us=ts, id=f"n-{i}")
            events.append(Event("news", ts, news))
    return events


def _every_strategy_everywhere() -> StrategyConfig:
    config = load_config(EXAMPLES_DIR / "default.toml")
    specs = tuple(StrategySpec(s.name, s.kind, "*", s.params) for s in config.strategies)
    return StrategyConfig(specs, config.ensemble)


@pytest.mark.parametrize("symbol", ["AAPL", "GOOG", "TSLA"])
def test_the_engine_fires_what_the_reference_loop_fires(symbol: str) -> None:
    config = _every_strategy_everywhere() if symbol == "TSLA" else None
    config = config or load_config(EXAMPLES_DIR / "default.toml")
    engine = SymbolEngine(symbol, config, EngineSettings())
    reference = ReferenceEngine(symbol, config)
    fired = 0
    for event in _events(random.Random(symbol), 3_000):
        event = Event(event.kind, event.ts_us, {**event.record, "symbol": symbol})
        expected = reference.on_event(event)
        assert engine.on_event(event).signals == expected
        fired += len(expected)
    assert fired >= 50
    assert engine.sides == reference.sides
    assert engine.views == reference.views
