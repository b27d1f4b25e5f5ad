"""The signal agent: quotes, bars and news of a partition in, signals and dead letters out.

One agent consumes the three co-partitioned input topics, so each record is consumed
exactly once and a symbol's news and prices meet in one engine. Records arrive as
per-partition batches (`streams.fastpath`); state is read from the `signal-state` table
at the start of a batch and written back once per touched symbol at its end, inside the
same exactly-once transaction as the batch's offsets and outputs.
"""

from __future__ import annotations

from typing import Any

from infra.stage_tracing import StageTracer
from streams.app import ProcessingContext
from streams.fastpath import FastApp, iter_batches
from streams.signals.processing import SignalProcessor

__all__ = ["INPUTS", "STATE_TABLE", "register"]

INPUTS = {"market.quotes": "Quote", "market.bars": "Bar", "news.items": "NewsItem"}
STATE_TABLE = "signal-state"


def register(app: FastApp, ctx: ProcessingContext) -> None:
    """Declare the agent's topics and table on APP and register the agent."""
    settings = ctx.settings
    inputs = {settings.topic(name): record for name, record in INPUTS.items()}
    raw: dict[str, Any] = {
        "value_serializer": "raw",
        "key_serializer": "raw",
        "partitions": settings.partitions,
    }
    source = app.batch_topic(*inputs, **raw)
    signals_topic = app.topic(settings.topic("signals"), **raw)
    deadletter = app.topic(settings.topic("deadletter"), **raw)
    table = app.Table(
        STATE_TABLE,
        default=None,
        partitions=settings.partitions,
        key_type=str,
    )
    processor = SignalProcessor(
        ctx.strategies,
        ctx.engine,
        {topic: (record, ctx.decoder(record)) for topic, record in inputs.items()},
        StageTracer(ctx.tracing, "signals", app.conf.id),
    )
    encode = ctx.serializer("Signal", settings.topic("signals"))

    async def signals(stream: Any) -> None:
        async for batch in iter_batches(stream):
            result = processor.process(batch.records, table.get)
            for dead in result.deadletters:
                await deadletter.send(key=dead.key, value=dead.value, headers=dead.headers)
            for out in result.signals:
                await signals_topic.send(key=out.key, value=encode(out.value), headers=out.headers)
            for symbol in result.changed:
                table[symbol] = processor.engines[symbol].state()
            # The table is the truth between batches: a rebalance can move any partition.
            processor.forget()

    app.agent(source, name="signals")(signals)
