"""`primestream infra up | down | status | fetch`: the local Kafka broker, registry, Zipkin."""

from __future__ import annotations

import typer
from rich.table import Table

from cli.context import console
from infra import local
from infra.settings import get_settings
from infra.tracing_backend import ui_url

__all__ = ["app"]

app = typer.Typer(
    help="Start, stop and inspect the local Kafka broker, schema registry and tracing backend.",
    no_args_is_help=True,
)


def _say(line: str) -> None:
    console.print(f"[dim]·[/dim] {line}", highlight=False)


@app.command()
def up(
    registry: bool = typer.Option(
        None, "--registry/--no-registry", help="Also start the schema registry (default: settings)."
    ),
    tracing: bool = typer.Option(
        False, "--tracing/--no-tracing", help="Also start the tracing backend (Zipkin, UI + API)."
    ),
    secure: bool = typer.Option(
        False, "--secure", help="Broker with SASL_SSL (SCRAM-SHA-512), a local CA and ACLs."
    ),
    brokers: int = typer.Option(
        None,
        "--brokers",
        min=1,
        help="Brokers: 3 starts a replicated cluster (replication 3, min.insync.replicas 2). "
        "Default: the home's size, else PRIMESTREAM_BROKERS (1).",
    ),
) -> None:
    """Start the local broker(s) (and registry, and tracing backend); idempotent."""
    settings = get_settings()
    endpoints = local.up(
        settings,
        brokers=brokers,
        with_registry=registry,
        with_tracing=tracing,
        secure=secure,
        progress=_say,
    )
    console.print(f"[green]kafka[/green]    {endpoints.bootstrap_servers}")
    if secure:
        env_file = settings.home / "kafka" / "secure" / "client.env"
        console.print(
            f"[dim]clients: set -a; . {env_file}; set +a   (SASL_SSL settings, admin user)[/dim]",
            highlight=False,
        )
    registry_url = endpoints.schema_registry_url or "(none: single-object encoding)"
    console.print(f"[green]registry[/green] {registry_url}")
    for service in local.status(settings):
        if service.name == "tracing" and service.running and service.address:
            console.print(f"[green]tracing[/green]  {ui_url(service.address)}", highlight=False)
            console.print(
                f"[dim]send spans with PRIMESTREAM_TRACING_EXPORTER=zipkin "
                f"PRIMESTREAM_ZIPKIN_ENDPOINT={service.address}/api/v2/spans[/dim]",
                highlight=False,
            )
    status()


@app.command()
def down() -> None:
    """Stop what `infra up` started."""
    for line in local.down(get_settings()):
        console.print(line, highlight=False)


@app.command()
def status() -> None:
    """Show what runs where (a cluster: each broker, its id, address and whether it is alive)."""
    table = Table(title="local infra", header_style="bold cyan")
    for column in ("service", "broker", "state", "version", "address", "security", "pid", "log"):
        table.add_column(column, overflow="fold")
    for s in local.status(get_settings()):
        state = "[green]running[/green]" if s.running else "[red]stopped[/red]"
        broker = "" if s.broker_id is None else str(s.broker_id)
        table.add_row(
            s.name,
            broker,
            state,
            s.version or "",
            s.address or "",
            s.security or "",
            str(s.pid or ""),
            str(s.log_path or ""),
        )
    console.print(table)


@app.command()
def fetch() -> None:
    """Resolve the broker jars, registry app and Zipkin jar (once; cached); start nothing."""
    from infra.jars import apicurio_app, kafka_classpath, kafka_jar_version, zipkin_jar

    settings = get_settings()
    jars = kafka_classpath(settings.dist_dir, progress=_say)
    console.print(f"kafka {kafka_jar_version(jars)}: {len(jars)} jars resolved")
    if settings.registry and settings.schema_registry_url is None:
        console.print(f"registry app: {apicurio_app(settings.dist_dir, progress=_say)}")
    if settings.tracing_backend:
        console.print(f"tracing backend: {zipkin_jar(settings.dist_dir, progress=_say)}")
