"""The worker's exactly-once loop: fetch, hand each partition's records to its agents, commit.

One thing happens at a time, as in Kafka Streams and quixstreams: records are fetched, each
topic-partition's run of them goes to every stage that reads the topic (the stage's faust
agent processes it and answers), the outputs go into the worker's open transaction, and when
the commit policy says so the changed table keys, the outputs and the input offsets commit
together (`streams.runtime.transactions`). Because nothing is in flight between two steps,
a rebalance (which librdkafka announces from inside a fetch) always finds the worker between
batches: it commits what was processed before the partitions move, and restores the tables
of the partitions it gets (`streams.runtime.restore`) before it fetches their records.

Blocking client calls (fetch, commit, restore) run on one thread of their own, the "kafka
thread"; the agents run on faust's event loop. The loop awaits each call, so the two never
touch the working state at the same time.

Errors: an aborted transaction rewinds the inputs to the committed offsets and drops the
agents' working sets (the tables hold only committed state, so nothing else needs undoing);
a fatal producer error, a restore that stalls or a batch an agent could not process stops
the worker with the reason (its restart resumes from the last commit).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from streams.deadletter import HEADER_PREFIX
from streams.edge import StageOutput
from streams.runtime.commit_policy import CommitPolicy
from streams.runtime.exceptions import StreamRuntimeError, TransactionAbortedError
from streams.runtime.identity import WorkerSlot
from streams.runtime.offsets import InputOffsets
from streams.runtime.records import ConsumedRecord, to_records
from streams.runtime.restore import ChangelogRestorer
from streams.runtime.stages import Delivery, Stage
from streams.runtime.tables import ChangelogTable
from streams.runtime.transactions import TransactionalOutput

__all__ = ["STAGE_HEADER", "LoopState", "ProcessingLoop"]

log = logging.getLogger("primestream.runtime")
T = TypeVar("T")
STAGE_HEADER = f"{HEADER_PREFIX}stage"
_IDLE_POLL_SECS = 0.05
_REQUEST_SECS = 30.0


@dataclass
class LoopState:
    """What the loop is doing, for `/ready`, `status` and the lag gauge (read from any thread)."""

    assignments: int = 0  # rebalances that gave this worker an assignment
    rebalancing: bool = False
    restoring: bool = False
    held: tuple[tuple[str, int], ...] = ()  # input (topic, partition)s held now
    commits: int = 0
    aborts: int = 0
    last_commit_secs: float = 0.0
    error: str | None = None
    partitions: frozenset[int] = field(default_factory=frozenset)


class ProcessingLoop:
    """Runs STAGES over their input topics with exactly-once commits."""

    def __init__(
        self,
        *,
        stages: Sequence[Stage],
        consumer_config: Mapping[str, Any],
        output: TransactionalOutput,
        restorer: ChangelogRestorer,
        deadletter_topic: str,
        policy: CommitPolicy,
        max_batch: int,
        slot: WorkerSlot | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stages = list(stages)
        # topic -> (index of the stage, stage) of every stage that reads it
        self._readers: dict[str, list[tuple[int, Stage]]] = {}
        for index, stage in enumerate(self._stages):
            for topic in stage.inputs:
                self._readers.setdefault(topic, []).append((index, stage))
        self._tables: list[ChangelogTable] = [t for s in self._stages for t in s.tables.values()]
        self._consumer_config = dict(consumer_config)
        self._output = output
        self._restorer = restorer
        self._deadletter = deadletter_topic
        self._policy = policy
        self._max_batch = max_batch
        self._slot = slot
        self._clock = clock
        self._offsets = InputOffsets()
        self._dirty: dict[tuple[int, str, int, str], None] = {}  # (stage, table, partition, key)
        self._consumer: Any = None
        self._kafka = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kafka")
        self._stopping = False
        self._last_commit = clock()
        self._held_partitions: set[int] = set()
        self.state = LoopState()

    # ------------------------------------------------------------------ life
    async def run(self) -> None:
        """Process until `stop()`; then commit what was processed and leave the group."""
        await self._in_kafka_thread(self._start)
        try:
            while not self._stopping:
                batch = await self._in_kafka_thread(self._fetch)
                if batch:
                    await self._process(batch)
                caught_up = len(batch) < self._max_batch
                if self._policy.due(
                    now=self._clock(),
                    last_commit=self._last_commit,
                    pending=self._pending(),
                    caught_up=caught_up,
                ):
                    await self._in_kafka_thread(self._checkpoint)
        except BaseException as exc:
            self.state.error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            await self._in_kafka_thread(self._close)
            self._kafka.shutdown(wait=True)

    def stop(self) -> None:
        """Ask the loop to finish its current step, commit and leave."""
        self._stopping = True

    def lag(self) -> dict[tuple[str, int], int]:
        """Return {(topic, partition): end - committed} of the inputs held (known ones only)."""
        consumer = self._consumer
        if consumer is None:
            return {}
        lag = {}
        for topic, partition in self.state.held:
            committed = self._offsets.committed_offset((topic, partition))
            try:
                _, high = consumer.get_watermark_offsets(
                    TopicPartition(topic, partition), cached=True
                )
            except KafkaException:
                continue
            if committed is None or high is None or high < 0:
                continue
            lag[(topic, partition)] = max(0, high - committed)
        return lag

    async def _in_kafka_thread(self, call: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._kafka, call)

    # ------------------------------------------------------ kafka thread: start
    def _start(self) -> None:
        self._output.start()
        self._consumer = Consumer(self._consumer_config)
        self._consumer.subscribe(
            sorted(self._readers),
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )

    def _close(self) -> None:
        if self._consumer is None:
            return
        try:
            if self.state.error is None:
                self._checkpoint()
            self._consumer.close()  # leaves the group (a revocation, with its commit, first)
        finally:
            self._output.close()
            self._restorer.close()
            self._consumer = None
            if self._slot is not None:
                self._slot.release()

    # ------------------------------------------------------ kafka thread: fetch
    def _fetch(self) -> list[ConsumedRecord]:
        """Return the next records: wait a little for the first, then take what is there."""
        consumer = self._consumer
        first = consumer.poll(_IDLE_POLL_SECS)
        self._output.poll()
        if first is None:
            return []
        messages = [first]
        if self._max_batch > 1:
            messages += consumer.consume(num_messages=self._max_batch - 1, timeout=0)
        return to_records(messages, _raise_consumer_error)

    # ----------------------------------------------------------- event loop
    async def _process(self, batch: list[ConsumedRecord]) -> None:
        """Hand each topic-partition's run of BATCH to the stages that read the topic."""
        runs: dict[tuple[str, int], list[ConsumedRecord]] = {}
        for record in batch:
            runs.setdefault((record.topic, record.partition), []).append(record)
        loop = asyncio.get_running_loop()
        for (topic, partition), records in runs.items():
            for index, stage in self._readers.get(topic, ()):
                started = time.perf_counter()
                delivery = Delivery(topic, partition, list(records), loop.create_future())
                await stage.deliver(delivery)
                try:
                    output = await delivery.answer
                except Exception as exc:
                    raise StreamRuntimeError(
                        f"agent {stage.name} failed on {topic}[{partition}] "
                        f"{records[0].offset}..{records[-1].offset}: {exc!r}"
                    ) from exc
                self._emit(index, stage, partition, output)
                metrics = stage.metrics
                if metrics is not None:
                    metrics.record(topic, len(records), output, time.perf_counter() - started)
            self._offsets.processed((topic, partition), records[-1].offset)

    def _emit(self, index: int, stage: Stage, partition: int, output: StageOutput) -> None:
        produce = self._output.produce
        if output.deadletters:
            name = stage.name.encode()
            for dead in output.deadletters:
                # Several stages may read one topic: the header says which one refused it.
                headers = [*dead.headers, (STAGE_HEADER, name)]
                produce(self._deadletter, dead.value, dead.key, headers)
        outputs = stage.outputs
        for logical, out in output.records:
            topic, encode = outputs[logical]
            produce(topic, encode(out.value), out.key, out.headers, out.partition)
        dirty = self._dirty
        for table, key in output.changed:
            dirty[(index, table, partition, key)] = None

    def _pending(self) -> bool:
        return bool(self._dirty) or self._output.open or bool(self._offsets.pending())

    # ------------------------------------------------ kafka thread: commit
    def _checkpoint(self) -> None:
        """Write the changed keys' state, then commit it with the outputs and input offsets."""
        started = self._clock()
        output = self._output
        try:
            for stage_index, table_name, partition, key in self._dirty:
                stage = self._stages[stage_index]
                table = stage.tables[table_name]
                write = table.write(partition, key, stage.processor.state(table_name, key))
                output.produce(table.topic, write.value, key.encode(), None, partition)
            offsets = self._offsets.pending()
            output.commit(offsets, self._consumer.consumer_group_metadata())
        except TransactionAbortedError as exc:
            log.warning("transaction aborted, resuming from the last commit: %s", exc)
            self._reset()
            return
        self._offsets.committed(offsets)
        for table in self._tables:
            table.commit()
        self._dirty.clear()
        now = self._clock()
        self._last_commit = now
        self.state.commits += 1
        self.state.last_commit_secs = now - started

    def _reset(self) -> None:
        """After an abort: drop uncommitted state, read the inputs again from the commit."""
        self.state.aborts += 1
        self._forget()
        self._last_commit = self._clock()
        for (topic, partition), offset in self._offsets.rewind().items():
            where = OFFSET_BEGINNING if offset is None else offset
            self._consumer.seek(TopicPartition(topic, partition, where))

    def _forget(self) -> None:
        for table in self._tables:
            table.abort()
        self._dirty.clear()
        for stage in self._stages:
            stage.processor.forget()

    # ----------------------------------------- kafka thread: rebalance callbacks
    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        """Commit what was processed before the partitions move, then drop working state."""
        self.state.rebalancing = True
        if self.state.error is None and self._pending():
            self._checkpoint()
        for stage in self._stages:
            stage.processor.forget()
        self._offsets.revoke((tp.topic, tp.partition) for tp in partitions)
        self.state.held = ()

    def _on_lost(self, consumer: Any, partitions: list[Any]) -> None:
        """Drop everything: the group gave the partitions away, nothing may commit for them."""
        log.warning("lost %d partitions without a revocation: their state goes", len(partitions))
        self.state.rebalancing = True
        self._output.abort()
        self._forget()
        self._offsets.revoke((tp.topic, tp.partition) for tp in partitions)
        for table in self._tables:
            for partition in self._held_partitions:
                table.drop(partition)
        self._held_partitions = set()
        self.state.held = ()

    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        """Keep the tables of partitions still held, drop the others', restore the new ones."""
        now_held = {tp.partition for tp in partitions}
        for table in self._tables:
            for partition in self._held_partitions - now_held:
                table.drop(partition)
        fresh = now_held - self._held_partitions
        self.state.restoring = True
        try:
            if fresh and self._tables:
                self._restorer.restore(self._tables, fresh)
        finally:
            self.state.restoring = False
        self._held_partitions = now_held
        committed = consumer.committed(
            [TopicPartition(tp.topic, tp.partition) for tp in partitions], timeout=_REQUEST_SECS
        )
        self._offsets.assign({(tp.topic, tp.partition): tp.offset for tp in committed})
        self._last_commit = self._clock()
        self.state.held = tuple(sorted((tp.topic, tp.partition) for tp in partitions))
        self.state.partitions = frozenset(now_held)
        self.state.assignments += 1
        self.state.rebalancing = False
        log.info("assigned partitions %s (%d restored)", sorted(now_held), len(fresh))


def _raise_consumer_error(error: KafkaError) -> None:
    """Stop the worker on a consumer error that is not routine; log the routine ones."""
    if error.fatal() or error.code() in _FATAL_CONSUMER:
        raise KafkaException(error)
    log.warning("consumer: %s", error.str())


_FATAL_CONSUMER = frozenset(
    {KafkaError.TOPIC_AUTHORIZATION_FAILED, KafkaError.GROUP_AUTHORIZATION_FAILED}
)
