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

__all__ = ["DemoWorker", "read_all", "show_signals", "show_trading"]

_CLI = str(Path(sys.executable).with_name("primestream"))
_INPUTS = ("market.quotes", "market.bars", "news.items")
_ORDER_COLUMNS = ("symbol", "side", "qty", "order_type", "strategy", "ts_event_us")
_FILL_COLUMNS = ("symbol", "side", "qty", "price", "fee", "order_id", "ts_event_us")
_POSITION_COLUMNS = ("symbol", "qty", "avg_price", "realized_pnl", "fees", "last_mark")
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


def read_all(runtime: Runtime, name: str) -> list[Received]:
    """Return every committed record of the namespace's NAME topic (raw sizes if not Avro)."""
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


def show_trading(runtime: Runtime) -> None:
    """Print the latest orders and fills, the final positions, and the P&L report."""
    from consumers.pnl import pnl_report
    from consumers.pnl_render import report_view

    orders = read_all(runtime, "orders")
    rejected = read_all(runtime, "orders.rejected")
    fills = read_all(runtime, "fills")
    positions = read_all(runtime, "positions")
    console.print(records_table("latest orders (paper)", orders[-6:], columns=_ORDER_COLUMNS))
    console.print(records_table("latest fills", fills[-6:], columns=_FILL_COLUMNS))
    latest = list({p.key: p for p in positions}.values())
    title = "positions (latest per symbol)"
    console.print(records_table(title, latest, columns=_POSITION_COLUMNS))
    rules = Counter((r.value or {}).get("rule") for r in rejected)
    why = ", ".join(f"{rule}: {count:,}" for rule, count in rules.most_common())
    _say(f"{len(orders):,} orders, {len(fills):,} fills, {len(rejected):,} refused ({why})")
    fill_values = [f.value for f in fills if f.value]
    report = pnl_report(fill_values, [p.value for p in positions if p.value])
    console.print(report_view(report))


def show_signals(runtime: Runtime) -> None:
    """Print the latest signals and the counts by strategy and dead-letter reason."""
    signals = read_all(runtime, "signals")
    dead = read_all(runtime, "deadletter")
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


class DemoWorker:
    """A paper-mode `primestream worker` subprocess (demo, backtest); SIGTERM on exit.

    Its output goes to LOG when given (a backtest keeps it beside its report), else nowhere.
    """

    def __init__(
        self,
        runtime: Runtime,
        *,
        strategies: Path | None = None,
        log: Path | None = None,
        web_port: int | None = None,
        keep: bool = False,
    ) -> None:
        self._runtime = runtime
        self._args = ["--strategies", str(strategies)] if strategies else []
        if web_port is not None:
            self._args += ["--web-port", str(web_port)]
        self._log = log
        # KEEP: a demo leaves its worker serving (metrics, /ready) after a clean end, in a
        # session of its own so the terminal's Ctrl-C does not reach it; `infra down` stops it.
        self._keep = keep
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> DemoWorker:
        _say("starting a streams worker in paper mode ([bold]primestream worker[/bold])…")
        out = self._log.open("ab") if self._log else None
        try:
            self._process = subprocess.Popen(  # noqa: S603 - our own console script
                [_CLI, "worker", *self._args, *(["--loglevel", "info"] if out else [])],
                env={
                    **os.environ,
                    "PRIMESTREAM_TRADING_MODE": "paper",
                    "PRIMESTREAM_NAMESPACE": self._runtime.settings.namespace,
                },
                stdout=out or subprocess.DEVNULL,
                stderr=subprocess.STDOUT if out else subprocess.DEVNULL,
                start_new_session=self._keep,
            )
        finally:
            if out:
                out.close()
        return self

    def exit_code(self) -> int | None:
        """Return the worker's exit code once it has exited, else None."""
        return None if self._process is None else self._process.poll()

    def caught_up(self, timeout: float = 180.0) -> None:
        """Return once the worker has committed every input record; raise if it died."""
        assert self._process is not None
        _wait_caught_up(self._runtime, self._process, timeout)

    def __exit__(self, exc_type: object, *exc: object) -> None:
        worker = self._process
        if worker is None:
            return
        if self._keep and exc_type is None and worker.poll() is None:
            _say(f"the worker keeps running (pid {worker.pid}): `primestream infra down` stops it")
            return
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(60)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait(10)
        _say(f"worker stopped (exit {worker.returncode})")
