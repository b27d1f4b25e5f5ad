"""`primestream topics apply | list`: the topic table, applied idempotently."""

from __future__ import annotations

import typer
from confluent_kafka.admin import AdminClient
from rich.table import Table

from cli.context import console, fail
from infra.admin import apply_topics, describe_topics
from infra.clients import admin_config
from infra.topics import topic_specs
from schemas.clients import Clients

__all__ = ["app", "apply_all"]

app = typer.Typer(
    help="Declare topics as code: apply the table, list what exists.", no_args_is_help=True
)

_STYLE = {"create": "green", "alter": "yellow", "ok": "dim", "drift": "red"}


def apply_all(runtime: Clients) -> list[tuple[str, str, str]]:
    """Apply the topic table and register every value schema; return (topic, action, detail)."""
    admin = AdminClient(admin_config(runtime.settings, runtime.endpoints.bootstrap_servers))
    specs = topic_specs(runtime.settings)
    plan = apply_topics(admin, specs, namespace=runtime.settings.namespace)
    rows: list[tuple[str, str, str]] = [
        (a.topic, a.kind, a.detail or ", ".join(f"{k}={v}" for k, v in a.changes.items()))
        for a in plan
    ]
    registry = runtime.registry
    if registry is not None:
        from schemas.registry import register_all

        ids = register_all(registry, {a.spec.record: a.topic for a in plan if a.spec.record})
        rows += [
            (subject, "schema", f"id {schema_id}") for subject, schema_id in sorted(ids.items())
        ]
    return rows


@app.command("apply")
def apply_command() -> None:
    """Create missing topics, fix drifted configs, register schemas."""
    rows = apply_all(Clients())
    table = Table(title="topics apply", header_style="bold cyan")
    for column in ("topic / subject", "action", "detail"):
        table.add_column(column)
    for topic, kind, detail in rows:
        style = _STYLE.get(kind, "cyan")
        table.add_row(topic, f"[{style}]{kind}[/{style}]", detail)
    console.print(table)
    if any(kind == "drift" for _, kind, _ in rows):
        fail("some topics drifted from the table (see above)", code=1)


@app.command("list")
def list_command() -> None:
    """Show the topic table next to what the cluster has."""
    runtime = Clients()
    admin = AdminClient(admin_config(runtime.settings, runtime.endpoints.bootstrap_servers))
    existing = describe_topics(admin)
    table = Table(
        title=f"topics on {runtime.endpoints.bootstrap_servers}", header_style="bold cyan"
    )
    for column in ("topic", "value", "partitions", "cleanup", "retention.ms", "exists", "about"):
        table.add_column(column)
    for spec in topic_specs(runtime.settings):
        name = runtime.settings.topic(spec.name)
        have = existing.get(name)
        table.add_row(
            name,
            spec.record or "raw bytes",
            str(spec.partitions),
            spec.cleanup_policy,
            str(spec.retention_ms),
            "[green]yes[/green]" if have else "[red]no[/red]",
            spec.doc,
        )
    console.print(table)
