"""A paper-mode `primestream worker` subprocess, for the demo and for backtests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cli.context import console
from consumers.lag import group_lag
from schemas.clients import Clients
from streams.context import app_id

__all__ = ["PaperWorkerProcess"]

_CLI = str(Path(sys.executable).with_name("primestream"))
_INPUTS = ("market.quotes", "market.bars", "news.items")


def _say(line: str) -> None:
    console.print(f"[dim]·[/dim] {line}", highlight=False)


def _wait_caught_up(runtime: Clients, worker: subprocess.Popen[bytes], timeout: float) -> None:
    topics = [runtime.settings.topic(t) for t in _INPUTS]
    group = app_id(runtime.settings)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if worker.poll() is not None:
            raise RuntimeError(f"the worker exited with {worker.returncode}")
        lag = group_lag(
            runtime.endpoints.bootstrap_servers, group, topics, settings=runtime.settings
        )
        if lag is not None and sum(lag.values()) == 0:
            return
        time.sleep(1.0)
    raise RuntimeError(f"the worker did not catch up within {timeout:.0f} s")


class PaperWorkerProcess:
    """A paper-mode `primestream worker` subprocess (demo, backtest); SIGTERM on exit.

    Its output goes to LOG when given (a backtest keeps it beside its report), else nowhere.
    """

    def __init__(
        self,
        runtime: Clients,
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

    def __enter__(self) -> PaperWorkerProcess:
        _say("starting a streams worker in paper mode ([bold]primestream worker[/bold])…")
        out = self._log.open("ab") if self._log else None
        try:
            self._process = subprocess.Popen(  # noqa: S603 - our own console script
                [_CLI, "worker", *self._args, *(["--loglevel", "info"] if out else [])],
                env={
                    **os.environ,
                    "PRIMESTREAM_TRADING_MODE": "paper",
                    "PRIMESTREAM_NAMESPACE": self._runtime.settings.namespace,
                    # The command's own settings, which may differ from the environment's
                    # (a backtest: one partition, its --capital as risk.capital).
                    "PRIMESTREAM_PARTITIONS": str(self._runtime.settings.partitions),
                    "PRIMESTREAM_STRATEGY_OVERRIDES": json.dumps(
                        self._runtime.settings.strategy_overrides
                    ),
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
