"""The per-symbol engine: event-time order, strategies fired on side changes, exact restore."""

from __future__ import annotations

import json
from typing import Any

from streams.engine import EngineSettings, Event, SymbolEngine
from streams.strategies import parse_config
from tests.kit import stubs

_CONFIG = parse_config(
    {
        "strategies": {
            "sma_cross": {
                "kind": "ma_cross",
                "symbols": "*",
                "params": {"fast": 2, "slow": 3, "ma": "sma"},
            },
            "news": {
                "kind": "sentiment_momentum",
                "symbols": "*",
                "params": {"half_life_secs": 3600.0, "threshold": 0.3},
            },
        }
    }
)
_SEC = 1_000_000


def _quote(mid: float, i: int) -> Event:
    ts = stubs.T0_US + i * _SEC
    return Event("quote", ts, stubs.quote(bid=mid - 0.01, ask=mid + 0.01, ts_event_us=ts, seq=i))


def _run(engine: SymbolEngine, events: list[Event]) -> list[dict[str, Any]]:
    signals: list[dict[str, Any]] = []
    for event in events:
        signals += engine.on_event(event).signals
    return signals


def test_sma_crossover_fires_once_per_side_change_on_the_hand_worked_path() -> None:
    # mids 10,10,10,11,12,9,8 -> SMA2: -,10,10,10.5,11.5,10.5,8.5  SMA3: -,-,10,10.33,11,10.67,9.67
    # i=3: fast 10.5 > slow 10.33 after fast == slow at i=2 -> BUY; i=4: still above, no repeat
    # i=5: fast 10.5 < slow 10.67 -> SELL; i=6: still below, no repeat
    engine = SymbolEngine("AAPL", _CONFIG, EngineSettings())
    prices = [10, 10, 10, 11, 12, 9, 8]

    signals = _run(engine, [_quote(p, i) for i, p in enumerate(prices)])

    assert [(s["side"], s["ts_event_us"]) for s in signals] == [
        ("BUY", stubs.T0_US + 3 * _SEC),
        ("SELL", stubs.T0_US + 5 * _SEC),
    ]
    assert signals[0]["trigger_ids"] == [f"quote:AAPL:{stubs.T0_US + 3 * _SEC}:3"]
    assert signals[0]["ref_price"] == 11.0


def test_news_moves_sentiment_and_fires_the_news_strategy() -> None:
    engine = SymbolEngine("AAPL", _CONFIG, EngineSettings())
    _run(engine, [_quote(10, 0)])

    news = stubs.news_item(compound=0.8, ts_event_us=stubs.T0_US + _SEC, id="n-42")
    signals = engine.on_event(Event("news", news["ts_event_us"], news)).signals

    assert [(s["strategy"], s["side"], s["trigger_ids"]) for s in signals] == [
        ("news", "BUY", ["news:n-42"])
    ]


def test_state_round_trip_mid_stream_gives_the_same_signals_as_an_uninterrupted_run() -> None:
    prices = [10, 10, 10, 11, 12, 9, 8, 8, 9, 11, 12, 12, 10, 9]
    events = [_quote(p, i) for i, p in enumerate(prices)]
    uninterrupted = _run(SymbolEngine("AAPL", _CONFIG, EngineSettings()), events)

    first = SymbolEngine("AAPL", _CONFIG, EngineSettings(grace_us=2 * _SEC))
    before = _run(first, events[:6])
    state = json.loads(json.dumps(first.state()))
    resumed = SymbolEngine.from_state("AAPL", _CONFIG, EngineSettings(grace_us=2 * _SEC), state)
    after = _run(resumed, events[6:]) + resumed.flush().signals

    assert [s["id"] for s in before + after] == [s["id"] for s in uninterrupted]
    assert len(uninterrupted) >= 3


def test_out_of_order_within_grace_is_reordered_and_beyond_it_is_late() -> None:
    engine = SymbolEngine("AAPL", _CONFIG, EngineSettings(grace_us=2 * _SEC))
    events = [_quote(p, i) for i, p in enumerate([10, 10, 10, 11, 12, 9, 8])]
    shuffled = [events[0], events[2], events[1], *events[3:]]

    in_order = _run(SymbolEngine("AAPL", _CONFIG, EngineSettings(grace_us=2 * _SEC)), events)
    reordered = _run(engine, shuffled)

    assert [s["id"] for s in reordered] == [s["id"] for s in in_order]
    out = engine.on_event(_quote(10, 1))  # 5 s behind what was already processed
    assert out.signals == []
    assert len(out.late) == 1
    assert out.late[0].reason.startswith("late: 3000 ms behind")
