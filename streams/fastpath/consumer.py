"""The consumer of the fast path: batch delivery, per-record offsets, exactly-once commits."""

from __future__ import annotations

import asyncio
import shutil
from collections import defaultdict
from collections.abc import Mapping, MutableMapping
from typing import Any

from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka as _aiokafka_driver
from faust.types import TP
from faust.types.tuples import ack_lock
from mode.utils.futures import notify

from streams.fastpath.batches import BatchMessage, _make_batch_message
from streams.fastpath.offsets import fold_spans, next_expected
from streams.fastpath.producer import TrackedBuffer
from streams.fastpath.thread import FastConsumerThread

COMMIT_TIMEOUT_SECS = 60.0


class FastConsumer(_aiokafka_driver.Consumer):
    """aiokafka-driver consumer with a batch-level delivery fast path."""

    #: per-message path (non-batch topics): call the conductor directly instead of
    #: Service.wait_first (4 tasks + asyncio.wait per record).  Only used for the
    #: "hot-path fix" measurement; rebalance suspension is then checked per batch.
    direct_callback: bool = False

    def _new_consumer_thread(self) -> FastConsumerThread:
        return FastConsumerThread(self, loop=self.loop, beacon=self.beacon)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # tp -> list of processed offset spans (first, last) inclusive
        self._spans: MutableMapping[TP, list[tuple[int, int]]] = defaultdict(list)
        # tp -> first offset delivered when nothing was committed yet
        self._span_base: dict[TP, int] = {}
        # unprocessed tails of batches whose agent died mid-batch
        self.fast_remainders: list[tuple[BatchMessage, list[Any]]] = []
        # exactly_once: held by the agent while a batch is in flight, and by the
        # committer for the whole commit, so a transaction never contains output of
        # a record whose offset it does not also commit (see force_commit).
        self._proc_lock: asyncio.Lock | None = None
        # A batch is stale, and dropped unprocessed, when its partition was repositioned
        # after the fetch (the consumer thread counts repositions: the new position
        # re-reads what is wanted) or a revocation began after it (see _revoke_barrier;
        # the partition's next owner restarts from the committed offset). Nothing else
        # drops a batch: its records would never come back.
        self._revokes = 0
        # Partitions whose position was set by a seek since they were assigned, and the
        # seeks to committed offsets in progress. faust resumes stream partitions at the
        # end of table recovery *before* it seeks them to the committed offsets: records
        # fetched meanwhile were processed, then the same records again after the seek
        # (input applied twice, or dead-lettered as late). Until the seek is done, fetched
        # records of batch topics go back.
        self._positioned: set[TP] = set()
        # partitions without a committed offset sent back to their earliest offset once
        self._rewound: set[TP] = set()
        # partitions of batch topics held now, and ever, by this worker (see _forget_regained)
        self._held: set[int] = set()
        self._ever_held: set[int] = set()
        self._seeking = 0
        # tp -> offset the next delivery starts from after a seek. faust's read offset
        # means "last delivered" except right after a seek, where it holds the NEXT
        # offset; a committed offset that lands on a transaction marker (any topic
        # written under exactly-once) would then never be acked and commits would stop.
        self._resume_at: dict[TP, int] = {}
        #: why this worker may not commit any more (see taint), None while healthy
        self.tainted: str | None = None
        self._crashing: asyncio.Future[None] | None = None

    def seek_epoch(self, tp: TP) -> tuple[int, int]:
        """(revocations begun, repositions of TP) now; a batch records them at fetch time."""
        return (self._revokes, self._thread.seeks.get(tp, 0))

    async def perform_seek(self) -> None:
        self._seeking += 1
        try:
            await super().perform_seek()
        finally:
            self._seeking -= 1

    async def seek(self, partition: TP, offset: int) -> None:
        await super().seek(partition, offset)
        self._remember_resume({partition: offset})
        self._positioned.add(TP(partition.topic, partition.partition))

    async def seek_to_committed(self) -> Mapping[TP, int]:
        committed = await super().seek_to_committed()
        self._remember_resume(committed)
        self._positioned.update(TP(tp.topic, tp.partition) for tp in committed)
        return committed

    def _remember_resume(self, offsets: Mapping[Any, int | None]) -> None:
        for tp, offset in offsets.items():
            key = TP(tp.topic, tp.partition)
            if offset is not None and offset > 0:
                self._resume_at[key] = offset
            else:
                self._resume_at.pop(key, None)

    def drop_stale(self, message: BatchMessage) -> bool:
        """True (and the batch released without acking) if it went stale since its fetch."""
        if (
            message.seek_epoch == self.seek_epoch(message.tp)
            and message.generation_id == self.app.consumer_generation_id
        ):
            return False
        message.acked = True
        self._unacked_messages.discard(message)
        notify(self._waiting_for_ack)
        return True

    def taint(self, reason: str) -> None:
        """Stop committing for good: the open transactions hold a half-processed batch.

        Kafka aborts them (the next owner of the partition fences this producer); the
        worker exits uncleanly, so its restart rebuilds the local stores from the
        changelogs. Called from a failing agent; crashes the app unless it is stopping.
        """
        if self.tainted is None:
            self.tainted = reason
            self.log.error("no more commits from this worker: %s", reason)
            if not self.app.should_stop:
                self._crashing = asyncio.ensure_future(self.app.crash(RuntimeError(reason)))

    @property
    def processing_lock(self) -> asyncio.Lock:
        if self._proc_lock is None:
            self._proc_lock = asyncio.Lock()
        return self._proc_lock

    async def force_commit(self, topics=None, start_new_transaction: bool = True) -> bool:
        if self.tainted is not None:
            return False
        if not self.in_transaction:
            return await super().force_commit(topics, start_new_transaction=start_new_transaction)
        lock = self.processing_lock
        try:
            await asyncio.wait_for(lock.acquire(), timeout=30.0)
        except TimeoutError:
            self.log.warning("commit skipped: a batch is still in flight after 30s")
            return False  # safe: nothing committed -> records are re-processed
        try:
            await self.drain_producer_buffer()
            return await asyncio.wait_for(
                super().force_commit(topics, start_new_transaction=start_new_transaction),
                timeout=COMMIT_TIMEOUT_SECS,
            )
        except TimeoutError:
            # A commit that never returns holds the processing lock forever: the worker
            # would sit silent. Crash loudly instead; the restart resumes from the last
            # committed transaction (nothing of this one is visible to read_committed).
            reason = f"exactly-once commit did not finish within {COMMIT_TIMEOUT_SECS:.0f} s"
            self.log.error(reason)
            await self.app.crash(RuntimeError(reason))
            return False
        finally:
            lock.release()

    async def drain_producer_buffer(self) -> None:
        """Publish table-changelog writes queued by send_soon() *now*, from this task.

        faust's ProducerBuffer publishes them from a background task, and
        ``ProducerBuffer.flush()`` returns while one may still be in flight (and
        gives up after 0.1 s), so under exactly_once a changelog write can land in
        the transaction *after* the one that commits its input offset -> the state
        change is lost if that later transaction aborts.  Draining from the agent
        task (current_event still set) routes the writes to the input partition's
        transaction before the batch is acked.
        """
        buf = self.app.producer.buffer
        pending = buf.pending
        while True:
            while not pending.empty():
                fut = pending.get_nowait()
                await buf._send_pending(fut)
                buf.message_sent.set()
            if not isinstance(buf, TrackedBuffer) or not buf.sending:
                return
            await buf.idle.wait()  # the buffer's own task is publishing one: let it land

    async def _revoke_barrier(self) -> bool:
        """Let the batch in flight finish, then make every batch fetched so far stale.

        faust commits and ends the partitions' transactions while it handles the
        revocation; a batch processed after that commit would write to the local table
        stores and send into a transaction that is abandoned (aborted when the partition's
        next owner starts), so the store would keep changes Kafka never committed. With
        the barrier, every batch is either in that last commit or never processed here.
        """
        lock = self.processing_lock
        try:
            await asyncio.wait_for(lock.acquire(), timeout=COMMIT_TIMEOUT_SECS)
        except TimeoutError:
            reason = f"a batch was still in flight {COMMIT_TIMEOUT_SECS:.0f} s into a rebalance"
            self.log.error(reason)
            await self.app.crash(RuntimeError(reason))
            return False
        try:
            self._revokes += 1
            self.stop_flow()
        finally:
            lock.release()
        return True

    async def _commit_processed(self) -> None:
        """Commit what was processed, and end the transactions, before a revocation.

        faust means to do this too, but its revocation commit runs after it has dropped
        the revoked partitions' acks (all of them: the rebalance is eager), so it commits
        nothing. Every transaction then stayed open: a partition that moved was done again
        from its last commit by the next owner, and one kept had its transaction aborted
        at the assignment (see FastProducer.maybe_begin_transaction) and its stores
        rebuilt. Kafka Streams commits at this point as well.
        """
        await self.force_commit(start_new_transaction=False)

    # ---------------------------------------------------------------- acking
    def ack_batch(self, message: BatchMessage, upto: int | None = None) -> bool:
        """Mark records [message.first_offset, upto or message.offset] processed."""
        with ack_lock:
            if message.acked:
                return False
            message.acked = True
        tp = message.tp
        first = message.first_offset
        last = message.offset if upto is None else upto
        committed = self._committed_offset[tp]
        if committed is not None and first < committed:
            first = committed
        if last >= first and message.generation_id == self.app.consumer_generation_id:
            self._spans[tp].append((first, last))
            self._acked[tp]
            self._n_acked += last - first + 1
        self._unacked_messages.discard(message)
        notify(self._waiting_for_ack)
        return True

    def _new_offset(self, tp: TP) -> int | None:
        spans = self._spans.get(tp)
        if not spans:
            return super()._new_offset(tp)
        # fold in per-message acks and gaps (transaction markers) as spans
        acked = self._acked.get(tp)
        if acked:
            spans.extend((o, o) for o in acked)
            acked.clear()
            self._acked_index[tp].clear()
        gaps = self._gap.get(tp)
        if gaps:
            spans.extend((iv.begin, iv.end - 1) for iv in gaps)
            gaps.clear()
        committed = self._committed_offset[tp]
        start = committed if committed is not None else self._span_base.get(tp)
        return fold_spans(spans, start)

    async def on_partitions_assigned(self, assigned: set[TP], generation_id: int = 0) -> None:
        if self.in_transaction:
            self._forget_regained(assigned)
        await super().on_partitions_assigned(assigned, generation_id)

    def _forget_regained(self, assigned: set[TP]) -> None:
        """Delete the table stores of partitions this worker held before, lost, and got back.

        Under exactly-once a store is written before its transaction commits; a partition
        given up may leave writes Kafka aborted in it. Recovery replays the changelog only
        after the store's own offset, so a partition that comes back would start from
        state no committed record explains. Rebuilt from its changelog instead.
        """
        batch_topics = getattr(self.app, "batch_topic_names", set())
        parts = {tp.partition for tp in assigned if tp.topic in batch_topics}
        self.forget_stores((parts & self._ever_held) - self._held, "came back")
        self._held = parts
        self._ever_held |= parts

    def forget_stores(self, partitions: set[int], why: str) -> None:
        """Delete the local table stores of PARTITIONS, to be rebuilt from the changelogs.

        Recovery reads committed changelog records only, so no aborted write survives. Its
        remembered offset of a partition the worker keeps through a rebalance is dropped
        too: recovery would otherwise resume there, into the empty store (state lost).
        """
        recovery = getattr(self.app.tables, "_recovery", None)
        for table in self.app.tables.values():
            store = table.data
            path_of = getattr(store, "partition_path", None)
            if path_of is None:
                continue
            for partition in partitions:
                store._dbs.pop(partition, None)
                shutil.rmtree(path_of(partition), ignore_errors=True)
                if recovery is not None:
                    recovery.revoke(TP(table.changelog_topic.get_topic_name(), partition))
                self.log.info(
                    "partition %d %s: %s rebuilt from its changelog", partition, why, table.name
                )

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        stopping = self.app.should_stop
        if self.in_transaction and revoked and not stopping and await self._revoke_barrier():
            await self._commit_processed()
        for tp in revoked:
            self._spans.pop(tp, None)
            self._span_base.pop(tp, None)
            self._resume_at.pop(tp, None)
            self._positioned.discard(tp)
            self._rewound.discard(tp)
        self.fast_remainders[:] = [r for r in self.fast_remainders if r[0].tp not in revoked]
        await super().on_partitions_revoked(revoked)

    async def _start_of(self, tp: TP, first: int) -> int | None:
        """The first offset to process of TP, which has no committed offset; None: rewound.

        Trusting the first record delivered would commit past records the consumer had
        fetched and dropped before (around a rebalance): they would never be processed.
        So the first delivery of such a partition must start at its earliest offset; if
        it does not, the position goes back there once. A second miss means the offsets
        between hold no records for us (transaction markers, aborted records).
        """
        low = (await self.earliest_offsets(tp)).get(tp)
        if low is None or first <= low or tp in self._rewound:
            return low if low is not None else first
        self._rewound.add(tp)
        self.log.info(
            "%s[%d]: first record %d, earliest %d: reading again from there",
            tp.topic,
            tp.partition,
            first,
            low,
        )
        self._thread.seek(tp, low)
        return None

    # ------------------------------------------------------------- hot path
    async def _drain_messages(self, fetcher) -> None:
        callback = self.callback
        consumer_should_stop = self._stopped.is_set
        fetcher_should_stop = fetcher._stopped.is_set
        read_offset = self._read_offset
        set_flag, unset_flag = self.diag.set_flag, self.diag.unset_flag
        batch_topics: set[str] = getattr(self.app, "batch_topic_names", set())
        acks_enabled_for = self.app.topics.acks_enabled_for
        commit_every = self._commit_every
        to_message = self._to_message
        monitor = self.app.monitor
        since_commit = 0
        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                set_flag(CONSUMER_FETCHING)
                generation_id = self.app.consumer_generation_id
                revokes = self._revokes
                records, active = await self._wait_next_records(1.0)
                await asyncio.sleep(0)
                if not records or self.should_stop:
                    unset_flag(CONSUMER_FETCHING)
                    continue
                if not self.flow_active:
                    try:
                        await self.perform_seek()
                    except Exception as exc:  # as stock getmany
                        self.log.warning(f"exception performing seek when flow not active {exc}")
                    continue
                fetched_at = getattr(records, "seeks", None)
                seeks = self._thread.seeks
                for tp, recs in records.items():
                    if (
                        not self.flow_active
                        or self.app.consumer_generation_id != generation_id
                        or self._revokes != revokes
                    ):
                        break  # a rebalance: positions restart from the committed offsets
                    fetched = fetched_at.get(tp, 0) if fetched_at is not None else 0
                    if fetched_at is not None and seeks.get(tp, 0) != fetched:
                        # tp was repositioned after this fetch: the new position re-reads
                        # what is wanted. (Delivering these would put records from before
                        # the seek first and mark the span up to them as processed.)
                        if recs and tp.topic in batch_topics:
                            self.log.info(
                                "dropped %s[%d] %d..%d: repositioned after the fetch",
                                tp.topic, tp.partition, recs[0].offset, recs[-1].offset,
                            )  # fmt: skip
                        continue
                    if not recs:
                        continue
                    if not (active is None or tp in active or tp in self._buffered_partitions):
                        await self.seek(tp, recs[0].offset)  # paused: read them again later
                        self.log.info(
                            "%s[%d] paused: back to %d", tp.topic, tp.partition, recs[0].offset
                        )
                        continue
                    if tp.topic in batch_topics and (self._seeking or tp not in self._positioned):
                        self._thread.seek(tp, recs[0].offset)  # not yet: read them again
                        continue
                    epoch = (revokes, fetched)
                    monitor.track_tp_end_offset(tp, self.highwater(tp))
                    r_offset = read_offset[tp]
                    if r_offset is not None and recs[0].offset < r_offset:
                        recs = [x for x in recs if x.offset >= r_offset]  # already delivered
                        if not recs:
                            continue
                    if tp.topic in batch_topics:
                        first = recs[0].offset
                        resume = self._resume_at.pop(tp, None)
                        expected = next_expected(resume, r_offset)
                        if resume is not None:  # once per seek: gaps after markers are routine
                            self.log.info(
                                "%s[%d]: delivering %d..%d (expected %s, after a seek: %s)",
                                tp.topic, tp.partition, first, recs[-1].offset, expected,
                                resume is not None,
                            )  # fmt: skip
                        if expected is not None and first > expected and acks_enabled_for(tp.topic):
                            # offsets without records (txn markers, aborted records,
                            # compaction): nothing to process, but they must commit
                            self._spans[tp].append((expected, first - 1))
                        elif (
                            expected is None
                            and self._committed_offset[tp] is None
                            and tp not in self._span_base
                        ):
                            low = await self._start_of(tp, first)
                            if low is None:
                                continue  # records before these were skipped: read again
                            if first > low and acks_enabled_for(tp.topic):
                                self._spans[tp].append((low, first - 1))  # markers, aborts
                            self._span_base[tp] = low
                        message = _make_batch_message(tp, recs, generation_id, epoch)
                        await self.wait_first(callback(message), self.suspend_flow.wait())
                        if seeks.get(tp, 0) == fetched:  # no seek meanwhile reset read_offset
                            read_offset[tp] = recs[-1].offset
                        since_commit += len(recs)
                    elif self.direct_callback:
                        for rec in recs:
                            if self.suspend_flow.is_set():
                                break
                            offset = rec.offset
                            r_offset = read_offset[tp]
                            if r_offset is None or offset >= r_offset:
                                if (
                                    r_offset
                                    and offset - r_offset > 1
                                    and acks_enabled_for(tp.topic)
                                ):
                                    await self._add_gap(tp, r_offset + 1, offset)
                                await callback(to_message(tp, rec))
                                read_offset[tp] = offset
                                since_commit += 1
                    else:  # stock per-message semantics for non-batch topics
                        for rec in recs:
                            offset = rec.offset
                            r_offset = read_offset[tp]
                            if r_offset is None or offset >= r_offset:
                                if (
                                    r_offset
                                    and offset - r_offset > 1
                                    and acks_enabled_for(tp.topic)
                                ):
                                    await self._add_gap(tp, r_offset + 1, offset)
                                await self.wait_first(
                                    callback(to_message(tp, rec)), self.suspend_flow.wait()
                                )
                                read_offset[tp] = offset
                                since_commit += 1
                    if commit_every is not None and since_commit >= commit_every:
                        since_commit = 0
                        await self.commit()
                unset_flag(CONSUMER_FETCHING)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                return
            raise
        finally:
            unset_flag(CONSUMER_FETCHING)
