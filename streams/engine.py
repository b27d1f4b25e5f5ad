"""The signal engine of one symbol: events in event-time order → indicators → strategies.

Pure and serializable: the faust agent keeps one `SymbolEngine` per symbol in a
changelog-backed table (its `state()`), so a restarted worker resumes exactly where the
last committed transaction left it. Quotes, bars and news of a symbol go through the same
engine, merged in event time by a reorder buffer: one agent consumes each record once,
and the sentiment a strategy sees is the one as of the quote's event time.

A strategy's signal is published when its side changes (BUY → SELL, ...), not on every
update it holds a view: breakout-style strategies hold a view for many updates in a row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from streams.indicators import IndicatorSet
from streams.ordering import Late, ReorderBuffer
from streams.sentiment import DecayedSentiment, sentiment_key
from streams.strategies import (
    GapPolicy,
    StrategyConfig,
    StrategyView,
    ensemble_weights,
    required_indicators,
    required_sentiment,
)
from streams.strategies.ensemble import combine
from streams.strategies.signals import make_signal

__all__ = ["SIZING_ATR", "EngineOutput", "EngineSettings", "Event", "SymbolEngine"]

SIZING_ATR = "atr_14"

Record = dict[str, Any]


@dataclass(frozen=True)
class EngineSettings:
    """Event-time policy: reorder grace, gap detection for quote streams."""

    grace_us: int = 0
    quote_interval_secs: float = 10.0
    max_gap_factor: float = 3.0


@dataclass(frozen=True)
class Event:
    """One input record of a symbol: what it is, when it happened, its decoded value."""

    kind: str  # "quote" | "bar" | "news"
    ts_us: int
    record: Record

    def trigger_id(self) -> str:
        """Return the id that names this event in the signals it triggers."""
        r = self.record
        if self.kind == "news":
            return f"news:{r['id']}"
        return f"{self.kind}:{r['symbol']}:{self.ts_us}:{r.get('seq', 0)}"


@dataclass
class EngineOutput:
    """What one event produced: signals to publish, late events to dead-letter.

    `steps` pairs each event released in event-time order with the signals it produced,
    for stages that act on the event itself too (the paper broker fills on quotes).
    """

    signals: list[Record] = field(default_factory=list)
    late: list[Late[Event]] = field(default_factory=list)
    steps: list[tuple[Event, list[Record]]] = field(default_factory=list)


class SymbolEngine:
    """Indicators, sentiment and strategy memory of one symbol."""

    def __init__(self, symbol: str, config: StrategyConfig, settings: EngineSettings) -> None:
        self.symbol = symbol
        self._config = config
        self._settings = settings
        self._specs = config.for_symbol(symbol)
        self._weights = ensemble_weights(config, symbol) if config.ensemble else {}
        self._gaps = GapPolicy(settings.max_gap_factor)
        # Every signal carries the symbol's ATR(14): volatility-targeted sizing reads it.
        specs = required_indicators(config, symbol)
        specs.setdefault(SIZING_ATR, ("atr", {"period": 14}))
        self.indicators = IndicatorSet(specs)
        self.sentiment = {h: DecayedSentiment(h) for h in required_sentiment(config, symbol)}
        self.buffer: ReorderBuffer[Event] = ReorderBuffer(settings.grace_us)
        self.previous: dict[str, float] | None = None
        self.previous_ts_us: int | None = None
        self.price: float | None = None
        self.sides: dict[str, str] = {}
        self.views: dict[str, StrategyView] = {}

    def on_event(self, event: Event) -> EngineOutput:
        """Feed one event; return the signals it (and the events it released) produced."""
        out = EngineOutput()
        released, late = self.buffer.push(event.ts_us, event)
        if late is not None:
            out.late.append(late)
        for ready in released:
            signals = self._apply(ready)
            out.signals += signals
            out.steps.append((ready, signals))
        return out

    def flush(self) -> EngineOutput:
        """Process everything the reorder buffer holds (end of input)."""
        out = EngineOutput()
        for ready in self.buffer.flush():
            signals = self._apply(ready)
            out.signals += signals
            out.steps.append((ready, signals))
        return out

    def _apply(self, event: Event) -> list[Record]:
        r = event.record
        if event.kind == "news":
            for sentiment in self.sentiment.values():
                sentiment.update(float(r["sentiment"]["compound"]), event.ts_us)
            interval = None
        elif event.kind == "bar":
            self.price = float(r["close"])
            self.indicators.update(self.price, r["high"], r["low"], r["volume"], event.ts_us)
            interval = float(r["interval_secs"])
        else:
            self.price = (float(r["bid"]) + float(r["ask"])) / 2.0
            self.indicators.update(self.price, self.price, self.price, 0.0, event.ts_us)
            interval = self._settings.quote_interval_secs
        price = self.price
        if price is None:
            return []
        snapshot = self._snapshot(event.ts_us)
        previous: Mapping[str, float] | None = self.previous
        if interval is not None:
            previous = self._gaps.previous_for(
                self.previous, self.previous_ts_us, event.ts_us, interval
            )
        signals = self._evaluate(snapshot, previous, event, price)
        if interval is not None:  # news does not move the price path strategies compare
            self.previous, self.previous_ts_us = snapshot, event.ts_us
        return signals

    def _snapshot(self, ts_us: int) -> dict[str, float]:
        snapshot = self.indicators.snapshot()
        for half_life, sentiment in self.sentiment.items():
            # No news yet is neutral news: 0, so the first item can cross a threshold.
            value = sentiment.value_at(ts_us) if sentiment.ts_us is not None else 0.0
            snapshot[sentiment_key(half_life)] = value
        return snapshot

    def _evaluate(
        self,
        snapshot: Mapping[str, float],
        previous: Mapping[str, float] | None,
        event: Event,
        price: float,
    ) -> list[Record]:
        signals = []
        for spec in self._specs:
            view = spec.strategy(snapshot, previous, price, spec.params)
            if view is None:
                continue
            self.views[spec.name] = view
            signals += self._on_change(spec.name, view, spec.params, event, price)
        if self._config.ensemble is not None and self._weights:
            ensemble = self._config.ensemble
            view = combine(self.views, self._weights, ensemble.min_strength)
            if view is not None:
                signals += self._on_change(ensemble.name, view, {}, event, price)
        return signals

    def _on_change(
        self,
        name: str,
        view: StrategyView,
        params: Mapping[str, Any],
        event: Event,
        price: float,
    ) -> list[Record]:
        side = view.side.value
        if self.sides.get(name, "FLAT") == side:
            return []
        self.sides[name] = side
        atr = self.indicators.snapshot().get(SIZING_ATR)
        if atr is not None and SIZING_ATR not in view.features:
            view = StrategyView(
                view.side, view.strength, view.confidence, {**view.features, SIZING_ATR: atr}
            )
        return [
            make_signal(
                self.symbol,
                name,
                view,
                ref_price=price,
                ts_event_us=event.ts_us,
                params=dict(params),
                trigger_ids=[event.trigger_id()],
            )
        ]

    def state(self) -> dict[str, Any]:
        """Return a JSON-serializable state (the table value)."""
        return {
            "indicators": self.indicators.state(),
            "sentiment": {str(h): s.state() for h, s in self.sentiment.items()},
            "pending": [[e.kind, ts_us, e.record] for ts_us, e in self.buffer.pending()],
            "released_us": self.buffer.released_us,
            "newest_us": self.buffer.newest_us,
            "previous": self.previous,
            "previous_ts_us": self.previous_ts_us,
            "price": self.price,
            "sides": dict(self.sides),
            "views": {
                k: [v.side.value, v.strength, v.confidence, dict(v.features)]
                for k, v in self.views.items()
            },
        }

    @classmethod
    def from_state(
        cls, symbol: str, config: StrategyConfig, settings: EngineSettings, state: Mapping[str, Any]
    ) -> SymbolEngine:
        """Rebuild an engine from `state()`."""
        from streams.strategies import Side

        engine = cls(symbol, config, settings)
        engine.indicators = IndicatorSet.from_state(state["indicators"])
        for key, value in state["sentiment"].items():
            engine.sentiment[float(key)] = DecayedSentiment.from_state(value)
        engine.buffer.restore(
            [(ts_us, Event(kind, ts_us, record)) for kind, ts_us, record in state["pending"]],
            state["released_us"],
            state["newest_us"],
        )
        engine.previous = state["previous"]
        engine.previous_ts_us = state["previous_ts_us"]
        engine.price = state["price"]
        engine.sides = dict(state["sides"])
        engine.views = {
            k: StrategyView(Side(v[0]), v[1], v[2], v[3]) for k, v in state["views"].items()
        }
        return engine
