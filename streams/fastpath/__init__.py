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

from streams.fastpath.agents import iter_batches
from streams.fastpath.app import FastApp, FastTransport
from streams.fastpath.batches import BatchMessage, BatchTopic, RecordBatch, _make_batch_message
from streams.fastpath.consumer import COMMIT_TIMEOUT_SECS, FastConsumer
from streams.fastpath.offsets import fold_spans, next_expected
from streams.fastpath.producer import FastProducer, FastTransactionManager, TrackedBuffer
from streams.fastpath.thread import FastConsumerThread, SeekCounts

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
    "_make_batch_message",
    "fold_spans",
    "iter_batches",
    "next_expected",
]
