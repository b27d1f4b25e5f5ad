"""A backtest's run through the real pipeline: namespace, inputs, worker, end of input, results.

The same worker that trades paper runs the backtest, in a fresh namespace of its own, so
nothing of a live namespace is read or written. Inputs go in event-time order per symbol:
market data alone is one publish; with news, the merged stream is published in runs of
one topic, and each run is processed before the next is sent (the worker reads its input
topics concurrently, so two topics sent at once could reach it out of order, and a news
item older than a bar already processed is dead-lettered as late). The end of the input is
seen through end-of-stream markers (`consumers.end_of_input`), never a sleep.
"""

from __future__ import annotations

import heapq
import itertools
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from confluent_kafka import Producer

from cli.paper_worker import PaperWorkerProcess
from cli.produce_commands import publish_rows
from cli.topic_commands import apply_all
from cli.topic_reading import read_records, read_whole_topic
from consumers.end_of_input import InputEnd, write_markers
from consumers.lag import group_position
from infra.clients import producer_config
from infra.clock import wall_clock_us
from producers.market.layout import FileLayout
from producers.publisher import PublishStats
from producers.rows import SourceRow
from producers.validation import ValidationLimits, validate_bar, validate_news, validate_quote
from schemas.clients import Clients
from streams.context import app_id

__all__ = [
    "BacktestFailedError",
    "BacktestRun",
    "PipelineInputs",
    "input_runs",
    "input_spec",
    "new_namespace",
    "run_pipeline",
    "wait_for_end",
]

_INPUTS = ("market.quotes", "market.bars", "news.items")
_POLL_SECS = 0.5


class BacktestFailedError(RuntimeError):
    """The pipeline did not get through the input: the worker died or stalled."""


@dataclass(frozen=True)
class BacktestRun:
    """What came out of the pipeline, decoded, and what went in."""

    namespace: str
    fills: list[Mapping[str, Any]]
    prices: list[tuple[int, str, float]]
    published: dict[str, PublishStats]
    signals: int
    orders: int
    refused: int
    dead_letters: int
    elapsed_secs: float  # the whole run: topics, worker start, publishing, processing, reading
    pipeline_secs: float  # from the worker's start to the group past every end marker


def input_spec(data: str) -> str:
    """Return DATA as a source spec: a path becomes csv:/parquet:, a spec stays as it is."""
    if ":" in data.split("/")[0] and not Path(data).exists():
        return data
    suffix = Path(data).suffix.lower()
    if suffix in (".parquet", ".pq"):
        return f"parquet:{data}"
    if suffix == ".jsonl":
        return f"jsonl:{data}"
    return f"csv:{data}"


def new_namespace() -> str:
    """Return a fresh namespace name: bt, the UTC time, and a random suffix."""
    return time.strftime("bt%Y%m%d%H%M%S", time.gmtime()) + secrets.token_hex(2)


_MarketRows = tuple[str, str, Callable[..., None], Iterator[SourceRow], int | None]


def _market_rows(spec: str, layout: FileLayout | None) -> _MarketRows:
    from producers.market.registry import parse_source

    source = parse_source(spec, clock=wall_clock_us, layout=layout)
    if source.kind == "quote":
        return "market.quotes", "Quote", validate_quote, source.records(), source.total
    return "market.bars", "Bar", validate_bar, source.records(), source.total


def input_runs(
    market: Iterable[SourceRow], news: Iterable[SourceRow]
) -> Iterator[tuple[bool, list[SourceRow]]]:
    """Yield (is_news, rows): the two streams merged by event time, in runs of one kind.

    Market data goes first on ties: a bar's signal cannot see news stamped at its close.
    """

    def keyed(rows: Iterable[SourceRow], rank: int) -> Iterator[tuple[int, int, int, SourceRow]]:
        last = 0
        for i, row in enumerate(rows):
            # A row that failed to parse has no time: it stays where it was in its stream.
            last = int(row.record["ts_event_us"]) if row.record else last
            yield last, rank, i, row

    merged = heapq.merge(keyed(market, 0), keyed(news, 1))
    for rank, group in itertools.groupby(merged, key=lambda item: item[1]):
        yield rank == 1, [item[3] for item in group]


def _publish(
    runtime: Clients,
    rows: Iterable[SourceRow],
    kind: tuple[str, str, Callable[..., None]],
    total: int | None,
) -> PublishStats:
    topic, record, check = kind
    limits = ValidationLimits.from_settings(runtime.settings)
    return publish_rows(
        runtime,
        rows,
        topic_name=topic,
        record=record,
        validate=lambda rec: check(rec, now_us=wall_clock_us(), limits=limits),
        total=total,
    )


def _merge_stats(into: dict[str, PublishStats], topic: str, stats: PublishStats) -> None:
    seen = into.setdefault(topic, PublishStats())
    for name in ("read", "sent", "failed", "rejected", "undelivered"):
        setattr(seen, name, getattr(seen, name) + getattr(stats, name))
    seen.reasons.update(stats.reasons)
    seen.elapsed_secs += stats.elapsed_secs


def _committed(runtime: Clients, topics: list[str]) -> dict[tuple[str, int], int] | None:
    position = group_position(
        runtime.endpoints.bootstrap_servers,
        app_id(runtime.settings),
        topics,
        settings=runtime.settings,
    )
    return None if position is None else {tp: c for tp, (c, _end) in position.items()}


def _input_end(runtime: Clients) -> InputEnd:
    """Write the end-of-stream markers after everything published so far."""
    producer = Producer(producer_config(runtime.settings, runtime.endpoints.bootstrap_servers))
    topics = [runtime.settings.topic(t) for t in _INPUTS]
    partitions = [
        (topic, p)
        for topic in topics
        for p in sorted(producer.list_topics(topic, timeout=10).topics[topic].partitions)
    ]
    return write_markers(producer, partitions)


def wait_for_end(
    runtime: Clients,
    end: InputEnd,
    worker: PaperWorkerProcess,
    *,
    timeout_secs: float,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Return once the worker's group has committed past END; raise if it died or stalled.

    TIMEOUT_SECS bounds the time without progress, not the whole run.
    """
    topics = sorted({topic for topic, _ in end.markers})
    last_remaining, last_progress = end.total, time.monotonic()
    while True:
        code = worker.exit_code()
        if code is not None:
            raise BacktestFailedError(f"the worker exited with code {code} before the end")
        committed = _committed(runtime, topics)
        if committed is not None:
            remaining = end.remaining(committed)
            if progress:
                progress(end.total - remaining, end.total)
            if remaining == 0:
                return
            if remaining < last_remaining:
                last_remaining, last_progress = remaining, time.monotonic()
        if time.monotonic() - last_progress > timeout_secs:
            raise BacktestFailedError(
                f"no progress for {timeout_secs:.0f} s with {last_remaining:,} input records "
                "left: see the worker's log"
            )
        time.sleep(_POLL_SECS)


def _prices(runtime: Clients, topic: str) -> list[tuple[int, str, float]]:
    """Return (event time, symbol, mark) of every input record: a bar's close, a quote's mid."""
    values, _ = read_whole_topic(runtime, runtime.settings.topic(topic))
    if topic == "market.bars":
        marks = [(int(v["ts_event_us"]), str(v["symbol"]), float(v["close"])) for v in values]
    else:
        marks = [
            (int(v["ts_event_us"]), str(v["symbol"]), (float(v["bid"]) + float(v["ask"])) / 2)
            for v in values
        ]
    return sorted(marks)


@dataclass(frozen=True)
class PipelineInputs:
    """What to feed the pipeline: a market source spec, an optional news spec, a config."""

    market: str
    news: str | None
    strategies: Path
    worker_log: Path
    stall_timeout_secs: float = 300.0
    # Publish the market data before the worker starts (benchmarks: the worker's own rate,
    # not bounded by a producer on the same cores). Not with news, which goes in lockstep.
    publish_first: bool = False
    layout: FileLayout | None = None  # a file's symbol, zone, close (--symbol, --tz, --close)


def run_pipeline(
    runtime: Clients,
    inputs: PipelineInputs,
    *,
    say: Callable[[str], None],
    progress: Callable[[int, int], None] | None = None,
) -> BacktestRun:
    """Run INPUTS through a paper worker in RUNTIME's namespace; return what came out."""
    started = time.monotonic()
    apply_all(runtime)
    topic, record, check, rows, total = _market_rows(inputs.market, inputs.layout)
    published: dict[str, PublishStats] = {}
    if inputs.publish_first and inputs.news is not None:
        raise ValueError("publish_first does not go with news (published in lockstep)")
    market = (topic, record, check)
    if inputs.publish_first:
        _merge_stats(published, topic, _publish(runtime, rows, market, total))
    with PaperWorkerProcess(runtime, strategies=inputs.strategies, log=inputs.worker_log) as worker:
        worker_started = time.monotonic()
        if inputs.news is None and not inputs.publish_first:
            _merge_stats(published, topic, _publish(runtime, rows, market, total))
        elif inputs.news is not None:
            from producers.news.sources import parse_news_source

            news = parse_news_source(inputs.news, clock=wall_clock_us).records()
            news_kind = ("news.items", "NewsItem", validate_news)
            for is_news, run in input_runs(rows, news):
                kind = news_kind if is_news else market
                _merge_stats(published, kind[0], _publish(runtime, run, kind, len(run)))
                wait_for_end(
                    runtime,
                    _ends_now(runtime),
                    worker,
                    timeout_secs=inputs.stall_timeout_secs,
                )
        say("input published; end-of-stream markers written, waiting for the worker")
        wait_for_end(
            runtime,
            _input_end(runtime),
            worker,
            timeout_secs=inputs.stall_timeout_secs,
            progress=progress,
        )
        pipeline_secs = time.monotonic() - worker_started
    say("the worker has processed the whole input")
    fills, _ = read_whole_topic(runtime, runtime.settings.topic("fills"))
    return BacktestRun(
        namespace=runtime.settings.namespace,
        fills=list(fills),
        prices=_prices(runtime, topic),
        published=published,
        signals=_count(runtime, "signals"),
        orders=_count(runtime, "orders"),
        refused=_count(runtime, "orders.rejected"),
        dead_letters=_count(runtime, "deadletter"),
        elapsed_secs=time.monotonic() - started,
        pipeline_secs=pipeline_secs,
    )


def _ends_now(runtime: Clients) -> InputEnd:
    """Return the input topics' last offsets now, as an end to wait for.

    No marker: used between the runs of a news backtest, where more input follows.
    """
    topics = [runtime.settings.topic(t) for t in _INPUTS]
    for _attempt in range(20):
        position = group_position(
            runtime.endpoints.bootstrap_servers,
            app_id(runtime.settings),
            topics,
            settings=runtime.settings,
        )
        if position is not None:
            return InputEnd({tp: end - 1 for tp, (_, end) in position.items() if end > 0})
        time.sleep(_POLL_SECS)  # the group coordinator is still loading
    raise BacktestFailedError("the broker did not say where the input topics end")


def _count(runtime: Clients, name: str) -> int:
    """Return how many records the namespace's NAME topic holds (committed ones)."""
    return len(read_records(runtime, runtime.settings.topic(name)))
