"""`primestream deadletter list|redrive`: see why records were refused, send them back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import typer
from confluent_kafka import Consumer, KafkaException, Producer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from cli.context import console, err_console, fail
from consumers.deadletter_reading import read_dead_letters, read_markers
from consumers.deadletter_render import letter_json, letters_table, redrive_table
from consumers.deadletters import (
    DeadLetterFilter,
    RedrivePlan,
    StoredDeadLetter,
    newest,
    plan_redrive,
)
from consumers.redrive import open_redrive_producer, redrive
from infra.clients import consumer_config
from infra.clock import wall_clock_us
from infra.topics import topic_specs
from schemas.clients import Clients

__all__ = ["app"]

app = typer.Typer(
    help="Dead letters: list them by reason or source, send them back.", no_args_is_help=True
)

_REASON = typer.Option(None, "--reason", help="Only this error type (e.g. DecodeError).")
_SOURCE = typer.Option(None, "--source", help="Only dead letters from this topic.")


def _filter(runtime: Clients, reason: str | None, source: str | None) -> DeadLetterFilter:
    ns = runtime.settings.namespace
    if source is not None and not (ns and source.startswith(ns + ".")):
        source = runtime.settings.topic(source)
    return DeadLetterFilter(reason=reason, source=source)


@contextmanager
def _reader(runtime: Clients) -> Iterator[Consumer]:
    group = f"primestream-deadletter-{uuid.uuid4().hex[:8]}"
    consumer = Consumer(
        consumer_config(runtime.settings, runtime.endpoints.bootstrap_servers, group)
    )
    try:
        yield consumer
    finally:
        consumer.close()


def _reasons_note(letters: list[StoredDeadLetter]) -> str:
    reasons = sorted({d.error_type for d in letters})
    return f"reasons here: {', '.join(reasons)}" if reasons else "the topic holds no dead letters"


@app.command("list")
def list_command(
    reason: str = _REASON,
    source: str = _SOURCE,
    output: str = typer.Option("table", "--output", "-o", help="table or json"),
    limit: int = typer.Option(100, "--limit", help="Show the newest N that match; 0: all."),
) -> None:
    """List dead letters: key, source topic/partition/offset, error, message, time."""
    if output not in ("table", "json"):
        fail(f"--output must be table or json, not {output!r}")
    if limit < 0:
        fail(f"--limit must be 0 (all) or more, not {limit}")
    runtime = Clients()
    chosen = _filter(runtime, reason, source)
    topic = runtime.settings.topic("deadletter")
    try:
        with _reader(runtime) as consumer:
            letters = read_dead_letters(consumer, topic)
            redriven = read_markers(consumer, runtime.settings.topic("deadletter.redriven"))
    except (LookupError, KafkaException, RuntimeError) as exc:
        fail(str(exc))
    matching = chosen.select(letters)
    shown = newest(matching, limit)
    if len(shown) < len(matching):
        err_console.print(
            f"showing the {len(shown)} newest of {len(matching)} matching dead letters "
            "(--limit 0 shows all; --reason and --source narrow them)",
            highlight=False,
        )
    if output == "json":
        for dead in shown:
            line = letter_json(dead, redriven=redriven.get(dead.marker_key) == dead.timestamp_ms)
            console.print(line, highlight=False, soft_wrap=True)
        return
    done = {d.marker_key for d in shown if redriven.get(d.marker_key) == d.timestamp_ms}
    title = f"{topic} ({len(matching)} of {len(letters)})"
    if len(shown) < len(matching):
        title = f"{topic} (newest {len(shown)} of {len(matching)} matching, {len(letters)} in all)"
    console.print(letters_table(title, shown, done))
    if not matching:
        err_console.print(f"no dead letters match; {_reasons_note(letters)}", highlight=False)


@app.command("redrive")
def redrive_command(
    reason: str = typer.Option(..., "--reason", help="Error type to send back (required)."),
    source: str = _SOURCE,
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be sent; send none."),
) -> None:
    """Send dead letters of REASON back to their source topics, each exactly once."""
    runtime = Clients()
    settings, servers = runtime.settings, runtime.endpoints.bootstrap_servers
    chosen = _filter(runtime, reason, source)
    marker_topic = settings.topic("deadletter.redriven")
    producer: Producer | None = None
    try:
        # The producer first: opening it settles every earlier redrive's transaction, and
        # only then do the markers say all that was redriven (consumers/redrive.py). A dry
        # run opens none: it would abort a redrive running elsewhere.
        producer = None if dry_run else open_redrive_producer(settings, servers)
        with _reader(runtime) as consumer:
            letters = read_dead_letters(consumer, settings.topic("deadletter"))
            markers = read_markers(consumer, marker_topic)
        routes = {settings.topic(spec.name) for spec in topic_specs(settings)}
        plan = plan_redrive(letters, chosen, markers, routes)
        if producer is not None and plan.todo:
            _send(producer, plan, marker_topic)
    except (LookupError, KafkaException, RuntimeError, ValueError) as exc:
        _abort(producer)
        fail(f"redrive failed: {exc}; what was committed stays redriven, run it again")
    except KeyboardInterrupt:
        _abort(producer)
        fail("interrupted: what was committed stays redriven, run it again", code=130)
    console.print(redrive_table(plan, dry_run=dry_run))
    if not plan.todo and not plan.already:
        err_console.print(f"no dead letters match; {_reasons_note(letters)}", highlight=False)
    if plan.unroutable:
        err_console.print(
            f"{len(plan.unroutable)} left: no source topic of this namespace in their headers",
            style="red",
        )


def _send(producer: Producer, plan: RedrivePlan, marker_topic: str) -> None:
    columns = (TextColumn("redriving"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True) as progress:
        task = progress.add_task("redrive", total=len(plan.todo))
        redrive(
            producer,
            plan.todo,
            marker_topic,
            clock=wall_clock_us,
            sent=lambda _dead: progress.advance(task),
        )
    producer.flush(30)


def _abort(producer: Producer | None) -> None:
    if producer is None:
        return
    # None open, or fenced: the next redrive's init_transactions aborts what is left.
    with suppress(KafkaException):
        producer.abort_transaction(30)
