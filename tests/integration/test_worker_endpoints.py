"""A paper worker's /health, /ready and /metrics, and `primestream status`, on a real broker.

The scripted quote path of test_trading.py (BUY 100 filled at 12.01, SELL 200 at 7.99),
stamped a few seconds before it is produced, so the end-to-end latency measures the
pipeline, not the age of the data. Readiness: /ready is polled from the moment the
worker starts; every answer before the first 200 must be a 503 naming an assignment or
recovery check. Then the worker is stopped, its local table state deleted, and a second
worker must rebuild the tables from their changelogs: the instant its /ready first says
200, its /positions view must already serve the recovered position.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from confluent_kafka import Producer

from consumers.lag import group_lag
from infra.clock import wall_clock_us
from infra.run_files import read_run_files
from streams.context import app_id
from tests.integration.conftest import Scope
from tests.kit.desk import SCRIPTED_MIDS, desk_toml
from tests.kit.waiting import eventually
from tests.kit.worker import CLI, WorkerProcess

pytestmark = pytest.mark.integration

_CONFIG = desk_toml()
_INPUTS = {"market.quotes", "market.bars", "news.items", "risk.control"}
_SAMPLE = re.compile(r"^([a-z_]+)(?:\{([^}]*)\})? (\S+)$", re.MULTILINE)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "trading.toml"
    path.write_text(_CONFIG)
    return path


@pytest.fixture
def workers() -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.stop()
        sys.stderr.write(worker.tail())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(scope: Scope, config: Path, log: Path, port: int) -> WorkerProcess:
    env = {**scope.env, "PRIMESTREAM_TRADING_MODE": "paper"}
    worker = WorkerProcess(env, ["--strategies", str(config), "--web-port", str(port)], log)
    worker.start()
    return worker


def _quotes_near_now(path: Path) -> Path:
    """Write the scripted path, one quote a second, the last one stamped now."""
    start_s = wall_clock_us() // 1_000_000 - len(SCRIPTED_MIDS) + 1
    rows = ["symbol,ts,bid,ask,bid_size,ask_size"]
    for i, mid in enumerate(SCRIPTED_MIDS):
        ts = datetime.fromtimestamp(start_s + i, UTC).isoformat()
        rows.append(f"ACME,{ts},{mid - 0.01:.2f},{mid + 0.01:.2f},1000,1000")
    path.write_text("\n".join(rows) + "\n")
    return path


def _get(url: str) -> tuple[int, Any] | None:
    """Return (status, JSON body) of GET URL; None while nothing answers."""
    try:
        response = httpx.get(url, timeout=5.0)
    except httpx.TransportError:
        return None
    return response.status_code, response.json()


def _until_ready(port: int, worker: WorkerProcess) -> list[tuple[int, Any] | None]:
    """Poll /ready from now until its first 200; return every answer, in order."""
    answers: list[tuple[int, Any] | None] = []

    def ready() -> bool:
        assert worker.alive(), worker.tail()
        answer = _get(f"http://127.0.0.1:{port}/ready")
        answers.append(answer)
        return answer is not None and answer[0] == 200

    eventually(ready, timeout=180, interval=0.05, message="the worker is ready")
    return answers


def _assert_not_ready_until_assigned_and_recovered(answers: list[tuple[int, Any] | None]) -> None:
    before = [a for a in answers[:-1] if a is not None]
    assert before, "the web server never answered before the worker was ready"
    for status, body in before:
        assert status == 503
        assert body["ready"] is False
        assert body["failed"], body
        assert set(body["failed"]) <= {"assignment", "tables"}, body  # broker, registry: up


def _metrics(port: int) -> dict[tuple[str, frozenset[str]], float]:
    response = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10.0)
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    return {
        (name, frozenset((labels or "").split(",")) - {""}): float(value)
        for name, labels, value in _SAMPLE.findall(text)
    }


def _value(metrics: dict[tuple[str, frozenset[str]], float], name: str, **labels: str) -> float:
    want = {f'{k}="{v}"' for k, v in labels.items()}
    return sum(v for (n, ls), v in metrics.items() if n == name and want <= ls)


def _quotes_lag(port: int) -> list[float]:
    """Return the lag gauge of each market.quotes partition whose offsets are known."""
    seen = _metrics(port)
    return [
        value
        for (name, labels), value in seen.items()
        if name == "primestream_consumer_lag" and 'topic="market.quotes"' in labels
    ]


def _caught_up(scope: Scope) -> bool:
    topics = [scope.topic("market.quotes")]
    lag = group_lag(scope.settings.bootstrap_servers or "", app_id(scope.settings), topics)
    return lag is not None and sum(lag.values()) == 0


def test_ready_waits_for_assignment_and_recovery_and_metrics_count_the_trading(
    scope: Scope, config: Path, tmp_path: Path, workers: list[WorkerProcess]
) -> None:
    port = _free_port()
    worker = _start(scope, config, tmp_path / "first.log", port)
    workers.append(worker)

    answers = _until_ready(port, worker)

    _assert_not_ready_until_assigned_and_recovered(answers)
    assert answers[-1] is not None
    ready = answers[-1][1]
    assert ready["failed"] == []
    assert {t for t, _ in ready["partitions"]} == _INPUTS
    assert sorted(ready["checks"]) == sorted(
        ["assignment", "tables", "broker"]
        + (["registry"] if scope.settings.schema_registry_url else [])
    )
    assert _get(f"http://127.0.0.1:{port}/health") == (200, {"alive": True, "pid": ready["pid"]})

    scope.cli("produce", "market", "--source", f"csv:{_quotes_near_now(tmp_path / 'q.csv')}")
    producer = Producer({"bootstrap.servers": scope.settings.bootstrap_servers})
    producer.produce(scope.topic("market.quotes"), b"\x00not avro", b"ACME")
    producer.flush(10)
    eventually(lambda: _caught_up(scope), timeout=120, message="the quotes are processed")
    seen = _metrics(port)

    desk = {"agent": "trading"}
    assert _value(seen, "primestream_records_in_total", topic="market.quotes", **desk) == 9
    assert _value(seen, "primestream_records_out_total", topic="orders", **desk) == 2
    assert _value(seen, "primestream_records_out_total", topic="fills", **desk) == 2
    assert _value(seen, "primestream_records_out_total", topic="deadletter", **desk) == 1
    assert _value(seen, "primestream_deadletters_total", reason="DecodeError") == 1
    assert _value(seen, "primestream_orders_total", status="NEW") == 2
    assert _value(seen, "primestream_orders_total", status="FILLED") == 2
    assert _value(seen, "primestream_fills_total", side="BUY") == 1
    assert _value(seen, "primestream_fills_total", side="SELL") == 1
    batches = _value(seen, "primestream_stage_latency_seconds_count", stage="trading")
    assert batches >= 1
    assert _value(seen, "primestream_stage_latency_seconds_sum", stage="trading") > 0
    updates = _value(seen, "primestream_end_to_end_latency_seconds_count", **desk)
    assert updates >= 2  # one per fill, and marks
    mean_secs = _value(seen, "primestream_end_to_end_latency_seconds_sum", **desk) / updates
    assert 0 < mean_secs < 120, "measured from event times a few seconds old, not from 2024"
    eventually(lambda: _quotes_lag(port) == [0.0, 0.0], timeout=30, message="the lag gauge")

    status = json.loads(scope.cli("status", "--json").stdout)
    (row,) = status["workers"]
    assert row["member"] == ready["client_id"]
    assert worker.process is not None
    assert row["pid"] == worker.process.pid
    assert row["partitions"] == {topic: [0, 1] for topic in sorted(_INPUTS)}
    assert row["lag"] == 0
    assert row["ready"] is True
    assert "DecodeError" in row["last_error"]
    table = scope.cli("status").stdout
    assert ready["client_id"] in table
    assert "market.quotes 0,1" in table

    # Restart from nothing local: the tables come back from their changelogs only.
    worker.stop()
    assert read_run_files(scope.settings.home, app_id(scope.settings)) == []
    assert "no worker of group" in scope.cli("status").stdout
    shutil.rmtree(scope.settings.home / "workers" / app_id(scope.settings))
    port = _free_port()
    second = _start(scope, config, tmp_path / "second.log", port)
    workers.append(second)

    answers = _until_ready(port, second)
    position = _get(f"http://127.0.0.1:{port}/positions/ACME/")

    _assert_not_ready_until_assigned_and_recovered(answers)
    assert position is not None
    assert position[0] == 200, "ready, but the positions table is not recovered"
    assert [(p["qty"], p["realized_pnl"]) for p in position[1]["positions"]] == [
        (-100.0, "-402.000000")
    ]


def test_a_producer_serves_its_counts_while_it_publishes(scope: Scope, tmp_path: Path) -> None:
    rows = ["symbol,ts,bid,ask,bid_size,ask_size", "ACME,2024-01-02T14:30:00Z,nan,10.01,1,1"]
    rows += [f"ACME,2024-01-02T14:31:{i:02d}Z,9.99,10.01,1,1" for i in range(40)]
    source = tmp_path / "paced.csv"
    source.write_text("\n".join(rows) + "\n")
    port = _free_port()
    env = {**scope.env, "PRIMESTREAM_METRICS_PORT": str(port)}
    args = ["produce", "market", "--source", f"csv:{source}", "--rate", "10"]
    producer = subprocess.Popen([CLI, *args], env=env, stdout=subprocess.DEVNULL)
    topic = {"topic": "market.quotes"}

    def midway() -> bool:
        try:
            seen = _metrics(port)
        except httpx.TransportError:
            return False
        produced = _value(seen, "primestream_producer_records_total", outcome="produced", **topic)
        return 0 < produced < 40

    try:
        eventually(midway, timeout=60, interval=0.1, message="counts seen while publishing")
        seen = _metrics(port)
    finally:
        code = producer.wait(60)

    assert _value(seen, "primestream_producer_records_total", outcome="rejected", **topic) == 1
    assert _value(seen, "primestream_producer_records_total", outcome="failed", **topic) == 0
    assert code == 1  # a row was rejected
    with pytest.raises(httpx.TransportError):  # gone with the process
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5.0)
