"""`primestream worker`: run one faust worker of the streams app (Ctrl-C stops it cleanly)."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.context import Runtime

__all__ = ["worker_command"]


def worker_command(
    strategies: Path = typer.Option(
        None, "--strategies", help="Strategy TOML (default: settings)."
    ),
    web_port: int = typer.Option(None, "--web-port", help="Serve the worker's web views here."),
    loglevel: str = typer.Option("warning", "--loglevel", help="debug, info, warning or error."),
) -> None:
    """Start a worker; several workers share the consumer group and split the partitions."""
    from faust.worker import Worker

    from streams.app import build_app

    runtime = Runtime()
    app = build_app(
        runtime.settings, runtime.endpoints, strategy_config=strategies, web_port=web_port
    )
    Worker(app, loglevel=loglevel, quiet=True).execute_from_commandline()
