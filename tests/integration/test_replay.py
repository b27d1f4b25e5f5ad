"""Record a paper run, replay it into another namespace: the same signals and fills.

The source namespace plays the live pipeline. Its quotes are replayed into a fresh
namespace, where a second paper worker runs: its signals, orders and fills must equal the
recorded run's, and nothing in the source namespace may change.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, TopicPartition

from consumers.lag import group_lag
from schemas.clients import Clients
from tests.integration.conftest import Scope
from tests.kit.desk import SCRIPTED_MIDS, desk_toml
from tests.kit.topics import read_topic
from tests.kit.waiting import eventually
from tests.kit.worker import WorkerProcess

pytestmark = pytest.mark.integration

_CONFIG = desk_toml(slippage_bps=None)  # no [execution]: the defaults
_MIDS = (*SCRIPTED_MIDS, 8, 9, 10, 9)
_TOPICS = ("market.quotes", "signals", "orders", "orders.events", "fills", "positions")


@pytest.fixture
def workers() -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.stop()
        sys.stderr.write(worker.tail(1500))


def _run_paper(scope: Scope, namespace: str, config: Path, log: Path) -> WorkerProcess:
    env = {**scope.env, "PRIMESTREAM_NAMESPACE": namespace, "PRIMESTREAM_TRADING_MODE": "paper"}
    worker = WorkerProcess(env, ["--strategies", str(config)], log)
    worker.start()
    group, topic = f"primestream-{namespace}", f"{namespace}.market.quotes"

    def caught_up() -> bool:
        lag = group_lag(scope.settings.bootstrap_servers or "", group, [topic])
        return lag is not None and sum(lag.values()) == 0

    eventually(caught_up, timeout=120, message=f"{namespace} caught up")
    return worker


def _values(scope: Scope, namespace: str, table: str) -> list[dict[str, Any]]:
    runtime = Clients(scope.settings.model_copy(update={"namespace": namespace}))
    return [r.value for r in read_topic(runtime, f"{namespace}.{table}", idle_secs=1.5) if r.value]


def _ends(scope: Scope, namespace: str) -> dict[str, int]:
    consumer = Consumer({"bootstrap.servers": scope.settings.bootstrap_servers, "group.id": "ends"})
    try:
        ends = {}
        for table in _TOPICS:
            topic = f"{namespace}.{table}"
            parts = consumer.list_topics(topic, timeout=10).topics[topic].partitions
            ends[topic] = sum(
                consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1]
                for p in parts
            )
        return ends
    finally:
        consumer.close()


def test_a_replay_reproduces_the_recorded_runs_signals_and_fills(
    scope: Scope, tmp_path: Path, workers: list[WorkerProcess]
) -> None:
    config = tmp_path / "paper.toml"
    config.write_text(_CONFIG)
    rows = ["symbol,ts,bid,ask,bid_size,ask_size"]
    for i, mid in enumerate(_MIDS):
        for symbol, shift in (("ACME", 0), ("BETA", 50)):
            m = mid + shift
            rows.append(f"{symbol},2024-01-02T14:30:{i:02d}Z,{m - 0.01:.2f},{m + 0.01:.2f},500,500")
    csv = tmp_path / "quotes.csv"
    csv.write_text("\n".join(rows) + "\n")
    scope.cli("produce", "market", "--source", f"csv:{csv}")
    recorded = scope.namespace
    workers.append(_run_paper(scope, recorded, config, tmp_path / "live.log"))
    before = _ends(scope, recorded)
    replayed = f"{recorded}r"

    done = scope.cli("replay", "--into", replayed, "--topics", "market.quotes,news.items")
    workers.append(_run_paper(scope, replayed, config, tmp_path / "replay.log"))

    assert f"replayed {len(_MIDS) * 2} records" in done.stdout
    signals = [s["id"] for s in _values(scope, recorded, "signals")]
    assert len(signals) >= 4, "the recorded run must trade enough to prove anything"
    assert sorted(s["id"] for s in _values(scope, replayed, "signals")) == sorted(signals)
    fills = [(f["id"], f["qty"], f["price"]) for f in _values(scope, recorded, "fills")]
    assert sorted((f["id"], f["qty"], f["price"]) for f in _values(scope, replayed, "fills")) == (
        sorted(fills)
    )
    assert _ends(scope, recorded) == before, "the recorded (live) topics are untouched"


def test_replaying_into_the_source_namespace_is_refused(scope: Scope) -> None:
    done = scope.cli("replay", "--into", scope.namespace, check=False)

    assert done.returncode == 2
    assert "--into must name another namespace" in done.stderr
