"""`primestream worker`: run one faust worker of the streams app (Ctrl-C stops it cleanly)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import typer

from cli.context import fail
from infra.clock import wall_clock_us
from infra.process import port_in_use
from infra.run_files import WorkerRunFile, remove_run_file, write_run_file
from schemas.clients import Clients

__all__ = ["worker_command"]


def _local_address(host: str) -> str:
    """Return where a process on this machine reaches a server bound to HOST."""
    if host in ("", "0.0.0.0", "::"):  # noqa: S104 - every interface: loopback is one
        return "127.0.0.1"
    return f"[{host}]" if ":" in host else host


def worker_command(
    strategies: Path = typer.Option(
        None, "--strategies", help="Strategy TOML (default: settings)."
    ),
    web_port: int = typer.Option(None, "--web-port", help="Serve the worker's web views here."),
    web_host: str = typer.Option(
        None,
        "--web-host",
        help="Address the web views bind to (default: PRIMESTREAM_WEB_HOST, 127.0.0.1; "
        "0.0.0.0: every interface).",
    ),
    loglevel: str = typer.Option("warning", "--loglevel", help="debug, info, warning or error."),
) -> None:
    """Start a worker; several workers share the consumer group and split the partitions."""
    from faust.worker import Worker

    from streams.app import build_app
    from streams.context import load_trading_config, strategy_config_path
    from streams.diagnostics import install_task_dump

    runtime = Clients()
    settings = runtime.settings
    host = web_host or settings.web_host
    if web_port is not None and ":" not in host and port_in_use(web_port, host):
        # Checked before anything starts: faust would fail later with a traceback.
        fail(f"cannot serve the web views on {host}:{web_port}: the port is taken")
    runtime.endpoints  # noqa: B018 - a secured broker must answer now: one clear error, no spin
    if load_trading_config(strategy_config_path(settings, strategies), settings).mode == "live":
        from cli.live_start import require_live_start

        require_live_start(runtime)
    built = build_app(runtime, strategy_config=strategies, web_port=web_port, web_host=host)
    app = built.app
    worker = Worker(app, loglevel=loglevel, quiet=True)
    web_url = f"http://{_local_address(host)}:{web_port}" if web_port else None
    me = WorkerRunFile(
        pid=os.getpid(),
        group=app.conf.id,
        client_id=built.client_id,
        host=socket.gethostname(),
        web_url=web_url,
        started_at_us=wall_clock_us(),
    )
    # faust's terminal spinner sets the root logger to DEBUG for itself: every debug record
    # in the hot path would then be built and thrown away (6-8% of a worker's CPU).
    worker.spinner = None
    install_task_dump(worker.loop)
    write_run_file(settings.home, me)  # how `primestream status` finds this worker
    try:
        worker.execute_from_commandline()
    except SystemExit:
        stop = built.context.stop
        if stop.reason is None:
            raise
        fail(stop.reason, code=stop.exit_code)
    finally:
        remove_run_file(settings.home, me.pid)
