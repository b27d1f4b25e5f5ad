"""fastagent -- a batch-level fast path for faust-streaming (0.15.x) agents.

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
* :func:`iter_records` is what the agent iterates: it yields records one by
  one, acks a batch only after its last record has been processed (i.e. when
  the agent asks for the next record -- the same rule stock faust uses), and
  if the agent dies mid-batch it acks through the in-flight record (stock
  faust semantics) and hands the unprocessed remainder to the restarted agent
  *before* any later batch, so per-partition order and exactly-one processing
  are kept.
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
        async for rec in iter_records(stream):      # rec: aiokafka ConsumerRecord
            q = decode(rec.value)
            ...
            await out.send(key=..., value=...)
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import faust
from faust.streams import current_event
from faust.topics import Topic
from faust.transport.consumer import CONSUMER_FETCHING, TransactionManager
from faust.transport.drivers import aiokafka as _aiokafka_driver
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
    "FastTransactionManager",
    "FastTransport",
    "RecordBatch",
    "iter_batches",
    "iter_records",
]


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
        # bumped on every seek: batches fetched before a seek are stale (the
        # records will be fetched again from the seek position) and are dropped
        # (perform_seek() moves every partition, seek(tp) only that one)
        self._seek_all = 0
        self._seek_tp: dict[TP, int] = defaultdict(int)

    def seek_epoch(self, tp: TP) -> tuple[int, int]:
        return (self._seek_all, self._seek_tp[tp])

    async def perform_seek(self) -> None:
        self._seek_all += 1
        await super().perform_seek()

    async def seek(self, partition: TP, offset: int) -> None:
        self._seek_tp[partition] += 1
        await super().seek(partition, offset)

    def drop_stale(self, message: BatchMessage) -> bool:
        """True (and the batch released without acking) if fetched before the last seek."""
        if (
            message.seek_epoch == self.seek_epoch(message.tp)
            and message.generation_id == self.app.consumer_generation_id
        ):
            return False
        message.acked = True
        self._unacked_messages.discard(message)
        notify(self._waiting_for_ack)
        return True

    @property
    def processing_lock(self) -> asyncio.Lock:
        if self._proc_lock is None:
            self._proc_lock = asyncio.Lock()
        return self._proc_lock

    async def force_commit(self, topics=None, start_new_transaction: bool = True) -> bool:
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
        while not pending.empty():
            fut = pending.get_nowait()
            await buf._send_pending(fut)
            buf.message_sent.set()

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
        spans.sort()
        committed = self._committed_offset[tp]
        expected = committed if committed is not None else self._span_base.get(tp, spans[0][0])
        i = 0
        for first, last in spans:
            if first > expected:
                break
            if last >= expected:
                expected = last + 1
            i += 1
        if not i:
            return None
        del spans[:i]
        return expected

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        for tp in revoked:
            self._spans.pop(tp, None)
            self._span_base.pop(tp, None)
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
                generation_id = self.app.consumer_generation_id
                seek_all = self._seek_all
                for tp, recs in records.items():
                    if (
                        not self.flow_active
                        or self.app.consumer_generation_id != generation_id
                        or self._seek_all != seek_all
                    ):
                        break
                    epoch = self.seek_epoch(tp)
                    if not (active is None or tp in active or tp in self._buffered_partitions):
                        continue
                    if not recs:
                        continue
                    monitor.track_tp_end_offset(tp, self.highwater(tp))
                    r_offset = read_offset[tp]
                    if r_offset is not None and recs[0].offset < r_offset:
                        recs = [x for x in recs if x.offset >= r_offset]  # already delivered
                        if not recs:
                            continue
                    if tp.topic in batch_topics:
                        first = recs[0].offset
                        if (
                            r_offset is not None
                            and first - r_offset > 1
                            and acks_enabled_for(tp.topic)
                        ):
                            # offsets without records (txn markers, compaction): nothing to process
                            self._spans[tp].append((r_offset + 1, first - 1))
                        elif r_offset is None and self._committed_offset[tp] is None:
                            self._span_base.setdefault(tp, first)
                        message = _make_batch_message(tp, recs, generation_id, epoch)
                        await self.wait_first(callback(message), self.suspend_flow.wait())
                        if self.seek_epoch(tp) == epoch:  # a seek meanwhile reset read_offset
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


class FastTransactionManager(TransactionManager):
    """exactly_once: produce into the transaction that owns the input partition."""

    async def send(
        self, topic, key, value, partition, timestamp, headers, *, transactional_id=None
    ):
        event = current_event()
        if event is not None and event.message is not None:
            tp = event.message.tp
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


class FastTransport(_aiokafka_driver.Transport):
    Consumer = FastConsumer
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


async def iter_records(stream) -> AsyncIterator[Any]:
    """Yield aiokafka ConsumerRecords of a batch topic one by one, acking per record span."""
    stream.enable_acks = False  # we ack explicitly (per record span)
    consumer: FastConsumer = stream.app.consumer
    ack_batch = consumer.ack_batch
    lock = consumer.processing_lock if consumer.in_transaction else None
    buffer_pending = stream.app.producer.buffer.pending
    async for msg, recs in _work_items(stream, consumer):
        n = len(recs)
        i = 0
        if lock is not None:
            await lock.acquire()  # uncontended: no loop round-trip
        try:
            while i < n:
                yield recs[i]
                i += 1
            if lock is not None and not buffer_pending.empty():
                await consumer.drain_producer_buffer()
        finally:
            if i >= n:
                ack_batch(msg)
            else:
                # agent raised / was cancelled while processing recs[i]: like stock
                # faust, ack through the in-flight record; keep the tail for the
                # restarted agent so it is processed before any later batch.
                ack_batch(msg, upto=recs[i].offset)
                if i + 1 < n:
                    tail = recs[i + 1 :]
                    rest = _make_batch_message(msg.tp, tail, msg.generation_id, msg.seek_epoch)
                    consumer._unacked_messages.add(rest)
                    consumer.fast_remainders.append((rest, tail))
            if lock is not None:
                lock.release()  # after the ack: a waiting commit sees it


async def iter_batches(stream) -> AsyncIterator[RecordBatch]:
    """Yield whole RecordBatches; a batch is acked after the body that got it finishes.

    If the body raises, the whole batch is handed to the restarted agent again
    (at-least-once for that batch).
    """
    stream.enable_acks = False
    consumer: FastConsumer = stream.app.consumer
    lock = consumer.processing_lock if consumer.in_transaction else None
    async for msg, recs in _work_items(stream, consumer):
        ok = False
        if lock is not None:
            await lock.acquire()
        try:
            yield RecordBatch(msg.tp, recs)
            if lock is not None:
                await consumer.drain_producer_buffer()
            ok = True
        finally:
            if ok:
                consumer.ack_batch(msg)
            else:
                rest = _make_batch_message(msg.tp, recs, msg.generation_id, msg.seek_epoch)
                consumer._unacked_messages.add(rest)
                consumer.fast_remainders.append((rest, recs))
                consumer.ack_batch(msg, upto=msg.first_offset - 1)  # release, ack nothing
            if lock is not None:
                lock.release()
