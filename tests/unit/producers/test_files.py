"""CSV and Parquet market files: records, error rows, unusable files, timestamps."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from producers.exceptions import SourceError, ValidationError
from producers.market.files import SAMPLE_QUOTES_CSV, CsvSource, ParquetSource
from producers.market.registry import parse_source
from producers.rows import SourceRow
from producers.validation import ValidationLimits, validate_bar, validate_quote
from tests.kit import stubs

NOW_US = stubs.T0_US + 3_600_000_000
QUOTE_HEADER = "symbol,ts,bid,ask,bid_size,ask_size"


def _clock() -> int:
    return NOW_US


def _write(path: Path, *lines: str) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _rows(path: Path) -> list[SourceRow]:
    return list(parse_source(f"csv:{path}", clock=_clock).records())


def test_nan_price_row_becomes_a_record_that_validation_rejects(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "q.csv",
        QUOTE_HEADER,
        "AAPL,2024-01-02T14:30:00Z,185.20,185.22,300,500",
        "AAPL,2024-01-02T14:30:01Z,nan,185.23,300,500",
        "MSFT,2024-01-02T14:30:01Z,,370.14,200,200",
    )

    rows = _rows(path)

    assert [r.row for r in rows] == [1, 2, 3]
    assert all(r.error is None and r.record is not None for r in rows)
    validate_quote(rows[0].record or {}, now_us=NOW_US, limits=ValidationLimits())
    for bad in rows[1:]:
        assert bad.record is not None
        assert math.isnan(bad.record["bid"])
        with pytest.raises(ValidationError, match=r"^bid is NaN$"):
            validate_quote(bad.record, now_us=NOW_US, limits=ValidationLimits())


def test_quote_record_has_the_schema_fields(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "q.csv",
        QUOTE_HEADER + ",last",
        "AAPL,2024-01-02T14:30:00Z,185.20,185.22,300,500,185.21",
        "AAPL,2024-01-02T14:30:01Z,185.21,185.23,300,500,",
    )

    first, second = (r.record for r in _rows(path))

    assert first == {
        "symbol": "AAPL", "ts_event_us": stubs.T0_US, "ts_ingest_us": NOW_US, "bid": 185.20,
        "ask": 185.22, "bid_size": 300.0, "ask_size": 500.0, "last": 185.21, "seq": 0,
    }  # fmt: skip
    assert second is not None
    assert (second["last"], second["seq"]) == (None, 1)


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("AAPL,2024-01-02T14:30:00Z,abc,185.22,300,500", "bid 'abc' is not a number"),
        ("AAPL,2024-01-02T14:30:00Z,185.20,185.22,300", "expected 6 fields, got 5"),
        ("AAPL,2024-01-02T14:30,185.20,185.22,300,500",
         "ts '2024-01-02T14:30' has no time zone (pass --tz, e.g. --tz UTC)"),
        ("AAPL,,185.20,185.22,300,500", "ts is empty"),
        ("AAPL,soon,185.20,185.22,300,500", "ts 'soon' is neither ISO-8601 nor an epoch number"),
    ],
)  # fmt: skip
def test_unparseable_row_is_an_error_row_naming_the_row(
    tmp_path: Path, line: str, error: str
) -> None:
    good = "AAPL,2024-01-02T14:30:00Z,185.20,185.22,300,500"
    path = _write(tmp_path / "q.csv", QUOTE_HEADER, good, good, line, good)

    rows = _rows(path)

    assert [(r.row, r.record, r.error) for r in rows if r.error] == [(3, None, error)]
    assert len(rows) == 4


@pytest.mark.parametrize(
    "ts",
    [
        "2024-01-02T14:30:00Z",
        "2024-01-02T14:30:00+00:00",
        "2024-01-02 09:30:00-05:00",
        "1704205800",
        "1704205800.0",
        "1704205800000",
        "1704205800000000",
        "1704205800000000000",
    ],
)
def test_iso_and_epoch_timestamps_mean_the_same_instant(tmp_path: Path, ts: str) -> None:
    path = _write(tmp_path / "q.csv", QUOTE_HEADER, f"AAPL,{ts},185.20,185.22,300,500")

    (row,) = _rows(path)

    assert row.record is not None
    assert row.record["ts_event_us"] == stubs.T0_US


def test_fractional_epoch_seconds_keep_their_microseconds(tmp_path: Path) -> None:
    path = _write(tmp_path / "q.csv", QUOTE_HEADER, "AAPL,1704205800.25,185.20,185.22,300,500")

    (row,) = _rows(path)

    assert row.record is not None
    assert row.record["ts_event_us"] == stubs.T0_US + 250_000


def test_bars_are_detected_from_the_columns(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "b.csv",
        " Symbol , TS ,Open,High,Low,Close,Volume",  # case and spaces in names are ignored
        "GOOG,2024-01-02T21:00:00Z,139.0,141.5,138.0,140.0,1250000",
        "MSFT,2024-01-02T21:00:00Z,370.0,372.0,369.0,371.0,900000",
        "GOOG,2024-01-03T21:00:00Z,140.0,142.0,139.5,141.0,1100000",
    )

    source = parse_source(f"csv:{path}", clock=_clock)
    rows = list(source.records())

    assert source.kind == "bar"
    assert [(r.record or {})["seq"] for r in rows] == [0, 0, 1]  # per symbol
    assert all((r.record or {})["interval_secs"] == 86_400 for r in rows)
    for row in rows:
        validate_bar(row.record or {}, now_us=NOW_US + 10**13, limits=ValidationLimits())


def test_missing_columns_make_the_file_unusable(tmp_path: Path) -> None:
    path = _write(tmp_path / "q.csv", "symbol,ts,bid,ask,bid_size", "AAPL,1704205800,1,2,3")

    with pytest.raises(SourceError) as caught:
        parse_source(f"csv:{path}", clock=_clock)

    assert str(path) in str(caught.value)
    assert "missing column(s) ask_size for quotes" in str(caught.value)


@pytest.mark.parametrize(
    ("content", "problem"),
    [(None, "does not exist"), ("", "is empty"), ("symbol,bid,bid\nA,1,2\n", "appears twice")],
)
def test_unusable_csv_is_a_source_error(tmp_path: Path, content: str | None, problem: str) -> None:
    path = tmp_path / "in.csv"
    if content is not None:
        path.write_text(content)

    with pytest.raises(SourceError, match=problem) as caught:
        parse_source(f"csv:{path}", clock=_clock)

    assert caught.value.source == str(path)
    assert "\n" not in str(caught.value)


def test_csv_that_is_not_text_fails_while_streaming(tmp_path: Path) -> None:
    path = tmp_path / "bin.csv"
    path.write_bytes(QUOTE_HEADER.encode() + b"\n" + b"\xff\xfe\x00garbage\n" * 3)

    with pytest.raises(SourceError, match=r"not UTF-8|NUL"):
        list(CsvSource(path, clock=_clock).records())


def test_parquet_round_trip_matches_csv(tmp_path: Path) -> None:
    csv_rows = list(CsvSource(SAMPLE_QUOTES_CSV, clock=_clock).records())
    records = [r.record or {} for r in csv_rows]
    table = pa.table(
        {
            "symbol": [r["symbol"] for r in records],
            "ts": pa.array(
                [datetime.fromtimestamp(r["ts_event_us"] / 1e6, UTC) for r in records],
                pa.timestamp("us", tz="UTC"),
            ),
            **{k: [r[k] for r in records] for k in ("bid", "ask", "bid_size", "ask_size", "last")},
        }
    )
    path = tmp_path / "quotes.parquet"
    pq.write_table(table, path)

    source = ParquetSource(path, clock=_clock, batch_rows=64)
    parquet_rows = list(source.records())

    assert source.kind == "quote"
    assert source.total == len(records) == 201
    assert [r.record for r in parquet_rows] == records
    assert [r.row for r in parquet_rows] == list(range(1, 202))


def test_parquet_epoch_column_and_nulls(tmp_path: Path) -> None:
    table = pa.table(
        {
            "symbol": ["AAPL", "AAPL"],
            "ts": [1_704_205_800_000, 1_704_205_801_000],  # epoch ms
            "bid": [185.20, None],
            "ask": [185.22, 185.23],
            "bid_size": [300, 300],
            "ask_size": [500, 500],
        }
    )
    pq.write_table(table, tmp_path / "q.parquet")

    first, second = (r.record or {} for r in parse_source(f"parquet:{tmp_path / 'q.parquet'}",
                                                           clock=_clock).records())  # fmt: skip

    assert first["ts_event_us"] == stubs.T0_US
    assert second["ts_event_us"] == stubs.T0_US + 1_000_000
    assert math.isnan(second["bid"])


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda p: p.write_text("not parquet"), "not a readable Parquet file"),
        (lambda p: None, "does not exist"),
    ],
)  # fmt: skip
def test_unusable_parquet_is_a_source_error(tmp_path: Path, make: Any, problem: str) -> None:
    path = tmp_path / "x.parquet"
    make(path)

    with pytest.raises(SourceError, match=problem):
        parse_source(f"parquet:{path}", clock=_clock)


def test_bundled_sample_quotes_are_valid() -> None:
    source = parse_source(f"csv:{SAMPLE_QUOTES_CSV}", clock=_clock)
    rows = list(source.records())

    assert source.kind == "quote"
    assert source.total == len(rows) == 201
    assert {(r.record or {})["symbol"] for r in rows} == {"AAPL", "MSFT", "GOOG"}
    for row in rows:
        validate_quote(row.record or {}, now_us=NOW_US + 10**14, limits=ValidationLimits())
