"""The `primestream` command: one typer app, one sub-app per area."""

from __future__ import annotations

import logging
import signal
import sys

import typer
from pydantic import ValidationError

from cli import (
    alerts_command,
    backtest_command,
    deadletter_commands,
    demo_command,
    etrade_commands,
    export_command,
    infra_commands,
    namespace_commands,
    order_commands,
    perf_command,
    pnl_command,
    produce_commands,
    replay_command,
    risk_commands,
    status_command,
    tail_command,
    topic_commands,
    worker_command,
)
from infra.exceptions import PrimestreamError
from infra.settings import chosen_namespace, get_settings

__all__ = ["app", "main"]

app = typer.Typer(
    name="primestream",
    help="A Kafka-native trading pipeline: market data and news in, signals, orders, fills out.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _announce_namespace(ctx: typer.Context) -> None:
    """Say which namespace a command reads when `namespaces use` chose it, not the env."""
    settings = get_settings()
    if ctx.invoked_subcommand == "namespaces":
        return  # they name namespaces themselves
    if settings.namespace and chosen_namespace(settings.home) == settings.namespace:
        from cli.context import err_console

        err_console.print(
            f"[dim]namespace {settings.namespace} (from `primestream namespaces use`)[/dim]",
            highlight=False,
        )


def _settings_error(exc: ValidationError) -> str:
    """Return one line naming each bad PRIMESTREAM_* setting and why."""
    parts = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"])
        parts.append(f"PRIMESTREAM_{field.upper()}: {error['msg']} (got {error['input']!r})")
    return "bad setting: " + "; ".join(parts)


app.add_typer(infra_commands.app, name="infra")
app.add_typer(topic_commands.app, name="topics")
app.add_typer(produce_commands.app, name="produce")
app.add_typer(risk_commands.app, name="risk")
app.add_typer(namespace_commands.app, name="namespaces")
app.add_typer(perf_command.app, name="perf")
app.add_typer(deadletter_commands.app, name="deadletter")
app.add_typer(alerts_command.app, name="alerts")
app.add_typer(etrade_commands.app, name="etrade")
app.add_typer(order_commands.app, name="orders")
app.command("tail")(tail_command.tail_command)
app.command("demo")(demo_command.demo_command)
app.command("worker")(worker_command.worker_command)
app.command("pnl")(pnl_command.pnl_command)
app.command("export")(export_command.export_command)
app.command("replay")(replay_command.replay_command)
app.command("status")(status_command.status_command)
app.command("backtest")(backtest_command.backtest_command)


def main() -> None:
    """Run the CLI; a PrimestreamError ends it with one line and exit code 2."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # SIGTERM behaves like Ctrl-C, so every command runs its clean-up path.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        app()
    except PrimestreamError as exc:
        from cli.context import fail

        fail(str(exc))
    except ValidationError as exc:
        from cli.context import fail

        fail(_settings_error(exc) if exc.title == "Settings" else str(exc))
    except KeyboardInterrupt:
        sys.exit(130)
