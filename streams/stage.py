"""One way to run a stage: a faust agent over the runtime's deliveries, around a pure processor.

Every stage (signals, risk, the paper desk, execution, positions) is the same agent: the
runtime delivers one topic-partition's batch of raw records; the stage's processor (pure,
tested without Kafka) turns it into records per output topic, dead letters and changed
table keys, and the agent hands that back. The runtime sends the outputs into the worker's
open transaction and, at the commit, writes each changed key's state once. Under
exactly-once all of it (outputs, dead letters, changelog writes, input offsets) commits
together, so a crash anywhere replays the batch as if it never happened.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from streams.context import ProcessingContext
from streams.edge import RawRecord, StageOutput, StateLoader
from streams.runtime import ChangelogTable, Processor, StreamRuntime, TableLoaders
from streams.stage_metrics import StageMetrics

__all__ = ["OneTable", "StageSpec", "TableProcessor", "register_stage"]


class TableProcessor(Protocol):
    """A processor of one table: loads and reports keys of that table only."""

    def process(self, records: Iterable[RawRecord], load: StateLoader) -> StageOutput:
        """Turn one partition's batch into outputs; `changed` holds keys of its table."""
        ...

    def state(self, key: str) -> Any:
        """Return the table value of KEY from the working set."""
        ...

    def forget(self) -> None:
        """Drop the working set."""
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
        """Drop the working set."""
        self.processor.forget()


@dataclass(frozen=True)
class StageSpec:
    """A stage: its agent name, input and output topics (logical name → record), tables."""

    name: str
    inputs: Mapping[str, str]
    outputs: Mapping[str, str]
    tables: tuple[str, ...]


def register_stage(
    runtime: StreamRuntime,
    ctx: ProcessingContext,
    spec: StageSpec,
    make_processor: Callable[[dict[str, str]], Processor],
) -> dict[str, ChangelogTable]:
    """Declare SPEC's topics and tables on the runtime and register its agent; return the tables.

    MAKE_PROCESSOR gets {physical input topic: record name} (namespaced names).
    """
    settings = ctx.settings
    inputs = {settings.topic(name): record for name, record in spec.inputs.items()}
    outputs = {
        name: (settings.topic(name), ctx.serializer(record, settings.topic(name)))
        for name, record in spec.outputs.items()
    }
    tables = {name: runtime.table(name) for name in spec.tables}
    loaders = {name: table.get for name, table in tables.items()}
    processor = make_processor(inputs)
    logical = {settings.topic(name): name for name in spec.inputs}
    metrics = (
        StageMetrics(ctx.metrics, spec.name, logical, errors=ctx.last_error)
        if ctx.metrics is not None
        else None
    )

    async def agent(deliveries: Any) -> None:
        async for delivery in deliveries:
            try:
                result = processor.process(delivery.records, loaders)
                if inspect.isawaitable(result):
                    result = await result
            except Exception as exc:  # the runtime stops the worker with it, loudly
                delivery.failed(exc)
            else:
                delivery.done(result)

    runtime.stage(
        spec.name,
        inputs=inputs,
        outputs=outputs,
        tables=tables,
        processor=processor,
        agent=agent,
        metrics=metrics,
    )
    return tables
