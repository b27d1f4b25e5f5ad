"""What the runtime runs: stages (an agent, its topics, its tables) and the batches it hands them.

A stage is one faust agent and the pure processor behind it. The runtime hands the agent one
topic-partition's records at a time as a `Delivery`, and the agent answers with what the
processor made of them (a `StageOutput`: records per output topic, dead letters, the
(table, key) pairs it changed). The runtime does the rest: it sends the outputs into the
worker's open transaction, and at the next commit asks the processor for the state of every
key changed since the last one, once, for the tables' changelogs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from streams.edge import RawRecord, StageOutput, TableLoaders
from streams.runtime.tables import ChangelogTable
from streams.stage_metrics import StageMetrics

__all__ = ["Delivery", "Encoder", "Processor", "Stage", "TableLoaders"]

Encoder = Callable[[Any], bytes]


class Processor(Protocol):
    """A stage's pure processor: batches in, outputs out, state by (table, key) on demand."""

    def process(
        self, records: Iterable[RawRecord], load: TableLoaders
    ) -> StageOutput | Awaitable[StageOutput]:
        """Turn one partition's batch into outputs; `changed` holds (table, key) pairs.

        The processor keeps the objects it works on between batches (its working set) and
        loads a key from LOAD (the committed table) the first time it needs it.
        """
        ...

    def state(self, table: str, key: str) -> Any:
        """Return KEY's current state in TABLE (JSON-able), from the working set."""
        ...

    def forget(self) -> None:
        """Drop the working set: the committed tables are the truth again (abort, rebalance)."""
        ...


@dataclass
class Delivery:
    """One topic-partition's records for one agent, and the answer the runtime waits for."""

    topic: str
    partition: int
    records: list[RawRecord]
    answer: asyncio.Future[StageOutput] = field(repr=False)

    def done(self, output: StageOutput) -> None:
        """Hand the processor's output back to the runtime."""
        if not self.answer.done():
            self.answer.set_result(output)

    def failed(self, error: BaseException) -> None:
        """Tell the runtime the batch could not be processed (the worker stops)."""
        if not self.answer.done():
            self.answer.set_exception(error)


@dataclass
class Stage:
    """A stage as the runtime runs it.

    INPUTS: physical topic → record name. OUTPUTS: logical topic → (physical topic, encoder).
    TABLES: table name → table. DELIVER hands a delivery to the stage's agent. METRICS, if
    given, counts each batch once.
    """

    name: str
    inputs: Mapping[str, str]
    outputs: Mapping[str, tuple[str, Encoder]]
    tables: Mapping[str, ChangelogTable]
    processor: Processor
    deliver: Callable[[Delivery], Awaitable[None]]
    metrics: StageMetrics | None = None
    loaders: TableLoaders = field(init=False)

    def __post_init__(self) -> None:
        self.loaders = {name: table.get for name, table in self.tables.items()}
