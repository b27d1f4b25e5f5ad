"""Producing under exactly-once: the input partition's transaction, buffered writes, commits."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any

from faust.streams import current_event
from faust.transport.consumer import TransactionManager
from faust.transport.drivers import aiokafka as _aiokafka_driver
from faust.transport.producer import ProducerBuffer
from faust.types import TP


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

    async def maybe_begin_transaction(self, transactional_id: str) -> None:
        """Begin the partition's transaction; abort one left open with records in it.

        faust begins a transaction for every partition assigned, kept ones included. If a
        kept partition's transaction is still open with records sent (its commit at the
        revocation was skipped or never covered them), beginning again fails with a
        warning and the old transaction goes on: the partition is re-read from its
        committed offset, and the records of the re-read are sent into it a second time
        (a duplicate fill, seen in the rebalance test). Aborting it discards what was never
        committed; the partition's stores, which may hold those writes, are rebuilt.
        """
        producer = self._transaction_producers.get(transactional_id)
        txn = getattr(producer, "_txn_manager", None)
        if producer is not None and txn is not None and txn.is_in_transaction():
            if not (txn._txn_partitions or txn._pending_txn_partitions):
                return  # begun, nothing sent yet: it simply carries on
            self.log.warning(
                "transaction %s was still open with records at assignment: aborted",
                transactional_id,
            )
            async with self._trn_locks[transactional_id]:
                await producer.abort_transaction()
            partition = int(transactional_id.rsplit("-", 1)[1])
            self.app.consumer.forget_stores({partition}, "had a transaction aborted")
        await super().maybe_begin_transaction(transactional_id)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        stock = self.buffer
        self.buffer = TrackedBuffer(loop=self.loop, beacon=self.beacon)
        self.buffer.app = stock.app
        if hasattr(stock, "threaded_producer"):
            self.buffer.threaded_producer = stock.threaded_producer
