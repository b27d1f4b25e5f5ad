"""The P&L report against numbers worked out by hand, its drawdown, JSON and tables."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import typer
from rich.console import Console
from typer.testing import CliRunner

from cli import pnl_command as command_module
from consumers.pnl import (
    Drawdown,
    EquityPoint,
    InvalidFillError,
    PnlLine,
    PnlReport,
    max_drawdown,
    pnl_report,
)
from consumers.pnl_render import (
    empty_line,
    pnl_table,
    report_document,
    report_json,
    report_view,
    trades_table,
)
from tests.kit import stubs

D = Decimal


def t(n: int) -> int:
    """Event time n seconds after T0."""
    return stubs.T0_US + n * 1_000_000


def fill(
    fid: str, symbol: str, side: str, qty: float, price: str, fee: str, n: int, **kw: Any
) -> dict[str, Any]:
    return stubs.fill(
        symbol, id=fid, side=side, qty=qty, price=D(price), fee=D(fee), ts_event_us=t(n), **kw
    )


def position(symbol: str, qty: float, last_mark: float | None, **kw: Any) -> dict[str, Any]:
    rec: dict[str, Any] = {
        "account": "default",
        "symbol": symbol,
        "qty": qty,
        "avg_price": 0.0,
        "realized_pnl": D("0.000000"),
        "fees": D("0.000000"),
        "last_mark": last_mark,
        "unrealized_pnl": 0.0,
        "version": 1,
        "last_fill_id": None,
        "ts_event_us": t(9),
    }
    rec.update(kw)
    return rec


# Fills in topic order: per symbol in order; the two symbols interleave in time (seconds).
FILLS = [
    # AAPL
    # a1 t1 BUY 100 @10 fee 1     -> qty 100, avg 10, fees 1. Equity -1 + (10-10)*100 = -1
    fill("a1", "AAPL", "BUY", 100.0, "10", "1", 1),
    # a2 t2 BUY 50 @13 fee 1      -> qty 150, avg (1000+650)/150 = 11, fees 2
    #                                equity -2 + (13-11)*150 = 298
    fill("a2", "AAPL", "BUY", 50.0, "13", "1", 2),
    # a3 t3 SELL 120 @12 fee 1.2  -> closes 120 of the long: gross (12-11)*120 = +120,
    #                                trade +120 - 1.2 = +118.8 (win). qty 30, avg 11,
    #                                fees 3.2. equity 120 - 3.2 + (12-11)*30 = 146.8
    fill("a3", "AAPL", "SELL", 120.0, "12", "1.2", 3),
    # a3 again (redelivered): ignored, counted as 1 duplicate
    fill("a3", "AAPL", "SELL", 120.0, "12", "1.2", 3),
    # a4 t5 SELL 50 @9 fee 1      -> flip: closes 30 @ avg 11: gross (9-11)*30 = -60,
    #                                prorated fee 1*30/50 = 0.6, trade -60.6 (loss);
    #                                opens short 20 @9. realized 60, fees 4.2, qty -20,
    #                                avg 9. equity 60 - 4.2 + (9-9)*-20 = 55.8
    fill("a4", "AAPL", "SELL", 50.0, "9", "1", 5),
    # a5 t7 BUY 5 @8 fee 0.5      -> covers 5 of the short: gross (9-8)*5 = +5, trade
    #                                5 - 0.5 = +4.5 (win). qty -15, avg 9, realized 65,
    #                                fees 4.7. equity 65 - 4.7 + (8-9)*-15 = 75.3
    fill("a5", "AAPL", "BUY", 5.0, "8", "0.5", 7),
    # MSFT
    # m1 t4 BUY 10 @100 fee 2     -> qty 10, avg 100, fees 2. equity -2
    fill("m1", "MSFT", "BUY", 10.0, "100", "2", 4),
    # m2 t6 SELL 10 @95 fee 2     -> closes all: gross (95-100)*10 = -50, trade -52 (loss).
    #                                flat: avg 0, realized -50, fees 4. equity -54
    fill("m2", "MSFT", "SELL", 10.0, "95", "2", 6),
    # m3 t8 SELL 5 @96 fee 1      -> opens short 5 @96. fees 5. equity -50 - 5 + 0 = -55
    fill("m3", "MSFT", "SELL", 5.0, "96", "1", 8),
]

# Compacted topic not compacted yet: the later AAPL record replaces the earlier one.
POSITIONS = [
    position("AAPL", -20.0, 9.0, version=4),
    position("AAPL", -15.0, 8.5, version=5),  # unrealized (8.5-9)*-15 = +7.5
    position("MSFT", -5.0, 97.0, version=3),  # unrealized (97-96)*-5 = -5
]


@pytest.fixture
def report() -> PnlReport:
    return pnl_report(FILLS, POSITIONS)


def by_symbol(report: PnlReport) -> dict[str, PnlLine]:
    return {line.symbol: line for line in report.lines if line.symbol is not None}


def test_aapl_line_matches_the_hand_computation(report: PnlReport) -> None:
    aapl = by_symbol(report)["AAPL"]

    assert aapl.qty == -15.0
    assert aapl.avg_price == D("9")
    assert (aapl.mark, aapl.mark_source) == (D("8.5"), "position")
    assert aapl.realized_pnl == D("65")  # 120 - 60 + 5
    assert aapl.fees == D("4.7")  # 1 + 1 + 1.2 + 1 + 0.5
    assert aapl.net_realized_pnl == D("60.3")  # 65 - 4.7
    assert aapl.unrealized_pnl == D("7.5")  # (8.5 - 9) * -15
    assert aapl.exposure == D("127.5")  # 15 * 8.5
    assert aapl.net_exposure == D("-127.5")
    assert aapl.fills == 5  # a3 once
    stats = aapl.stats
    assert (stats.trades, stats.wins, stats.losses) == (3, 2, 1)  # +118.8, -60.6, +4.5
    assert stats.win_rate == pytest.approx(2 / 3)
    assert stats.avg_win == D("61.65")  # (118.8 + 4.5) / 2
    assert stats.avg_loss == D("-60.6")
    assert stats.profit_factor == pytest.approx(123.3 / 60.6)  # 2.0346...
    # AAPL's own curve: 0, -1, 298, 146.8, 55.8, 75.3 -> 298 (t2) down to 55.8 (t5)
    assert aapl.drawdown.amount == D("242.2")
    assert aapl.drawdown.pct == pytest.approx(242.2 / 298 * 100)  # 81.28 %
    assert (aapl.drawdown.peak_ts_us, aapl.drawdown.trough_ts_us) == (t(2), t(5))


def test_msft_line_matches_the_hand_computation(report: PnlReport) -> None:
    msft = by_symbol(report)["MSFT"]

    assert (msft.qty, msft.avg_price, msft.mark) == (-5.0, D("96"), D("97"))
    assert msft.realized_pnl == D("-50")
    assert msft.fees == D("5")  # 2 + 2 + 1
    assert msft.net_realized_pnl == D("-55")
    assert msft.unrealized_pnl == D("-5")  # (97 - 96) * -5
    assert (msft.exposure, msft.net_exposure) == (D("485"), D("-485"))  # 5 * 97
    stats = msft.stats
    assert (stats.trades, stats.wins, stats.losses) == (1, 0, 1)  # -52
    assert stats.win_rate == 0.0
    assert stats.avg_win is None
    assert stats.avg_loss == D("-52")
    assert stats.profit_factor == 0.0  # 0 / 52
    # MSFT's curve: 0 (t4), -2, -54, -55: a fall of 55 from a zero peak, so no percentage
    assert msft.drawdown == Drawdown(D("55"), None, t(4), t(8), D("0"), D("-55"))


def test_total_line_and_equity_curve_match_the_hand_computation(report: PnlReport) -> None:
    total = report.total

    assert (report.fills, report.duplicate_fills, report.warnings) == (8, 1, ())
    assert [line.symbol for line in report.lines] == ["AAPL", "MSFT"]
    assert (total.symbol, total.qty, total.mark) == (None, None, None)
    assert total.realized_pnl == D("15")  # 65 - 50
    assert total.fees == D("9.7")  # 4.7 + 5
    assert total.net_realized_pnl == D("5.3")
    assert total.unrealized_pnl == D("2.5")  # 7.5 - 5
    assert total.exposure == D("612.5")  # 127.5 + 485
    assert total.net_exposure == D("-612.5")
    assert total.fills == 8
    stats = total.stats
    assert (stats.trades, stats.wins, stats.losses, stats.win_rate) == (4, 2, 2, 0.5)
    assert stats.avg_win == D("61.65")
    assert stats.avg_loss == D("-56.3")  # (-60.6 - 52) / 2
    assert stats.profit_factor == pytest.approx(123.3 / 112.6)  # 1.095...
    # AAPL + MSFT after each fill, merged by time (each marked at its last fill price):
    # t1 -1 | t2 298 | t3 146.8 | t4 146.8-2 | t5 55.8-2 | t6 55.8-54 | t7 75.3-54 | t8 75.3-55
    expected = [0, -1, 298, "146.8", "144.8", "53.8", "1.8", "21.3", "20.3"]
    assert [p.equity for p in report.equity_curve] == [D(e) for e in expected]
    assert [p.ts_event_us for p in report.equity_curve] == [
        t(n) for n in (1, 1, 2, 3, 4, 5, 6, 7, 8)
    ]
    # largest fall: 298 (t2) -> 1.8 (t6) = 296.2, i.e. 99.396 % of the peak
    assert total.drawdown == Drawdown(
        D("296.2"), pytest.approx(296.2 / 298 * 100), t(2), t(6), D("298"), D("1.8")
    )


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        # a rise with two dips: 10 -> 4 (6) then 12 -> 3 (9, 75 % of 12); 15 is a new high
        (
            [0, 10, 4, 12, 3, 8, 15],
            Drawdown(D(9), 75.0, 4, 5, D(12), D(3)),
        ),
        # never falls: no drawdown, no times
        ([0, 1, 1, 5], Drawdown(D(0), None, None, None, D(0), D(0))),
        # equal highs: the fall is measured from the later one (t3), 6 -> 1 = 5
        ([0, 6, 2, 6, 1], Drawdown(D(5), pytest.approx(500 / 6), 4, 5, D(6), D(1))),
        # under water from the start: a fall of 7 from 0, no percentage of a zero peak
        ([0, -3, -1, -7, -2], Drawdown(D(7), None, 1, 4, D(0), D(-7))),
        # the later, smaller fall in amount (20 -> 15) loses to 10 -> 2 even though % is less
        ([10, 2, 20, 15], Drawdown(D(8), 80.0, 1, 2, D(10), D(2))),
        ([], Drawdown(D(0), None, None, None, D(0), D(0))),
    ],
)
def test_max_drawdown_of_a_scripted_equity_path(path: list[int], expected: Drawdown) -> None:
    curve = [EquityPoint(i + 1, D(e)) for i, e in enumerate(path)]
    assert max_drawdown(curve) == expected


def test_positions_mark_falls_back_to_the_last_fill_and_disagreements_are_warned() -> None:
    fills = [
        fill("a1", "AAPL", "BUY", 10.0, "100", "0", 1),
        fill("a2", "AAPL", "BUY", 10.0, "110", "0", 2),
    ]
    # the positions topic lags (qty 10, no mark) and knows a symbol with no fills
    positions = [position("AAPL", 10.0, None), position("TSLA", 3.0, 250.0)]

    report = pnl_report(fills, positions)

    aapl = report.lines[0]
    assert (aapl.mark, aapl.mark_source) == (D("110"), "fill")
    assert aapl.unrealized_pnl == D("100")  # avg 105, (110 - 105) * 20
    assert report.warnings == (
        "default/AAPL: the positions topic has qty 10, the fills give 20",
        "default/TSLA: the positions topic has qty 3 but no fills",
    )


def test_books_are_per_account_and_the_account_filter_keeps_one() -> None:
    # a buy in one account and a sell in another close nothing: two books, no trade
    fills = [
        fill("x1", "AAPL", "BUY", 10.0, "100", "1", 1, account="alpha"),
        fill("x2", "AAPL", "SELL", 10.0, "105", "1", 2, account="beta"),
    ]

    both = pnl_report(fills)
    beta = pnl_report(fills, account="beta")

    assert [(line.account, line.qty) for line in both.lines] == [("alpha", 10.0), ("beta", -10.0)]
    assert both.total.stats.trades == 0
    # alpha is marked at the last AAPL price, 105: +50; beta shorted at 105: 0; fees 2
    assert both.total.unrealized_pnl == D("50")
    assert both.total.net_realized_pnl == D("-2")
    assert [line.account for line in beta.lines] == ["beta"]
    assert (beta.account, beta.fills, beta.total.fees) == ("beta", 1, D("1"))


def test_closing_fractional_quantities_goes_exactly_flat() -> None:
    fills = [
        fill("f1", "BTC", "BUY", 0.3, "100", "0", 1),
        fill("f2", "BTC", "SELL", 0.1, "110", "0", 2),
        fill("f3", "BTC", "SELL", 0.2, "90", "0", 3),
    ]

    line = pnl_report(fills).lines[0]

    # +1 then -2 (0.1 * 10, 0.2 * -10); flat, so no unrealized and no -0
    assert (line.qty, line.avg_price, line.realized_pnl) == (0.0, D(0), D(-1))
    assert str(line.unrealized_pnl) == "0.000000"


@pytest.mark.parametrize(
    ("override", "reason"),
    [
        ({"side": "HOLD"}, "side must be BUY or SELL, not 'HOLD'"),
        ({"qty": 0.0}, r"qty \(0.0\) and price \(185.220000\) must be positive"),
        ({"qty": float("nan")}, "nan is not a finite number"),
        ({"price": D("-1")}, r"qty \(100.0\) and price \(-1\) must be positive"),
        ({"fee": D("NaN")}, "Decimal\\('NaN'\\) is not a finite number"),
        ({"ts_event_us": None}, "NoneType"),
    ],
)
def test_a_fill_that_cannot_be_accounted_is_refused(override: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidFillError, match=reason):
        pnl_report([stubs.fill(**override)])


def test_no_fills_gives_an_empty_report() -> None:
    report = pnl_report([], [])

    assert (report.fills, report.lines, report.equity_curve) == (0, (), ())
    assert report.total.net_realized_pnl == D(0)
    assert report.total.stats.win_rate is None
    assert empty_line("bt1.fills", "alpha") == "no fills yet for account alpha in bt1.fills"


def test_json_round_trips_with_decimals_as_strings(report: PnlReport) -> None:
    doc = json.loads(report_json(report))

    assert doc == report_document(report)
    assert set(doc) == {"account", "fills", "duplicate_fills", "symbols", "total", "warnings"}
    aapl = doc["symbols"][0]
    assert set(aapl) == {
        "account", "symbol", "qty", "avg_price", "mark", "mark_source", "realized_pnl",
        "fees", "net_realized_pnl", "unrealized_pnl", "exposure", "net_exposure", "fills",
        "stats", "drawdown",
    }  # fmt: skip
    assert (aapl["symbol"], aapl["qty"], aapl["realized_pnl"]) == ("AAPL", -15.0, "65.000000")
    assert aapl["stats"]["avg_win"] == "61.650000"
    assert doc["total"]["net_realized_pnl"] == "5.300000"
    assert doc["total"]["stats"]["profit_factor"] == pytest.approx(123.3 / 112.6)
    assert doc["total"]["drawdown"] == {
        "amount": "296.200000",
        "pct": pytest.approx(99.3959731),
        "peak_ts_us": t(2),
        "trough_ts_us": t(6),
        "peak_equity": "298.000000",
        "trough_equity": "1.800000",
    }
    assert (doc["fills"], doc["duplicate_fills"]) == (8, 1)


def render(renderable: Any) -> str:
    console = Console(record=True, width=200)
    console.print(renderable)
    return console.export_text()


def row(text: str, first_cell: str) -> list[str]:
    """The cells of the table row whose first cell is FIRST_CELL."""
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("│"):
            continue
        cells = [c.strip() for c in line[1:-1].split("│")]
        if cells[0] == first_cell:
            return cells
    raise AssertionError(f"no row {first_cell!r} in\n{text}")


def test_pnl_table_has_a_row_per_symbol_and_a_totals_row(report: PnlReport) -> None:
    text = render(pnl_table(report))

    assert "account" not in text  # one account: no account column
    assert row(text, "AAPL") == [
        "AAPL", "-15", "9.00", "8.50", "65.00", "4.70", "60.30", "7.50", "127.50", "-127.50",
    ]  # fmt: skip
    assert row(text, "MSFT") == [
        "MSFT", "-5", "96.00", "97.00", "-50.00", "5.00", "-55.00", "-5.00", "485.00", "-485.00",
    ]  # fmt: skip
    assert row(text, "TOTAL") == [
        "TOTAL", "", "", "", "15.00", "9.70", "5.30", "2.50", "612.50", "-612.50",
    ]  # fmt: skip
    assert "marked at the last fill price" not in text  # every mark came from positions


def test_trades_table_has_stats_drawdowns_and_their_times(report: PnlReport) -> None:
    text = render(trades_table(report))

    assert row(text, "AAPL") == [
        "AAPL", "3", "66.7%", "61.65", "-60.60", "2.03", "242.20 (81.3%)",
        "2024-01-02 14:30:02", "2024-01-02 14:30:05",
    ]  # fmt: skip
    assert row(text, "MSFT") == [
        "MSFT", "1", "0.0%", "-", "-52.00", "0.00", "55.00",
        "2024-01-02 14:30:04", "2024-01-02 14:30:08",
    ]  # fmt: skip
    assert row(text, "TOTAL") == [
        "TOTAL", "4", "50.0%", "61.65", "-56.30", "1.10", "296.20 (99.4%)",
        "2024-01-02 14:30:02", "2024-01-02 14:30:06",
    ]  # fmt: skip


def test_several_accounts_get_an_account_column() -> None:
    fills = [
        fill("x1", "AAPL", "BUY", 10.0, "100", "1", 1, account="alpha"),
        fill("x2", "AAPL", "SELL", 10.0, "105", "1", 2, account="beta"),
    ]

    text = render(pnl_table(pnl_report(fills)))

    assert row(text, "alpha")[:3] == ["alpha", "AAPL", "10"]
    assert row(text, "beta")[:3] == ["beta", "AAPL", "-10"]
    assert row(text, "")[1] == "TOTAL"


def test_view_counts_duplicates_marks_fill_prices_and_shows_warnings() -> None:
    fills = [fill("a1", "AAPL", "BUY", 10.0, "100", "0", 1)] * 2
    report = pnl_report(fills, [position("TSLA", 3.0, 250.0)], account="default")

    text = render(report_view(report))

    assert "P&L of account default" in text
    assert "100.00*" in text  # marked at the fill price
    assert "marked at the last fill price" in text
    assert "Trades and max drawdown" in text
    assert "1 fill (1 duplicate ignored)" in text
    assert "warning: default/TSLA: the positions topic has qty 3 but no fills" in text
    assert "∞" not in text  # no trades: no profit factor either
    assert row(render(trades_table(report)), "AAPL")[1:3] == ["0", "-"]


def test_a_profit_factor_without_losses_reads_infinite() -> None:
    fills = [
        fill("a1", "AAPL", "BUY", 10.0, "100", "0", 1),
        fill("a2", "AAPL", "SELL", 10.0, "101", "0", 2),
    ]
    report = pnl_report(fills)

    assert report.total.stats.profit_factor is None
    assert row(render(trades_table(report)), "TOTAL")[5] == "∞"


def run_command(
    monkeypatch: pytest.MonkeyPatch, topics: dict[str, list[dict[str, Any]]], *args: str
) -> tuple[int, str]:
    """Run `pnl` with the topic reader replaced by TOPICS (no broker)."""

    def read(runtime: Any, topic: str) -> tuple[list[dict[str, Any]], int]:
        return topics.get(topic, []), 0

    console = Console(record=True, width=200)
    monkeypatch.setattr(command_module, "read_whole_topic", read)
    monkeypatch.setattr(command_module, "console", console)
    app = typer.Typer()
    app.command()(command_module.pnl_command)
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, console.export_text()


def test_command_on_an_empty_pipeline_says_no_fills_yet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRIMESTREAM_NAMESPACE", raising=False)
    code, out = run_command(monkeypatch, {})

    assert code == 0
    assert out.strip() == "no fills yet in fills"


def test_command_prints_json_for_machines(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PRIMESTREAM_NAMESPACE", raising=False)
    code, out = run_command(monkeypatch, {"fills": FILLS, "positions": POSITIONS}, "--json")

    assert code == 0
    assert json.loads(out)["total"]["unrealized_pnl"] == "2.500000"


def test_command_filters_by_account_and_exits_1_when_records_were_undecodable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PRIMESTREAM_NAMESPACE", raising=False)
    console = Console(record=True, width=200)
    fills = [
        fill("x1", "AAPL", "BUY", 10.0, "100", "1", 1, account="alpha"),
        fill("x2", "MSFT", "BUY", 10.0, "50", "1", 2, account="beta"),
    ]

    def read(runtime: Any, topic: str) -> tuple[list[dict[str, Any]], int]:
        return (fills, 2) if topic == "fills" else ([], 0)

    monkeypatch.setattr(command_module, "read_whole_topic", read)
    monkeypatch.setattr(command_module, "console", console)
    app = typer.Typer()
    app.command()(command_module.pnl_command)

    result = CliRunner().invoke(app, ["--account", "beta"])

    text = console.export_text()
    assert result.exit_code == 1  # the report is printed, but it misses 2 fills
    assert "P&L of account beta" in text
    assert "MSFT" in text
    assert "AAPL" not in text
