"""The indicators against TA-Lib on real data, warm-up, state round trips, batch form, bad input.

Parity is checked on the data sets the `backtesting` package ships (GOOG daily, EURUSD
hourly, BTCUSD monthly), with np.testing.assert_allclose(rtol=1e-9) wherever TA-Lib has a
value. Two kinds of output cross zero, where a relative error means nothing, and get an
absolute tolerance as well:
  * the z-score, (close - mean) / std: 1e-9 in z units. Where close == mean, TA-Lib's
    rounding leaves ~1e-13 and ours may leave exactly 0;
  * MACD line, signal and histogram (differences of two EMAs): 1e-12 x the median close.
VWAP has no TA-Lib function and is checked against pandas (groupby session, cumsum).
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd
import pytest
import talib
from backtesting import test as bt_data

import streams.indicators as indicators
from streams.indicators import (
    KINDS,
    VWAP,
    Indicator,
    IndicatorConfigError,
    IndicatorInputError,
    IndicatorSet,
    IndicatorStateError,
    batch,
    make_indicator,
    parse_name,
)
from streams.indicators.statistics import WindowMoments

Arrays = dict[str, np.ndarray]
DATASETS: dict[str, pd.DataFrame] = {
    name: getattr(bt_data, name) for name in ("GOOG", "EURUSD", "BTCUSD") if hasattr(bt_data, name)
}
HOUR_US = 3_600_000_000

CASES: list[tuple[str, dict[str, float]]] = [
    ("sma", {"period": 10}),
    ("sma", {"period": 30}),
    ("ema", {"period": 12}),
    ("ema", {"period": 26}),
    ("wma", {"period": 10}),
    ("wma", {"period": 30}),
    ("rsi", {"period": 14}),
    ("rsi", {"period": 7}),
    ("macd", {"fast": 12, "slow": 26, "signal": 9}),
    ("macd", {"fast": 5, "slow": 35, "signal": 5}),
    ("bbands", {"period": 20, "k": 2.0}),
    ("bbands", {"period": 10, "k": 1.5}),
    ("atr", {"period": 14}),
    ("atr", {"period": 5}),
    ("zscore", {"period": 20}),
    ("zscore", {"period": 50}),
    ("donchian", {"period": 20}),
    ("donchian", {"period": 55}),
    ("obv", {}),
]
ALL_CASES = [*CASES, ("vwap", {}), ("vwap", {"session_offset_us": 22 * HOUR_US})]

# Updates before the first value: TA-Lib's lookback + 1.
WARMUP: dict[str, Callable[[dict[str, float]], int]] = {
    "sma": lambda p: int(p["period"]),
    "ema": lambda p: int(p["period"]),
    "wma": lambda p: int(p["period"]),
    "rsi": lambda p: int(p["period"]) + 1,
    "macd": lambda p: int(p["slow"] + p["signal"]) - 1,
    "bbands": lambda p: int(p["period"]),
    "atr": lambda p: int(p["period"]) + 1,
    "zscore": lambda p: int(p["period"]),
    "donchian": lambda p: int(p["period"]),
    "obv": lambda p: 1,
}


def case_id(case: tuple[str, dict[str, float]]) -> str:
    kind, params = case
    return "_".join([kind, *(f"{v:g}" for v in params.values())])


def columns(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return close, high, low, volume (float) and ts_us (int) of a backtesting frame."""
    ts_us = df.index.as_unit("us").asi8.astype(np.int64)
    close, high, low, volume = (
        df[c].to_numpy(np.float64) for c in ("Close", "High", "Low", "Volume")
    )
    return close, high, low, volume, ts_us


def run(
    indicator: Indicator, df: pd.DataFrame, outputs: tuple[str, ...]
) -> tuple[Arrays, np.ndarray]:
    """Feed DF row by row through `update`; return outputs (NaN while not ready) and readiness."""
    close, high, low, volume, ts_us = columns(df)
    out = {key: np.full(len(close), np.nan) for key in outputs}
    ready = np.zeros(len(close), dtype=bool)
    for i in range(len(close)):
        indicator.update(
            float(close[i]), float(high[i]), float(low[i]), float(volume[i]), int(ts_us[i])
        )
        ready[i] = indicator.ready
        for key, value in indicator.values().items():
            out[key][i] = value
    return out, ready


def run_case(kind: str, params: dict[str, float], df: pd.DataFrame) -> tuple[Arrays, np.ndarray]:
    return run(make_indicator(kind, **params), df, KINDS[kind].outputs)


def talib_reference(kind: str, params: dict[str, float], df: pd.DataFrame) -> Arrays:
    close, high, low, volume, _ = columns(df)
    p = int(params.get("period", 0))
    if kind in ("sma", "ema", "wma", "rsi"):
        return {kind: getattr(talib, kind.upper())(close, timeperiod=p)}
    if kind == "macd":
        macd, signal, hist = talib.MACD(
            close, int(params["fast"]), int(params["slow"]), int(params["signal"])
        )
        return {"macd": macd, "macd_signal": signal, "macd_hist": hist}
    if kind == "bbands":
        k = params["k"]
        upper, middle, lower = talib.BBANDS(close, p, k, k, 0)
        return {"middle": middle, "upper": upper, "lower": lower}
    if kind == "atr":
        return {"atr": talib.ATR(high, low, close, timeperiod=p)}
    if kind == "zscore":
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (close - talib.SMA(close, p)) / talib.STDDEV(close, p, 1.0)
        return {"zscore": z}
    if kind == "donchian":
        upper, lower = talib.MAX(high, p), talib.MIN(low, p)
        return {"upper": upper, "lower": lower, "middle": (upper + lower) / 2.0}
    if kind == "obv":
        return {"obv": talib.OBV(close, volume)}
    raise AssertionError(kind)


def atol_for(key: str, df: pd.DataFrame) -> float:
    if key == "zscore":
        return 1e-9
    if key.startswith("macd"):
        return 1e-12 * float(np.median(np.abs(df["Close"])))
    return 0.0


def pandas_vwap(
    df: pd.DataFrame, offset_us: int = 0, length_us: int = 86_400_000_000
) -> np.ndarray:
    """VWAP computed independently: typical price, grouped by session, cumulative sums."""
    close, high, low, volume, ts_us = columns(df)
    frame = pd.DataFrame({"tp": (high + low + close) / 3.0, "v": volume})
    session = (ts_us - offset_us) // length_us
    pv = (frame.tp * frame.v).groupby(session).cumsum()
    vol = frame.v.groupby(session).cumsum()
    return np.where(vol > 0, pv / vol.where(vol > 0, 1.0), np.nan)


# ---------------------------------------------------------------- TA-Lib parity


@pytest.mark.parametrize("dataset", sorted(DATASETS))
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_matches_talib_after_warmup(case: tuple[str, dict[str, float]], dataset: str) -> None:
    kind, params = case
    df = DATASETS[dataset]

    ours, ready = run_case(kind, params, df)
    reference = talib_reference(kind, params, df)

    for key, ref in reference.items():
        valid = np.isfinite(ref)
        assert np.all(ready[valid]), f"{key}: TA-Lib has values where we are not ready"
        overlap = valid & ready
        assert overlap.sum() > len(df) // 2
        np.testing.assert_allclose(
            ours[key][overlap], ref[overlap], rtol=1e-9, atol=atol_for(key, df), err_msg=key
        )


@pytest.mark.parametrize("dataset", sorted(DATASETS))
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_ready_exactly_when_talib_starts(case: tuple[str, dict[str, float]], dataset: str) -> None:
    kind, params = case
    df = DATASETS[dataset]

    ours, ready = run_case(kind, params, df)
    first_talib = min(
        int(np.flatnonzero(~np.isnan(ref))[0]) for ref in talib_reference(kind, params, df).values()
    )

    first_ready = int(np.flatnonzero(ready)[0])
    assert first_ready == first_talib == WARMUP[kind](params) - 1
    assert not ready[:first_ready].any()
    assert ready[first_ready:].all()
    assert all(np.isnan(v[:first_ready]).all() for v in ours.values())


def test_macd_seeding_matches_talib_from_its_first_value() -> None:
    # TA-Lib seeds the fast EMA with the mean of the 12 closes ending at bar 25, not of the
    # first 12; a naive seeding is off by ~1e-3 relative on the first values.
    close, *_ = columns(DATASETS["GOOG"])
    macd, signal, hist = talib.MACD(close, 12, 26, 9)
    ours = batch("macd", close, fast=12, slow=26, signal=9)

    first = 33
    for key, ref in (("macd", macd), ("macd_signal", signal), ("macd_hist", hist)):
        np.testing.assert_allclose(ours[key][first : first + 5], ref[first : first + 5], rtol=1e-12)


# ---------------------------------------------------------------- VWAP (pandas reference)

VWAP_SESSIONS = [
    {},
    {"session_offset_us": 22 * HOUR_US},
    {"session_length_us": 4 * HOUR_US},
]


@pytest.mark.parametrize("dataset", sorted(DATASETS))
@pytest.mark.parametrize("session", VWAP_SESSIONS, ids=["utc_day", "offset_22h", "every_4h"])
def test_vwap_matches_pandas_groupby_cumsum(session: dict[str, int], dataset: str) -> None:
    df = DATASETS[dataset]

    ours, ready = run_case("vwap", dict(session), df)
    reference = pandas_vwap(
        df, session.get("session_offset_us", 0), session.get("session_length_us", 86_400_000_000)
    )

    np.testing.assert_array_equal(ready, ~np.isnan(reference))
    np.testing.assert_allclose(ours["vwap"][ready], reference[ready], rtol=1e-9)


def test_vwap_resets_at_the_utc_day_boundary() -> None:
    vwap = make_indicator("vwap")
    day = 86_400_000_000
    vwap.update(100.0, 100.0, 100.0, 10.0, day - 1)
    vwap.update(110.0, 110.0, 110.0, 30.0, day - 1)
    assert vwap.values() == {"vwap": 107.5}

    vwap.update(50.0, 50.0, 50.0, 0.0, day)  # new session, no volume yet
    assert not vwap.ready
    assert vwap.values() == {}

    vwap.update(60.0, 60.0, 60.0, 5.0, day + 1)
    assert vwap.values() == {"vwap": 60.0}


def test_vwap_takes_a_session_calendar_callable() -> None:
    df = DATASETS["EURUSD"]

    def hourly_by_four(ts_us: int) -> int:
        return ts_us // (4 * HOUR_US)

    ours, _ = run(VWAP(session_key=hourly_by_four), df, ("vwap",))
    by_length, _ = run_case("vwap", {"session_length_us": 4 * HOUR_US}, df)

    np.testing.assert_array_equal(ours["vwap"], by_length["vwap"])


def test_vwap_custom_calendar_state_needs_the_callable_back() -> None:
    def key(ts_us: int) -> int:
        return ts_us // HOUR_US

    vwap = VWAP(session_key=key)
    vwap.update(1.0, 1.0, 1.0, 1.0, 0)
    state = json.loads(json.dumps(vwap.state()))

    with pytest.raises(IndicatorStateError):
        VWAP.from_state(state)
    restored = VWAP.from_state(state, session_key=key)
    assert restored.values() == vwap.values()
    with pytest.raises(IndicatorStateError):
        VWAP.from_state(VWAP().state(), session_key=key)


# ---------------------------------------------------------------- quote streams (no volume)


def test_quote_stream_leaves_volume_indicators_not_ready() -> None:
    names = ["sma_5", "ema_5", "rsi_5", "atr_5", "donchian_5", "zscore_5", "vwap", "obv"]
    quotes = IndicatorSet.from_names(names)
    mid = 100.0
    for i in range(50):
        mid += 0.01 * (-1) ** (i // 3)
        quotes.update(mid, mid, mid, 0.0, i * 1_000_000)

    assert not quotes["vwap"].ready
    assert not quotes["obv"].ready
    assert set(quotes.snapshot()) == {
        "sma_5", "ema_5", "rsi_5", "atr_5", "zscore_5",
        "donchian_5.upper", "donchian_5.lower", "donchian_5.middle",
    }  # fmt: skip


def test_flat_prices_give_neutral_finite_values() -> None:
    flat = IndicatorSet.from_names(["rsi_14", "zscore_20", "bbands_20_2", "atr_14"])
    for i in range(200):
        flat.update(1.2345, 1.2345, 1.2345, 0.0, i)

    # TA-Lib's RSI reads 0 here (and its z-score 0/0): ours read neutral.
    assert flat.snapshot() == {
        "rsi_14": 50.0,
        "zscore_20": 0.0,
        "bbands_20_2.middle": 1.2345,
        "bbands_20_2.upper": 1.2345,
        "bbands_20_2.lower": 1.2345,
        "atr_14": 0.0,
    }


@pytest.mark.parametrize("lead", range(100, 140, 3))
def test_window_turning_flat_after_movement_reads_exactly_zero_spread(lead: int) -> None:
    # Running sums would leave rounding residue here for most phases of the ring.
    members = IndicatorSet.from_names(["zscore_20", "bbands_20_2"])
    rng = random.Random(lead)
    for _ in range(lead):
        price = 100.0 + rng.random()
        members.update(price, price, price, 0.0, 0)
    for _ in range(20):
        members.update(101.37, 101.37, 101.37, 0.0, 0)

    assert members.snapshot() == {
        "zscore_20": 0.0,
        "bbands_20_2.upper": 101.37,
        "bbands_20_2.middle": 101.37,
        "bbands_20_2.lower": 101.37,
    }


def test_zscore_of_a_lone_outlier_is_the_largest_a_window_holds() -> None:
    zscore = make_indicator("zscore", period=20)
    for _ in range(19):
        zscore.update(1.1, 1.1, 1.1, 0.0, 0)
    zscore.update(1.3, 1.3, 1.3, 0.0, 0)

    value = zscore.values()["zscore"]
    assert value == pytest.approx(math.sqrt(19), rel=1e-12)
    assert value <= math.sqrt(19)


# ---------------------------------------------------------------- numerics


def exact_mean_var(window: list[float]) -> tuple[float, float]:
    values = [Fraction(v) for v in window]
    mean = sum(values, Fraction(0)) / len(values)
    return float(mean), float(sum(((v - mean) ** 2 for v in values), Fraction(0)) / len(values))


@pytest.mark.parametrize(
    ("level", "step"), [(1.1, 1e-4), (1e6, 1e-3), (20_000.0, 50.0)], ids=["fx", "cancel", "btc"]
)
def test_rolling_variance_matches_exact_arithmetic(level: float, step: float) -> None:
    # (1e6, 1e-3): var / mean**2 ~ 1e-18, where a plain sum-of-squares formula returns noise.
    rng = random.Random(11)
    moments = WindowMoments(20)
    values: list[float] = []
    worst = 0.0
    price = level
    for i in range(3_000):
        price += rng.gauss(0.0, step)
        values.append(price)
        moments.push(price)
        if i >= 19 and i % 7 == 0:
            mean, var = moments.mean_var()
            exact_mean, exact_var = exact_mean_var(values[-20:])
            assert mean == pytest.approx(exact_mean, rel=1e-15)
            worst = max(worst, abs(var - exact_var) / exact_var)
    assert worst < 1e-11


def test_long_runs_do_not_drift_from_talib() -> None:
    # 200,000 FX-like hourly closes: running sums re-summed at every ring wrap stay on TA-Lib.
    rng = np.random.default_rng(5)
    close = np.round(1.1 * np.exp(np.cumsum(rng.normal(0.0, 4e-4, 200_000))), 5)

    sma = batch("sma", close, period=30)["sma"]
    wma = batch("wma", close, period=30)["wma"]
    bands = batch("bbands", close, period=20, k=2.0)
    upper, _, lower = talib.BBANDS(close, 20, 2.0, 2.0, 0)

    tail = slice(-50_000, None)
    np.testing.assert_allclose(sma[tail], talib.SMA(close, 30)[tail], rtol=1e-9)
    np.testing.assert_allclose(wma[tail], talib.WMA(close, 30)[tail], rtol=1e-9)
    np.testing.assert_allclose(bands["upper"][tail], upper[tail], rtol=1e-9)
    np.testing.assert_allclose(bands["lower"][tail], lower[tail], rtol=1e-9)


# ---------------------------------------------------------------- state round trip


def run_with_restart(kind: str, params: dict[str, float], df: pd.DataFrame, split: int) -> Arrays:
    close, high, low, volume, ts_us = columns(df)
    outputs = KINDS[kind].outputs
    out = {key: np.full(len(close), np.nan) for key in outputs}
    indicator: Indicator = make_indicator(kind, **params)
    for i in range(len(close)):
        if i == split:
            saved = json.loads(json.dumps(indicator.state()))
            indicator = KINDS[kind].from_state(saved)
            assert indicator.state() == saved
        indicator.update(
            float(close[i]), float(high[i]), float(low[i]), float(volume[i]), int(ts_us[i])
        )
        for key, value in indicator.values().items():
            out[key][i] = value
    return out


@pytest.mark.parametrize("case", ALL_CASES, ids=case_id)
def test_state_round_trip_is_bit_for_bit(case: tuple[str, dict[str, float]]) -> None:
    kind, params = case
    df = DATASETS["EURUSD"]
    uninterrupted, _ = run_case(kind, params, df)
    warmup = WARMUP.get(kind, lambda p: 1)(params)

    for split in (1, warmup - 1, warmup, warmup + 1, 37, len(df) // 2):
        resumed = run_with_restart(kind, params, df, split)
        for key in uninterrupted:
            np.testing.assert_array_equal(
                resumed[key], uninterrupted[key], err_msg=f"{key}@{split}"
            )


def test_indicator_set_state_round_trip_is_bit_for_bit() -> None:
    names = ["sma_10", "sma_30", "ema_12", "wma_20", "rsi_14", "macd_12_26_9", "bbands_20_2",
             "atr_14", "zscore_20", "donchian_20", "vwap", "obv"]  # fmt: skip
    close, high, low, volume, ts_us = columns(DATASETS["EURUSD"])
    rows = list(zip(close.tolist(), high.tolist(), low.tolist(), volume.tolist(), ts_us.tolist(),
                    strict=True))  # fmt: skip
    whole = IndicatorSet.from_names(names)
    expected = []
    for row in rows:
        whole.update(*row)
        expected.append(whole.snapshot())

    half = len(rows) // 2
    first = IndicatorSet.from_names(names)
    for row in rows[:half]:
        first.update(*row)
    second = IndicatorSet.from_state(json.loads(json.dumps(first.state())))
    got = []
    for row in rows[half:]:
        second.update(*row)
        got.append(second.snapshot())

    assert got == expected[half:]
    assert second.count == whole.count == len(rows)
    assert second.last_ts_us == whole.last_ts_us == rows[-1][4]
    assert second.state() == whole.state()


@pytest.mark.parametrize(
    "state",
    [
        {"kind": "ema", "version": 1, "params": {"period": 10}, "data": {}},
        {"kind": "sma", "version": 99, "params": {"period": 10}, "data": {}},
        {"kind": "sma", "version": 1, "params": {"period": 10}, "data": {"buf": [1.0]}},
        {"kind": "sma", "version": 1, "params": {"period": -1}, "data": {}},
    ],
    ids=["wrong_kind", "wrong_version", "wrong_shape", "bad_params"],
)
def test_foreign_state_is_refused(state: dict[str, Any]) -> None:
    with pytest.raises(IndicatorStateError):
        KINDS["sma"].from_state(state)


def test_foreign_set_state_is_refused() -> None:
    with pytest.raises(IndicatorStateError):
        IndicatorSet.from_state({"version": 1, "specs": {"x": ["sma", {"period": 5}]}})


# ---------------------------------------------------------------- batch form


@pytest.mark.parametrize("case", ALL_CASES, ids=case_id)
def test_batch_equals_incremental(case: tuple[str, dict[str, float]]) -> None:
    kind, params = case
    df = DATASETS["GOOG"]
    close, high, low, volume, ts_us = columns(df)

    incremental, _ = run_case(kind, params, df)
    batched = batch(kind, close, high, low, volume, ts_us, **params)

    assert set(batched) == set(incremental)
    for key, values in batched.items():
        assert values.dtype == np.float64
        np.testing.assert_array_equal(values, incremental[key], err_msg=key)


def test_batch_defaults_to_a_quote_stream() -> None:
    close = np.linspace(100.0, 110.0, 50)

    assert np.isnan(batch("vwap", close)["vwap"]).all()
    assert np.isnan(batch("obv", close)["obv"]).all()
    atr = batch("atr", close, period=5)["atr"]  # every true range is one linspace step
    assert np.isnan(atr[:5]).all()
    np.testing.assert_allclose(atr[5:], 10 / 49, rtol=1e-12)


def test_batch_refuses_mismatched_columns() -> None:
    with pytest.raises(IndicatorConfigError):
        batch("atr", np.ones(10), high=np.ones(9))


# ---------------------------------------------------------------- bad input


BAD_INPUTS = [
    ("close", (math.nan, 1.0, 1.0, 1.0)),
    ("close", (math.inf, 1.0, 1.0, 1.0)),
    ("high", (1.0, math.nan, 1.0, 1.0)),
    ("low", (1.0, 1.0, -math.inf, 1.0)),
    ("volume", (1.0, 1.0, 1.0, math.nan)),
    ("volume", (1.0, 1.0, 1.0, -5.0)),
]


@pytest.mark.parametrize("case", ALL_CASES, ids=case_id)
@pytest.mark.parametrize(("field", "row"), BAD_INPUTS)
def test_bad_input_raises_and_changes_nothing(
    case: tuple[str, dict[str, float]], field: str, row: tuple[float, float, float, float]
) -> None:
    kind, params = case
    indicator = make_indicator(kind, **params)
    for i in range(60):
        indicator.update(100.0 + i % 7, 101.0 + i % 7, 99.0 + i % 5, 10.0, i)
    before = indicator.state()

    with pytest.raises(ValueError, match=field) as caught:
        indicator.update(*row, 60)

    assert isinstance(caught.value, IndicatorInputError)
    assert caught.value.field == field
    assert indicator.state() == before


def test_indicator_set_refuses_nan_before_touching_members() -> None:
    members = IndicatorSet.from_names(["sma_3", "ema_3", "rsi_3"])
    for i in range(10):
        members.update(float(i), float(i), float(i), 0.0, i)
    before = members.state()

    with pytest.raises(ValueError, match="close"):
        members.update(math.nan, 1.0, 1.0, 0.0, 10)

    assert members.state() == before
    assert members.count == 10


def test_batch_refuses_nan() -> None:
    close = np.array([1.0, 2.0, np.nan, 4.0])
    with pytest.raises(IndicatorInputError):
        batch("sma", close, period=2)


# ---------------------------------------------------------------- the set, names, config


def test_snapshot_is_flat_and_equals_the_members() -> None:
    names = ["sma_10", "macd_12_26_9", "bbands_20_2", "donchian_20"]
    members = IndicatorSet.from_names(names)
    close, high, low, volume, ts_us = columns(DATASETS["GOOG"])
    for row in zip(close[:100].tolist(), high[:100].tolist(), low[:100].tolist(),
                   volume[:100].tolist(), ts_us[:100].tolist(), strict=True):  # fmt: skip
        members.update(*row)

    snap = members.snapshot()

    assert list(snap) == [
        "sma_10",
        "macd_12_26_9.macd", "macd_12_26_9.macd_signal", "macd_12_26_9.macd_hist",
        "bbands_20_2.upper", "bbands_20_2.middle", "bbands_20_2.lower",
        "donchian_20.upper", "donchian_20.lower", "donchian_20.middle",
    ]  # fmt: skip
    for name in names:
        for key, value in members[name].values().items():
            flat = name if len(members[name].outputs) == 1 else f"{name}.{key}"
            assert snap[flat] == value
    assert members.count == 100
    assert members.last_ts_us == int(ts_us[99])


def test_snapshot_holds_only_ready_members() -> None:
    members = IndicatorSet({"fast": ("sma", {"period": 2}), "slow": ("sma", {"period": 5.0})})
    assert members.last_ts_us is None

    members.update(1.0, 1.0, 1.0, 0.0, 0)
    members.update(3.0, 3.0, 3.0, 0.0, 1)

    assert members.snapshot() == {"fast": 2.0}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sma_20", ("sma", {"period": 20})),
        ("macd_12_26_9", ("macd", {"fast": 12, "slow": 26, "signal": 9})),
        ("bbands_20_2", ("bbands", {"period": 20, "k": 2})),
        ("bbands_20_2p5", ("bbands", {"period": 20, "k": 2.5})),
        ("macd", ("macd", {})),
        ("obv", ("obv", {})),
    ],
)
def test_parse_name(name: str, expected: tuple[str, dict[str, float]]) -> None:
    assert parse_name(name) == expected


@pytest.mark.parametrize("name", ["foo_3", "sma_20_3", "sma_x", "sma_0", "sma_2p5"])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(IndicatorConfigError):
        IndicatorSet.from_names([name])


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("nope", {}),
        ("sma", {"length": 3}),
        ("sma", {"period": 0}),
        ("sma", {"period": 2.5}),
        ("sma", {"period": True}),
        ("rsi", {"period": math.nan}),
        ("macd", {"fast": 26, "slow": 12, "signal": 9}),
        ("bbands", {"period": 20, "k": -1.0}),
        ("zscore", {"period": 1}),
        ("vwap", {"session_length_us": 0}),
    ],
)
def test_bad_config_is_refused(kind: str, params: dict[str, float]) -> None:
    with pytest.raises(IndicatorConfigError):
        make_indicator(kind, **params)


def test_names_with_a_dot_are_refused() -> None:
    with pytest.raises(IndicatorConfigError):
        IndicatorSet({"sma.20": ("sma", {"period": 20})})


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_kind_follows_the_protocol(kind: str) -> None:
    indicator = make_indicator(kind)

    assert isinstance(indicator, Indicator)
    assert indicator.kind == kind
    assert not indicator.ready
    assert indicator.values() == {}


def test_public_surface_is_pinned() -> None:
    assert set(indicators.__all__) == {
        "ATR", "EMA", "KINDS", "MACD", "OBV", "RSI", "SMA", "VWAP", "WMA", "BaseIndicator",
        "BollingerBands", "DonchianChannel", "Indicator", "IndicatorConfigError",
        "IndicatorInputError", "IndicatorSet", "IndicatorStateError", "Spec", "ZScore",
        "batch", "make_indicator", "parse_name",
    }  # fmt: skip
    assert all(hasattr(indicators, name) for name in indicators.__all__)
