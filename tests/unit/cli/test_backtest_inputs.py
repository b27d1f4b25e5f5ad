"""A backtest's inputs: specs from paths, and market data and news merged in time order."""

from __future__ import annotations

from cli.backtest_run import input_runs, input_spec
from producers.rows import SourceRow


def _row(ts: int, n: int) -> SourceRow:
    return SourceRow(n, {"symbol": "ACME", "ts_event_us": ts})


def test_market_and_news_go_in_event_time_in_runs_of_one_kind() -> None:
    market = [_row(1, 1), _row(2, 2), _row(5, 3), _row(9, 4)]
    news = [_row(2, 1), _row(3, 2), _row(4, 3), _row(10, 4)]

    runs = [
        (is_news, [r.record["ts_event_us"] for r in rows if r.record])
        for is_news, rows in input_runs(market, news)
    ]

    # a tie (2) puts the bar first: its signal must not see news stamped at its close
    assert runs == [(False, [1, 2]), (True, [2, 3, 4]), (False, [5, 9]), (True, [10])]


def test_a_row_that_failed_to_parse_stays_in_place_in_its_stream() -> None:
    market = [_row(1, 1), SourceRow(2, error="bid is NaN"), _row(3, 3)]

    (only,) = list(input_runs(market, []))

    assert only[0] is False
    assert [r.row for r in only[1]] == [1, 2, 3]


def test_paths_become_source_specs_and_specs_stay() -> None:
    assert input_spec("sample:GOOG") == "sample:GOOG"
    assert input_spec("data/bars.csv") == "csv:data/bars.csv"
    assert input_spec("bars.parquet") == "parquet:bars.parquet"
    assert input_spec("news.jsonl") == "jsonl:news.jsonl"
    assert input_spec("synthetic:symbols=A,count=10") == "synthetic:symbols=A,count=10"
