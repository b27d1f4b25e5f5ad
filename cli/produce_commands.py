"""`primestream produce market | news`: validated Avro records into Kafka, keyed by symbol."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import typer
from confluent_kafka import Producer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from cli.context import console, err_console, fail
from infra.clients import producer_config
from infra.clock import wall_clock_us
from infra.metrics import PRODUCER_RECORDS, Metrics, MetricsServer, serve_metrics
from infra.telemetry import RecordTracer, setup_tracing
from producers.exceptions import SourceError
from producers.market.base import MarketSource
from producers.market.layout import FileLayout, parse_close
from producers.polling import until_interrupted
from producers.publisher import Publisher, PublishStats
from producers.rows import SourceRow
from producers.validation import ValidationLimits, validate_bar, validate_news, validate_quote
from schemas.clients import Clients

__all__ = ["app", "file_layout", "publish_rows"]

app = typer.Typer(help="Publish market data or news as Avro records.", no_args_is_help=True)

_SHOWN_REJECTS = 20
_TOPIC_OF_KIND = {"quote": ("market.quotes", "Quote"), "bar": ("market.bars", "Bar")}


class _RejectPrinter:
    """Print one line per rejected row, the first few only, so a bad file stays readable."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, row: int | None, reason: str) -> None:
        self.count += 1
        if self.count <= _SHOWN_REJECTS:
            where = f"row {row}" if row is not None else "record"
            err_console.print(f"[yellow]rejected[/yellow] {where}: {reason}", highlight=False)
        elif self.count == _SHOWN_REJECTS + 1:
            err_console.print("[yellow]… more rejections, counted below[/yellow]")


class _RateColumn(ProgressColumn):
    """Records per second, smoothed by rich over the last updates."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:>10,.0f} rec/s" if speed else " " * 16, style="cyan")


@contextmanager
def _progress_bar(label: str, total: int | None) -> Iterator[Callable[[int], None]]:
    columns = [
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TaskProgressColumn(),
        _RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    ]
    with Progress(
        *columns, console=err_console, transient=False, disable=not err_console.is_terminal
    ) as progress:
        task = progress.add_task(label, total=total)
        yield lambda sent: progress.update(task, completed=sent)


def publish_rows(
    runtime: Clients,
    rows: Iterable[SourceRow],
    *,
    topic_name: str,
    record: str,
    validate: Callable[[Mapping[str, Any]], None],
    max_records: int | None = None,
    rate: float | None = None,
    total: int | None = None,
    on_reject: Callable[[int | None, str], None] | None = None,
) -> PublishStats:
    """Publish ROWS to TOPIC_NAME (namespaced by settings) and return the counts."""
    settings = runtime.settings
    topic = settings.topic(topic_name)
    tracing = setup_tracing(settings)
    tracer = RecordTracer(tracing, settings.tracing_sample_ratio)
    encode = runtime.serializer(record, topic)
    config = producer_config(
        settings,
        runtime.endpoints.bootstrap_servers,
        **{"delivery.report.only.error": True, "linger.ms": settings.publish_linger_ms},
    )
    stats = PublishStats()
    config["on_delivery"] = stats.on_delivery
    publisher = Publisher(
        Producer(config), topic, encode, validate, tracer, on_reject=on_reject, stats=stats
    )
    if total is None or (max_records is not None and max_records < total):
        total = max_records
    server = _serve_metrics(runtime, topic_name, stats)
    try:
        with _progress_bar(topic, total) as bar:
            return publisher.publish(rows, max_records=max_records, rate=rate, progress=bar)
    finally:
        if tracing is not None:
            tracing.shutdown()
        if server is not None:
            server.close()


def _serve_metrics(runtime: Clients, topic_name: str, stats: PublishStats) -> MetricsServer | None:
    """Serve the publish counts on PRIMESTREAM_METRICS_PORT while publishing (unset: no)."""
    port = runtime.settings.metrics_port
    if port is None:
        return None
    metrics = Metrics(runtime.settings.service_name)
    metrics.observe(
        PRODUCER_RECORDS,
        lambda: {(topic_name, outcome): n for outcome, n in stats.outcomes().items()},
    )
    return serve_metrics(metrics, port, runtime.settings.web_host)


def _report(stats: PublishStats, topic: str) -> None:
    table = Table(title=f"produced to {topic}", header_style="bold cyan")
    for column in ("read", "sent", "delivered", "rejected", "failed", "rec/s"):
        table.add_column(column, justify="right")
    table.add_row(
        str(stats.read),
        str(stats.sent),
        str(stats.delivered),
        str(stats.rejected),
        str(stats.failed + stats.undelivered),
        f"{stats.rate_per_sec:,.0f}",
    )
    console.print(table)
    if stats.reasons:
        console.print(
            "rejections: " + ", ".join(f"{k} x{v}" for k, v in stats.reasons.most_common())
        )


_LIVE_SCHEMES = frozenset({"etrade", "rss", "stdin"})


def _rows_of(spec: str, rows: Iterable[SourceRow]) -> Iterable[SourceRow]:
    """Return ROWS; a live source's end at Ctrl-C is its normal end (report, exit 0)."""
    return until_interrupted(rows) if spec.partition(":")[0] in _LIVE_SCHEMES else rows


def _exit_code(stats: PublishStats) -> int:
    if stats.failed or stats.undelivered:
        return 3
    return 1 if stats.rejected else 0


def file_layout(symbol: str | None, tz: str | None, close: str) -> FileLayout:
    """Return the FileLayout of the --symbol, --tz and --close options; fail with one line."""
    try:
        return FileLayout(symbol=symbol, tz=tz, close=parse_close(close))
    except (SourceError, ValueError) as exc:
        fail(str(exc))


@app.command()
def market(
    source: str = typer.Option(
        ...,
        "--source",
        "-s",
        help="csv:PATH, parquet:PATH, synthetic[:k=v,...], sample:GOOG, stdin[:kind=bar] "
        "or etrade:AAPL,MSFT[,poll_secs=1] (live)",
    ),
    max_records: int = typer.Option(None, "--max", help="Stop after this many records."),
    rate: float = typer.Option(None, "--rate", help="Throttle to this many records/s."),
    symbol: str = typer.Option(None, "--symbol", help="The symbol of a file without one."),
    tz: str = typer.Option(None, "--tz", help="Zone of a file's zone-less times (e.g. UTC)."),
    close: str = typer.Option(
        "16:00", "--close", help="A bare date's bar closes at this time (in --tz or New York)."
    ),
) -> None:
    """Publish quotes or bars; invalid rows are rejected with a reason and never sent."""
    from producers.market.registry import parse_source

    runtime = Clients()
    try:
        if source.startswith("etrade:"):
            from cli.live_sources import etrade_quote_source

            src: MarketSource = etrade_quote_source(source, runtime.settings)
        else:
            src = parse_source(source, clock=wall_clock_us, layout=file_layout(symbol, tz, close))
    except SourceError as exc:
        fail(str(exc))
    topic_name, record = _TOPIC_OF_KIND[src.kind]
    limits = ValidationLimits.from_settings(runtime.settings)
    check = validate_quote if src.kind == "quote" else validate_bar

    def validate(rec: Mapping[str, Any]) -> None:
        check(rec, now_us=wall_clock_us(), limits=limits)

    try:
        stats = publish_rows(
            runtime,
            _rows_of(source, src.records()),
            topic_name=topic_name,
            record=record,
            validate=validate,
            max_records=max_records,
            rate=rate,
            total=src.total,
            on_reject=_RejectPrinter(),
        )
    except SourceError as exc:
        fail(str(exc))
    _report(stats, runtime.settings.topic(topic_name))
    raise typer.Exit(_exit_code(stats))


@app.command()
def news(
    source: str = typer.Option(
        ...,
        "--source",
        "-s",
        help="jsonl:PATH, synthetic[:k=v,...], stdin, or rss:URL#symbols=AAPL,MSFT (live)",
    ),
    max_records: int = typer.Option(None, "--max", help="Stop after this many records."),
    rate: float = typer.Option(None, "--rate", help="Throttle to this many records/s."),
) -> None:
    """Publish news scored with VADER sentiment, one record per mentioned symbol."""
    from producers.news.sources import parse_news_source

    runtime = Clients()
    try:
        src = parse_news_source(source, clock=wall_clock_us, state_dir=runtime.settings.home)
    except SourceError as exc:
        fail(str(exc))
    limits = ValidationLimits.from_settings(runtime.settings)

    def validate(rec: Mapping[str, Any]) -> None:
        validate_news(rec, now_us=wall_clock_us(), limits=limits)

    try:
        stats = publish_rows(
            runtime,
            _rows_of(source, src.records()),
            topic_name="news.items",
            record="NewsItem",
            validate=validate,
            max_records=max_records,
            rate=rate,
            total=src.total,
            on_reject=_RejectPrinter(),
        )
    except SourceError as exc:
        fail(str(exc))
    _report(stats, runtime.settings.topic("news.items"))
    raise typer.Exit(_exit_code(stats))
