"""The signal agent: quotes, bars and news of a partition in, signals and dead letters out.

One agent consumes the three co-partitioned input topics, so each record is consumed
exactly once and a symbol's news and prices meet in one engine. Records arrive as
per-partition batches (`streams.runtime`); state is read from the `signal-state` table
at the start of a batch and written back once per touched symbol at its end, inside the
same exactly-once transaction as the batch's offsets and outputs.
"""

from __future__ import annotations

from infra.stage_tracing import StageTracer
from streams.context import ProcessingContext
from streams.runtime import StreamRuntime
from streams.signals.processing import SignalProcessor
from streams.stage import OneTable, StageSpec, register_stage

__all__ = ["INPUTS", "STATE_TABLE", "register"]

INPUTS = {"market.quotes": "Quote", "market.bars": "Bar", "news.items": "NewsItem"}
STATE_TABLE = "signal-state"
SPEC = StageSpec("signals", INPUTS, {"signals": "Signal"}, (STATE_TABLE,))


def register(runtime: StreamRuntime, ctx: ProcessingContext) -> None:
    """Declare the agent's topics and table on the runtime and register the agent."""
    register_stage(
        runtime,
        ctx,
        SPEC,
        lambda inputs: OneTable(
            SignalProcessor(
                ctx.strategies,
                ctx.engine,
                {topic: (record, ctx.decoder(record)) for topic, record in inputs.items()},
                StageTracer(ctx.tracing, "signals", runtime.app.conf.id),
            ),
            STATE_TABLE,
        ),
    )
