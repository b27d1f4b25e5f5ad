"""One way to run a stage as a faust agent: batches in, a pure processor, outputs sent.

Every stage (signals, risk, execution, positions) is the same loop: the fast path hands
over one topic-partition's batch of raw records; the stage's processor (pure, tested
without Kafka) turns it into records per output topic, dead letters and changed table
keys; the agent sends them and writes each changed key once. Under exactly-once all of it
(outputs, dead letters, changelog writes, input offsets) commits in one transaction of the
input partition, so a crash anywhere replays the batch as if it never happened.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from streams.app import ProcessingContext
from streams.deadletter import HEADER_PREFIX
from streams.edge import RawRecord, StageOutput, StateLoader
from streams.fastpath import FastApp, iter_batches
from streams.stage_metrics import StageMetrics

STAGE_HEADER = f"{HEADER_PREFIX}stage"

__all__ = ["STAGE_HEADER", "OneTable", "Processor", "StageSpec", "TableProcessor", "register_stage"]


TableLoaders = Mapping[str, StateLoader]


class Processor(Protocol):
    """What a stage's pure processor offers the agent (several tables)."""

    def process(
        self, records: Iterable[RawRecord], load: TableLoaders
    ) -> StageOutput | Awaitable[StageOutput]:
        """Turn one partition's batch into outputs; `changed` holds (table, key) pairs.

        A processor that waits on the outside world (a live venue) may be async.
        """
        ...

    def state(self, table: str, key: str) -> Any:
        """Return the value of KEY in TABLE after the batch."""
        ...

    def forget(self) -> None:
        """Drop cached state: the tables are the truth between batches (rebalances)."""
        ...


class TableProcessor(Protocol):
    """A processor of one table: loads and reports keys of that table only."""

    def process(self, records: Iterable[RawRecord], load: StateLoader) -> StageOutput:
        """Turn one partition's batch into outputs; `changed` holds keys of its table."""
        ...

    def state(self, key: str) -> Any:
        """Return the table value of KEY after the batch."""
        ...

    def forget(self) -> None:
        """Drop cached state."""
        ...


@dataclass(frozen=True)
class OneTable:
    """Run a one-table processor as a stage processor."""

    processor: TableProcessor
    table: str

    def process(self, records: Iterable[RawRecord], load: TableLoaders) -> StageOutput:
        """Run the batch with the one table's loader; tag changed keys with the table."""
        out = self.processor.process(records, load[self.table])
        out.changed = {(self.table, key) for key in out.changed}
        return out

    def state(self, table: str, key: str) -> Any:
        """Return KEY's value (TABLE is always the one table)."""
        return self.processor.state(key)

    def forget(self) -> None:
        """Drop cached state."""
        self.processor.forget()


@dataclass(frozen=True)
class StageSpec:
    """A stage: its agent name, input and output topics (logical name → record), tables."""

    name: str
    inputs: Mapping[str, str]
    outputs: Mapping[str, str]
    tables: tuple[str, ...]


def register_stage(
    app: FastApp,
    ctx: ProcessingContext,
    spec: StageSpec,
    make_processor: Callable[[dict[str, str]], Processor],
) -> dict[str, Any]:
    """Declare SPEC's topics and tables on APP and register its agent; return the tables.

    MAKE_PROCESSOR gets {physical input topic: record name} (namespaced names).
    """
    settings = ctx.settings
    raw: dict[str, Any] = {
        "value_serializer": "raw",
        "key_serializer": "raw",
        "partitions": settings.partitions,
    }
    inputs = {settings.topic(name): record for name, record in spec.inputs.items()}
    source = app.batch_topic(*inputs, **raw)
    outputs = {name: app.topic(settings.topic(name), **raw) for name in spec.outputs}
    encoders = {
        name: ctx.serializer(record, settings.topic(name)) for name, record in spec.outputs.items()
    }
    deadletter = app.topic(settings.topic("deadletter"), **raw)
    tables = {
        name: app.Table(name, default=None, partitions=settings.partitions, key_type=str)
        for name in spec.tables
    }
    loaders = {name: table.get for name, table in tables.items()}
    processor = make_processor(inputs)
    stage = spec.name.encode()
    logical = {settings.topic(name): name for name in spec.inputs}
    metrics = (
        StageMetrics(ctx.metrics, spec.name, logical, errors=ctx.last_error)
        if ctx.metrics is not None
        else None
    )

    async def run(stream: Any) -> None:
        async for batch in iter_batches(stream):
            started = metrics.timer() if metrics else 0.0
            result = processor.process(batch.records, loaders)
            if inspect.isawaitable(result):
                result = await result
            for dead in result.deadletters:
                # Several stages may read one topic: the header says which one refused it.
                headers = [*dead.headers, (STAGE_HEADER, stage)]
                await deadletter.send(key=dead.key, value=dead.value, headers=headers)
            for name, out in result.records:
                await outputs[name].send(
                    key=out.key,
                    value=encoders[name](out.value),
                    headers=out.headers,
                    partition=out.partition,
                )
            for table, key in result.changed:
                tables[table][key] = processor.state(table, key)
            processor.forget()
            if metrics:  # once per batch, from what it emitted: no per-record cost
                elapsed = metrics.timer() - started
                metrics.record(batch.tp.topic, len(batch.records), result, elapsed)

    app.agent(source, name=spec.name)(run)
    return tables
