"""The demo's second act: a real worker turns quotes and news into signals, shown as tables."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from confluent_kafka import Consumer
from rich.table import Table

from cli.context import Runtime, console
from consumers.lag import group_lag
from consumers.render import Received, records_table
from consumers.tail import TailRequest, tail
from infra.clients import consumer_config
from streams.app import app_id

__all__ = ["run_signal_stage"]

_CLI = str(Path(sys.executable).with_name("primestream"))
_INPUTS = ("market.quotes", "market.bars", "news.items")
_SIGNAL_COLUMNS = (
    "symbol",
    "strategy",
    "side",
    "strength",
    "confidence",
    "ref_price",
    "ts_event_us",
)


def _say(line: str) -> None:
    console.print(f"[dim]·[/dim] {line}", highlight=False)


def _wait_caught_up(runtime: Runtime, worker: subprocess.Popen[bytes], timeout: float) -> None:
    topics = [runtime.settings.topic(t) for t in _INPUTS]
    group = app_id(runtime.settings)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with {worker.returncode}")
        lag = group_lag(runtime.endpoints.bootstrap_servers, group, topics)
        if lag is not None and sum(lag.values()) == 0:
            return
        time.sleep(1.0)
    raise RuntimeError(f"the worker did not catch up within {timeout:.0f} s")


def _read_all(runtime: Runtime, name: str) -> list[Received]:
    topic = runtime.settings.topic(name)
    record = runtime.record_of(topic)
    consumer = Consumer(
        consumer_config(
            runtime.settings, runtime.endpoints.bootstrap_servers, f"demo-{uuid.uuid4().hex[:8]}"
        )
    )
    decode: Callable[[bytes], Mapping[str, Any] | None] = (
        runtime.deserializer(record) if record else (lambda b: {"bytes": len(b)})
    )
    try:
        request = TailRequest(topic, from_beginning=True, max_records=None, idle_secs=2.0)
        return list(tail(consumer, request, decode))
    finally:
        consumer.close()


def _summary(runtime: Runtime) -> None:
    signals = _read_all(runtime, "signals")
    dead = _read_all(runtime, "deadletter")
    console.print(records_table("latest signals (decoded)", signals[-10:], columns=_SIGNAL_COLUMNS))
    by_strategy = Counter((s.value or {}).get("strategy") for s in signals)
    table = Table(title="signals by strategy, dead letters by reason", header_style="bold cyan")
    table.add_column("what")
    table.add_column("count", justify="right")
    for strategy, count in by_strategy.most_common():
        table.add_row(f"signals: {strategy}", f"{count:,}")
    reasons = Counter(d.headers.get("deadletter.error.message", "?").split(":")[0] for d in dead)
    for reason, count in reasons.most_common():
        table.add_row(f"[yellow]dead letter: {reason}[/yellow]", f"{count:,}")
    console.print(table)


def run_signal_stage(runtime: Runtime, produce_news: Callable[[], object]) -> None:
    """Start a worker, let it catch up, feed news after the quotes, show the signals."""
    _say("starting a streams worker ([bold]primestream worker[/bold])…")
    worker = subprocess.Popen(  # noqa: S603 - our own console script
        [_CLI, "worker"],
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_caught_up(runtime, worker, timeout=180)
        _say("worker caught up on market data; publishing live news after it…")
        produce_news()
        _wait_caught_up(runtime, worker, timeout=120)
        _summary(runtime)
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()
        _say(f"worker stopped (exit {worker.returncode})")
