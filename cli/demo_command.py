"""`primestream demo`: the whole loop on a local broker, from nothing to decoded records."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import typer
from confluent_kafka import Consumer, TopicPartition
from rich.rule import Rule
from rich.table import Table

from cli.context import console
from cli.demo_signals import show_signals, show_trading
from cli.demo_tracing import exported, show_order_trace, traced
from cli.paper_worker import PaperWorkerProcess
from cli.produce_commands import publish_rows
from cli.topic_commands import apply_all
from consumers.render import records_table
from consumers.tail import TailRequest, tail
from infra import local
from infra.clients import consumer_config
from infra.clock import wall_clock_us
from infra.settings import Settings, choose_namespace, get_settings
from infra.tracing_backend import ui_url
from producers.publisher import PublishStats
from producers.rows import SourceRow
from producers.validation import ValidationLimits, validate_bar, validate_news, validate_quote
from schemas.clients import Clients

__all__ = ["demo_command"]

_SAMPLES = Path(__file__).resolve().parent.parent / "producers"
_QUOTE_COLUMNS = ("symbol", "ts_event_us", "bid", "ask", "bid_size", "ask_size", "seq")
_NEWS_COLUMNS = ("symbol", "ts_event_us", "headline", "sentiment.compound", "source")
_BAR_COLUMNS = ("symbol", "ts_event_us", "open", "high", "low", "close", "volume")


# Inputs in the order a live feed would deliver them: for every symbol, its records reach
# the worker in event-time order across topics (the worker dead-letters what is older than
# what it already processed for that symbol). The live symbols have no bundled samples.
_LIVE_SYMBOLS = "AMD,INTC,ORCL,META"
_LIVE_NEWS_START = "2024-01-02T21:00:00+00:00"  # after the live quotes end

_PRODUCTS = {"kafka": "Apache Kafka", "registry": "Apicurio Registry", "tracing": "Zipkin"}


def _label(spec: str) -> str:
    """Return a short name of an input spec: csv:quotes.csv, synthetic, sample:GOOG."""
    scheme, _, rest = spec.partition(":")
    if scheme in ("csv", "parquet", "jsonl"):
        return f"{scheme}:{Path(rest).name}"
    return spec if scheme == "sample" else scheme


def _say(line: str) -> None:
    console.print(f"[dim]·[/dim] {line}", highlight=False)


def _validator(
    check: Callable[..., None], limits: ValidationLimits
) -> Callable[[Mapping[str, Any]], None]:
    return lambda rec: check(rec, now_us=wall_clock_us(), limits=limits)


def _inputs(quotes: int) -> list[tuple[str, str]]:
    """Return (kind, spec) of every input, in the order the worker should see them."""
    return [
        ("market", "sample:GOOG"),  # real daily bars, 2004-2013
        ("news", f"jsonl:{_SAMPLES / 'news' / 'samples' / 'news.jsonl'}"),  # Jan-Jun 2024
        ("market", f"csv:{_SAMPLES / 'market' / 'samples' / 'quotes.csv'}"),  # Jul 2024
        ("market", f"synthetic:symbols={_LIVE_SYMBOLS},seed=7,count={quotes}"),
        ("news", f"synthetic:symbols={_LIVE_SYMBOLS},seed=11,count=200,start={_LIVE_NEWS_START}"),
    ]


def _produce(runtime: Clients, kind: str, spec: str) -> tuple[str, str, PublishStats]:
    from producers.market.registry import parse_source
    from producers.news.sources import parse_news_source

    limits = ValidationLimits.from_settings(runtime.settings)
    rows: Iterable[SourceRow]
    if kind == "news":
        topic, record, check = "news.items", "NewsItem", validate_news
        rows = parse_news_source(spec, clock=wall_clock_us).records()
    else:
        source = parse_source(spec, clock=wall_clock_us)
        quote = source.kind == "quote"
        topic, record = ("market.quotes", "Quote") if quote else ("market.bars", "Bar")
        check = validate_quote if quote else validate_bar
        rows = source.records()
    _say(f"producing [bold]{_label(spec)}[/bold] → {runtime.settings.topic(topic)}")
    stats = publish_rows(
        runtime, rows, topic_name=topic, record=record, validate=_validator(check, limits)
    )
    return spec, topic, stats


def _show_latest(runtime: Clients, topic_name: str, columns: tuple[str, ...], n: int) -> None:
    topic = runtime.settings.topic(topic_name)
    record = runtime.record_of(topic)
    assert record is not None
    consumer = Consumer(
        consumer_config(
            runtime.settings, runtime.endpoints.bootstrap_servers, f"demo-{uuid.uuid4().hex[:8]}"
        )
    )
    try:
        batch = list(
            tail(consumer, TailRequest(topic, max_records=n), runtime.deserializer(record))
        )
    finally:
        consumer.close()
    console.print(records_table(f"latest {topic} (decoded)", batch, columns=columns))


def _end_offsets(runtime: Clients, topics: Iterable[str]) -> dict[str, int]:
    consumer = Consumer(
        consumer_config(
            runtime.settings, runtime.endpoints.bootstrap_servers, f"demo-{uuid.uuid4().hex[:8]}"
        )
    )
    try:
        counts = {}
        for name in topics:
            topic = runtime.settings.topic(name)
            metadata = consumer.list_topics(topic, timeout=10).topics[topic]
            counts[topic] = sum(
                high - low
                for low, high in (
                    consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                    for p in metadata.partitions
                )
            )
        return counts
    finally:
        consumer.close()


def _counts_table(results: list[tuple[str, str, PublishStats]], totals: Mapping[str, int]) -> Table:
    table = Table(title="records produced", header_style="bold cyan")
    for column in ("input", "topic", "sent", "delivered", "rejected", "rec/s"):
        table.add_column(column, justify="left" if column in ("input", "topic") else "right")
    for spec, topic, stats in results:
        table.add_row(
            _label(spec),
            topic,
            f"{stats.sent:,}",
            f"{stats.delivered:,}",
            f"{stats.rejected:,}",
            f"{stats.rate_per_sec:,.0f}",
        )
    for topic, count in totals.items():
        table.add_row("[dim]on the topic now[/dim]", topic, f"{count:,}", "", "", "")
    return table


_WEB_PORT = 6066


def _free_port(preferred: int) -> int:
    """Return PREFERRED if nothing listens there, else a free port."""
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", preferred))
        except OSError:
            probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _show_endpoints(port: int, tracing: str | None, namespace: str) -> None:
    console.print(Rule("still running"))
    base = f"http://127.0.0.1:{port}"
    _say(
        f"worker metrics: [bold]curl {base}/metrics[/bold]   ready: {base}/ready   "
        f"positions: {base}/positions/"
    )
    if tracing:
        _say(f"traces: [bold]{ui_url(tracing)}[/bold]")
    _say(
        f"commands now read namespace [bold]{namespace}[/bold]: [bold]primestream tail "
        "signals[/bold] · [bold]primestream pnl[/bold] · [bold]primestream status[/bold] · "
        "[bold]primestream perf report[/bold] (`primestream namespaces use --clear`: live topics)"
    )
    _say("[bold]primestream infra down[/bold] stops the worker, Kafka, the registry and Zipkin")


def demo_command(
    quotes: int = typer.Option(50_000, "--quotes", help="Synthetic quotes to produce."),
    stop: bool = typer.Option(
        False, "--stop", help="Stop the worker and the local infra at the end (default: keep)."
    ),
) -> None:
    """Start the local infra and a worker, produce the samples, show what came out.

    The worker, Kafka, the registry and Zipkin keep running afterwards, so that its metrics,
    `primestream status` and `primestream perf report` have something to show;
    `primestream infra down` stops them all (or pass --stop).
    """
    settings = get_settings()
    fresh = "namespace" not in Settings().model_fields_set  # not PRIMESTREAM_NAMESPACE / .env
    if fresh:
        # A fresh namespace per run: a second demo on the same broker would otherwise feed
        # the worker the same event times again (all dead-lettered as late).
        settings = settings.model_copy(update={"namespace": time.strftime("demo%Y%m%d%H%M%S")})
    started_here = settings.uses_local_broker and not any(
        s.running for s in local.status(settings) if s.name != "tracing"
    )
    console.print(Rule("primestream demo"))
    finished = False
    try:
        local.up(settings, with_tracing=settings.tracing_backend, progress=_say)
        for service in local.status(settings):
            if service.running:
                product = _PRODUCTS.get(service.name, service.name)
                _say(f"[bold]{product} {service.version or ''}[/bold] at {service.address}")
        tracing = local.tracing_address(settings) if settings.tracing_backend else None
        settings = traced(settings, tracing) if tracing else settings
        runtime = Clients(settings)
        _say(f"namespace [bold]{settings.namespace}[/bold] (set PRIMESTREAM_NAMESPACE to choose)")
        created = [row for row in apply_all(runtime) if row[1] in ("create", "schema")]
        _say(f"topics applied ({len(created)} topics created or schemas registered)")
        port = _free_port(_WEB_PORT)
        log = settings.home / "logs" / f"worker-{settings.namespace}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        _say(f"worker log: {log}")
        demo_worker = PaperWorkerProcess(runtime, web_port=port, keep=not stop, log=log)
        with exported(settings), demo_worker as worker:
            results = []
            for kind, spec in _inputs(quotes):
                results.append(_produce(runtime, kind, spec))
                worker.caught_up()
            _say("the worker has processed every input")
        console.print(Rule("decoded records"))
        _show_latest(runtime, "market.quotes", _QUOTE_COLUMNS, 5)
        _show_latest(runtime, "market.bars", _BAR_COLUMNS, 5)
        _show_latest(runtime, "news.items", _NEWS_COLUMNS, 8)
        totals = _end_offsets(runtime, ("market.quotes", "market.bars", "news.items"))
        console.print(_counts_table(results, totals))
        console.print(Rule("signals"))
        show_signals(runtime)
        console.print(Rule("orders, fills, positions, P&L (paper broker)"))
        show_trading(runtime)
        if tracing:
            console.print(Rule("one order's trace (Zipkin)"))
            show_order_trace(runtime, tracing)
        if fresh:
            # What a person types next (tail, pnl, status) should read what they just saw.
            choose_namespace(settings.home, settings.namespace)
        if not stop:
            _show_endpoints(port, tracing, settings.namespace)
        finished = True
    finally:
        # Ctrl-C or a failure stops what the demo started; a finished demo leaves it serving.
        if started_here and (stop or not finished):
            for line in local.down(settings):
                _say(line)
