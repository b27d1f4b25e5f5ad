"""The signal engine on a real broker: expected signals, dead letters, kill -9 and restart."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Producer

from consumers.lag import group_lag
from consumers.render import Received
from streams.context import app_id
from streams.engine import EngineSettings, Event, SymbolEngine
from streams.strategies import load_config
from tests.integration.conftest import Scope
from tests.kit.topics import read_topic
from tests.kit.waiting import eventually
from tests.kit.worker import CLI as _CLI
from tests.kit.worker import WorkerProcess as Worker

pytestmark = pytest.mark.integration

_STRATEGIES = """
[strategies.sma_cross]
kind = "ma_cross"
symbols = "*"
params = { fast = 5, slow = 20, ma = "sma" }

[strategies.news]
kind = "sentiment_momentum"
symbols = "*"
params = { half_life_secs = 3600.0, threshold = 0.3 }
"""


@pytest.fixture
def strategies(tmp_path: Path) -> Path:
    path = tmp_path / "strategies.toml"
    path.write_text(_STRATEGIES)
    return path


@pytest.fixture
def worker(scope: Scope, strategies: Path, tmp_path: Path) -> Iterator[Worker]:
    running = Worker(scope.env, ["--strategies", str(strategies)], tmp_path / "worker.log")
    try:
        yield running
    finally:
        running.stop()
        sys.stderr.write(running.tail())


def _expected_signal_ids(scope: Scope, strategies: Path) -> list[str]:
    """Run the engine offline over the quotes as they sit on the topic (per-symbol order)."""
    config = load_config(strategies)
    engines: dict[str, SymbolEngine] = {}
    ids: list[str] = []
    for received in read_topic(scope.runtime, scope.topic("market.quotes")):
        if received.value is None:
            continue
        symbol = received.value["symbol"]
        engine = engines.setdefault(symbol, SymbolEngine(symbol, config, EngineSettings()))
        event = Event("quote", received.value["ts_event_us"], dict(received.value))
        ids += [s["id"] for s in engine.on_event(event).signals]
    return ids


def _committed_to_end(scope: Scope, topic: str) -> bool:
    """True when the worker's group has committed every record of TOPIC."""
    lag = group_lag(scope.settings.bootstrap_servers or "", app_id(scope.settings), [topic])
    return lag is not None and sum(lag.values()) == 0


def _signals(scope: Scope) -> list[Received]:
    return read_topic(scope.runtime, scope.topic("signals"), idle_secs=2.0)


def test_quotes_become_the_expected_signals_and_garbage_is_dead_lettered(
    scope: Scope, strategies: Path, worker: Worker
) -> None:
    scope.cli(
        "produce", "market", "--source", "synthetic:symbols=AAPL,MSFT,GOOG,seed=7", "--max", "3000"
    )
    garbage = Producer({"bootstrap.servers": scope.settings.bootstrap_servers})
    garbage.produce(scope.topic("market.quotes"), b"\x00garbage that is not avro", b"AAPL")
    garbage.flush(10)

    worker.start()
    topic = scope.topic("market.quotes")
    eventually(lambda: _committed_to_end(scope, topic), timeout=120, message="worker caught up")

    expected = _expected_signal_ids(scope, strategies)
    produced = [r.value["id"] for r in _signals(scope) if r.value]
    assert len(expected) > 10
    missing, extra = set(expected) - set(produced), set(produced) - set(expected)
    assert (len(missing), len(extra)) == (0, 0), (
        f"{len(missing)} of {len(expected)} expected signals missing, {len(extra)} unexpected "
        f"(e.g. missing {sorted(missing)[:3]}, unexpected {sorted(extra)[:3]})"
    )
    assert len(produced) == len(expected)
    dead = read_topic(scope.runtime, scope.topic("deadletter"), idle_secs=2.0)
    assert len(dead) == 1
    assert dead[0].headers["deadletter.error.type"] == "DecodeError"
    assert dead[0].headers["deadletter.source.topic"] == topic
    assert worker.alive(), "the worker keeps going after bad input"


def test_news_sentiment_fires_the_news_strategy(
    scope: Scope, strategies: Path, worker: Worker
) -> None:
    # Event time orders a symbol's records: the news comes after the quotes (14:30:00-49),
    # and is produced once the quotes are processed, as a live feed would deliver it.
    scope.cli("produce", "market", "--source", "synthetic:symbols=AAPL,seed=1", "--max", "50")
    worker.start()
    quotes = scope.topic("market.quotes")
    eventually(lambda: _committed_to_end(scope, quotes), timeout=120, message="quotes done")
    scope.cli(
        "produce",
        "news",
        "--source",
        "synthetic:symbols=AAPL,seed=5,start=2024-01-02T14:31:00+00:00",
        "--max",
        "40",
    )

    def news_signals() -> list[dict[str, Any]]:
        return [r.value for r in _signals(scope) if r.value and r.value["strategy"] == "news"]

    found = eventually(news_signals, timeout=120, message="a news signal")
    assert all(t.startswith("news:") for s in found for t in s["trigger_ids"])
    assert read_topic(scope.runtime, scope.topic("deadletter"), idle_secs=1.0) == []


def test_kill_9_and_restart_gives_the_signals_of_an_uninterrupted_run(
    scope: Scope, strategies: Path, worker: Worker
) -> None:
    feed = subprocess.Popen(
        [
            _CLI,
            "produce",
            "market",
            "--source",
            "synthetic:symbols=AAPL,MSFT,GOOG,AMZN,seed=11,count=30000",
            "--rate",
            "3000",
        ],
        env=scope.env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        worker.start()
        eventually(lambda: len(_signals(scope)) > 20, timeout=120, message="first signals")
        worker.kill()
        worker.start()
        assert feed.wait(120) == 0
    finally:
        if feed.poll() is None:
            feed.kill()
    topic = scope.topic("market.quotes")
    eventually(lambda: _committed_to_end(scope, topic), timeout=180, message="caught up")

    expected = _expected_signal_ids(scope, strategies)
    produced = [r.value["id"] for r in _signals(scope) if r.value]
    duplicates = {i: n for i, n in _counts(produced).items() if n > 1}
    assert duplicates == {}, "read_committed readers see each signal once"
    missing, extra = set(expected) - set(produced), set(produced) - set(expected)
    assert (len(missing), len(extra)) == (0, 0), (
        f"{len(missing)} of {len(expected)} expected signals missing, {len(extra)} unexpected "
        f"(e.g. missing {sorted(missing)[:3]}, unexpected {sorted(extra)[:3]})"
    )
    assert len(produced) == len(expected)


def _counts(ids: list[str]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for i in ids:
        counts[i] += 1
    return counts
