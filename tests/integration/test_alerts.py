"""Alerts reach a person's webhook from a real broker: alert-only orders, kill switch, health.

A real `primestream alerts run` reads the namespace's topics and posts to two real local
HTTP receivers: one refuses every post (each alert is counted as failed there, and the
dispatcher goes on), the other is down at first: the alert-only worker still writes every
alert (nothing waits for the webhook), and once the receiver is up the alerts arrive.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from consumers.lag import group_lag
from streams.context import app_id
from tests.integration.conftest import Scope
from tests.kit.desk import SCRIPTED_MIDS, desk_toml
from tests.kit.topics import read_topic
from tests.kit.waiting import eventually
from tests.kit.webhook_receiver import WebhookReceiver, free_port
from tests.kit.worker import CLI, WorkerProcess

pytestmark = pytest.mark.integration


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver(free_port())  # not started: the webhook is down
    yield hook
    hook.stop()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[list[Any]]:
    started: list[Any] = []
    yield started
    for process in started:
        process.stop()
        sys.stderr.write(process.tail())


class _Dispatcher:
    """`primestream alerts run` as a subprocess with its output in LOG."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [CLI, "alerts", "run"], env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def _caught_up(scope: Scope, *topics: str) -> bool:
    names = [scope.topic(t) for t in topics]
    lag = group_lag(scope.settings.bootstrap_servers or "", app_id(scope.settings), names)
    return lag is not None and sum(lag.values()) == 0


def _of_kind(receiver: WebhookReceiver, kind: str) -> list[dict[str, Any]]:
    return [b for b in receiver.received() if b["kind"] == kind]


def _delivered(metrics_port: int) -> dict[str, float]:
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read()
    counts = {}
    for line in text.decode().splitlines():
        if line.startswith("primestream_alert_deliveries_total{"):
            labels, value = line.rsplit(" ", 1)
            counts[labels.split("{", 1)[1].rstrip("}")] = float(value)
    return counts


def _quotes(tmp_path: Path) -> Path:
    """Write the scripted ACME path (BUY on quote 3, SELL on quote 5) as a quotes CSV."""
    quotes = tmp_path / "acme.csv"
    rows = ["symbol,ts,bid,ask,bid_size,ask_size"]
    for i, mid in enumerate(SCRIPTED_MIDS):
        rows.append(f"ACME,2024-01-02T14:30:{i:02d}Z,{mid - 0.01:.2f},{mid + 0.01:.2f},1000,1000")
    quotes.write_text("\n".join(rows) + "\n")
    return quotes


def _dispatcher_env(scope: Scope, urls: list[str], metrics_port: int) -> dict[str, str]:
    return {
        **scope.env,
        "PRIMESTREAM_ALERT_WEBHOOK_URLS": json.dumps(urls),
        "PRIMESTREAM_ALERT_START": "earliest",
        "PRIMESTREAM_ALERT_MAX_ATTEMPTS": "0",  # until delivered
        "PRIMESTREAM_ALERT_BACKOFF_SECS": "0.2",
        "PRIMESTREAM_ALERT_BACKOFF_MAX_SECS": "0.5",
        "PRIMESTREAM_ALERT_CHECK_SECS": "1",
        "PRIMESTREAM_METRICS_PORT": str(metrics_port),
    }


@pytest.fixture
def refusing() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver(free_port(), statuses=(404,) * 1000)  # a wrong URL, for ever
    hook.start()
    yield hook
    hook.stop()


def test_alert_only_orders_kill_switch_and_worker_health_reach_the_webhook(
    scope: Scope,
    tmp_path: Path,
    receiver: WebhookReceiver,
    refusing: WebhookReceiver,
    processes: list[Any],
) -> None:
    config = tmp_path / "trading.toml"
    config.write_text(desk_toml(mode="alert-only"))
    quotes = _quotes(tmp_path)
    metrics_port = free_port()
    # The refusing webhook comes first: each alert fails there, and still goes on.
    env = _dispatcher_env(scope, [refusing.url, f"json:{receiver.url}"], metrics_port)
    dispatcher = _Dispatcher(env, tmp_path / "alerts.log")
    processes.append(dispatcher)
    scope.cli("produce", "market", "--source", f"csv:{quotes}")
    worker = WorkerProcess(
        {**scope.env, "PRIMESTREAM_TRADING_MODE": "alert-only"},
        ["--strategies", str(config)],
        tmp_path / "worker.log",
    )
    processes.append(worker)
    worker.start()

    # The webhook is down, and the worker still writes its alerts: nothing waits for it.
    eventually(lambda: _caught_up(scope, "signals"), timeout=120, message="risk caught up")
    eventually(lambda: _caught_up(scope, "market.quotes"), timeout=60, message="signals done")
    on_topic = [r.value for r in read_topic(scope.runtime, scope.topic("alerts"), idle_secs=1.5)]
    assert [a["order"]["side"] for a in on_topic if a] == ["BUY", "SELL"]
    assert receiver.received() == []
    assert dispatcher.process.poll() is None, dispatcher.tail()

    receiver.start()  # it comes back: the retried alerts arrive
    alerts = eventually(
        lambda: (
            len(_of_kind(receiver, "alert_only_order")) >= 2
            and _of_kind(receiver, "alert_only_order")
        ),
        timeout=60,
        message="alerts delivered",
    )
    assert sorted((a["fields"]["side"], a["fields"]["symbol"]) for a in alerts) == [
        ("BUY", "ACME"),
        ("SELL", "ACME"),
    ]
    assert {a["id"] for a in alerts} == {f"alert:{a['signal_id']}" for a in on_topic if a}

    scope.cli("risk", "kill", "--reason", "desk halt")
    kills = eventually(lambda: _of_kind(receiver, "kill_switch_tripped"), 60, message="kill")
    assert kills[0]["fields"]["reason"] == "desk halt"
    assert kills[0]["fields"]["source"].startswith("operator:")
    scope.cli("risk", "reset")
    eventually(lambda: _of_kind(receiver, "kill_switch_reset"), 60, message="reset")
    # One KILL record went to each of the 2 partitions: one notice.
    assert len(_of_kind(receiver, "kill_switch_tripped")) == 1

    worker.stop()
    left = eventually(lambda: _of_kind(receiver, "worker_left"), 60, message="worker left")
    assert left[0]["fields"]["group"] == app_id(scope.settings)

    counted = _delivered(metrics_port)
    assert counted['kind="alert_only_order",outcome="delivered"'] == 2.0
    assert counted['kind="alert_only_order",outcome="failed"'] == 2.0  # the refusing one
    assert counted['kind="kill_switch_tripped",outcome="delivered"'] == 1.0
    assert dispatcher.process.poll() is None, dispatcher.tail()


def test_a_daily_loss_trip_in_paper_mode_reaches_the_webhook_once(
    scope: Scope, tmp_path: Path, receiver: WebhookReceiver, processes: list[Any]
) -> None:
    # The path loses 402.00 (+ 3.00 fees) on the SELL fill (tests/integration/test_trading.py);
    # the limit is 100.00, 50.00 per partition of 2: the fill's partition trips every one.
    config = tmp_path / "trading.toml"
    config.write_text(
        desk_toml(mode="paper").replace(
            "allow_short = true\n", "allow_short = true\nmax_daily_loss = 100.0\n"
        )
    )
    receiver.start()
    dispatcher = _Dispatcher(
        _dispatcher_env(scope, [f"json:{receiver.url}"], free_port()), tmp_path / "alerts.log"
    )
    processes.append(dispatcher)
    scope.cli("produce", "market", "--source", f"csv:{_quotes(tmp_path)}")
    worker = WorkerProcess(
        {**scope.env, "PRIMESTREAM_TRADING_MODE": "paper"},
        ["--strategies", str(config)],
        tmp_path / "worker.log",
    )
    processes.append(worker)
    worker.start()

    trips = eventually(lambda: _of_kind(receiver, "daily_loss_trip"), 120, message="trip")

    assert trips[0]["severity"] == "critical"
    assert trips[0]["fields"]["reason"] == (  # 402.00 gross + 3.00 fees, as the gate counts
        "daily loss: realized loss today 405.00 exceeds the limit 50.00"
    )
    assert trips[0]["fields"]["source"].startswith("risk/")
    assert _of_kind(receiver, "alert_only_order") == []  # paper mode sends orders, not alerts
    scope.cli("risk", "reset")
    eventually(lambda: _of_kind(receiver, "kill_switch_reset"), 60, message="reset")
    assert len(_of_kind(receiver, "daily_loss_trip")) == 1  # one KILL per partition: one notice
