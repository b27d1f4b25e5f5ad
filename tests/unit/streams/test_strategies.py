"""Every strategy on a scripted price path whose signals are worked out by hand.

Snapshots are built in the tests from the prices with pencil-and-paper arithmetic (stated
next to each), so these tests do not depend on streams.indicators.
"""

from __future__ import annotations

import hashlib
import importlib
import math
import re
from collections.abc import Mapping, Sequence

import fastavro
import pytest

from schemas.catalog import parsed_schema
from schemas.validation import first_error
from streams.exceptions import InvalidInputError, ParamError
from streams.sentiment import DecayedSentiment, sentiment_key
from streams.strategies import (
    STRATEGIES,
    GapPolicy,
    Side,
    Snapshot,
    StrategyView,
    combine,
    load_config,
    make_signal,
    required_indicators,
    signal_id,
    view_from_signal,
)
from streams.strategies.config import EXAMPLES_DIR
from tests.kit.stubs import T0_US

DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000

Outcome = tuple[int, Side, float]


def run(
    kind: str,
    snapshots: Sequence[Snapshot],
    prices: Sequence[float],
    params: Mapping[str, object] | None = None,
) -> list[Outcome]:
    """Feed the updates in order; return (index, side, strength) of every view."""
    strategy = STRATEGIES[kind]
    resolved = strategy.resolve(params)
    out: list[Outcome] = []
    previous: Snapshot | None = None
    for i, (snapshot, price) in enumerate(zip(snapshots, prices, strict=True)):
        view = strategy(snapshot, previous, price, resolved)
        if view is not None:
            out.append((i, view.side, view.strength))
        previous = snapshot
    return out


def sides(outcomes: list[Outcome]) -> list[tuple[int, Side]]:
    return [(i, side) for i, side, _ in outcomes]


def strengths(outcomes: list[Outcome]) -> list[float]:
    return [strength for _, _, strength in outcomes]


# --- moving-average crossover --------------------------------------------------------

# prices:      10    10    10    11     12    9      8
# SMA(2):      -     10    10    10.5   11.5  10.5   8.5
# SMA(3):      -     -     10    31/3   11    32/3   29/3
# fast-slow:   -     -     0     +1/6   +0.5  -1/6   -7/6
# i=2: the previous snapshot (i=1) has no SMA(3) yet: warm-up, nothing.
# i=3: 0 -> +1/6, fast crosses above slow: BUY.   i=4: still above: nothing.
# i=5: +0.5 -> -1/6, fast crosses below: SELL.    i=6: still below: nothing.
# Strength = |spread| / slow in bps / full_bps(1000):
#   i=3: (1/6) / (31/3) = 1/62 = 161.29 bps -> 0.16129;  i=5: (1/6) / (32/3) = 1/64 -> 0.15625
SMA_PRICES = [10.0, 10.0, 10.0, 11.0, 12.0, 9.0, 8.0]
SMA_SNAPSHOTS: list[Snapshot] = [
    {},
    {"sma_2": 10.0},
    {"sma_2": 10.0, "sma_3": 10.0},
    {"sma_2": 10.5, "sma_3": 31 / 3},
    {"sma_2": 11.5, "sma_3": 11.0},
    {"sma_2": 10.5, "sma_3": 32 / 3},
    {"sma_2": 8.5, "sma_3": 29 / 3},
]
SMA_PARAMS = {"fast": 2, "slow": 3, "full_bps": 1000.0}


def test_sma_crossover_buys_on_the_cross_up_and_sells_on_the_cross_down() -> None:
    outcomes = run("ma_cross", SMA_SNAPSHOTS, SMA_PRICES, SMA_PARAMS)

    assert sides(outcomes) == [(3, Side.BUY), (5, Side.SELL)]
    assert strengths(outcomes) == pytest.approx([1 / 62 * 1e4 / 1000, -1 / 64 * 1e4 / 1000])


def test_crossover_strength_is_capped_at_one() -> None:
    outcomes = run("ma_cross", SMA_SNAPSHOTS, SMA_PRICES, {"fast": 2, "slow": 3})  # 50 bps

    assert strengths(outcomes) == [1.0, -1.0]


def test_crossover_reads_the_configured_kind_of_average() -> None:
    ema = {"fast": 2, "slow": 3, "ma": "ema"}
    renamed = [{k.replace("sma", "ema"): v for k, v in s.items()} for s in SMA_SNAPSHOTS]

    assert STRATEGIES["ma_cross"].indicators(STRATEGIES["ma_cross"].resolve(ema)) == {
        "ema_2": ("ema", {"period": 2}),
        "ema_3": ("ema", {"period": 3}),
    }
    assert sides(run("ma_cross", renamed, SMA_PRICES, ema)) == [(3, Side.BUY), (5, Side.SELL)]
    assert run("ma_cross", SMA_SNAPSHOTS, SMA_PRICES, ema) == []  # no ema_* keys: warm-up


def test_a_nan_indicator_gives_no_signal() -> None:
    snapshots = [*SMA_SNAPSHOTS[:3], {"sma_2": math.nan, "sma_3": 31 / 3}]

    assert run("ma_cross", snapshots, SMA_PRICES[:4], SMA_PARAMS) == []


# --- RSI mean reversion ---------------------------------------------------------------

# RSI(2) in the simple (Cutler) form, 100 * gains / (gains + losses) of the last 2 changes:
# prices:   10   9.5   9.0   9.2   9.6   10.0   9.9   9.5
# changes:  -    -.5   -.5   +.2   +.4   +.4    -.1   -.4
# RSI(2):   -    -     0     28.57 100   100    80    0          (.2/.7 = 28.57, .4/.5 = 80)
# oversold 30: i=3 -> i=4 goes 28.57 -> 100, up through 30: BUY, strength (50 - 28.57)/50.
#   (i=2 -> i=3 goes 0 -> 28.57: still below 30, nothing.)
# overbought 70: i=5 -> i=6 goes 100 -> 80: still above 70, nothing;
#   i=6 -> i=7 goes 80 -> 0, down through 70: SELL, strength (80 - 50)/50 = 0.6.
RSI_PRICES = [10.0, 9.5, 9.0, 9.2, 9.6, 10.0, 9.9, 9.5]
RSI_VALUES = [None, None, 0.0, 100 * 0.2 / 0.7, 100.0, 100.0, 80.0, 0.0]


def test_rsi_reversion_trades_on_leaving_the_extreme_zones() -> None:
    snapshots = [{} if v is None else {"rsi_2": v} for v in RSI_VALUES]

    outcomes = run("rsi_reversion", snapshots, RSI_PRICES, {"period": 2})

    assert sides(outcomes) == [(4, Side.BUY), (7, Side.SELL)]
    assert strengths(outcomes) == pytest.approx([(50 - 200 / 7) / 50, -0.6])


# --- Bollinger breakout and reversion --------------------------------------------------

# Bands of period 3, k = 1, population standard deviation, the current close included:
# prices:  10   10   10   13            10            7
# window:  -    -    10,10,10  10,10,13  10,13,10     13,10,7
# middle:  -    -    10   11            11            10
# std:     -    -    0    sqrt(2)       sqrt(2)       sqrt(6)     (var (1+1+4)/3, (9+0+9)/3)
# upper:   -    -    10   11+sqrt(2)    11+sqrt(2)    10+sqrt(6)
# lower:   -    -    10   11-sqrt(2)    11-sqrt(2)    10-sqrt(6)
# i=2: 10 is on the (zero-width) band, not beyond it: nothing.
# i=3: 13 > 12.414 by (2 - sqrt 2), / half-width sqrt 2 = sqrt(2) - 1 = 0.414 above.
# i=4: 10 inside [9.586, 12.414]: nothing.
# i=5: 7 < 7.551 by (3 - sqrt 6), / sqrt 6 = 3/sqrt(6) - 1 = 0.2247 below.
BB_PRICES = [10.0, 10.0, 10.0, 13.0, 10.0, 7.0]


def _bands(middle: float, std: float) -> Snapshot:
    return {
        "bbands_3_1.upper": middle + std,
        "bbands_3_1.middle": middle,
        "bbands_3_1.lower": middle - std,
    }


BB_SNAPSHOTS = [
    {},
    {},
    _bands(10.0, 0.0),
    _bands(11.0, math.sqrt(2)),
    _bands(11.0, math.sqrt(2)),
    _bands(10.0, math.sqrt(6)),
]
BB_PARAMS = {"period": 3, "k": 1.0}


def test_bollinger_breakout_follows_a_close_outside_the_bands() -> None:
    outcomes = run("bollinger_breakout", BB_SNAPSHOTS, BB_PRICES, BB_PARAMS)

    assert sides(outcomes) == [(3, Side.BUY), (5, Side.SELL)]
    assert strengths(outcomes) == pytest.approx([math.sqrt(2) - 1, -(3 / math.sqrt(6) - 1)])


def test_bollinger_reversion_fades_a_close_outside_the_bands() -> None:
    outcomes = run("bollinger_reversion", BB_SNAPSHOTS, BB_PRICES, BB_PARAMS)

    assert sides(outcomes) == [(3, Side.SELL), (5, Side.BUY)]
    assert strengths(outcomes) == pytest.approx([-(math.sqrt(2) - 1), 3 / math.sqrt(6) - 1])


def test_a_price_beyond_a_zero_width_band_is_full_strength() -> None:
    view = STRATEGIES["bollinger_breakout"](
        _bands(10.0, 0.0), None, 10.1, STRATEGIES["bollinger_breakout"].resolve(BB_PARAMS)
    )

    assert view is not None
    assert (view.side, view.strength) == (Side.BUY, 1.0)


def test_bollinger_name_formats_k_like_the_indicators() -> None:
    bb = STRATEGIES["bollinger_breakout"]

    assert list(bb.indicators(bb.resolve({"period": 20, "k": 2}))) == ["bbands_20_2"]
    assert list(bb.indicators(bb.resolve({"period": 20, "k": 2.5}))) == ["bbands_20_2p5"]


# --- MACD momentum --------------------------------------------------------------------

# MACD(fast 1, slow 2, signal 2); EMAs seeded with the first value, alpha = 2/(n+1) = 2/3:
# prices:       10   10   11     12       11        9
# EMA(1):       = the price
# EMA(2):       10   10   32/3   104/9    302/27    788/81
# macd:         0    0    1/3    4/9      -5/27     -59/81      (price - EMA(2))
# signal EMA(2):0    0    2/9    10/27    0         -118/243
# hist:         0    0    1/9    2/27     -5/27     -59/243
# Ready from i=1 (i=0 is warm-up). i=1 -> i=2: 0 -> 1/9 turns positive: BUY.
# i=3 -> i=4: 2/27 -> -5/27 turns negative: SELL. i=5 stays negative: nothing.
# Strength = |hist| / price in bps / full_bps(1000): (1/9)/11 -> 0.10101, (5/27)/11 -> 0.16835
MACD_PRICES = [10.0, 10.0, 11.0, 12.0, 11.0, 9.0]
MACD_ROWS = [  # (macd, signal)
    None,
    (0.0, 0.0),
    (1 / 3, 2 / 9),
    (4 / 9, 10 / 27),
    (-5 / 27, 0.0),
    (-59 / 81, -118 / 243),
]
MACD_PARAMS = {"fast": 1, "slow": 2, "signal": 2, "full_bps": 1000.0}


def test_macd_momentum_trades_the_histogram_sign_change() -> None:
    snapshots: list[Snapshot] = [
        {}
        if row is None
        else {
            "macd_1_2_2.macd": row[0],
            "macd_1_2_2.macd_signal": row[1],
            "macd_1_2_2.macd_hist": row[0] - row[1],
        }
        for row in MACD_ROWS
    ]

    outcomes = run("macd_momentum", snapshots, MACD_PRICES, MACD_PARAMS)

    assert sides(outcomes) == [(2, Side.BUY), (4, Side.SELL)]
    assert strengths(outcomes) == pytest.approx([(1 / 9) / 11 * 10, -(5 / 27) / 11 * 10])


# --- VWAP reversion -------------------------------------------------------------------

# Equal volumes, so VWAP is the running mean of the prices (the current one included):
# prices:  100   100   101            99       100.2
# VWAP:    100   100   301/3          100      500.2/5 = 100.04
# dev bps: 0     0     (2/3)/(301/3) = 2/301 = +66.4   -100    +16.0
# k = 50 bps: i=2 is 66.4 bps above: SELL (back down), 66.4/200 = 0.332;
#             i=3 is 100 bps below: BUY (back up), 100/200 = 0.5; i=4 is within 50 bps.
VWAP_PRICES = [100.0, 100.0, 101.0, 99.0, 100.2]
VWAP_VALUES = [100.0, 100.0, 301 / 3, 100.0, 100.04]


def test_vwap_reversion_trades_back_toward_vwap_beyond_k_bps() -> None:
    snapshots = [{"vwap": v} for v in VWAP_VALUES]

    outcomes = run("vwap_reversion", snapshots, VWAP_PRICES, {"k_bps": 50.0, "full_bps": 200.0})

    assert sides(outcomes) == [(2, Side.SELL), (3, Side.BUY)]
    assert strengths(outcomes) == pytest.approx([-(2 / 301 * 1e4) / 200, 0.5])


# --- Donchian breakout ----------------------------------------------------------------

# Channel of 3 bars over high = low = close, the current bar included:
# prices:  10   11   10.5   12     11     9.5    10
# upper:   -    -    11     12     12     12     11
# lower:   -    -    10     10.5   10.5   9.5    9.5
# i=3: 12 > the previous upper 11: BUY, (12 - 11)/11 = 909.1 bps.
# i=4: 11 within the previous [10.5, 12]. i=5: 9.5 < the previous lower 10.5: SELL,
# (9.5 - 10.5)/10.5 = -952.4 bps. i=6: 10 within the previous [9.5, 12].
DC_PRICES = [10.0, 11.0, 10.5, 12.0, 11.0, 9.5, 10.0]
DC_BOUNDS = [None, None, (11.0, 10.0), (12.0, 10.5), (12.0, 10.5), (12.0, 9.5), (11.0, 9.5)]


def test_donchian_breakout_trades_a_break_of_the_previous_channel() -> None:
    snapshots: list[Snapshot] = [
        {} if b is None else {"donchian_3.upper": b[0], "donchian_3.lower": b[1]} for b in DC_BOUNDS
    ]

    outcomes = run("donchian_breakout", snapshots, DC_PRICES, {"period": 3, "full_bps": 2000.0})

    assert sides(outcomes) == [(3, Side.BUY), (5, Side.SELL)]
    assert strengths(outcomes) == pytest.approx([(1 / 11) * 1e4 / 2000, -(1 / 10.5) * 1e4 / 2000])


# --- news-sentiment momentum ----------------------------------------------------------


# Hourly bars at 0h..4h, half-life 1h, threshold 0.3. News: +0.8 at 0.5h, -0.9 at 2.5h.
# 0h: no news: 0.
# 1h: 0.8 * 2^-0.5 = 0.5657: up through +0.3: BUY, strength 0.5657.
# 2h: 0.8 * 2^-1.5 = 0.2828: back below +0.3: FLAT (exit_on_fade).
# 3h: 0.8 * 2^-2.5 - 0.9 * 2^-0.5 = 0.1414 - 0.6364 = -0.4950 (weights 0.177 + 0.707 < 1,
#     so no normalization): down through -0.3: SELL, strength -0.4950.
# 4h: half of that, -0.2475: back above -0.3: FLAT.
def test_sentiment_momentum_follows_the_decayed_news_sentiment() -> None:
    sentiment = DecayedSentiment(half_life_secs=3600)
    news = {HOUR_US // 2: 0.8, 5 * HOUR_US // 2: -0.9}
    key = sentiment_key(3600)
    snapshots: list[Snapshot] = []
    for bar in range(5):
        for ts, score in news.items():
            if bar * HOUR_US - HOUR_US < ts <= bar * HOUR_US:
                sentiment.update(score, T0_US + ts)
        snapshots.append({key: sentiment.value_at(T0_US + bar * HOUR_US)})

    outcomes = run("sentiment_momentum", snapshots, [100.0] * 5, {"half_life_secs": 3600.0})

    a, b = 0.8 * 2**-2.5, -0.9 * 2**-0.5
    assert [s[key] for s in snapshots] == pytest.approx(
        [0.0, 0.8 * 2**-0.5, 0.8 * 2**-1.5, a + b, (a + b) / 2]
    )
    assert sides(outcomes) == [(1, Side.BUY), (2, Side.FLAT), (3, Side.SELL), (4, Side.FLAT)]
    assert strengths(outcomes) == pytest.approx([0.8 * 2**-0.5, 0.0, a + b, 0.0])


def test_sentiment_momentum_without_exit_on_fade_only_buys_and_sells() -> None:
    key = sentiment_key(3600)
    snapshots = [{key: v} for v in (0.0, 0.5, 0.2, -0.4, -0.2)]

    outcomes = run("sentiment_momentum", snapshots, [1.0] * 5, {"exit_on_fade": False})

    assert sides(outcomes) == [(1, Side.BUY), (3, Side.SELL)]


# --- the ensemble ---------------------------------------------------------------------


def _view(strength: float) -> StrategyView:
    side = Side.BUY if strength > 0 else Side.SELL if strength < 0 else Side.FLAT
    return StrategyView(side, strength, 0.5, {})


WEIGHTS = {"a": 1.0, "b": 1.0, "c": 2.0}


@pytest.mark.parametrize(
    ("views", "side", "strength", "confidence"),
    [
        # a +0.6, b -0.2, c none: S = (0.6 - 0.2)/2 = 0.2; agreement = 0.4/0.8 = 0.5;
        # coverage = 2/4 = 0.5; confidence 0.25.
        ({"a": 0.6, "b": -0.2}, Side.BUY, 0.2, 0.25),
        # + c +0.5 (weight 2): S = (0.6 - 0.2 + 1.0)/4 = 0.35; agreement = 1.4/1.8; coverage 1.
        ({"a": 0.6, "b": -0.2, "c": 0.5}, Side.BUY, 0.35, 1.4 / 1.8),
        # all agree on a sell: S = (-0.4 - 0.4 - 2*0.4)/4 = -0.4; agreement 1; coverage 1.
        ({"a": -0.4, "b": -0.4, "c": -0.4}, Side.SELL, -0.4, 1.0),
        # they cancel: S = (0.5 - 0.5)/2 = 0: FLAT; agreement 0.
        ({"a": 0.5, "b": -0.5}, Side.FLAT, 0.0, 0.0),
        # only FLAT views: S = 0, agreement 1 (nobody disagrees), coverage 3/4.
        ({"a": 0.0, "c": 0.0}, Side.FLAT, 0.0, 0.75),
        # a view of a strategy that is not a member does not count.
        ({"a": 0.6, "zzz": -1.0}, Side.BUY, 0.6, 0.25),
    ],
)
def test_ensemble_weights_the_members_views(
    views: dict[str, float], side: Side, strength: float, confidence: float
) -> None:
    view = combine({name: _view(s) for name, s in views.items()}, WEIGHTS)

    assert view is not None
    assert view.side is side
    assert view.strength == pytest.approx(strength)
    assert view.confidence == pytest.approx(confidence)


def test_ensemble_dead_band_is_flat_and_no_views_is_no_view() -> None:
    views = {"a": _view(0.6), "b": _view(-0.2)}  # S = 0.2

    flat = combine(views, WEIGHTS, min_strength=0.2)

    assert flat is not None
    assert (flat.side, flat.strength) == (Side.FLAT, 0.0)
    assert flat.features["strength.a"] == 0.6
    assert combine({}, WEIGHTS) is None
    assert combine({"a": _view(0.6)}, {"a": 0.0, "b": 1.0}) is None  # weight 0: not a member


def test_ensemble_of_the_latest_views_along_the_price_paths() -> None:
    # The crossover's latest view at i=4 is its BUY from i=3 (+0.16129); the breakout's
    # view at i=3 was a BUY of sqrt(2) - 1 = 0.41421. Equal weights: S = (0.16129 + 0.41421)/2
    # = 0.28775, both agree (agreement 1), both present (coverage 1).
    cross = STRATEGIES["ma_cross"]
    breakout = STRATEGIES["bollinger_breakout"]
    latest = {
        "sma_cross": cross(SMA_SNAPSHOTS[3], SMA_SNAPSHOTS[2], 11.0, cross.resolve(SMA_PARAMS)),
        "bb": breakout(BB_SNAPSHOTS[3], None, 13.0, breakout.resolve(BB_PARAMS)),
    }

    view = combine({k: v for k, v in latest.items() if v is not None}, {"sma_cross": 1, "bb": 1})

    assert view is not None
    assert view.side is Side.BUY
    assert view.strength == pytest.approx((1 / 62 * 10 + math.sqrt(2) - 1) / 2)
    assert view.confidence == pytest.approx(1.0)


# --- gaps -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("previous_ts_us", "ts_us", "interval_secs", "factor", "gap"),
    [
        (None, T0_US, 86_400, 3.0, False),  # first update: nothing to compare
        (T0_US, T0_US + DAY_US, 86_400, 3.0, False),  # the next day
        (T0_US, T0_US + 3 * DAY_US, 86_400, 3.0, False),  # a weekend: exactly 3 intervals
        (T0_US, T0_US + 3 * DAY_US + 1, 86_400, 3.0, True),  # a microsecond more
        (T0_US, T0_US + 4 * DAY_US, 86_400, 3.0, True),  # a long weekend / a halt
        (T0_US, T0_US + 120_000_000, 60, 1.5, True),  # one missing minute bar
        (T0_US, T0_US + 90_000_000, 60, 1.5, False),
        (T0_US, T0_US - DAY_US, 86_400, 3.0, False),  # late record: not a gap
    ],
)
def test_gap_policy_flags_steps_longer_than_the_factor_times_the_interval(
    previous_ts_us: int | None, ts_us: int, interval_secs: float, factor: float, gap: bool
) -> None:
    assert GapPolicy(max_gap_factor=factor).is_gap(previous_ts_us, ts_us, interval_secs) is gap


def test_after_a_gap_crossovers_skip_the_first_update_and_levels_do_not() -> None:
    # The SMA path again, as daily bars, but bar 3 (the cross up) comes 5 days after bar 2:
    # a halt. Evaluated against the stale bar-2 snapshot the crossover would BUY; after the
    # gap it gets previous=None and says nothing. Bar 4 compares with bar 3 as usual (both
    # above: nothing), and the cross down at bar 5 fires. A level strategy (Bollinger
    # breakout on its own path) still fires on the first bar after the gap.
    policy = GapPolicy(max_gap_factor=3.0)
    days = [0, 1, 2, 7, 8, 9, 10]
    cross = STRATEGIES["ma_cross"]
    params = cross.resolve(SMA_PARAMS)
    fired: list[tuple[int, Side]] = []
    for i in range(1, len(days)):
        previous = policy.previous_for(
            SMA_SNAPSHOTS[i - 1], T0_US + days[i - 1] * DAY_US, T0_US + days[i] * DAY_US, 86_400
        )
        view = cross(SMA_SNAPSHOTS[i], previous, SMA_PRICES[i], params)
        if view is not None:
            fired.append((i, view.side))
    breakout = STRATEGIES["bollinger_breakout"]
    level = breakout(BB_SNAPSHOTS[3], None, BB_PRICES[3], breakout.resolve(BB_PARAMS))

    assert fired == [(5, Side.SELL)]
    assert level is not None
    assert level.side is Side.BUY


@pytest.mark.parametrize("kind", sorted(STRATEGIES))
def test_every_strategy_is_silent_without_its_inputs(kind: str) -> None:
    strategy = STRATEGIES[kind]

    assert strategy({}, {}, 100.0, strategy.resolve()) is None
    assert strategy({}, None, 100.0, strategy.resolve()) is None


@pytest.mark.parametrize("kind", sorted(k for k, s in STRATEGIES.items() if s.uses_previous))
def test_strategies_that_compare_with_the_previous_snapshot_need_one(kind: str) -> None:
    strategy = STRATEGIES[kind]
    params = strategy.resolve()
    keys = {name for name in strategy.indicators(params)} or {"x"}
    # Whatever the snapshot holds, no previous snapshot means no signal.
    snapshot = {f"{k}{suffix}": 1.0 for k in keys for suffix in ("", ".upper", ".macd_hist")}

    assert strategy(snapshot, None, 100.0, params) is None


# --- the contract with streams.indicators --------------------------------------------


class RecordingSnapshot(dict[str, float]):
    """A snapshot that remembers which keys a strategy asked for."""

    asked: set[str]

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        self.asked.add(key)
        return super().get(key, default)


@pytest.mark.parametrize(
    "kind", sorted(k for k, s in STRATEGIES.items() if s.indicators(s.resolve()))
)
def test_every_key_a_strategy_reads_is_in_the_indicator_snapshot(kind: str) -> None:
    indicator_set = pytest.importorskip("streams.indicators.indicator_set")
    strategy = STRATEGIES[kind]
    params = strategy.resolve()
    indicators = indicator_set.IndicatorSet(strategy.indicators(params))
    price = 100.0
    for i in range(200):  # past every default warm-up
        price += 0.5 if i % 7 < 4 else -0.6
        indicators.update(price, price + 0.25, price - 0.25, 1_000.0, T0_US + i * 60_000_000)
    asked: set[str] = set()
    snapshot, previous = RecordingSnapshot(indicators.snapshot()), RecordingSnapshot()
    snapshot.asked = previous.asked = asked
    previous.update(snapshot)

    strategy(snapshot, previous, price, params)

    assert asked
    assert asked <= set(snapshot)


def test_indicator_names_parse_back_to_their_specs() -> None:
    registry = pytest.importorskip("streams.indicators.registry")
    config = load_config(EXAMPLES_DIR / "default.toml")

    for symbol in ("AAPL", "MSFT", "GOOG"):
        for name, spec in required_indicators(config, symbol).items():
            assert registry.parse_name(name) == spec, name


# --- parameters and views -------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "params", "key"),
    [
        ("ma_cross", {"fast": 30, "slow": 10}, "fast"),
        ("ma_cross", {"fast": 10.5}, "fast"),
        ("ma_cross", {"ma": "hma"}, "ma"),
        ("ma_cross", {"speed": 1}, "speed"),
        ("rsi_reversion", {"oversold": 60.0}, "oversold"),
        ("rsi_reversion", {"overbought": 101}, "overbought"),
        ("macd_momentum", {"fast": 26}, "fast"),
        ("bollinger_breakout", {"k": True}, "k"),
        ("sentiment_momentum", {"exit_on_fade": 1}, "exit_on_fade"),
        ("vwap_reversion", {"confidence": 1.5}, "confidence"),
        ("donchian_breakout", {"full_bps": math.inf}, "full_bps"),
        ("donchian_breakout", {"full_bps": 10**400}, "full_bps"),
        ("donchian_breakout", {"period": 10**400}, "period"),
    ],
)
def test_bad_parameters_are_refused_by_name(kind: str, params: dict[str, object], key: str) -> None:
    with pytest.raises(ParamError) as err:
        STRATEGIES[kind].resolve(params)

    assert err.value.key == key


def test_resolved_params_are_complete_and_read_only() -> None:
    params = STRATEGIES["ma_cross"].resolve({"fast": 5, "full_bps": 20})

    assert dict(params) == {"fast": 5, "slow": 30, "ma": "sma", "full_bps": 20.0, "confidence": 0.5}
    assert isinstance(params["full_bps"], float)
    with pytest.raises(TypeError):
        params["fast"] = 6  # type: ignore[index]  # read-only by design


@pytest.mark.parametrize(
    ("side", "strength", "confidence"),
    [
        (Side.BUY, -0.1, 0.5),
        (Side.BUY, 0.0, 0.5),
        (Side.SELL, 0.1, 0.5),
        (Side.FLAT, 0.1, 0.5),
        (Side.BUY, 1.1, 0.5),
        (Side.BUY, 0.5, 1.1),
        (Side.BUY, math.nan, 0.5),
    ],
)
def test_a_view_whose_strength_disagrees_with_its_side_is_refused(
    side: Side, strength: float, confidence: float
) -> None:
    with pytest.raises(ValueError, match=r"strength|confidence"):
        StrategyView(side, strength, confidence)


# --- signal records -------------------------------------------------------------------


def test_signal_id_is_deterministic_and_depends_on_every_field() -> None:
    base = ("AAPL", "sma_cross", T0_US, ["AAPL:41", "AAPL:42"])
    variants = [
        ("MSFT", "sma_cross", T0_US, ["AAPL:41", "AAPL:42"]),
        ("AAPL", "ema_cross", T0_US, ["AAPL:41", "AAPL:42"]),
        ("AAPL", "sma_cross", T0_US + 1, ["AAPL:41", "AAPL:42"]),
        ("AAPL", "sma_cross", T0_US, ["AAPL:42", "AAPL:41"]),
        ("AAPL", "sma_cross", T0_US, ["AAPL:41"]),
        ("AAPL", "sma_cross", T0_US, ["AAPL:41,AAPL:42"]),  # no ambiguity in joining
    ]

    first = signal_id(*base)

    assert first == signal_id(*base)
    assert re.fullmatch(r"[0-9a-f]{24}", first)
    # Pinned: ids must not change between releases, or replays stop deduplicating.
    assert first == signal_id("AAPL", "sma_cross", 1_704_205_800_000_000, ("AAPL:41", "AAPL:42"))
    assert first == "ff55758e328103e7856bd848"
    payload = b'["AAPL","sma_cross",1704205800000000,["AAPL:41","AAPL:42"]]'
    assert first == hashlib.blake2b(payload, digest_size=12).hexdigest()
    assert len({first, *(signal_id(*v) for v in variants)}) == 1 + len(variants)


def test_make_signal_builds_a_record_that_fits_signal_avsc() -> None:
    cross = STRATEGIES["ma_cross"]
    params = cross.resolve(SMA_PARAMS)
    view = cross(SMA_SNAPSHOTS[3], SMA_SNAPSHOTS[2], 11.0, params)
    assert view is not None

    record = make_signal(
        "AAPL",
        "sma_cross",
        view,
        ref_price=11.0,
        ts_event_us=T0_US,
        params=params,
        trigger_ids=["AAPL:3"],
    )

    schema = parsed_schema("Signal")
    assert first_error(schema, record) is None
    assert fastavro.validate(record, fastavro.parse_schema(schema), raise_errors=False)
    assert set(record) == {f["name"] for f in schema["fields"]}
    assert record["id"] == signal_id("AAPL", "sma_cross", T0_US, ["AAPL:3"])
    assert record["side"] == "BUY"
    assert record["strength"] == pytest.approx(0.16129, abs=1e-5)
    assert record["params"] == {"fast": 2.0, "slow": 3.0, "full_bps": 1000.0, "confidence": 0.5}
    assert record["features"] == pytest.approx(
        {"sma_2": 10.5, "sma_3": 31 / 3, "spread_bps": 1e4 / 62}
    )
    assert record["trigger_ids"] == ["AAPL:3"]
    assert view_from_signal(record) == view


@pytest.mark.parametrize(
    ("ref_price", "ts_event_us", "features"),
    [
        (math.nan, T0_US, {}),
        (0.0, T0_US, {}),
        (11.0, float(T0_US), {}),
        (11.0, T0_US, {"sma_2": math.inf}),
    ],
)
def test_make_signal_refuses_corrupt_inputs(
    ref_price: float, ts_event_us: int, features: dict[str, float]
) -> None:
    view = StrategyView(Side.BUY, 0.5, 0.5, features)

    with pytest.raises(InvalidInputError):
        make_signal("AAPL", "x", view, ref_price=ref_price, ts_event_us=ts_event_us, params={})


def test_view_from_signal_refuses_a_record_that_is_no_view() -> None:
    with pytest.raises(InvalidInputError):
        view_from_signal({"id": "s", "side": "BUY", "strength": -0.5, "confidence": 0.5})


# --- the public surface ---------------------------------------------------------------

PUBLIC = {
    "streams.strategies": {
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
    },
    "streams.sentiment": {"DecayedSentiment", "sentiment_key"},
    "streams.exceptions": {"ConfigError", "InvalidInputError", "ParamError"},
}


@pytest.mark.parametrize("module", sorted(PUBLIC))
def test_public_surface_is_pinned(module: str) -> None:
    mod = importlib.import_module(module)

    assert set(mod.__all__) == PUBLIC[module]
    assert all(hasattr(mod, name) for name in mod.__all__)


def test_registry_holds_every_family() -> None:
    assert sorted(STRATEGIES) == [
        "bollinger_breakout",
        "bollinger_reversion",
        "donchian_breakout",
        "ma_cross",
        "macd_momentum",
        "rsi_reversion",
        "sentiment_momentum",
        "vwap_reversion",
    ]
    assert all(kind == s.kind for kind, s in STRATEGIES.items())
