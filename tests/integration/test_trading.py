"""The trading loop on a real broker: a scripted quote path → signals, orders, fills, positions.

Numbers are worked out by hand from the path. Mid prices 10, 10, 10, 11, 12, 9, 8, 7 (one
quote a second, spread 0.02, 1,000 shown each side) under a 2/3 SMA crossover:
- quote 3 (mid 11): SMA2 10.5 > SMA3 10.33 → BUY; quote 5 (mid 9): SMA2 10.5 < 10.67 → SELL.
- Sizing: 100 shares; shorting allowed, so SELL targets -100.
- Paper fills on the next quote, never the signal's own: BUY 100 at quote 4's ask 12.01;
  SELL 200 (100 to flat, 100 short) at quote 6's bid 7.99. Fees: max(1, 0.01 x qty) per
  order: 1.00 + 2.00 = 3.00.
- Realized (gross): (7.99 - 12.01) x 100 = -402.00. Left: short 100 at 7.99, marked at the
  last mid 7: unrealized (7 - 7.99) x -100 = +99.00.
"""

from __future__ import annotations

import json
import socket
import sys
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

from consumers.lag import group_lag
from consumers.render import Received
from schemas.codec import serializer_for
from streams.context import app_id
from tests.integration.conftest import Scope
from tests.kit import stubs
from tests.kit.desk import SCRIPTED_MIDS, desk_toml
from tests.kit.etrade_server import FakeETrade
from tests.kit.topics import read_topic
from tests.kit.waiting import eventually
from tests.kit.worker import WorkerProcess

pytestmark = pytest.mark.integration

_CONFIG = desk_toml(mode="alert-only")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "trading.toml"
    path.write_text(_CONFIG)
    return path


@pytest.fixture
def quotes_csv(tmp_path: Path) -> Path:
    path = tmp_path / "acme.csv"
    rows = ["symbol,ts,bid,ask,bid_size,ask_size"]
    for i, mid in enumerate(SCRIPTED_MIDS):
        rows.append(f"ACME,2024-01-02T14:30:{i:02d}Z,{mid - 0.01:.2f},{mid + 0.01:.2f},1000,1000")
    path.write_text("\n".join(rows) + "\n")
    return path


def _worker(scope: Scope, config: Path, log: Path, mode: str, *extra: str) -> WorkerProcess:
    env = {**scope.env, "PRIMESTREAM_TRADING_MODE": mode}
    return WorkerProcess(env, ["--strategies", str(config), *extra], log)


@pytest.fixture
def logs(tmp_path: Path) -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.stop()
        sys.stderr.write(worker.tail())


def _caught_up(scope: Scope, *topics: str) -> bool:
    names = [scope.topic(t) for t in topics]
    lag = group_lag(scope.settings.bootstrap_servers or "", app_id(scope.settings), names)
    return lag is not None and sum(lag.values()) == 0


def _read(scope: Scope, topic: str) -> list[dict[str, Any]]:
    return [
        r.value for r in read_topic(scope.runtime, scope.topic(topic), idle_secs=1.5) if r.value
    ]


def test_paper_mode_turns_the_path_into_the_expected_orders_fills_and_position(
    scope: Scope, config: Path, quotes_csv: Path, tmp_path: Path, logs: list[WorkerProcess]
) -> None:
    scope.cli("produce", "market", "--source", f"csv:{quotes_csv}")
    worker = _worker(scope, config, tmp_path / "worker.log", "paper")
    logs.append(worker)
    worker.start()
    eventually(lambda: _caught_up(scope, "market.quotes"), timeout=120, message="caught up")

    signals = _read(scope, "signals")
    orders = _read(scope, "orders")
    fills = _read(scope, "fills")
    events = _read(scope, "orders.events")
    positions = _read(scope, "positions")

    assert [(s["side"], s["ref_price"]) for s in signals] == [("BUY", 11.0), ("SELL", 9.0)]
    assert [(o["side"], o["qty"], o["order_type"]) for o in orders] == [
        ("BUY", 100.0, "MARKET"),
        ("SELL", 200.0, "MARKET"),
    ]
    assert [o["signal_id"] for o in orders] == [s["id"] for s in signals]
    assert [(f["side"], f["qty"], f["price"], f["fee"]) for f in fills] == [
        ("BUY", 100.0, Decimal("12.01"), Decimal("1")),
        ("SELL", 200.0, Decimal("7.99"), Decimal("2")),
    ]
    t0 = stubs.T0_US
    assert [f["ts_event_us"] for f in fills] == [t0 + 4_000_000, t0 + 6_000_000]  # next quote
    assert [e["status"] for e in events] == ["NEW", "FILLED", "NEW", "FILLED"]
    final = positions[-1]
    assert final["qty"] == -100.0
    assert final["avg_price"] == pytest.approx(7.99)
    assert final["realized_pnl"] == Decimal("-402")
    assert final["fees"] == Decimal("3")
    assert final["last_mark"] == 7.0
    assert final["unrealized_pnl"] == pytest.approx(99.0)
    assert _read(scope, "alerts") == []
    assert _read(scope, "deadletter") == []

    pnl = json.loads(scope.cli("pnl", "--json").stdout)
    assert Decimal(pnl["total"]["realized_pnl"]) == Decimal("-402")
    assert Decimal(pnl["total"]["fees"]) == Decimal("3")


def test_alert_only_mode_sends_alerts_and_no_orders(
    scope: Scope, config: Path, quotes_csv: Path, tmp_path: Path, logs: list[WorkerProcess]
) -> None:
    scope.cli("produce", "market", "--source", f"csv:{quotes_csv}")
    worker = _worker(scope, config, tmp_path / "worker.log", "alert-only")
    logs.append(worker)
    worker.start()
    eventually(lambda: _caught_up(scope, "signals"), timeout=120, message="risk caught up")
    eventually(lambda: _caught_up(scope, "market.quotes"), timeout=60, message="signals done")

    alerts = _read(scope, "alerts")

    # No fills in alert-only mode: each alert is sized against the (flat) real position.
    assert [(a["order"]["side"], a["order"]["qty"]) for a in alerts] == [
        ("BUY", 100.0),
        ("SELL", 100.0),
    ]
    assert all(a["message"].startswith(a["order"]["side"]) for a in alerts)
    assert _read(scope, "orders") == []
    assert _read(scope, "fills") == []
    assert _read(scope, "positions") == []


def test_the_live_core_applies_each_fill_once_and_dead_letters_the_rest(
    scope: Scope, config: Path, tmp_path: Path, logs: list[WorkerProcess]
) -> None:
    # Live mode's trading core applies the venue's fills from `fills`, which an at-least-once
    # broker poller may write twice: consumed = applied + dead-lettered, nothing lost.
    encode = serializer_for("Fill", registry=None)
    fills = [
        stubs.fill("ACME", id="f-1", qty=100.0, price=Decimal("10"), fee=Decimal("1")),
        stubs.fill("ACME", id="f-2", side="SELL", qty=40.0, price=Decimal("12"), fee=Decimal("1")),
    ]
    producer = Producer({"bootstrap.servers": scope.settings.bootstrap_servers})
    topic = scope.topic("fills")
    for fill in [*fills, fills[0]]:  # the first one redelivered
        producer.produce(topic, encode(fill), b"ACME")
    producer.produce(topic, b"\x00not avro", b"ACME")
    producer.flush(10)
    port = _free_port()
    with FakeETrade() as fake:  # the venue the live worker reconciles with (flat, as we are)
        env = {**scope.env, "PRIMESTREAM_TRADING_MODE": "live", **_live_env(fake)}
        args = ["--strategies", str(config), "--web-port", str(port)]
        worker = WorkerProcess(env, args, tmp_path / "worker.log")
        logs.append(worker)
        worker.start()
        eventually(lambda: _caught_up(scope, "fills"), timeout=120, message="fills applied")

    positions = _read(scope, "positions")
    dead = [
        d
        for d in read_topic(scope.runtime, scope.topic("deadletter"), idle_secs=1.5)
        if d.headers["deadletter.stage"] == "trading"  # the one agent that reads fills
    ]

    assert [(p["qty"], p["version"]) for p in positions] == [(100.0, 1), (60.0, 2)]
    assert positions[-1]["realized_pnl"] == Decimal("80")  # (12 - 10) x 40
    assert sorted(_error_type(d) for d in dead) == ["DecodeError", "DuplicateFill"]
    assert len(positions) + len(dead) == 4  # consumed = applied + dead-lettered
    view = _get_json(f"http://127.0.0.1:{port}/positions/ACME/")
    assert [(p["qty"], p["realized_pnl"]) for p in view["positions"]] == [(60.0, "80.000000")]
    risk = _get_json(f"http://127.0.0.1:{port}/risk/")
    assert risk["mode"] == "live"


def _error_type(received: Received) -> str:
    return received.headers["deadletter.error.type"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def _live_env(fake: FakeETrade) -> dict[str, str]:
    """Settings that point the E*TRADE adapter at the local fake (secrets are test values)."""
    return {
        "PRIMESTREAM_ETRADE_CONSUMER_KEY": "ck-test",
        "PRIMESTREAM_ETRADE_CONSUMER_SECRET": "cs-test",
        "PRIMESTREAM_ETRADE_ACCESS_TOKEN": "at-test",
        "PRIMESTREAM_ETRADE_ACCESS_TOKEN_SECRET": "ats-test",
        "PRIMESTREAM_ETRADE_ACCOUNT_ID_KEY": fake.account_id_key,
        "PRIMESTREAM_ETRADE_BASE_URL": fake.url,
        "PRIMESTREAM_VENUE_POLL_SECS": "0.5",
    }


def _live_worker(scope: Scope, config: Path, log: Path, fake: FakeETrade) -> WorkerProcess:
    env = {**scope.env, "PRIMESTREAM_TRADING_MODE": "live", **_live_env(fake)}
    return WorkerProcess(env, ["--strategies", str(config)], log)


def _live_buy(
    scope: Scope, config: Path, tmp_path: Path, fake: FakeETrade, logs: list[WorkerProcess]
) -> WorkerProcess:
    """Start a live worker at FAKE, feed the first five scripted quotes, wait for its BUY."""
    worker = _live_worker(scope, config, tmp_path / "worker.log", fake)
    logs.append(worker)
    worker.start()
    scope.cli("produce", "market", "--source", f"csv:{_quotes(tmp_path / 'a.csv', range(5))}")
    eventually(lambda: len(fake.orders) == 1, timeout=120, message="BUY placed")
    return worker


def _quotes(path: Path, indices: range) -> Path:
    rows = ["symbol,ts,bid,ask,bid_size,ask_size"]
    for i in indices:
        mid = SCRIPTED_MIDS[i]
        rows.append(f"ACME,2024-01-02T14:30:{i:02d}Z,{mid - 0.01:.2f},{mid + 0.01:.2f},1000,1000")
    path.write_text("\n".join(rows) + "\n")
    return path


def _applied(scope: Scope, fill_id: str) -> bool:
    """True once the position table has applied FILL_ID (marks to market come between)."""
    return any(p["last_fill_id"] == fill_id for p in _read(scope, "positions"))


def test_live_mode_places_orders_at_the_venue_and_its_executions_become_fills_and_positions(
    scope: Scope, config: Path, tmp_path: Path, logs: list[WorkerProcess]
) -> None:
    # The venue fills what we tell it to, at the prices the paper test expects, between the
    # two halves of the path (a live fill arrives while the market moves on).
    with FakeETrade() as fake:
        _live_buy(scope, config, tmp_path, fake, logs)
        rest = _quotes(tmp_path / "b.csv", range(5, 8))
        (buy,) = fake.orders
        fake.fill(buy, 100, 12.01, executed_ms=stubs.T0_US // 1000 + 4_000)
        buy_id = _read(scope, "orders")[0]["id"]  # a fill is named for our order: <id>-<n>
        eventually(lambda: _applied(scope, f"{buy_id}-1"), timeout=60, message="BUY filled")
        scope.cli("produce", "market", "--source", f"csv:{rest}")
        eventually(lambda: len(fake.orders) == 2, timeout=60, message="SELL placed")
        sell = max(fake.orders)
        fake.fill(sell, 200, 7.99, executed_ms=stubs.T0_US // 1000 + 6_000)
        sell_id = _read(scope, "orders")[1]["id"]
        eventually(lambda: _applied(scope, f"{sell_id}-1"), timeout=60, message="SELL filled")
        places = fake.endpoints().count("place")

    orders = _read(scope, "orders")
    fills = _read(scope, "fills")
    events = _read(scope, "orders.events")
    final = _read(scope, "positions")[-1]

    assert [(o["side"], o["qty"], o["order_type"]) for o in orders] == [
        ("BUY", 100.0, "MARKET"),
        ("SELL", 200.0, "MARKET"),
    ]
    assert places == 2, "one place request per order"
    assert [(f["id"], f["side"], f["qty"], f["price"]) for f in fills] == [
        (f"{buy_id}-1", "BUY", 100.0, Decimal("12.01")),
        (f"{sell_id}-1", "SELL", 200.0, Decimal("7.99")),
    ]
    by_order = {o["id"]: [e["status"] for e in events if e["order_id"] == o["id"]] for o in orders}
    assert list(by_order.values()) == [["NEW", "FILLED"], ["NEW", "FILLED"]]
    assert final["qty"] == -100.0
    assert final["realized_pnl"] == Decimal("-402")
    assert _read(scope, "alerts") == []


def test_live_mode_does_not_start_when_the_venue_holds_other_positions(
    scope: Scope, config: Path, tmp_path: Path
) -> None:
    with FakeETrade() as fake:
        fake.positions["ACME"] = 50.0  # a position our books never saw
        worker = _live_worker(scope, config, tmp_path / "worker.log", fake)
        worker.start()
        assert worker.process is not None
        code = worker.process.wait(120)

    assert code != 0
    log = worker.tail()
    assert "trading does not start" in log
    assert "ACME: ours 0, venue 50" in log
    assert _read(scope, "orders") == []
