"""`primestream status`: every worker of the namespace's group, what it holds, lag, readiness."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from cli.context import console
from consumers.group_status import GroupState, WorkerRow, describe_group, input_topics, worker_rows
from infra.run_files import WorkerRunFile, read_run_files
from schemas.clients import Clients

__all__ = ["status_command"]

_ASK_TIMEOUT_SECS = 2.0


def _ask_ready(workers: Sequence[WorkerRunFile]) -> dict[int, Mapping[str, Any] | None]:
    """Return each worker's /ready body by pid (None: it did not answer)."""
    import httpx

    answers: dict[int, Mapping[str, Any] | None] = {}
    for worker in workers:
        if worker.web_url is None:
            continue
        try:
            response = httpx.get(f"{worker.web_url}/ready", timeout=_ASK_TIMEOUT_SECS)
            answers[worker.pid] = response.json()
        except (httpx.HTTPError, ValueError):
            answers[worker.pid] = None
    return answers


def _ready_cell(row: WorkerRow) -> str:
    if row.ready is None:
        return "[dim]?[/dim]"
    if row.ready:
        return "[green]ready[/green]"
    return f"[yellow]not ready[/yellow]: {', '.join(row.failed)}"


def _partitions_cell(row: WorkerRow) -> str:
    if not row.partitions:
        return f"[dim]{escape(row.note or 'none')}[/dim]"
    return "\n".join(f"{t} {','.join(map(str, ps))}" for t, ps in row.partitions.items())


def _render(state: GroupState, rows: Sequence[WorkerRow]) -> None:
    table = Table(title=f"group {state.group} ({state.state.lower()})", header_style="bold cyan")
    for column in ("member", "host", "pid", "partitions", "lag", "ready", "last error"):
        table.add_column(column, overflow="fold", justify="right" if column == "lag" else "left")
    for row in rows:
        table.add_row(
            row.member,
            row.host,
            str(row.pid or ""),
            _partitions_cell(row),
            "" if row.lag is None else f"{row.lag:,}",
            _ready_cell(row),
            escape(row.last_error),
        )
    console.print(table)


def status_command(
    as_json: bool = typer.Option(False, "--json", help="Print the rows as JSON."),
    namespace: str = typer.Option(
        None, "--namespace", "-n", help="Whose workers (default: PRIMESTREAM_NAMESPACE)."
    ),
) -> None:
    """Show every worker of the namespace: members, partitions, lag, readiness, last error."""
    from confluent_kafka.admin import AdminClient

    from consumers.lag import group_lag
    from infra.clients import admin_config
    from streams.context import app_id

    runtime = Clients()
    if namespace is not None:
        runtime = Clients(runtime.settings.model_copy(update={"namespace": namespace}))
    settings = runtime.settings
    bootstrap = runtime.endpoints.bootstrap_servers
    group = app_id(settings)
    state = describe_group(AdminClient(admin_config(settings, bootstrap)), group)
    topics = input_topics(state)
    lag = group_lag(bootstrap, group, topics, settings=settings) if topics else {}
    run_files = read_run_files(settings.home, group)
    prefix = f"{settings.namespace}." if settings.namespace else ""
    rows = worker_rows(
        state,
        lag,
        run_files,
        _ask_ready(run_files),
        logical=lambda t: t.removeprefix(prefix) if prefix else t,
    )
    if as_json:
        body = {"group": group, "state": state.state, "workers": [asdict(r) for r in rows]}
        typer.echo(json.dumps(body))
        return
    if not rows:
        console.print(
            f"no worker of group [bold]{group}[/bold] is running "
            f"(group state: {state.state.lower()}; start one with `primestream worker`)",
            highlight=False,
        )
        others = sorted({w.group for w in read_run_files(settings.home)} - {group})
        if others:
            names = ", ".join(g.removeprefix("primestream-") for g in others)
            console.print(f"workers of other namespaces run here: {names} (--namespace NAME)")
        return
    _render(state, rows)
