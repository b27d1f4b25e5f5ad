"""`primestream backtest` through the real pipeline: report, rendering, determinism, parity.

One GOOG backtest of the bundled example runs once for the module (about a minute) and
several tests read what it left: the printed summary, the report's files, the namespace's
orders and fills, and the end offsets of a "live" namespace it must not touch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from confluent_kafka import Consumer, TopicPartition

from infra.local import Endpoints
from schemas.clients import Clients
from streams.strategies.config import EXAMPLES_DIR
from tests.integration.conftest import Scope, make_scope
from tests.kit.browser import render_report, require_browser
from tests.kit.golden import check_golden, goldens
from tests.kit.topics import read_topic

pytestmark = pytest.mark.integration

_EXAMPLE = EXAMPLES_DIR / "backtest_sma_cross.toml"
_FILES = (
    "report.json",
    "trades.parquet",
    "roundtrips.parquet",
    "equity.parquet",
    "equity.png",
    "report.html",
)
_LIVE_TOPICS = ("market.quotes", "market.bars", "signals", "orders", "fills", "positions")
_NEW_YORK = ZoneInfo("America/New_York")


@dataclass(frozen=True)
class Backtest:
    """A finished backtest: the scope it ran from, its namespace, --out and output."""

    scope: Scope
    namespace: str
    out: Path
    stdout: str

    def values(self, table: str) -> list[dict[str, Any]]:
        runtime = Clients(self.scope.settings.model_copy(update={"namespace": self.namespace}))
        return [r.value for r in read_topic(runtime, f"{self.namespace}.{table}") if r.value]

    @property
    def report(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads((self.out / "report.json").read_text())
        return loaded


def run_backtest(scope: Scope, out: Path, *args: str, name: str = "bt") -> Backtest:
    namespace = f"{scope.namespace}{name}"
    done = scope.cli("backtest", "--out", str(out), "--namespace", namespace, *args, timeout=900)
    return Backtest(scope, namespace, out, done.stdout)


def _ends(scope: Scope) -> dict[str, int]:
    consumer = Consumer({"bootstrap.servers": scope.settings.bootstrap_servers, "group.id": "ends"})
    try:
        ends = {}
        for table in _LIVE_TOPICS:
            topic = scope.topic(table)
            for p in consumer.list_topics(topic, timeout=10).topics[topic].partitions:
                ends[f"{topic}[{p}]"] = consumer.get_watermark_offsets(
                    TopicPartition(topic, p), timeout=10
                )[1]
        return ends
    finally:
        consumer.close()


@pytest.fixture(scope="module")
def live(endpoints: Endpoints, infra_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Scope:
    """A namespace standing for live trading, with quotes in it."""
    scope = make_scope(endpoints, infra_home)
    csv = tmp_path_factory.mktemp("live") / "quotes.csv"
    rows = [f"ACME,2024-01-02T14:30:{i:02d}Z,10.0{i % 10},10.1{i % 10},100,100" for i in range(20)]
    csv.write_text("symbol,ts,bid,ask,bid_size,ask_size\n" + "\n".join(rows) + "\n")
    scope.cli("produce", "market", "--source", f"csv:{csv}")
    return scope


@pytest.fixture(scope="module")
def live_ends_before(live: Scope) -> dict[str, int]:
    return _ends(live)


@pytest.fixture(scope="module")
def goog(
    live: Scope, live_ends_before: dict[str, int], tmp_path_factory: pytest.TempPathFactory
) -> Backtest:
    out = tmp_path_factory.mktemp("goog")
    return run_backtest(live, out, "--data", "sample:GOOG", "--strategies", str(_EXAMPLE))


def test_a_goog_backtest_prints_a_summary_and_writes_every_report_file(goog: Backtest) -> None:
    report = goog.report

    for needle in ("Total return", "Sharpe ratio", "Max drawdown", "Win rate", "report.html"):
        assert needle in goog.stdout
    assert all((goog.out / name).stat().st_size > 0 for name in _FILES)
    trades = pd.read_parquet(goog.out / "trades.parquet")
    fills = goog.values("fills")
    assert len(trades) == len(fills) == report["fills"] > 10
    assert sorted(trades["fill_id"]) == sorted(f["id"] for f in fills)
    equity = pd.read_parquet(goog.out / "equity.parquet")
    assert len(equity) == 2148, "one equity step per GOOG bar"
    assert report["end_equity"] == pytest.approx(float(equity["equity"].iloc[-1]))


def test_the_goog_backtest_gives_its_golden_statistics(goog: Backtest) -> None:
    (golden,) = [g for g in goldens() if g.name == "goog_sma_cross"]
    assert golden.args[1:4:2] == ("sample:GOOG", str(_EXAMPLE)), "the module's run is the golden's"

    assert check_golden(golden, goog.report) == []


def test_every_order_of_the_backtest_is_filled_at_the_next_bars_open(goog: Backtest) -> None:
    """No look-ahead: a signal at a bar's close fills at the opening of the next bar.

    The fill is stamped when it happened: 09:30 New York on the next bar's date.
    """
    from backtesting import test as samples

    closes = sorted(int(b["ts_event_us"]) for b in goog.values("market.bars"))
    orders = {o["id"]: o for o in goog.values("orders")}
    fills = goog.values("fills")
    opens = dict(zip(closes, samples.GOOG["Open"].tolist(), strict=True))

    assert len(fills) == len(orders), "GTC market orders all fill"
    for fill in fills:
        made = int(orders[fill["order_id"]]["ts_event_us"])
        assert made in closes, "orders are made at a bar's close"
        filled_bar = closes[closes.index(made) + 1]
        day = datetime.fromtimestamp(filled_bar / 1e6, _NEW_YORK).date()
        opening = datetime.combine(day, time(9, 30), tzinfo=_NEW_YORK)
        assert int(fill["ts_event_us"]) == int(opening.timestamp()) * 1_000_000, "its opening"
        assert int(fill["ts_event_us"]) > made
        slip = 1.0001 if fill["side"] == "BUY" else 0.9999  # 1 bps slippage, paid
        assert float(fill["price"]) == pytest.approx(opens[filled_bar] * slip, abs=0.011)


def test_the_report_renders_in_headless_chromium(goog: Backtest, tmp_path: Path) -> None:
    require_browser()
    shot = tmp_path / "report.png"

    page = render_report(goog.out / "report.html", shot)

    assert page.chart_width > 300, "the chart image decoded"
    assert page.chart_height > 200
    assert page.metrics_rows >= 15
    assert page.trades_rows == goog.report["fills"]
    assert shot.stat().st_size > 10_000


def test_a_second_run_of_the_same_backtest_writes_identical_trades(
    goog: Backtest, tmp_path: Path
) -> None:
    again = run_backtest(
        goog.scope, tmp_path, "--data", "sample:GOOG", "--strategies", str(_EXAMPLE), name="bt2"
    )

    assert again.namespace != goog.namespace
    # byte for byte: same rows, same types, same Parquet file
    assert (again.out / "trades.parquet").read_bytes() == (goog.out / "trades.parquet").read_bytes()
    assert again.report == goog.report


def test_live_topics_are_untouched_by_a_backtest(
    goog: Backtest, live: Scope, live_ends_before: dict[str, int]
) -> None:
    assert goog.namespace != live.namespace
    assert _ends(live) == live_ends_before
    assert sum(live_ends_before.values()) == 20, "the live namespace held its quotes"


def _vectorized(capital: float) -> tuple[list[tuple[str, float, float]], float]:
    """SMA 10/20 crossover on GOOG's closes, long or flat, 100 shares: the signal on the
    crossing bar's close, the fill at the next bar's open, with the example's costs (1 bps
    slippage paid, commission max($1, $0.005 a share) = $1 an order).

    As the strategy's gap rule says, no crossing counts across a gap of more than 3 bars,
    counted in NYSE sessions (exchange-calendars directly): a weekend, holiday or DST shift
    is one step.
    """
    import exchange_calendars  # type: ignore[import-untyped]
    from backtesting import test as samples

    bars = samples.GOOG
    xnys = exchange_calendars.get_calendar("XNYS", start="2000-01-01", end="2014-12-31")
    sessions = xnys.sessions_in_range(bars.index[0], bars.index[-1])
    position = pd.Series(sessions.get_indexer(bars.index), index=bars.index)
    assert (position >= 0).all(), "every GOOG bar is an NYSE session"
    gap = position.diff() > 3
    fast, slow = bars["Close"].rolling(10).mean(), bars["Close"].rolling(20).mean()
    above = (fast > slow).where(slow.notna())
    crossed = above.ne(above.shift()) & above.notna() & above.shift().notna() & ~gap
    trades, position, cash = [], 0.0, capital
    for i in [bars.index.get_loc(t) for t in bars.index[crossed]]:
        if i + 1 >= len(bars):
            break
        qty = (100.0 if above.iloc[i] else 0.0) - position
        if qty == 0.0:
            continue  # a SELL while flat: refused (long or flat)
        price = float(bars["Open"].iloc[i + 1]) * (1.0001 if qty > 0 else 0.9999)
        trades.append(("BUY" if qty > 0 else "SELL", abs(qty), price))
        position += qty
        cash -= qty * price + 1.0
    return trades, cash + position * float(bars["Close"].iloc[-1])


def test_the_backtest_matches_a_vectorized_pandas_computation(goog: Backtest) -> None:
    trades = pd.read_parquet(goog.out / "trades.parquet")
    got = list(trades[["side", "qty", "price"]].itertuples(index=False, name=None))

    expected, equity = _vectorized(100_000.0)

    assert len(expected) > 20
    assert [side for side, _, _ in got] == [side for side, _, _ in expected]
    assert [(q, p) for _, q, p in got] == [(q, pytest.approx(p, abs=1e-6)) for _, q, p in expected]
    assert list(trades["fee"]) == [1.0] * len(expected)
    assert goog.report["end_equity"] == pytest.approx(equity, abs=1e-4)
