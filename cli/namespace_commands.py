"""`primestream namespaces list | use NAME | delete NAME`: what runs left behind, and which."""

from __future__ import annotations

import shutil

import typer
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient
from rich.table import Table

from cli.context import console, fail
from infra.admin import delete_topics
from infra.clients import admin_config
from infra.namespaces import NamespaceUsage, survey
from infra.settings import choose_namespace, chosen_namespace
from infra.topics import topic_specs
from schemas.clients import Clients

__all__ = ["app"]

app = typer.Typer(
    help="Namespaces (topic prefix, app id, local state): list them, use one, delete one.",
    no_args_is_help=True,
)
_TIMEOUT_SECS = 30.0


def _survey(runtime: Clients, admin: AdminClient) -> list[NamespaceUsage]:
    topics = admin.list_topics(timeout=_TIMEOUT_SECS).topics
    listing = admin.list_consumer_groups(request_timeout=_TIMEOUT_SECS).result()
    groups = [g.group_id for g in listing.valid]
    workers = runtime.settings.home / "workers"
    dirs = [d for d in workers.iterdir() if d.is_dir()] if workers.is_dir() else []
    tables = [spec.name for spec in topic_specs(runtime.settings)]
    return survey(topics, groups, dirs, tables)


def _admin(runtime: Clients) -> AdminClient:
    return AdminClient(admin_config(runtime.settings, runtime.endpoints.bootstrap_servers))


@app.command("list")
def list_command() -> None:
    """List the namespaces on the cluster with their topics, groups and local state."""
    runtime = Clients()
    try:
        usages = _survey(runtime, _admin(runtime))
    except KafkaException as exc:
        fail(f"cannot list the cluster's topics and groups: {exc}")
    if not usages:
        console.print("no namespaces (the live pipeline's topics are not prefixed)")
        return
    current = runtime.settings.namespace
    table = Table(title="namespaces (* in use)")
    for column in ("namespace", "topics", "consumer groups", "local state"):
        table.add_column(column)
    for usage in usages:
        state = ", ".join(str(d) for d in usage.state_dirs) or "-"
        name = f"* {usage.name}" if usage.name == current else usage.name
        table.add_row(name, str(len(usage.topics)), ", ".join(usage.groups) or "-", state)
    console.print(table)


@app.command("use")
def use_command(
    name: str | None = typer.Argument(None, help="Namespace commands use from now on."),
    clear: bool = typer.Option(False, "--clear", help="Back to the live (unprefixed) topics."),
) -> None:
    """Make NAME the namespace every command uses when PRIMESTREAM_NAMESPACE is unset."""
    home = Clients().settings.home
    if clear == (name is not None):
        fail("give a NAME or --clear")
    if name is not None and (not name or any(c in name for c in "./ \t")):
        fail(f"not a namespace name: {name!r} (no dots, slashes or spaces)")
    choose_namespace(home, name)
    if name is None:
        console.print("commands use the live topics (no namespace)")
    else:
        console.print(f"commands use namespace [bold]{name}[/bold] (`--clear` to go back)")


@app.command("delete")
def delete_command(
    name: str = typer.Argument(..., help="Namespace to delete."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete NAME's topics, consumer groups and local worker state (never live topics)."""
    runtime = Clients()
    admin = _admin(runtime)
    try:
        usage = next((u for u in _survey(runtime, admin) if u.name == name), None)
    except KafkaException as exc:
        fail(f"cannot list the cluster's topics and groups: {exc}")
    if usage is None:
        fail(f"no namespace {name!r}: see `primestream namespaces list`")
    if usage.groups:
        described = admin.describe_consumer_groups(usage.groups)
        busy = [g for g, f in described.items() if f.result(timeout=_TIMEOUT_SECS).members]
        if busy:
            fail(f"namespace {name!r} has running workers ({', '.join(busy)}): stop them first")
    what = f"{len(usage.topics)} topics, {len(usage.groups)} groups, {len(usage.state_dirs)} dirs"
    if not yes and not typer.confirm(f"delete namespace {name!r} ({what})?"):
        fail("nothing deleted", code=1)
    try:
        deleted = delete_topics(admin, usage.topics)
        if usage.groups:
            for future in admin.delete_consumer_groups(usage.groups).values():
                future.result(timeout=_TIMEOUT_SECS)
    except KafkaException as exc:
        fail(f"deleting namespace {name!r} failed part-way: {exc}")
    _delete_local(runtime, usage)
    console.print(
        f"deleted namespace {name}: {len(deleted)} topics, {len(usage.groups)} consumer "
        f"groups, {len(usage.state_dirs)} local state directories"
    )


def _delete_local(runtime: Clients, usage: NamespaceUsage) -> None:
    """Delete the namespace's worker state and schemas; stop using it if it was in use."""
    for directory in usage.state_dirs:
        shutil.rmtree(directory, ignore_errors=True)
    if chosen_namespace(runtime.settings.home) == usage.name:
        choose_namespace(runtime.settings.home, None)
    _delete_subjects(runtime, usage)


def _delete_subjects(runtime: Clients, usage: NamespaceUsage) -> None:
    """Delete the value schemas registered for the namespace's topics (best effort)."""
    registry = runtime.registry
    if registry is None:
        return
    existing = set(registry.get_subjects())
    for topic in usage.topics:
        subject = f"{topic}-value"
        if subject in existing:
            try:
                registry.delete_subject(subject)
            except Exception as exc:  # a leftover schema must not stop the rest
                console.print(f"[yellow]schema {subject} left in the registry: {exc}[/yellow]")
