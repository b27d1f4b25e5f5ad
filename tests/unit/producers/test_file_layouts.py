"""Market files as people have them: Yahoo-style, backtesting.py-style, aliases, --symbol, zones."""

from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from producers.exceptions import SourceError
from producers.market.layout import FileLayout, canonical_columns, parse_close
from producers.market.registry import parse_source
from producers.market.sample import SampleSource

NOW_US = 1_800_000_000_000_000


def _clock() -> int:
    return NOW_US


def _us(*parts: int) -> int:
    return int(datetime(*parts, tzinfo=UTC).timestamp()) * 1_000_000  # type: ignore[misc]


def _records(spec: str, layout: FileLayout | None = None) -> list[dict[str, object]]:
    rows = list(parse_source(spec, clock=_clock, layout=layout).records())
    assert [r.error for r in rows if r.error] == []
    return [dict(r.record or {}) for r in rows]


@pytest.fixture(scope="module")
def goog() -> list[dict[str, object]]:
    """The bundled GOOG sample as the producer reads it: the reference for every layout."""
    return [dict(r.record or {}) for r in SampleSource.named("GOOG", clock=_clock).records()]


def _same_bars(got: list[dict[str, object]], want: list[dict[str, object]]) -> None:
    keys = ("symbol", "ts_event_us", "interval_secs", "open", "high", "low", "close", "volume")
    assert len(got) == len(want)
    assert [[g[k] for k in keys] for g in got] == [[w[k] for k in keys] for w in want]


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_backtesting_py_frame_written_to_a_file_reads_as_the_sample(
    tmp_path: Path, suffix: str, goog: list[dict[str, object]]
) -> None:
    from backtesting.test import GOOG  # capitalised columns, an unnamed datetime index

    path = tmp_path / f"goog.{suffix}"
    GOOG.to_csv(path) if suffix == "csv" else GOOG.to_parquet(path)

    got = _records(f"{suffix}:{path}", FileLayout(symbol="GOOG"))

    _same_bars(got, goog)


@pytest.mark.parametrize("suffix", ["csv", "parquet"])
def test_yahoo_style_file_reads_as_the_sample(
    tmp_path: Path, suffix: str, goog: list[dict[str, object]]
) -> None:
    from backtesting.test import GOOG

    frame = GOOG.copy()
    frame.index.name = "Date"
    frame.insert(4, "Adj Close", frame["Close"] * 0.5)  # ignored: Close is the price
    path = tmp_path / f"yahoo.{suffix}"
    frame.to_csv(path) if suffix == "csv" else frame.to_parquet(path)

    got = _records(f"{suffix}:{path}", FileLayout(symbol="GOOG"))

    _same_bars(got, goog)


@pytest.mark.parametrize("name", ["ts", "Timestamp", "TIME", "date", "DateTime", " datetime "])
def test_time_column_aliases_in_any_case(tmp_path: Path, name: str) -> None:
    path = tmp_path / "bars.csv"
    path.write_text(
        f"Symbol,{name},Open,High,Low,Close,Volume\nAAPL,2024-01-02T21:00:00Z,1,2,1,2,5\n"
    )

    (record,) = _records(f"csv:{path}")

    assert (record["symbol"], record["ts_event_us"]) == ("AAPL", _us(2024, 1, 2, 21))


def test_bare_dates_close_in_the_given_zone_at_the_given_time(tmp_path: Path) -> None:
    path = tmp_path / "btc.csv"
    path.write_text("date,open,high,low,close,volume\n2024-01-02,1,2,1,2,5\n")

    (record,) = _records(f"csv:{path}", FileLayout(symbol="BTC", tz="UTC", close=time(23, 59)))

    assert record["ts_event_us"] == _us(2024, 1, 2, 23, 59)


def test_a_zone_less_time_of_day_needs_tz(tmp_path: Path) -> None:
    path = tmp_path / "fx.csv"
    path.write_text("ticker,time,open,high,low,close,volume\nEURUSD,2024-01-02 09:00,1,2,1,2,5\n")

    (refused,) = list(parse_source(f"csv:{path}", clock=_clock).records())
    (record,) = _records(f"csv:{path}", FileLayout(tz="UTC"))

    assert refused.error == "ts '2024-01-02 09:00' has no time zone (pass --tz, e.g. --tz UTC)"
    assert record["ts_event_us"] == _us(2024, 1, 2, 9)


def test_a_zone_less_parquet_time_of_day_needs_tz(tmp_path: Path) -> None:
    naive = pa.array([_us(2024, 1, 2, 14, 30)], pa.timestamp("us"))  # no tz, on purpose
    prices = {k: [1.0] for k in ("open", "high", "low", "close", "volume")}
    pq.write_table(pa.table({"symbol": ["A"], "ts": naive, **prices}), tmp_path / "b.parquet")
    spec = f"parquet:{tmp_path / 'b.parquet'}"

    (refused,) = list(parse_source(spec, clock=_clock).records())
    (record,) = _records(spec, FileLayout(tz="America/New_York"))

    assert refused.error is not None
    assert "has no time zone (pass --tz" in refused.error
    assert record["ts_event_us"] == _us(2024, 1, 2, 19, 30)


@pytest.mark.parametrize(
    ("header", "layout", "problem"),
    [
        (
            "Open,High,Low,Close,Volume",
            FileLayout(symbol="GOOG"),
            "missing column(s) ts for bars (found: 'open', 'high', 'low', 'close', 'volume'; "
            "expected for bars: symbol (or --symbol), ts|timestamp|date|datetime|time, open, "
            "high, low, close, volume; for quotes: symbol (or --symbol), "
            "ts|timestamp|date|datetime|time, bid, ask, bid_size, ask_size)",
        ),
        ("Date,Open,High,Low,Close,Volume", None, "missing column(s) symbol for bars (or pass"),
        ("symbol,date,open,high,low,close,volume", FileLayout(symbol="X"), "has a symbol column"),
        ("when,price,size", None, "(found: 'when', 'price', 'size'; expected for bars"),
    ],
)
def test_an_unknown_layout_is_one_line_naming_found_and_expected(
    tmp_path: Path, header: str, layout: FileLayout | None, problem: str
) -> None:
    path = tmp_path / "odd.csv"
    path.write_text(header + "\n")

    with pytest.raises(SourceError) as caught:
        parse_source(f"csv:{path}", clock=_clock, layout=layout)

    assert problem in str(caught.value)
    assert "\n" not in str(caught.value)


def test_layout_options_are_for_files_only() -> None:
    with pytest.raises(SourceError, match="are for csv: and parquet: files"):
        parse_source("sample:GOOG", clock=_clock, layout=FileLayout(symbol="GOOG"))


def test_bad_zone_and_close_are_one_line_errors() -> None:
    with pytest.raises(SourceError, match="unknown time zone"):
        FileLayout(tz="Mars/Olympus")
    with pytest.raises(ValueError, match="expected HH:MM"):
        parse_close("4pm")


def test_canonical_columns_resolve_aliases_and_keep_the_rest() -> None:
    names = ["", "__index_level_0__", "Bid Size", "ask_size", "Adj Close", "Ticker"]

    got = canonical_columns(names)

    assert got == ["ts", "ts", "bid_size", "ask_size", "adj close", "symbol"]
