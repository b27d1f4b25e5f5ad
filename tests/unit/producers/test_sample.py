"""The backtesting package's bundled OHLCV samples, as Bar records."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from backtesting import test as bt

from producers.exceptions import SourceError
from producers.market.registry import parse_source
from producers.validation import ValidationLimits, validate_bar

NOW_US = 1_800_000_000_000_000  # 2027


def _clock() -> int:
    return NOW_US


def _utc(us: int) -> datetime:
    return datetime.fromtimestamp(us / 1e6, UTC)


def test_goog_daily_bars_match_the_package_data() -> None:
    source = parse_source("sample:GOOG", clock=_clock)

    records = [row.record or {} for row in source.records()]

    assert source.kind == "bar"
    assert len(records) == source.total == len(bt.GOOG) == 2148
    assert records[0]["close"] == float(bt.GOOG["Close"].iloc[0]) == 100.34
    assert records[-1]["close"] == float(bt.GOOG["Close"].iloc[-1])
    assert {r["symbol"] for r in records} == {"GOOG"}
    assert [r["seq"] for r in records] == list(range(len(records)))
    assert all(r["interval_secs"] == 86_400 for r in records)
    for record in records:
        validate_bar(record, now_us=NOW_US, limits=ValidationLimits())


def test_goog_bars_close_at_four_in_new_york() -> None:
    records = [row.record or {} for row in parse_source("sample:goog", clock=_clock).records()]

    # 2004-08-19 is daylight saving time (UTC-4); 2013-03-01 is standard time (UTC-5).
    assert _utc(records[0]["ts_event_us"]) == datetime(2004, 8, 19, 20, 0, tzinfo=UTC)
    assert _utc(records[-1]["ts_event_us"]) == datetime(2013, 3, 1, 21, 0, tzinfo=UTC)


@pytest.mark.parametrize(("name", "interval_secs"), [("EURUSD", 3_600), ("BTCUSD", 31 * 86_400)])
def test_other_samples(name: str, interval_secs: int) -> None:
    records = [row.record or {} for row in parse_source(f"sample:{name}", clock=_clock).records()]

    assert len(records) == len(getattr(bt, name))
    assert records[0]["interval_secs"] == interval_secs
    assert records[-1]["close"] == float(getattr(bt, name)["Close"].iloc[-1])
    for record in records:
        validate_bar(record, now_us=NOW_US, limits=ValidationLimits())


def test_btcusd_month_bars_close_at_the_end_of_the_month() -> None:
    records = [row.record or {} for row in parse_source("sample:BTCUSD", clock=_clock).records()]

    february_2012 = records[1]
    assert _utc(february_2012["ts_event_us"]) == datetime(2012, 3, 1, tzinfo=UTC)
    assert february_2012["interval_secs"] == 29 * 86_400


def test_unknown_sample_names_the_bundled_ones() -> None:
    with pytest.raises(SourceError, match="no such sample; bundled: GOOG, EURUSD, BTCUSD"):
        parse_source("sample:AAPL", clock=_clock)
