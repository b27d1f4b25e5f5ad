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
from streams.app import app_id
from tests.integration.conftest import Scope
from tests.kit import stubs
from tests.kit.topics import read_topic
from tests.kit.waiting import eventually
from tests.kit.worker import WorkerProcess

pytestmark = pytest.mark.integration

_MIDS = (10, 10, 10, 11, 12, 9, 8, 7)
_CONFIG = """
[strategies.cross]
kind = "ma_cross"
symbols = "*"
params = { fast = 2, slow = 3, ma = "sma" }

[risk]
mode = "alert-only"
min_confidence = 0.0
cooldown_secs = 0.0
allow_short = true
calendar = "none"

[sizing."*"]
kind = "fixed_qty"
qty = 100.0

[execution]
slippage_bps = 0.0
commission_per_share = 0.01
commission_min = 1.0
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "trading.toml"
    path.write_text(_CONFIG)
    return path


@pytest.fixture
def quotes_csv(tmp_path: Path) -> Path:
    path = tmp_path / "acme.csv"
    rows = ["symbol,ts,bid,ask,bid_size,ask_size"]
    for i, mid in enumerate(_MIDS):
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


def test_the_position_agent_applies_each_fill_once_and_dead_letters_the_rest(
    scope: Scope, config: Path, tmp_path: Path, logs: list[WorkerProcess]
) -> None:
    # Live mode runs the position table as its own agent over `fills`, which an at-least-once
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
    worker = _worker(scope, config, tmp_path / "worker.log", "live", "--web-port", str(port))
    logs.append(worker)
    worker.start()
    eventually(lambda: _caught_up(scope, "fills"), timeout=120, message="fills applied")

    positions = _read(scope, "positions")
    dead = [
        d
        for d in read_topic(scope.runtime, scope.topic("deadletter"), idle_secs=1.5)
        if d.headers["deadletter.stage"] == "positions"  # the risk gate reads fills too
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
