"""The worker's exactly-once loop: fetch, hand each partition's records to its agents, commit.

Records are fetched, each topic-partition's run of them goes to every stage that reads the
topic (the stage's faust agent processes it and answers), and the outputs go into the
worker's open transaction. When the commit policy says so, the state of every table key
changed since the last commit is written to the changelogs and the transaction commits
with the input offsets (`streams.runtime.transactions`).

**Commits overlap processing.** A commit is a few round trips to the transaction
coordinator (5 to 40 ms on a busy two-core machine), and a loop that waited for it would hold
every record that arrives meanwhile. So the commit runs on a thread of its own while the
loop goes on fetching and processing, and the keys changed meanwhile belong to the next
commit. What those batches produce is held back until the committing producer has written
its outputs, then goes into the next transaction lane's transaction
(`streams.runtime.lanes` says why that stays exactly once); with one lane, until the
commit returns. The changed keys' state is serialized when the commit begins and written
to the changelogs by the commit thread, in the same transaction, just before it sends the
offsets. If the commit fails, every lane's open transaction is aborted with everything since
the last commit (see Errors).

**Rebalances** are announced by librdkafka from inside a fetch, so they always find the
loop between batches: the revocation waits for a commit in flight, commits what was
processed since, and drops the agents' working sets; the assignment restores the tables of
partitions the worker did not hold (`streams.runtime.restore`) before any of their records
are fetched, and keeps the tables of partitions it keeps.

Threads: fetches (and the rebalance callbacks and restores inside them) run on a "fetch"
thread, commits on a "commit" thread, agents on faust's event loop. The loop awaits each
fetch, so a callback never runs while an agent works.

Errors: an aborted transaction rewinds the inputs to the committed offsets and drops the
agents' working sets (tables hold committed state only, so nothing else needs undoing); a
batch that was being fetched when the abort landed is dropped unprocessed (the rewind reads
it again, after the records before it); a
fatal producer error, a restore that stalls or a batch an agent could not process stops
the worker with the reason (its restart resumes from the last commit). A stopping loop
first waits for a commit in flight (librdkafka refuses an abort while the commit thread is
inside a call), and the stall watchdog watches it until every thread is done.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, TopicPartition

from infra.clock import Clock, wall_clock_us
from streams.deadletter import HEADER_PREFIX
from streams.edge import StageOutput
from streams.runtime.commit_policy import CommitPolicy
from streams.runtime.exceptions import StreamRuntimeError, TransactionAbortedError
from streams.runtime.heap import PauseClock, freeze_startup_heap
from streams.runtime.identity import WorkerSlot
from streams.runtime.interpreter import switch_interval
from streams.runtime.lanes import TransactionLanes
from streams.runtime.offsets import InputOffsets, TopicPartitionKey
from streams.runtime.records import ConsumedRecord, to_records
from streams.runtime.restore import ChangelogRestorer
from streams.runtime.stages import Delivery, Stage
from streams.runtime.tables import ChangelogTable
from streams.runtime.timings import LoopTimings
from streams.runtime.transactions import Outgoing, TransactionalOutput
from streams.runtime.watchdog import CommitWatch, LoopProgress, Watchdog

__all__ = ["STAGE_HEADER", "LoopState", "ProcessingLoop"]

log = logging.getLogger("primestream.runtime")
T = TypeVar("T")
STAGE_HEADER = f"{HEADER_PREFIX}stage"
_IDLE_POLL_SECS = 0.05  # how long a fetch waits for a first record, at most
_BUSY_POLL_SECS = 0.002  # ... while a commit is in flight
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


@dataclass
class _Commit:
    """A commit in flight: what it commits, when it began, the thread's answer.

    LANE is the producer committing; FLUSHED is set once all its records are written, and
    SWITCHED once the loop sends new outputs to the other lane.
    """

    offsets: dict[TopicPartitionKey, int]
    started: float
    future: Future[None]
    lane: TransactionalOutput
    flushed: threading.Event = field(default_factory=threading.Event)
    switched: bool = False


class ProcessingLoop:
    """Runs STAGES over their input topics with exactly-once commits."""

    def __init__(
        self,
        *,
        stages: Sequence[Stage],
        consumer_config: Mapping[str, Any],
        outputs: Sequence[TransactionalOutput],
        restorer: ChangelogRestorer,
        deadletter_topic: str,
        policy: CommitPolicy,
        max_batch: int,
        slot: WorkerSlot | None = None,
        watch: CommitWatch | None = None,
        switch_interval_secs: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Clock = wall_clock_us,
    ) -> None:
        self._stages = list(stages)
        # topic -> (index of the stage, stage) of every stage that reads it
        self._readers: dict[str, list[tuple[int, Stage]]] = {}
        for index, stage in enumerate(self._stages):
            for topic in stage.inputs:
                self._readers.setdefault(topic, []).append((index, stage))
        self._tables: list[ChangelogTable] = [t for s in self._stages for t in s.tables.values()]
        self._consumer_config = dict(consumer_config)
        self._lanes = TransactionLanes(outputs)
        self._restorer = restorer
        self._deadletter = deadletter_topic
        self._policy = policy
        self._max_batch = max_batch
        self._slot = slot
        self._clock = clock
        self._switch_interval = switch_interval_secs
        self._wall_clock = wall_clock
        self._offsets = InputOffsets()
        self._dirty: dict[tuple[int, str, int, str], None] = {}  # (stage, table, partition, key)
        self._held_back: list[Outgoing] = []  # outputs made while a commit was in flight
        self._commit: _Commit | None = None
        self._consumer: Any = None
        self._fetcher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kafka-fetch")
        self._committer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kafka-commit")
        self._stopping = False
        self._last_commit = clock()
        self._waited = False  # outputs made during the last commit wait for the next one
        self._held_partitions: set[int] = set()
        self._redo = False  # an aborted transaction's inputs are read again, not committed yet
        self._starting = False
        self._closing = False
        self._watchdog = None if watch is None else Watchdog(watch, self.progress)
        self.state = LoopState()
        self.timings = LoopTimings(started=clock())

    # ------------------------------------------------------------------ life
    async def run(self) -> None:
        """Process until `stop()`; then commit what was processed and leave the group."""
        with switch_interval(self._switch_interval):  # see streams.runtime.interpreter
            await self._run()

    async def _run(self) -> None:
        if self._watchdog is not None:
            self._watchdog.start()
        self._starting = True  # watched: the producer's registration waits on the coordinator
        try:
            await self._fetching(self._start)
        except BaseException:
            if self._watchdog is not None:
                self._watchdog.stop()  # the start's own error is the reason to give
            raise
        self._starting = False
        frozen = freeze_startup_heap()  # see streams.runtime.heap: no 100 ms full collections
        log.info("froze %s start-up objects out of the cycle collector's full passes", frozen)
        pauses = PauseClock(self.timings.collected)
        pauses.install()
        try:
            while not self._stopping:
                await self._step()
            await self._settle(wait=True)
        except BaseException as exc:
            self.state.error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            pauses.remove()
            # Watched to the end: a close can wait for a dead coordinator, or for a commit
            # retrying against one (the process cannot exit before the commit thread does).
            self._closing = True
            await self._fetching(self._close)
            self._fetcher.shutdown(wait=True)
            self._committer.shutdown(wait=True)
            if self._watchdog is not None:
                self._watchdog.stop()

    def stop(self) -> None:
        """Ask the loop to finish its current step, commit and leave."""
        self._stopping = True

    async def _step(self) -> None:
        timings, clock = self.timings, self._clock
        began = clock()
        wait = self._fetch_wait(began)
        rewinds = self.state.aborts
        batch = await self._fetching(lambda: self._fetch(wait))
        fetched = clock()
        await self._settle(wait=False)
        if self.state.aborts != rewinds:
            # The commit in flight aborted and the inputs were sought back to the last
            # commit: BATCH was fetched from past that point, and processing it on the
            # committed state would skip every record between (they would come next,
            # out of order, and be refused as late). The seek reads them all again.
            batch = []
        if batch:
            age = self._wall_clock() / 1e6 - batch[0].timestamp_ms / 1e3
            timings.fetched(len(batch), fetched - began, age)
            await self._process(batch)
            timings.processed(clock() - fetched)
            await self._settle(wait=False)
        if self._commit is None and self._policy.due(
            now=clock(),
            last_commit=self._last_commit,
            pending=self._pending(),
            caught_up=len(batch) < self._max_batch,
            waited=self._waited,
        ):
            self._begin_commit()
        line = timings.report(clock())
        if line is not None:
            log.info("%s", line)

    def _fetch_wait(self, now: float) -> float:
        """Return how long the next fetch may wait for a first record."""
        if self._commit is not None:
            return _BUSY_POLL_SECS  # the commit's end is worth noticing soon
        if self._pending():  # not longer than until the next commit is due
            due = self._last_commit + self._policy.min_interval_secs
            return min(_IDLE_POLL_SECS, max(0.0, due - now))
        return _IDLE_POLL_SECS

    async def _fetching(self, call: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._fetcher, call)

    def progress(self) -> LoopProgress:
        """Return whether work waits and how far the loop got, for the watchdog (any thread)."""
        state, commit = self.state, self._commit
        notes = []
        if commit is not None:
            notes.append(f"a commit in flight for {self._clock() - commit.started:.1f} s")
        try:
            pending = self._pending()
        except RuntimeError:  # the loop changed the offsets while this thread read them
            pending = True
        if pending:
            notes.append("records processed, not committed")
        if self._redo:
            notes.append("an aborted transaction's records to process again")
        if state.rebalancing:
            notes.append("a rebalance under way")
        if self._starting:
            notes.append("starting: registering the transactional producer")
        if self._closing:  # after an error, the watchdog's line is often all the log says
            notes.append("shutting down" if state.error is None else f"stopping on {state.error}")
        waiting = bool(notes) and not state.restoring
        return LoopProgress(waiting, state.commits + state.assignments, "; ".join(notes))

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

    # ------------------------------------------------------ fetch thread: start
    def _start(self) -> None:
        self._lanes.start()
        self._consumer = Consumer(self._consumer_config)
        self._consumer.subscribe(
            sorted(self._readers),
            on_assign=self._on_assign,
            on_revoke=self._on_revoke,
            on_lost=self._on_lost,
        )

    def _close(self) -> None:
        commit = self._commit
        if commit is not None:
            # Whatever stopped the loop, the commit thread may still be inside a call on
            # its lane's producer, and librdkafka refuses any other transactional call
            # (the abort of the close) until that one returns.
            commit.future.exception()
        if self._consumer is None:
            return
        try:
            if self.state.error is None:
                self._commit_now()
            self._consumer.close()  # leaves the group (a revocation, with its commit, first)
        finally:
            self._lanes.close()
            self._restorer.close()
            self._consumer = None
            if self._slot is not None:
                self._slot.release()

    def _fetch(self, wait_secs: float) -> list[ConsumedRecord]:
        """Return the next records: wait up to WAIT_SECS for the first, then take what is there."""
        consumer = self._consumer
        first = consumer.poll(wait_secs)
        commit = self._commit
        self._lanes.poll(None if commit is None else commit.lane)
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
                if stage.metrics is not None:
                    stage.metrics.record(topic, len(records), output, time.perf_counter() - started)
            self._offsets.processed((topic, partition), records[-1].offset)

    def _emit(self, index: int, stage: Stage, partition: int, output: StageOutput) -> None:
        self._switch_lane()
        commit = self._commit
        send = self._held_back.append if commit is not None and not commit.switched else self._send
        if output.deadletters:
            name = stage.name.encode()
            for dead in output.deadletters:
                # Several stages may read one topic: the header says which one refused it.
                headers = [*dead.headers, (STAGE_HEADER, name)]
                send((self._deadletter, dead.value, dead.key, headers, None))
        outputs = stage.outputs
        for logical, out in output.records:
            topic, encode = outputs[logical]
            send((topic, encode(out.value), out.key, out.headers, out.partition))
        dirty = self._dirty
        for table, key in output.changed:
            dirty[(index, table, partition, key)] = None

    def _send(self, outgoing: Outgoing) -> None:
        topic, value, key, headers, partition = outgoing
        self._lanes.current.produce(topic, value, key, headers, partition)

    def _pending(self) -> bool:
        return bool(self._dirty) or self._lanes.current.open or bool(self._offsets.pending())

    # ------------------------------------------------------------ commits
    def _begin_commit(self) -> None:
        """Serialize the changed keys' state, then commit on the commit thread (no wait)."""
        staged = self._stage_commit()
        if staged is None:
            return
        offsets, writes = staged
        metadata = self._consumer.consumer_group_metadata()
        self._waited = False
        lane, flushed = self._lanes.current, threading.Event()
        future = self._committer.submit(
            self._lanes.commit, lane, offsets, metadata, flushed, writes
        )
        self._commit = _Commit(offsets, self._clock(), future, lane, flushed)

    def _switch_lane(self) -> None:
        """Send new outputs to the other lane once the committing one's records are written."""
        commit = self._commit
        if commit is None or commit.switched or not commit.flushed.is_set():
            return
        commit.switched = True
        self._lanes.switch_from(commit.lane)
        held, self._held_back = self._held_back, []
        for outgoing in held:
            self._send(outgoing)

    def _stage_commit(self) -> tuple[dict[TopicPartitionKey, int], list[Outgoing]] | None:
        """Serialize the changed keys' state; return the offsets to commit and the changelog writes.

        None: nothing to commit. The keys changed from here on belong to the next commit.
        The writes go into the committing lane's transaction on the commit thread
        (`TransactionLanes.commit` says why that stays in order).
        """
        writes: list[Outgoing] = []
        for stage_index, table_name, partition, key in self._dirty:
            stage = self._stages[stage_index]
            table = stage.tables[table_name]
            write = table.write(partition, key, stage.processor.state(table_name, key))
            writes.append((table.topic, write.value, table.record_key(key), None, partition))
        self._dirty.clear()
        offsets = self._offsets.pending()
        if not self._lanes.current.open and not offsets and not writes:
            return None
        return offsets, writes

    async def _settle(self, *, wait: bool) -> None:
        """Finish the commit in flight if it is done (or WAIT for it)."""
        self._switch_lane()
        commit = self._commit
        if commit is None or not (wait or commit.future.done()):
            return
        if wait:
            await asyncio.wrap_future(commit.future)
        self._finish(commit)

    def _finish(self, commit: _Commit) -> None:
        """Account for a finished commit; release the held-back outputs, or rewind on abort."""
        if self._commit is not commit:
            return
        self._commit = None
        held, self._held_back = self._held_back, []
        try:
            commit.future.result()
        except TransactionAbortedError as exc:
            log.warning("transaction aborted, resuming from the last commit: %s", exc)
            self._reset()
            return
        self._committed(commit.offsets, commit.started)
        for outgoing in held:
            self._send(outgoing)
        # What the other lane took meanwhile (or what was held) waited through this commit.
        self._waited = self._lanes.current.open

    def _committed(self, offsets: dict[TopicPartitionKey, int], started: float) -> None:
        self._offsets.committed(offsets)
        for table in self._tables:
            table.commit()
        now = self._clock()
        self._last_commit = now
        self._redo = False
        self.state.commits += 1
        self.state.last_commit_secs = now - started
        self.timings.committed(now - started)

    def _commit_now(self) -> None:
        """Commit everything processed so far, here and now (rebalance, shutdown)."""
        commit = self._commit
        if commit is not None:
            commit.future.exception()  # wait for it, whatever the outcome
            self._finish(commit)
        started = self._clock()
        try:
            staged = self._stage_commit()
            if staged is None:
                return
            offsets, writes = staged
            lane = self._lanes.current
            for outgoing in writes:
                lane.produce(*outgoing)
            lane.commit(offsets, self._consumer.consumer_group_metadata())
        except TransactionAbortedError as exc:
            log.warning("transaction aborted, resuming from the last commit: %s", exc)
            self._reset()
            return
        self._committed(offsets, started)

    def _reset(self) -> None:
        """After an abort: drop uncommitted state, read the inputs again from the commit."""
        self.state.aborts += 1
        self._redo = True
        self._lanes.abort()  # the other lane's outputs came from what is read again
        self._forget()
        self._held_back.clear()
        self._last_commit = self._clock()
        for (topic, partition), offset in self._offsets.rewind().items():
            where = OFFSET_BEGINNING if offset is None else offset
            try:
                self._consumer.seek(TopicPartition(topic, partition, where))
            except KafkaException as exc:  # a partition on its way out: its next owner rereads
                log.warning("could not rewind %s[%d]: %s", topic, partition, exc)

    def _forget(self) -> None:
        for table in self._tables:
            table.abort()
        self._dirty.clear()
        for stage in self._stages:
            stage.processor.forget()

    # ----------------------------------------- fetch thread: rebalance callbacks
    def _on_revoke(self, consumer: Any, partitions: list[Any]) -> None:
        """Commit what was processed before the partitions move, then drop working state."""
        self.state.rebalancing = True
        if self.state.error is None:
            self._commit_now()
        for stage in self._stages:
            stage.processor.forget()
        self._offsets.revoke((tp.topic, tp.partition) for tp in partitions)
        self.state.held = ()

    def _on_lost(self, consumer: Any, partitions: list[Any]) -> None:
        """Drop everything: the group gave the partitions away, nothing may commit for them."""
        log.warning("lost %d partitions without a revocation: their state goes", len(partitions))
        self.state.rebalancing = True
        commit = self._commit
        if commit is not None:
            commit.future.exception()
            self._commit = None
        self._held_back.clear()
        self._lanes.abort()
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
        self._redo = False  # what is held now resumes from its committed offsets anyway
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
