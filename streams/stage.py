"""One way to run a stage as a faust agent: batches in, a pure processor, outputs sent.

Every stage (signals, risk, execution, positions) is the same loop: the fast path hands
over one topic-partition's batch of raw records; the stage's processor (pure, tested
without Kafka) turns it into records per output topic, dead letters and changed table
keys; the agent sends them and writes each changed key once. Under exactly-once all of it
(outputs, dead letters, changelog writes, input offsets) commits in one transaction of the
input partition, so a crash anywhere replays the batch as if it never happened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from streams.app import ProcessingContext
from streams.edge import RawRecord, StageOutput, StateLoader
from streams.fastpath import FastApp, iter_batches

__all__ = ["Processor", "StageSpec", "register_stage"]


class Processor(Protocol):
    """What a stage's pure processor offers the agent."""

    def process(self, records: Iterable[RawRecord], load: StateLoader) -> StageOutput:
        """Turn one partition's batch into outputs; read state with LOAD."""
        ...

    def state(self, key: str) -> Any:
        """Return the table value of KEY after the batch."""
        ...

    def forget(self) -> None:
        """Drop cached state: the table is the truth between batches (rebalances)."""
        ...


@dataclass(frozen=True)
class StageSpec:
    """A stage: its agent name, input and output topics (logical name → record), table."""

    name: str
    inputs: Mapping[str, str]
    outputs: Mapping[str, str]
    table: str


def register_stage(
    app: FastApp,
    ctx: ProcessingContext,
    spec: StageSpec,
    make_processor: Callable[[dict[str, str]], Processor],
) -> Any:
    """Declare SPEC's topics and table on APP and register its agent; return the table.

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
    table = app.Table(spec.table, default=None, partitions=settings.partitions, key_type=str)
    processor = make_processor(inputs)

    async def run(stream: Any) -> None:
        async for batch in iter_batches(stream):
            result = processor.process(batch.records, table.get)
            for dead in result.deadletters:
                await deadletter.send(key=dead.key, value=dead.value, headers=dead.headers)
            for name, out in result.records:
                await outputs[name].send(
                    key=out.key,
                    value=encoders[name](out.value),
                    headers=out.headers,
                    partition=out.partition,
                )
            for key in result.changed:
                table[key] = processor.state(key)
            processor.forget()

    app.agent(source, name=spec.name)(run)
    return table
