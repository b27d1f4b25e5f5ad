"""What an agent iterates: the batches of its partitions, acked when its body finishes."""

from __future__ import annotations

from collections.abc import AsyncIterator

from streams.fastpath.batches import RecordBatch, _make_batch_message
from streams.fastpath.consumer import FastConsumer


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
