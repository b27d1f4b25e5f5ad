"""The `primestream` command: one typer app, one sub-app per area.

A command loads only its own module: `main` registers the one the command line names
(all of them for top-level help or an unknown name), so `primestream namespaces list` does
not import numpy, pandas, httpx and OpenTelemetry for commands it does not run. That took
every command ~0.5 s, paid by each of a README's ~100 commands and by scripts calling the
CLI in loops. `build_app()` with no name registers everything (tests, `app`).
"""

from __future__ import annotations

import importlib
import logging
import signal
import sys
from typing import Any

import typer
from pydantic import ValidationError

from infra.exceptions import PrimestreamError
from infra.settings import chosen_namespace, get_settings

__all__ = ["COMMANDS", "GROUPS", "build_app", "main"]  # and `app`, built on first use

# sub-app name -> its module under cli/ (whose `app` it is)
GROUPS = {
    "infra": "infra_commands",
    "topics": "topic_commands",
    "produce": "produce_commands",
    "risk": "risk_commands",
    "namespaces": "namespace_commands",
    "perf": "perf_command",
    "deadletter": "deadletter_commands",
    "alerts": "alerts_command",
    "etrade": "etrade_commands",
    "orders": "order_commands",
}
# command name -> its module under cli/ (whose function of the same name it is)
COMMANDS = {
    name: f"{name}_command"
    for name in ("tail", "demo", "worker", "pnl", "export", "replay", "status", "backtest")
}


def build_app(only: str | None = None) -> typer.Typer:
    """Return the CLI with every command, or with ONLY's when it names one."""
    app = _root()
    chosen = [only] if only in GROUPS or only in COMMANDS else [*GROUPS, *COMMANDS]
    for name in chosen:
        if name in GROUPS:
            app.add_typer(importlib.import_module(f"cli.{GROUPS[name]}").app, name=name)
        else:
            module = COMMANDS[name]
            app.command(name)(getattr(importlib.import_module(f"cli.{module}"), module))
    return app


def _root() -> typer.Typer:
    app = typer.Typer(
        name="primestream",
        help="A Kafka-native trading pipeline: market data and news in, "
        "signals, orders, fills out.",
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

    return app


def _settings_error(exc: ValidationError) -> str:
    """Return one line naming each bad PRIMESTREAM_* setting and why."""
    parts = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"])
        parts.append(f"PRIMESTREAM_{field.upper()}: {error['msg']} (got {error['input']!r})")
    return "bad setting: " + "; ".join(parts)


def __getattr__(name: str) -> Any:
    """`cli.main.app`: the whole CLI, built on first use."""
    if name == "app":
        app = build_app()
        globals()["app"] = app
        return app
    raise AttributeError(name)


def main() -> None:
    """Run the CLI; a PrimestreamError ends it with one line and exit code 2."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # SIGTERM behaves like Ctrl-C, so every command runs its clean-up path.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    words = [arg for arg in sys.argv[1:] if not arg.startswith("-")]
    try:
        build_app(words[0] if words else None)()
    except PrimestreamError as exc:
        from cli.context import fail

        fail(str(exc))
    except ValidationError as exc:
        from cli.context import fail

        fail(_settings_error(exc) if exc.title == "Settings" else str(exc))
    except KeyboardInterrupt:
        sys.exit(130)
