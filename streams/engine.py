"""The signal engine of one symbol: events in event-time order → indicators → strategies.

Pure and serializable: the faust agent keeps one `SymbolEngine` per symbol in a
changelog-backed table (its `state()`), so a restarted worker resumes exactly where the
last committed transaction left it. Quotes, bars and news of a symbol go through the same
engine, merged in event time by a reorder buffer: one agent consumes each record once,
and the sentiment a strategy sees is the one as of the quote's event time.

A strategy's signal is published when its side changes (BUY → SELL, ...), not on every
update it holds a view: breakout-style strategies hold a view for many updates in a row.

Each strategy has its own gap rule (`max_gap_bars`, `calendar` in its TOML table, see
`streams.strategies.gaps`): bars are counted in the sessions of its calendar ("auto": the
symbol's `[risk]` calendar, which the core passes in), quotes in wall time.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from streams.indicators import IndicatorSet
from streams.ordering import Late, ReorderBuffer
from streams.risk.session import trading_calendar
from streams.sentiment import DecayedSentiment, sentiment_key
from streams.strategies import (
    GapPolicy,
    StrategyConfig,
    StrategyView,
    ensemble_weights,
    required_indicators,
    required_sentiment,
)
from streams.strategies.base import SIDE_TEXT
from streams.strategies.config import AUTO_CALENDAR
from streams.strategies.ensemble import combine
from streams.strategies.signals import make_signal

__all__ = ["SIZING_ATR", "EngineOutput", "EngineSettings", "Event", "SymbolEngine"]

SIZING_ATR = "atr_14"
_US_PER_SEC = 1_000_000

Record = dict[str, Any]


@dataclass(frozen=True)
class EngineSettings:
    """Event-time policy: reorder grace, quote interval, the default gap rule (in bars)."""

    grace_us: int = 0
    quote_interval_secs: float = 10.0
    max_gap_factor: float = 3.0


class Event:
    """One input record of a symbol: what it is, when it happened, its decoded value.

    A plain slotted class, treated as immutable: one is made per consumed record, and a
    frozen dataclass's `__init__` cost several times as much as the engine's own work on
    a quote that fires nothing.
    """

    __slots__ = ("kind", "record", "ts_us")

    kind: str  # "quote" | "bar" | "news"
    ts_us: int
    record: Record

    def __init__(self, kind: str, ts_us: int, record: Record) -> None:
        self.kind = kind
        self.ts_us = ts_us
        self.record = record

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Event):
            return NotImplemented
        return (self.kind, self.ts_us, self.record) == (other.kind, other.ts_us, other.record)

    __hash__ = None  # type: ignore[assignment]  # the record is a dict

    def __repr__(self) -> str:
        return f"Event(kind={self.kind!r}, ts_us={self.ts_us!r}, record={self.record!r})"

    def trigger_id(self) -> str:
        """Return the id that names this event in the signals it triggers."""
        r = self.record
        if self.kind == "news":
            return f"news:{r['id']}"
        return f"{self.kind}:{r['symbol']}:{self.ts_us}:{r.get('seq', 0)}"


@dataclass(init=False, slots=True)
class EngineOutput:
    """What one event produced: signals to publish, late events to dead-letter.

    `steps` pairs each event released in event-time order with the signals it produced,
    for stages that act on the event itself too (the paper broker fills on quotes). One is
    made per event: its `__init__` is written out so that it compiles (see `StrategyView`).
    """

    signals: list[Record]
    late: list[Late[Event]]
    steps: list[tuple[Event, list[Record]]]

    def __init__(
        self,
        signals: list[Record] | None = None,
        late: list[Late[Event]] | None = None,
        steps: list[tuple[Event, list[Record]]] | None = None,
    ) -> None:
        self.signals = signals if signals is not None else []
        self.late = late if late is not None else []
        self.steps = steps if steps is not None else []


_sentiment_key = functools.cache(sentiment_key)


class SymbolEngine:
    """Indicators, sentiment and strategy memory of one symbol."""

    def __init__(
        self,
        symbol: str,
        config: StrategyConfig,
        settings: EngineSettings,
        calendar: str | None = None,
    ) -> None:
        """CALENDAR: the symbol's exchange calendar code, for strategies whose is "auto"."""
        self.symbol = symbol
        self._config = config
        self._settings = settings
        self._specs = config.for_symbol(symbol)
        # The distinct gap rules, (max bars, calendar code); each plan entry names its own.
        rules: dict[tuple[float, str | None], int] = {}
        plan = []
        for spec in self._specs:
            code = calendar if spec.calendar == AUTO_CALENDAR else spec.calendar
            rule = (spec.max_gap_bars or settings.max_gap_factor, code)
            # Each spec's evaluation with its params bound, shared by every engine of the config.
            plan.append((spec.name, spec.evaluate, spec.params, rules.setdefault(rule, len(rules))))
        self._plan = tuple(plan)
        self._weights = ensemble_weights(config, symbol) if config.ensemble else {}
        self._ensemble = config.ensemble if self._weights else None
        self._gaps = tuple((GapPolicy(bars), code) for bars, code in rules)
        interval = settings.quote_interval_secs
        # GapPolicy.is_gap's bound for quotes, worked out once (the same float); None makes
        # every quote ask GapPolicy, which refuses a non-positive interval as it always did.
        self._quote_gap_us = tuple(
            bars * interval * _US_PER_SEC if interval > 0.0 else None for bars, _ in rules
        )
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
        # True while the views changed since the ensemble last combined them: combining the
        # same views again gives the same view, whose side is already in `sides`.
        self._views_changed = True

    def on_event(self, event: Event) -> EngineOutput:
        """Feed one event; return the signals it (and the events it released) produced."""
        released, late = self.buffer.push(event.ts_us, event)
        if late is not None:
            return EngineOutput([], [late], [])
        if len(released) == 1:  # the usual case: one event in, the same one out
            ready = released[0]
            signals = self._apply(ready)
            return EngineOutput(list(signals), [], [(ready, signals)])
        out = EngineOutput()
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
        kind = event.kind
        ts_us = event.ts_us
        if kind == "news":
            for sentiment in self.sentiment.values():
                sentiment.update(float(r["sentiment"]["compound"]), ts_us)
            interval = None
        elif kind == "bar":
            self.price = float(r["close"])
            self.indicators.update(self.price, r["high"], r["low"], r["volume"], ts_us)
            interval = float(r["interval_secs"])
        else:
            self.price = mid = (float(r["bid"]) + float(r["ask"])) / 2.0
            self.indicators.update(mid, mid, mid, 0.0, ts_us)
            interval = self._settings.quote_interval_secs
        price = self.price
        if price is None:
            return []
        snapshot = self.indicators.snapshot()
        for half_life, sentiment in self.sentiment.items():
            # No news yet is neutral news: value_at is 0, so the first item can cross.
            snapshot[_sentiment_key(half_life)] = sentiment.value_at(ts_us)
        signals = self._evaluate(snapshot, self._previous(kind, ts_us, interval), event, price)
        if interval is not None:  # news does not move the price path strategies compare
            self.previous, self.previous_ts_us = snapshot, ts_us
        return signals

    def _previous(
        self, kind: str, ts_us: int, interval: float | None
    ) -> list[Mapping[str, float] | None]:
        """Return the previous snapshot each gap rule lets its strategies compare with."""
        previous = self.previous
        previous_ts_us = self.previous_ts_us
        if interval is None or previous_ts_us is None or previous is None:
            return [previous] * len(self._gaps)
        if kind == "quote":
            # GapPolicy.previous_for on a quote, inline (quotes measure wall time).
            step_us = ts_us - previous_ts_us
            found: list[Mapping[str, float] | None] = []
            gaps = self._gaps
            for index, bound in enumerate(self._quote_gap_us):  # an index loop: no zip object
                if bound is not None:
                    found.append(previous if step_us <= bound else None)
                else:
                    policy = gaps[index][0]
                    found.append(policy.previous_for(previous, previous_ts_us, ts_us, interval))
            return found
        return [
            None
            if policy.is_gap(
                previous_ts_us, ts_us, interval, trading_calendar(code) if code else None
            )
            else previous
            for policy, code in self._gaps
        ]

    def _evaluate(
        self,
        snapshot: Mapping[str, float],
        previous: list[Mapping[str, float] | None],
        event: Event,
        price: float,
    ) -> list[Record]:
        signals: list[Record] = []
        views, sides = self.views, self.sides
        for name, evaluate, params, rule in self._plan:
            view = evaluate(snapshot, previous[rule], price)
            if view is None:
                continue
            views[name] = view
            self._views_changed = True
            if sides.get(name, "FLAT") != view.side:
                signals.append(self._signal(name, view, params, snapshot, event, price))
        ensemble = self._ensemble
        if ensemble is not None and self._views_changed:
            view = combine(views, self._weights, ensemble.min_strength)
            self._views_changed = False
            if view is not None and sides.get(ensemble.name, "FLAT") != view.side:
                signals.append(self._signal(ensemble.name, view, {}, snapshot, event, price))
        return signals

    def _signal(
        self,
        name: str,
        view: StrategyView,
        params: Mapping[str, Any],
        snapshot: Mapping[str, float],
        event: Event,
        price: float,
    ) -> Record:
        """Record NAME's new side and return the signal of VIEW (its side changed)."""
        self.sides[name] = SIDE_TEXT[view.side]
        # The ATR of this update: the snapshot holds it once ready (no other key has its name).
        atr = snapshot.get(SIZING_ATR)
        if atr is not None and SIZING_ATR not in view.features:
            view = StrategyView(
                view.side, view.strength, view.confidence, {**view.features, SIZING_ATR: atr}
            )
        return make_signal(
            self.symbol,
            name,
            view,
            ref_price=price,
            ts_event_us=event.ts_us,
            params=params,
            trigger_ids=[event.trigger_id()],
        )

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
        cls,
        symbol: str,
        config: StrategyConfig,
        settings: EngineSettings,
        state: Mapping[str, Any],
        calendar: str | None = None,
    ) -> SymbolEngine:
        """Rebuild an engine from `state()` (CALENDAR: as the constructor's)."""
        from streams.strategies import Side

        engine = cls(symbol, config, settings, calendar)
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
