"""Live order control on a real broker: a live worker at the fake E*TRADE cancels what the
operator asks, closes a position `risk flatten` names through its risk gate, stops with exit
code 4 when its session expires; kill and flatten commands write what the gates and the
venue agent read."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer
from pydantic import SecretStr

from infra.clients import producer_config
from streams.execution.etrade_auth import REAUTHORIZE, StoredTokens, write_tokens
from streams.risk.checks import OPERATOR_FLATTEN
from streams.stop_request import SESSION_EXPIRED_EXIT
from tests.integration.conftest import Scope
from tests.integration.test_trading import _applied, _live_buy, _live_env, _quotes
from tests.kit import stubs
from tests.kit.desk import desk_toml
from tests.kit.etrade_server import FakeETrade, unauthorized
from tests.kit.topics import read_topic
from tests.kit.waiting import eventually
from tests.kit.worker import WorkerProcess

pytestmark = pytest.mark.integration


def _read(scope: Scope, topic: str) -> list[Any]:
    return list(read_topic(scope.runtime, scope.topic(topic), idle_secs=1.5))


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "trading.toml"
    path.write_text(desk_toml(mode="alert-only"))  # the mode comes from the environment
    return path


@pytest.fixture
def logs() -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.stop()
        sys.stderr.write(worker.tail())


def test_the_live_worker_cancels_on_request_and_stops_when_its_session_expires(
    scope: Scope, config: Path, tmp_path: Path, logs: list[WorkerProcess]
) -> None:
    with FakeETrade() as fake:
        worker = _live_buy(scope, config, tmp_path, fake, logs)
        (buy,) = [r.value for r in _read(scope, "orders")]

        scope.cli("orders", "cancel", buy["id"], "--reason", "test")

        eventually(
            lambda: [o.status for o in fake.orders.values()] == ["CANCELLED"],
            timeout=60, message="cancelled at the venue",
        )  # fmt: skip
        statuses = lambda: [r.value["status"] for r in _read(scope, "orders.events")]  # noqa: E731
        eventually(lambda: statuses() == ["NEW", "CANCELED"], timeout=60, message="CANCELED")

        # The token dies: E*TRADE answers 401 and refuses to renew it.
        fake.script("preview", unauthorized())
        fake.script("renew", *[unauthorized()] * 3)
        scope.cli(
            "produce", "market", "--source", f"csv:{_quotes(tmp_path / 'b.csv', range(5, 8))}"
        )
        assert worker.process is not None
        code = worker.process.wait(120)

    assert code == SESSION_EXPIRED_EXIT
    lines = [line for line in worker.tail().splitlines() if line.startswith("error:")]
    assert len(lines) == 1
    assert lines[0].startswith("error: the E*TRADE session expired")
    assert lines[0].endswith(f"; {REAUTHORIZE}"), "one instruction, the README's"
    assert lines[0].count("primestream etrade auth") == 1
    events = [r.value for r in _read(scope, "orders.events")]
    rejected = [e for e in events if e["status"] == "REJECTED"]
    assert len(rejected) == 1
    assert rejected[0]["reason"].startswith("venue session expired")
    assert len(fake.orders) == 1, "nothing placed after the session expired"


def test_flatten_closes_a_live_position_at_the_venue_through_the_gate_even_when_killed(
    scope: Scope, config: Path, tmp_path: Path, logs: list[WorkerProcess]
) -> None:
    with FakeETrade() as fake:
        _live_buy(scope, config, tmp_path, fake, logs)
        (buy,) = fake.orders
        fake.fill(buy, 100, 12.01, executed_ms=stubs.T0_US // 1000 + 4_000)
        buy_id = _read(scope, "orders")[0].value["id"]
        eventually(lambda: _applied(scope, f"{buy_id}-1"), timeout=60, message="BUY filled")
        scope.cli("risk", "kill", "--reason", "drill")  # stops new risk, not the flatten

        done = scope.cli("risk", "flatten")

        eventually(lambda: len(fake.orders) == 2, timeout=60, message="closing order placed")
        sell = max(fake.orders)
        fake.fill(sell, 100, 12.0, executed_ms=stubs.T0_US // 1000 + 9_000)
        flatten_id = _read(scope, "orders")[1].value["id"]
        eventually(lambda: _applied(scope, f"{flatten_id}-1"), timeout=60, message="SELL filled")
        venue_positions = dict(fake.positions)

    assert "ACME +100" in done.stdout
    closing = fake.orders[sell]
    assert (closing.symbol, closing.action, closing.quantity) == ("ACME", "SELL", 100)
    assert closing.price_type == "MARKET"
    (signal,) = [r.value for r in _read(scope, "signals") if r.value["side"] == "FLAT"]
    assert signal["strategy"] == OPERATOR_FLATTEN
    (placed,) = [r.value for r in _read(scope, "orders") if r.value["id"] == flatten_id]
    assert placed["signal_id"] == signal["id"], "the gate decided the closing order"
    assert (placed["side"], placed["qty"]) == ("SELL", 100.0)
    final = [r.value for r in _read(scope, "positions")][-1]
    assert final["qty"] == 0.0
    assert final["realized_pnl"] == Decimal("-1")  # (12.00 - 12.01) x 100
    assert venue_positions == {"ACME": 0.0}


def test_a_worker_started_with_an_expired_token_exits_4_before_trading(
    scope: Scope, config: Path, tmp_path: Path
) -> None:
    tokens = tmp_path / "tokens.json"
    yesterday_us = (int(time.time()) - 2 * 86_400) * 1_000_000
    write_tokens(
        tokens, StoredTokens(SecretStr("old-live-token"), SecretStr("old-secret"), yesterday_us)
    )
    with FakeETrade() as fake:
        env = {**scope.env, "PRIMESTREAM_TRADING_MODE": "live", **_live_env(fake),
               "PRIMESTREAM_ETRADE_TOKEN_FILE": str(tokens)}  # fmt: skip
        del env["PRIMESTREAM_ETRADE_ACCESS_TOKEN"], env["PRIMESTREAM_ETRADE_ACCESS_TOKEN_SECRET"]
        worker = WorkerProcess(env, ["--strategies", str(config)], tmp_path / "w.log")
        worker.start()
        assert worker.process is not None
        code = worker.process.wait(120)

    assert code == SESSION_EXPIRED_EXIT
    assert "error: the E*TRADE session expired" in worker.tail()
    assert "portfolio" not in fake.endpoints(), "nothing sent with a dead token"


def test_kill_cancels_open_orders_unless_told_to_keep_them(scope: Scope) -> None:
    scope.cli("risk", "kill", "--reason", "drill")
    scope.cli("risk", "kill", "--keep-orders")

    kills = [r.value for r in _read(scope, "risk.control")]
    cancels = [(r.partition, r.value) for r in _read(scope, "orders.cancel")]

    assert [k["action"] for k in kills] == ["KILL"] * 4  # two commands, two partitions
    assert sorted(p for p, _ in cancels) == [0, 1], "one cancel-all per partition, once"
    assert all(v["order_id"] is None for _, v in cancels)
    assert all(v["reason"] == "kill switch: drill" for _, v in cancels)


def test_flatten_sends_one_command_per_held_symbol_to_its_partition(scope: Scope) -> None:
    topic = scope.topic("positions")
    encode = scope.runtime.serializer("Position", topic)
    producer = Producer(producer_config(scope.settings, scope.settings.bootstrap_servers or ""))
    held = {"ACME": (100.0, 0), "BETA": (-50.0, 1), "FLAT": (0.0, 1)}
    for symbol, (qty, partition) in held.items():
        producer.produce(
            topic, encode(_position(symbol, qty)), symbol.encode(), partition=partition
        )
    producer.produce(topic, encode(_position("ACME", 40.0, version=2)), b"ACME", partition=0)
    assert producer.flush(30) == 0

    done = scope.cli("risk", "flatten")

    commands = [(r.partition, r.key, r.value) for r in _read(scope, "risk.control")]
    assert sorted((p, k, v["action"], v["symbol"]) for p, k, v in commands) == [
        (0, "ACME", "FLATTEN", "ACME"),
        (1, "BETA", "FLATTEN", "BETA"),
    ]
    assert "ACME +40" in done.stdout
    assert "BETA -50" in done.stdout


def _position(symbol: str, qty: float, version: int = 1) -> dict[str, Any]:
    return {
        "account": "default", "symbol": symbol, "qty": qty, "avg_price": 10.0,
        "realized_pnl": Decimal(0), "fees": Decimal(0), "last_mark": 10.0,
        "unrealized_pnl": 0.0, "version": version, "last_fill_id": f"f-{version}",
        "ts_event_us": stubs.T0_US + version,
    }  # fmt: skip


def test_reconcile_lists_each_position_and_exits_1_when_one_differs(
    scope: Scope, tmp_path: Path
) -> None:
    topic = scope.topic("positions")
    encode = scope.runtime.serializer("Position", topic)
    producer = Producer(producer_config(scope.settings, scope.settings.bootstrap_servers or ""))
    for symbol, qty in {"ACME": 10.0, "BETA": 0.0}.items():
        producer.produce(topic, encode(_position(symbol, qty)), symbol.encode())
    assert producer.flush(30) == 0
    with FakeETrade() as fake:
        env = {**scope.env, **_live_env(fake)}
        fake.positions = {"ACME": 10.0, "ZETA": 5.0}
        differs = scope.cli("etrade", "reconcile", check=False, env=env)
        fake.positions = {"ACME": 10.0}
        agrees = scope.cli("etrade", "reconcile", check=False, env=env)

    assert differs.returncode == 1, differs.stderr
    rows = {line.split("│")[1].strip(): line for line in differs.stdout.splitlines() if "│" in line}
    assert "differs" in rows["ZETA"], differs.stdout
    assert "ok" in rows["ACME"], differs.stdout
    assert "1 position(s) differ" in differs.stdout
    assert agrees.returncode == 0, agrees.stdout + agrees.stderr
    assert "positions agree" in agrees.stdout
