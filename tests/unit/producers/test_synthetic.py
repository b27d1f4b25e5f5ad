"""The synthetic market: deterministic, sane quotes and bars, GBM with the configured drift/vol."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest

from producers.exceptions import SourceError
from producers.market.registry import parse_source
from producers.market.synthetic import SyntheticSource
from producers.validation import ValidationLimits, validate_bar, validate_quote

FAR_FUTURE_US = 4_000_000_000_000_000  # 2096: generated event times are all before this


def _clock() -> int:
    return 1_800_000_000_000_000


def _records(source: SyntheticSource) -> list[dict[str, Any]]:
    return [row.record or {} for row in source.records()]


def test_same_seed_same_records_and_a_larger_count_only_appends() -> None:
    def make(seed: int, count: int) -> list[dict[str, Any]]:
        return _records(SyntheticSource(clock=_clock, seed=seed, count=count))

    assert make(7, 25_000) == make(7, 25_000)
    assert make(7, 12_345) == make(7, 25_000)[:12_345]
    assert make(7, 100) != make(8, 100)


def test_symbols_round_robin_with_per_symbol_seq_and_event_time() -> None:
    source = SyntheticSource(clock=_clock, symbols=("AAPL", "MSFT"), count=6, interval_ms=250)

    records = _records(source)

    assert [r["symbol"] for r in records] == ["AAPL", "MSFT"] * 3
    assert [r["seq"] for r in records] == [0, 0, 1, 1, 2, 2]
    assert [r["ts_event_us"] - records[0]["ts_event_us"] for r in records[::2]] == [
        0,
        250_000,
        500_000,
    ]
    assert all(r["ts_ingest_us"] == _clock() for r in records)


def test_quotes_are_valid_with_bid_below_ask_for_any_price() -> None:
    source = SyntheticSource(
        clock=_clock,
        symbols=("AAPL", "PENNY", "WILD"),
        start_prices={"PENNY": 0.05, "WILD": 3.0},
        vols={"WILD": 1.5},
        count=60_000,
    )

    records = _records(source)

    assert len(records) == source.total == 60_000
    bids, asks = np.array([r["bid"] for r in records]), np.array([r["ask"] for r in records])
    assert np.all(bids > 0)
    assert np.all(bids < asks)
    sizes = np.array([[r["bid_size"], r["ask_size"]] for r in records])
    assert np.all(sizes % 100 == 0)
    assert sizes.min() >= 100
    assert sizes.max() <= 5000
    assert all(r["last"] in (r["bid"], r["ask"]) for r in records)
    for record in records:
        validate_quote(record, now_us=FAR_FUTURE_US, limits=ValidationLimits())


def test_spreads_are_a_few_bps_and_wider_for_volatile_and_cheap_names() -> None:
    source = SyntheticSource(
        clock=_clock,
        symbols=("CALM", "WILD", "CHEAP"),
        start_prices={"CALM": 200.0, "WILD": 200.0, "CHEAP": 4.0},
        vols={"CALM": 0.15, "WILD": 0.8, "CHEAP": 0.15},
        drift_per_year=0.0,
        count=30_000,
    )

    spread_bps: dict[str, list[float]] = {}
    for r in _records(source):
        mid = (r["bid"] + r["ask"]) / 2
        spread_bps.setdefault(r["symbol"], []).append((r["ask"] - r["bid"]) / mid * 1e4)
    median = {symbol: float(np.median(v)) for symbol, v in spread_bps.items()}

    assert 0.5 < median["CALM"] < 5
    assert median["WILD"] > 2 * median["CALM"]
    assert median["CHEAP"] > 2 * median["CALM"]  # a one-cent tick is 25 bps of 4.00


@pytest.mark.parametrize(("symbol", "drift", "vol"), [("AAPL", 0.08, 0.20), ("TSLA", 0.15, 0.50)])
def test_log_returns_match_the_configured_drift_and_vol(
    symbol: str, drift: float, vol: float
) -> None:
    # 100 years of daily quotes per symbol: the estimators' standard errors are
    # vol / sqrt(100 years) for the drift and ~0.3 % of vol for the vol.
    years, steps_per_year = 100, 365.25
    source = SyntheticSource(
        clock=_clock,
        symbols=("AAPL", "TSLA"),
        drifts={"AAPL": 0.08, "TSLA": 0.15},
        vols={"AAPL": 0.20, "TSLA": 0.50},
        interval_ms=86_400_000,
        count=2 * int(years * steps_per_year),
        seed=11,
    )
    mids = np.array([(r["bid"] + r["ask"]) / 2 for r in _records(source) if r["symbol"] == symbol])

    log_returns = np.diff(np.log(mids))
    dt = 1 / steps_per_year
    vol_hat = log_returns.std(ddof=1) / np.sqrt(dt)
    drift_hat = log_returns.mean() / dt + vol_hat**2 / 2

    assert vol_hat == pytest.approx(vol, rel=0.02)
    assert drift_hat == pytest.approx(drift, abs=4 * vol / np.sqrt(years))
    # and not a random walk of some other shape: returns are uncorrelated and near normal
    assert abs(np.corrcoef(log_returns[:-1], log_returns[1:])[0, 1]) < 0.03
    kurtosis = ((log_returns - log_returns.mean()) ** 4).mean() / log_returns.var() ** 2
    assert kurtosis == pytest.approx(3.0, abs=0.15)


def test_bars_are_consistent_and_continuous() -> None:
    source = SyntheticSource(clock=_clock, kind="bar", symbols=("AAPL", "MSFT"), count=20_000)

    records = _records(source)

    assert source.kind == "bar"
    assert len(records) == 20_000
    for record in records:
        validate_bar(record, now_us=FAR_FUTURE_US, limits=ValidationLimits())
    aapl = [r for r in records if r["symbol"] == "AAPL"]
    assert all(r["interval_secs"] == 60 for r in aapl)
    assert aapl[0]["ts_event_us"] == source.start_us + 60_000_000  # a bar is stamped at its close
    assert all(b["open"] == a["close"] for a, b in itertools.pairwise(aapl))
    assert all(
        b["ts_event_us"] - a["ts_event_us"] == 60_000_000 for a, b in itertools.pairwise(aapl)
    )


def test_spec_options() -> None:
    source = parse_source(
        "synthetic:symbols=AAPL,MSFT,GOOG,seed=7,count=100,price=50", clock=_clock
    )

    records = [row.record or {} for row in source.records()]

    assert source.kind == "quote"
    assert source.total == 100
    assert len(records) == 100
    assert {r["symbol"] for r in records} == {"AAPL", "MSFT", "GOOG"}
    assert all(45 < r["bid"] < 55 for r in records[:3])
    assert parse_source("synthetic", clock=_clock).total == 10_000
    assert parse_source("synthetic:kind=bar,interval_ms=3600000", clock=_clock).kind == "bar"


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("synthetic:colour=red", "unknown option(s) colour; accepted: kind, symbols"),
        ("synthetic:seed=x", "invalid literal"),
        ("synthetic:count=-1", "count is negative"),
        ("synthetic:kind=bar,interval_ms=1500", "whole seconds"),
        ("synthetic:kind=tick", "kind must be quote or bar"),
        ("nonsense:x", "expected one of csv:PATH, parquet:PATH, synthetic[:k=v,...], sample:NAME"),
        ("/tmp/quotes.csv", "unknown market source"),
    ],
)
def test_bad_specs_are_source_errors_naming_the_spec(spec: str, problem: str) -> None:
    with pytest.raises(SourceError) as caught:
        parse_source(spec, clock=_clock)

    assert caught.value.source == spec
    assert problem in caught.value.problem
