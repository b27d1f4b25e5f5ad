"""fastpath -- a batch-level fast path for faust-streaming (0.15.x) agents.

Why: stock faust moves every Kafka record through ~10 asyncio hops
(Consumer._drain_messages -> Service.wait_first (4 tasks + asyncio.wait) ->
ConductorHandler -> Event -> FlowControlQueue -> Stream.__aiter__ (sleep(0),
sensors, WeakSet tracking, ack under a lock) -> agent).  On a 2-core box that
costs ~120-150 us per record (~7k records/s) regardless of app settings.

What this module does (processing model stays "faust agent + stream"):

* ``FastConsumer`` (subclass of the aiokafka driver's Consumer) overrides
  ``_drain_messages``: for topics created with ``app.batch_topic(...)`` it
  delivers ONE faust event per fetched (topic, partition) chunk.  The event's
  value is a :class:`RecordBatch` holding the raw aiokafka ``ConsumerRecord``s
  in offset order; the event's message is a :class:`BatchMessage` whose ``tp``
  is the real partition (so ``current_event()``, tables, changelogs and
  transactions see the right partition).  Non-batch topics (e.g. table
  changelogs, other agents) keep faust's stock per-message path.
* Offsets stay tracked *per record*: acknowledging a batch (or a prefix of
  it) records an offset span; ``_new_offset`` merges spans (+ gaps left by
  transaction markers) and commits only the contiguous processed prefix per
  partition.  Commit still happens through faust (``Consumer.commit`` /
  ``TransactionManager.commit``), so exactly_once commits offsets inside the
  partition's transaction.
* :func:`iter_batches` is what the agent iterates: one batch at a time, acked
  when the body that got it finishes. Under exactly_once the body holds the
  processing lock, so commits and rebalances see whole batches only (see
  ``force_commit`` and ``_revoke_barrier``); a body that fails half-way taints
  the consumer (no more commits, the worker crashes and rebuilds its stores).
* Gaps (transaction markers, aborted records) are committed as processed, also
  right after a seek, where faust's read offset means "next", not "last".
* ``FastTransactionManager`` fixes an exactly_once pitfall of faust 0.15.3:
  ``TransactionManager.send`` picks the transactional producer from the
  *destination* partition via the consumer's metadata, which only knows
  subscribed topics -> for ordinary output topics it falls back to the
  non-transactional producer (records written with isTransactional=false).
  Here sends made while processing an event go to the transactional producer
  that owns the *input* partition, i.e. the same transaction that commits the
  input offsets.

Usage::

    app = FastApp("primestream-ema", broker="kafka://127.0.0.1:29092",
                  processing_guarantee="exactly_once", ...)
    quotes = app.batch_topic("quotes", value_serializer="raw", key_serializer="raw")
    out = app.topic("ema", value_serializer="raw", key_serializer="raw")

    @app.agent(quotes)
    async def ema(stream):
        async for batch in iter_batches(stream):     # batch.records: ConsumerRecords
            for rec in batch.records:
                await out.send(key=rec.key, value=transform(rec.value))
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, Mapping, MutableMapping
from contextvars import ContextVar
from typing import Any

import faust
from faust.streams import current_event
from faust.topics import Topic
from faust.transport.consumer import CONSUMER_FETCHING, TransactionManager
from faust.transport.drivers import aiokafka as _aiokafka_driver
from faust.transport.producer import ProducerBuffer
from faust.types import TP
from faust.types.tuples import ConsumerMessage, ack_lock
from mode.utils.futures import notify

COMMIT_TIMEOUT_SECS = 60.0

__all__ = [
    "COMMIT_TIMEOUT_SECS",
    "BatchMessage",
    "BatchTopic",
    "FastApp",
    "FastConsumer",
    "FastConsumerThread",
    "FastProducer",
    "FastTransactionManager",
    "FastTransport",
    "RecordBatch",
    "SeekCounts",
    "TrackedBuffer",
    "fold_spans",
    "iter_batches",
    "next_expected",
]


def fold_spans(spans: list[tuple[int, int]], start: int | None) -> int | None:
    """Consume the processed spans contiguous from START; return the offset to commit.

    SPANS holds inclusive (first, last) offset ranges, processed or known empty, in
    any order; it is sorted and the consumed prefix removed in place. START is the
    committed offset (None before any commit: the first span starts the prefix).
    None when nothing contiguous follows START (a record before the spans is still
    in flight): committing past it would lose it.
    """
    if not spans:
        return None
    spans.sort()
    expected = spans[0][0] if start is None else start
    consumed = 0
    for first, last in spans:
        if first > expected:
            break
        expected = max(expected, last + 1)
        consumed += 1
    if not consumed:
        return None
    del spans[:consumed]
    return expected


def next_expected(resume_at: int | None, last_read: int | None) -> int | None:
    """The offset the next delivered record of a partition should have, if known.

    RESUME_AT is where a seek put the partition (the next offset to read); otherwise
    LAST_READ (the last offset delivered) + 1. A record beyond it means the offsets
    between hold no records for us (markers, aborted transactions).
    """
    if resume_at is not None:
        return resume_at
    return None if last_read is None else last_read + 1


class RecordBatch:
    """Contiguous, offset-ordered records of ONE topic-partition (one faust event)."""

    __slots__ = ("records", "tp")

    def __init__(self, tp: TP, records: list[Any]) -> None:
        self.tp = tp
        self.records = records

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self):
        return iter(self.records)

    @property
    def values(self) -> list[bytes]:
        return [r.value for r in self.records]

    def __repr__(self) -> str:
        r = self.records
        return f"<RecordBatch {self.tp.topic}[{self.tp.partition}] {r[0].offset}..{r[-1].offset} n={len(r)}>"


class BatchMessage(ConsumerMessage):
    """A faust Message standing for a span of records [first_offset, offset]."""

    __slots__ = ("count", "first_offset", "seek_epoch")


def _make_batch_message(
    tp: TP, records: list[Any], generation_id: int, seek_epoch: tuple[int, int] = (0, 0)
) -> BatchMessage:
    first, last = records[0], records[-1]
    ts = last.timestamp
    msg = BatchMessage(
        tp.topic,
        tp.partition,
        last.offset,
        ts / 1000.0 if ts is not None else None,
        last.timestamp_type,
        None,
        None,
        RecordBatch(tp, records),
        None,
        0,
        0,
        tp,
        generation_id=generation_id,
    )
    msg.first_offset = first.offset
    msg.count = len(records)
    msg.seek_epoch = seek_epoch
    return msg


class BatchTopic(Topic):
    """A faust Topic whose partitions are delivered as RecordBatch events."""

    async def decode(self, message, *, propagate: bool = False):
        if isinstance(message, BatchMessage):
            # the payload is already a RecordBatch of raw records: the agent
            # decodes per record (keeps the conductor out of the hot path).
            return self._create_event(None, message.value, None, message=message)
        return await super().decode(message, propagate=propagate)


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

    async def _revoke_barrier(self) -> None:
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
            return
        try:
            self._revokes += 1
            self.stop_flow()
        finally:
            lock.release()

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

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        if self.in_transaction and revoked and not self.app.should_stop:
            await self._revoke_barrier()
        for tp in revoked:
            self._spans.pop(tp, None)
            self._span_base.pop(tp, None)
            self._resume_at.pop(tp, None)
            self._positioned.discard(tp)
        self.fast_remainders[:] = [r for r in self.fast_remainders if r[0].tp not in revoked]
        await super().on_partitions_revoked(revoked)

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
                        if resume is not None or (expected is not None and first != expected):
                            self.log.info(
                                "%s[%d]: delivering %d..%d (expected %s, after a seek: %s)",
                                tp.topic, tp.partition, first, recs[-1].offset, expected,
                                resume is not None,
                            )  # fmt: skip
                        if expected is not None and first > expected and acks_enabled_for(tp.topic):
                            # offsets without records (txn markers, aborted records,
                            # compaction): nothing to process, but they must commit
                            self._spans[tp].append((expected, first - 1))
                        elif expected is None and self._committed_offset[tp] is None:
                            self._span_base.setdefault(tp, first)
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


class SeekCounts(dict):  # type: ignore[type-arg]
    """A fetch's records (tp -> records) and each tp's seek count when the fetch returned."""

    seeks: dict[TP, int]


class FastConsumerThread(_aiokafka_driver.AIOKafkaConsumerThread):
    """The aiokafka consumer thread, counting every reposition of each partition.

    Records come back from the thread some time after the fetch: a seek may have moved
    the partition in between. Counting seeks where they happen (the fetcher's seek_to
    and offset resets, whoever calls them) and stamping each fetch with the counts tells
    the fast path exactly which records predate a reposition of their partition.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seeks: dict[TP, int] = {}
        self._counted: Any = None

    def _count_seeks(self, fetcher: Any) -> None:
        seeks = self.seeks
        seek_to, reset = fetcher.seek_to, fetcher.request_offset_reset

        def counted_seek_to(tp: Any, offset: int) -> Any:
            seeks[tp] = seeks.get(tp, 0) + 1
            if not tp.topic.endswith("-changelog"):
                self.log.info("seek %s[%d] -> %d", tp.topic, tp.partition, offset)
            return seek_to(tp, offset)

        def counted_reset(tps: Any, strategy: Any) -> Any:
            for tp in tps:
                seeks[tp] = seeks.get(tp, 0) + 1
            return reset(tps, strategy)

        fetcher.seek_to, fetcher.request_offset_reset = counted_seek_to, counted_reset
        self._counted = fetcher

    async def _highwaters(self, partitions: Any) -> Any:
        """Ask the broker for the partitions' ends (read_committed: last stable offsets).

        faust reads `last_stable_offset()` here under exactly_once, which aiokafka only
        knows from a fetch response: before the first fetch of a changelog partition it is
        unknown (-1), so a restarted worker "recovered" its tables from nothing, or up to a
        stale offset, and computed on from there.
        """
        return await self._ensure_consumer().end_offsets(list(partitions))

    async def _fetch_records(
        self,
        consumer: Any,
        active_partitions: Any,
        timeout: float | None = None,  # noqa: ASYNC109 - faust's signature
        max_records: int | None = None,
    ) -> Any:
        if self._counted is not consumer._fetcher:
            self._count_seeks(consumer._fetcher)
        records = SeekCounts(
            await super()._fetch_records(
                consumer, active_partitions, timeout=timeout, max_records=max_records
            )
        )
        records.seeks = {tp: self.seeks.get(tp, 0) for tp in records}
        return records


class FastTransactionManager(TransactionManager):
    """exactly_once: produce into the transaction that owns the input partition."""

    async def send(
        self, topic, key, value, partition, timestamp, headers, *, transactional_id=None
    ):
        event = current_event()
        tp = event.message.tp if event is not None and event.message is not None else _ORIGIN.get()
        if tp is not None:
            try:
                group = self.app.assignor.group_for_topic(tp.topic)
            except KeyError:
                group = None
            if group is not None:
                tid = f"{self.app.conf.id}-{group}-{tp.partition}"
                return await self.producer.send(
                    topic, key, value, partition, timestamp, headers, transactional_id=tid
                )
        return await super().send(
            topic, key, value, partition, timestamp, headers, transactional_id=transactional_id
        )


#: the input partition a buffered table write came from, while the buffer publishes it
_ORIGIN: ContextVar[TP | None] = ContextVar("primestream_origin", default=None)


class TrackedBuffer(ProducerBuffer):
    """faust's buffer of table-changelog writes, telling when its own sender is mid-send.

    Its background task takes writes off the queue and publishes them; one taken just
    before a batch is acked could be published after the commit that covers the batch,
    into the next transaction. `FastConsumer.drain_producer_buffer` waits for it.
    """

    def __post_init__(self) -> None:
        super().__post_init__()
        self.sending = 0
        self.idle = asyncio.Event()
        self.idle.set()
        # id(write) -> the input partition whose processing queued it: the write belongs
        # to that partition's transaction, whichever task ends up publishing it
        self._origins: dict[int, TP] = {}

    def put(self, fut: Any) -> None:
        event = current_event()
        if event is not None and event.message is not None:
            self._origins[id(fut)] = event.message.tp
        super().put(fut)

    async def _send_pending(self, fut: Any) -> None:
        self.sending += 1
        self.idle.clear()
        token = _ORIGIN.set(self._origins.pop(id(fut), None))
        try:
            await super()._send_pending(fut)
        finally:
            _ORIGIN.reset(token)
            self.sending -= 1
            if not self.sending:
                self.idle.set()


class FastProducer(_aiokafka_driver.Producer):
    """The aiokafka driver's producer with a `TrackedBuffer`; commits partitions at once.

    faust commits one partition's transaction after the other, and the processing lock
    is held for all of them (each takes a few round trips to the transaction coordinator):
    with many partitions that is most of the time a batch waits. They are independent
    transactions of independent producers, so they commit concurrently here.
    """

    async def commit_transactions(
        self,
        tid_to_offset_map: Mapping[str, Mapping[TP, int]],
        group_id: str,
        start_new_transaction: bool = True,
    ) -> None:
        await asyncio.gather(
            *(
                self._commit_one(tid, offsets, group_id, start_new_transaction)
                for tid, offsets in tid_to_offset_map.items()
            )
        )

    async def _commit_one(
        self, tid: str, offsets: Mapping[TP, int], group_id: str, start_new: bool
    ) -> None:
        async with self._trn_locks[tid]:
            producer = self._transaction_producers.get(tid)
            if producer is None:
                self.log.warning("commit invoked for unknown transaction %s", tid)
                return
            await producer.send_offsets_to_transaction(offsets, group_id)
            await producer.commit_transaction()
            if start_new:
                await producer.begin_transaction()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stock = self.buffer
        self.buffer = TrackedBuffer(loop=self.loop, beacon=self.beacon)
        self.buffer.app = stock.app
        if hasattr(stock, "threaded_producer"):
            self.buffer.threaded_producer = stock.threaded_producer


class FastTransport(_aiokafka_driver.Transport):
    Consumer = FastConsumer
    Producer = FastProducer
    TransactionManager = FastTransactionManager


class FastApp(faust.App):
    """faust.App using FastTransport; ``batch_topic()`` declares batch-delivered topics."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.batch_topic_names: set[str] = set()
        super().__init__(*args, **kwargs)

    def _new_transport(self):
        return FastTransport(self.conf.broker_consumer, self)

    def batch_topic(self, *topics: str, **kwargs: Any) -> BatchTopic:
        self.batch_topic_names.update(topics)
        return BatchTopic(self, topics=topics, **kwargs)


# ------------------------------------------------------------------ agent side
async def _work_items(stream, consumer: FastConsumer):
    remainders = consumer.fast_remainders
    drop_stale = consumer.drop_stale
    while remainders:  # tails left by a crashed predecessor first
        msg, recs = remainders.pop(0)
        if not drop_stale(msg):
            yield msg, recs
    async for batch in stream:
        msg = stream.current_event.message
        if not drop_stale(msg):
            yield msg, batch.records


async def iter_batches(stream) -> AsyncIterator[RecordBatch]:
    """Yield whole RecordBatches; a batch is acked after the body that got it finishes.

    exactly_once: the body runs under the processing lock, so a commit (or a rebalance)
    never sees half a batch. A body that fails half-way has already sent into the open
    transaction and written the local stores: the batch cannot be replayed here without
    applying it twice, so the consumer is tainted (no further commit; the transaction
    aborts) and the worker crashes; its restart rebuilds the stores from the changelogs.
    at_least_once: the batch is handed to the restarted agent again.
    """
    stream.enable_acks = False
    consumer: FastConsumer = stream.app.consumer
    lock = consumer.processing_lock if consumer.in_transaction else None
    async for msg, recs in _work_items(stream, consumer):
        if lock is not None:
            await lock.acquire()
            if consumer.drop_stale(msg):  # a rebalance began while this batch waited
                lock.release()
                continue
        ok = False
        try:
            yield RecordBatch(msg.tp, recs)
            if lock is not None:
                await consumer.drain_producer_buffer()
            ok = True
        finally:
            if ok:
                consumer.ack_batch(msg)
            elif lock is not None:
                consumer.ack_batch(msg, upto=msg.first_offset - 1)  # release, ack nothing
                consumer.taint(
                    f"batch {msg.tp.topic}[{msg.tp.partition}]@{msg.first_offset} failed half-way"
                )
            else:
                rest = _make_batch_message(msg.tp, recs, msg.generation_id, msg.seek_epoch)
                consumer._unacked_messages.add(rest)
                consumer.fast_remainders.append((rest, recs))
                consumer.ack_batch(msg, upto=msg.first_offset - 1)  # release, ack nothing
            if lock is not None:
                lock.release()
