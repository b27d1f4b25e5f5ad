"""The backtest report's files against hand-computed numbers: JSON, Parquet, PNG, HTML."""

from __future__ import annotations

import base64
import dataclasses
import itertools
import json
import math
import random
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from consumers.backtest_ledger import fill_ledger
from consumers.backtest_metrics import BacktestMetrics
from consumers.backtest_page import MAX_TRADE_ROWS
from consumers.backtest_report import BacktestInput, BacktestReport, summary_table, write_report
from consumers.backtest_summary import metric_rows
from consumers.pnl import InvalidFillError, pnl_report
from tests.kit import stubs

_DAY = 86_400_000_000
_T0 = stubs.T0_US
_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _fill(
    fill_id: str, side: str, qty: float, price: str, day: float, **extra: Any
) -> dict[str, Any]:
    return stubs.fill(
        "ACME",
        id=fill_id,
        order_id=f"o-{fill_id}",
        side=side,
        qty=qty,
        price=Decimal(price),
        fee=Decimal(extra.pop("fee", "1")),
        ts_event_us=_T0 + int(day * _DAY),
        **extra,
    )


# Closes 100, 110, 105, 90, 95 on days 0..4. Two round trips of 10 shares, fee 1 per fill:
# bought at 100 / sold at 110 (a winner, +100 gross), bought at 105 / sold at 90 (a loser,
# -150 gross). Cash after each day and equity at that day's close:
#   day 0: 10,000 - 1,000 - 1 = 8,999 cash + 10 x 100 = 9,999 (long)
#   day 1: 8,999 + 1,100 - 1  = 10,098 (flat)            <- the peak
#   day 2: 10,098 - 1,050 - 1 = 9,047 cash + 10 x 105 = 10,097 (long)
#   day 3: 9,047 + 900 - 1    = 9,946 (flat), and day 4 the same (never recovers)
_PRICES = [(_T0 + i * _DAY, "ACME", p) for i, p in enumerate((100.0, 110.0, 105.0, 90.0, 95.0))]
_FILLS = [
    _fill("f-4", "SELL", 10.0, "90", 3),  # given out of order: the report sorts
    _fill("f-1", "BUY", 10.0, "100", 0),
    _fill("f-3", "BUY", 10.0, "105", 2),
    _fill("f-2", "SELL", 10.0, "110", 1),
]
_EQUITY = [9_999.0, 10_098.0, 10_097.0, 9_946.0, 9_946.0]


def _input(**overrides: Any) -> BacktestInput:
    fields: dict[str, Any] = {
        "title": "SMA cross on ACME",
        "fills": _FILLS,
        "prices": _PRICES,
        "initial_capital": 10_000.0,
        "periods_per_year": 252.0,
        "strategy_config": "strategies/sma_cross.toml",
    }
    fields.update(overrides)
    return BacktestInput(**fields)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> BacktestReport:
    # Written once for the tests that only read it: drawing the chart takes most of a second.
    return write_report(_input(), tmp_path_factory.mktemp("report") / "out")


def test_every_file_is_written_into_a_new_directory(report: BacktestReport) -> None:
    names = sorted(p.name for p in report.report_json.parent.iterdir())

    assert names == [
        "equity.parquet", "equity.png", "report.html", "report.json", "roundtrips.parquet",
        "trades.parquet",
    ]  # fmt: skip
    assert sorted(p.name for p in report.paths) == names


def test_report_json_holds_the_hand_computed_numbers(report: BacktestReport) -> None:
    doc = json.loads(report.report_json.read_text())

    assert doc["title"] == "SMA cross on ACME"
    assert doc["strategy_config"] == "strategies/sma_cross.toml"
    assert (doc["first_event"], doc["last_event"]) == (
        "2024-01-02T14:30:00Z",
        "2024-01-06T14:30:00Z",
    )
    assert doc["fills"] == 4
    assert (doc["start_equity"], doc["end_equity"]) == (10_000.0, pytest.approx(9_946.0))
    assert doc["total_return"] == pytest.approx(-0.0054)
    assert doc["cagr"] == pytest.approx(0.9946 ** (365.25 / 4) - 1)
    assert doc["max_drawdown"] == pytest.approx(152 / 10_098)
    assert doc["max_drawdown_days"] == pytest.approx(3.0)  # peak on day 1, no recovery by day 4
    assert doc["exposure_time"] == pytest.approx(0.4)
    assert (doc["trades"], doc["win_rate"]) == (2, 0.5)
    assert doc["profit_factor"] == pytest.approx(99 / 151)  # trade P&L net of its closing fee
    assert doc["average_trade"] == pytest.approx((100 - 150 - 4) / 2)  # net realized / trades
    assert doc["fees"] == pytest.approx(4.0)
    returns = [b / a - 1 for a, b in itertools.pairwise([10_000.0, *_EQUITY])]
    mean = sum(returns) / 5
    std = math.sqrt(sum((r - mean) ** 2 for r in returns) / 4)
    assert doc["volatility"] == pytest.approx(std * math.sqrt(252))
    assert doc["sharpe"] == pytest.approx(mean / std * math.sqrt(252))


def test_report_json_has_every_metric_in_a_stable_order(report: BacktestReport) -> None:
    doc = json.loads(report.report_json.read_text())
    metric_names = [f.name for f in dataclasses.fields(BacktestMetrics)]

    assert list(doc) == [
        "title", "strategy_config", "first_event", "last_event", "fills", "round_trips",
        "open_round_trips", "periods_per_year", *metric_names,
    ]  # fmt: skip
    assert doc == {**doc, **dataclasses.asdict(report.metrics)}


def test_undefined_numbers_are_null_in_json(tmp_path: Path) -> None:
    flat = write_report(_input(fills=[]), tmp_path)
    doc = json.loads(flat.report_json.read_text())

    assert (doc["win_rate"], doc["profit_factor"], doc["average_trade"]) == (None, None, None)
    assert "null" in flat.report_json.read_text()


def test_trades_parquet_is_one_typed_row_per_fill_in_time_order(report: BacktestReport) -> None:
    table = pq.read_table(report.trades_parquet)

    assert table.schema.field("time").type == pa.timestamp("us", tz="UTC")
    for name in ("qty", "price", "fee", "position", "realized_pnl"):
        assert table.schema.field(name).type == pa.float64()
    for name in ("symbol", "side", "order_id", "fill_id"):
        assert table.schema.field(name).type == pa.string()
    rows = table.to_pylist()
    assert [r["fill_id"] for r in rows] == ["f-1", "f-2", "f-3", "f-4"]
    assert [r["order_id"] for r in rows] == ["o-f-1", "o-f-2", "o-f-3", "o-f-4"]
    assert [r["side"] for r in rows] == ["BUY", "SELL", "BUY", "SELL"]
    assert [r["price"] for r in rows] == [100.0, 110.0, 105.0, 90.0]
    assert [r["fee"] for r in rows] == [1.0] * 4
    assert [r["position"] for r in rows] == [10.0, 0.0, 10.0, 0.0]
    assert [r["realized_pnl"] for r in rows] == [0.0, 100.0, 0.0, -150.0]
    assert [r["time"].isoformat() for r in rows][:2] == [
        "2024-01-02T14:30:00+00:00",
        "2024-01-03T14:30:00+00:00",
    ]


def test_per_fill_pnl_follows_average_cost_through_adds_partial_closes_and_flips() -> None:
    fills = [
        _fill("a", "BUY", 100.0, "10", 0, fee="0"),
        _fill("b", "BUY", 50.0, "13", 1, fee="0"),  # avg (1,000 + 650) / 150 = 11
        _fill("c", "SELL", 120.0, "12", 2, fee="0"),  # closes 120 at +1: +120, 30 left
        _fill("d", "SELL", 50.0, "9", 3, fee="0"),  # closes 30 at -2: -60, then short 20 at 9
        _fill("e", "BUY", 20.0, "8", 4, fee="0"),  # covers the short at +1: +20
    ]

    ledger = fill_ledger(fills)

    assert [r.position for r in ledger] == [100.0, 150.0, 30.0, -20.0, 0.0]
    assert [r.realized_pnl for r in ledger] == [0.0, 0.0, 120.0, -60.0, 20.0]
    assert sum(r.realized_pnl for r in ledger) == float(pnl_report(fills).total.realized_pnl)


def test_fills_at_the_same_time_are_ordered_by_id() -> None:
    fills = [_fill("f-b", "SELL", 5.0, "11", 1), _fill("f-a", "BUY", 5.0, "10", 1)]

    ledger = fill_ledger(fills)

    assert [r.fill_id for r in ledger] == ["f-a", "f-b"]
    assert [r.realized_pnl for r in ledger] == [0.0, 5.0]


def test_a_fill_that_cannot_be_accounted_is_refused(tmp_path: Path) -> None:
    broken = [_fill("f-1", "BUY", -1.0, "100", 0)]

    with pytest.raises(InvalidFillError, match="f-1"):
        write_report(_input(fills=broken), tmp_path)


def test_equity_parquet_has_each_step_and_its_drawdown(report: BacktestReport) -> None:
    table = pq.read_table(report.equity_parquet)

    assert table.schema.field("time").type == pa.timestamp("us", tz="UTC")
    assert table.schema.field("exposed").type == pa.bool_()
    assert table.column("equity").to_pylist() == pytest.approx(_EQUITY)
    expected = [1 / 10_000, 0.0, 1 / 10_098, 152 / 10_098, 152 / 10_098]
    assert table.column("drawdown").to_pylist() == pytest.approx(expected)
    assert table.column("exposed").to_pylist() == [True, False, True, False, False]
    assert max(table.column("drawdown").to_pylist()) == pytest.approx(report.metrics.max_drawdown)


def test_a_second_write_gives_the_same_bytes(tmp_path: Path) -> None:
    first = write_report(_input(), tmp_path / "one")
    shuffled = random.Random(7).sample(_FILLS, len(_FILLS))
    second = write_report(_input(fills=shuffled), tmp_path / "two")

    for a, b in zip(first.paths, second.paths, strict=True):
        assert a.read_bytes() == b.read_bytes(), a.name


def test_the_chart_is_a_png(report: BacktestReport) -> None:
    png = report.chart_png.read_bytes()

    assert png.startswith(_PNG_MAGIC)
    assert b"matplotlib" not in png  # no Software tag


class _Page(HTMLParser):
    """The parts of report.html the tests look at."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str, str]] = []
        self.images: dict[str, str] = {}
        self.rows: dict[str, int] = {}
        self.tags: set[str] = set()
        self.caption = ""
        self._table: str | None = None
        self._in_body = self._in_caption = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self.tags.add(tag)
        for name in ("src", "href"):
            if name in attributes:
                self.links.append((tag, name, attributes[name]))
        if tag == "img":
            self.images[attributes.get("id", "")] = attributes.get("src", "")
        elif tag == "table":
            self._table = attributes.get("id")
        elif tag == "tbody":
            self._in_body = True
        elif tag == "caption":
            self._in_caption = True
        elif tag == "tr" and self._in_body and self._table is not None:
            self.rows[self._table] = self.rows.get(self._table, 0) + 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "tbody":
            self._in_body = False
        elif tag == "caption":
            self._in_caption = False
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        if self._in_caption:
            self.caption += data


def _page(report: BacktestReport) -> _Page:
    page = _Page()
    page.feed(report.report_html.read_text())
    return page


def test_the_page_is_self_contained_with_the_chart_inline(report: BacktestReport) -> None:
    page = _page(report)

    remote = [link for link in page.links if not link[2].startswith("data:")]
    assert remote == []
    assert not {"link", "script", "iframe"} & page.tags
    prefix = "data:image/png;base64,"
    assert page.images["equity-chart"].startswith(prefix)
    chart = base64.b64decode(page.images["equity-chart"].removeprefix(prefix))
    assert chart == report.chart_png.read_bytes()
    assert "http://" not in report.report_html.read_text()
    assert "https://" not in report.report_html.read_text()


def test_the_page_has_a_row_per_metric_and_per_fill(report: BacktestReport) -> None:
    page = _page(report)
    html = report.report_html.read_text()

    assert page.rows == {
        "metrics": len(dataclasses.fields(BacktestMetrics)), "round-trips": 2, "trades": 4,
    }  # fmt: skip
    assert "<td>-0.54%</td>" in html  # total return
    assert "<td>10,000.00</td>" in html  # start equity
    assert '<td class="num neg">-150.00</td>' in html  # the losing fill's realized P&L
    assert page.caption.endswith("4 fills, one row each")  # the captions, concatenated
    assert page.caption.startswith("2 closed, 0 open; P&L net of fees")


def test_a_long_backtest_shows_the_first_fills_and_says_so(tmp_path: Path) -> None:
    count = MAX_TRADE_ROWS + 3
    fills = [
        _fill(f"f-{i:05d}", "BUY" if i % 2 == 0 else "SELL", 1.0, "100", i / 10_000)
        for i in range(count)
    ]

    report = write_report(_input(fills=fills), tmp_path)
    page = _page(report)

    assert page.rows["trades"] == MAX_TRADE_ROWS
    assert f"the first {MAX_TRADE_ROWS:,} are shown" in page.caption
    assert f"{count:,} fills" in page.caption
    assert pq.read_metadata(report.trades_parquet).num_rows == count


def test_the_page_escapes_what_it_is_given(tmp_path: Path) -> None:
    report = write_report(_input(title="<script>alert(1)</script> & co"), tmp_path)
    html = report.report_html.read_text()

    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html


def test_summary_table_formats_as_the_page_does(report: BacktestReport) -> None:
    console = Console(record=True, width=120)
    console.print(summary_table(report))
    text = console.export_text()

    rows = metric_rows(report.metrics)
    assert len(rows) == len(dataclasses.fields(BacktestMetrics))
    assert ("Total return", "-0.54%") in rows
    assert ("Max drawdown", f"{152 / 10_098 * 100:.2f}%") in rows
    assert ("Average trade", "-27.00") in rows
    assert ("Profit factor", f"{99 / 151:.2f}") in rows
    assert ("Max drawdown duration", "3.0 days") in rows
    for label, value in rows:
        assert label in text
        assert value in text
    assert "4 fills" in text


@pytest.mark.parametrize(
    ("fills", "expected"),
    [
        ([], "—"),  # no trade: undefined
        ([_fill("f-1", "BUY", 10.0, "100", 0), _fill("f-2", "SELL", 10.0, "110", 1)], "∞"),
    ],
)
def test_profit_factor_without_losses(
    tmp_path: Path, fills: list[dict[str, Any]], expected: str
) -> None:
    report = write_report(_input(fills=fills), tmp_path)

    assert dict(metric_rows(report.metrics))["Profit factor"] == expected
    assert dict(metric_rows(report.metrics))["Win rate"] == ("—" if not fills else "100.00%")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"initial_capital": 0.0}, "initial capital"),
        ({"periods_per_year": -1.0}, "periods per year"),
        ({"prices": [(_T0 + _DAY, "ACME", 100.0), (_T0, "ACME", 101.0)]}, "time order"),
        ({"prices": [(_T0, "ACME", math.nan)]}, "not finite"),
    ],
)
def test_input_that_would_give_wrong_numbers_is_refused(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        _input(**overrides)


def test_a_backtest_without_prices_still_writes_a_report(tmp_path: Path) -> None:
    report = write_report(_input(fills=[], prices=[]), tmp_path)

    assert pq.read_metadata(report.equity_parquet).num_rows == 0
    assert json.loads(report.report_json.read_text())["first_event"] is None
    assert report.chart_png.read_bytes().startswith(_PNG_MAGIC)
