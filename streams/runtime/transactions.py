"""The worker's one transactional producer: outputs, changelog writes and input offsets, atomically.

One producer serves every partition the worker holds (Kafka Streams' "exactly_once_v2",
KIP-447): the input offsets go to the transaction with the consumer's group metadata, so a
worker that lost its partitions in a rebalance can no longer commit for them (the group
coordinator refuses its stale generation), which is the fencing the per-partition producers
of the old runtime existed for. One producer means one commit per interval, whatever the
number of partitions.

Errors are sorted the way librdkafka's transactional API asks (confluent-kafka's
`Producer` docs): a retriable one is retried by calling the same method again, one that
requires an abort aborts the transaction (`TransactionAbortedError`: the caller rewinds its
inputs and drops its working state), and anything else is fatal (`FatalTransactionError`):
the worker stops and its restart resumes from the last commit. Fatal includes a retriable
error whose retries ran out: a call that timed out is still in progress inside librdkafka,
which refuses every other transactional call until the same one is made again
(`_CONFLICT`, "Conflicting ... API call is already in progress"), so not even an abort can
follow it. A make reliability run once met exactly that (a send_offsets timed out during a
broker kill, the abort after it was refused, the worker hung): see BENCHMARKS.md,
"Broker failure".
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from confluent_kafka import KafkaError, KafkaException, Producer, TopicPartition

from streams.edge import Headers
from streams.runtime.exceptions import FatalTransactionError, TransactionAbortedError

__all__ = ["Outgoing", "TransactionalOutput"]

log = logging.getLogger("primestream.runtime")
T = TypeVar("T")
_RETRIES = 5

# One record for a transaction: topic, value, key, headers, partition (None: by key).
Outgoing = tuple[str, bytes | None, bytes | None, Headers | None, int | None]


class TransactionalOutput:
    """Begin, produce into and commit the worker's transactions (one open at a time)."""

    def __init__(
        self,
        config: Mapping[str, Any],
        *,
        timeout_secs: float = 30.0,
        make_producer: Callable[[dict[str, Any]], Any] = Producer,
    ) -> None:
        self._config = dict(config)
        self._timeout = timeout_secs
        self._make_producer = make_producer
        self._producer: Any = None
        self.open = False
        self.produced = 0  # records in the open transaction
        self.commits = 0

    @property
    def transactional_id(self) -> str:
        """The id this producer commits under."""
        return str(self._config["transactional.id"])

    def start(self) -> None:
        """Create the producer and register its transactional id.

        A transaction left open by a dead predecessor with the same id is aborted here, so
        `read_committed` readers of what it wrote move on at once.
        """
        self._producer = self._make_producer(self._config)
        self._call("init transactions", lambda: self._producer.init_transactions(self._timeout))

    def produce(
        self,
        topic: str,
        value: bytes | None,
        key: bytes | None,
        headers: Sequence[tuple[str, bytes]] | None = None,
        partition: int | None = None,
    ) -> None:
        """Send one record in the open transaction (begun on the first record)."""
        if not self.open:
            self.begin()
        kwargs: dict[str, Any] = {"key": key, "value": value}
        if headers:
            kwargs["headers"] = headers
        if partition is not None:
            kwargs["partition"] = partition
        producer = self._producer
        try:
            producer.produce(topic, **kwargs)
        except BufferError:  # the local queue is full: let librdkafka send, then retry once
            producer.poll(0.5)
            producer.produce(topic, **kwargs)
        self.produced += 1

    def begin(self) -> None:
        """Begin a transaction (local: no broker round trip)."""
        self._call("begin transaction", self._producer.begin_transaction)
        self.open = True
        self.produced = 0

    def poll(self) -> None:
        """Serve delivery reports (none are kept; a failed delivery fails the commit)."""
        self._producer.poll(0)

    def flush(self) -> bool:
        """Wait until every record of the open transaction is written; False: timed out."""
        return int(self._producer.flush(self._timeout)) == 0

    def send_offsets(self, offsets: Mapping[tuple[str, int], int], group_metadata: Any) -> None:
        """Add the input OFFSETS (next offsets) of the group to the transaction (begun if need be).

        Two round trips (AddOffsetsToTxn, then TxnOffsetCommit to the group coordinator);
        the records already produced go to the broker meanwhile.
        """
        if not offsets:
            return
        if not self.open:
            self.begin()
        partitions = [TopicPartition(t, p, o) for (t, p), o in offsets.items()]
        producer, timeout = self._producer, self._timeout
        self._call(
            "send offsets",
            lambda: producer.send_offsets_to_transaction(partitions, group_metadata, timeout),
        )

    def commit(
        self, offsets: Mapping[tuple[str, int], int] | None = None, group_metadata: Any = None
    ) -> None:
        """Commit the open transaction, with the input OFFSETS of the group if given."""
        if offsets:
            self.send_offsets(offsets, group_metadata)
        if not self.open:
            return
        producer, timeout = self._producer, self._timeout
        self._call("commit", lambda: producer.commit_transaction(timeout))
        self.open = False
        self.produced = 0
        self.commits += 1

    def abort(self) -> None:
        """Abort the open transaction, if any: nothing it holds will ever be visible.

        A timed-out abort is resumed by aborting again; any other failure is fatal (the
        producer's transaction is in a state no call of ours can end).
        """
        if not self.open:
            return
        self.open = False
        self.produced = 0
        producer, timeout = self._producer, self._timeout
        self._call("abort failed", lambda: producer.abort_transaction(timeout))

    def close(self) -> None:
        """Abort what is open and release the producer."""
        if self._producer is None:
            return
        try:
            self.abort()
        except FatalTransactionError as exc:
            log.warning("closing the producer: %s", exc)
        try:
            self._producer.flush(5)
        except KafkaException as exc:  # fenced by a newer worker: nothing of ours to deliver
            log.warning("closing the producer: %s", exc.args[0].str())
        self._producer = None

    def _call(self, what: str, call: Callable[[], T]) -> T:
        for attempt in range(_RETRIES + 1):
            try:
                return call()
            except KafkaException as exc:
                error = exc.args[0]
                if error.txn_requires_abort() and not error.fatal() and self.open:
                    self.abort()  # (not from abort itself: nothing is open any more there)
                    raise TransactionAbortedError(f"{what}: {error.str()}") from exc
                if not _retriable(error) or attempt == _RETRIES:
                    raise FatalTransactionError(f"{what}: {error.str()}") from exc
                log.info("%s: %s, retrying", what, error.str())
                time.sleep(0.05 * (attempt + 1))
        raise AssertionError("unreachable")


def _retriable(error: KafkaError) -> bool:
    """Whether calling the same method again can succeed.

    librdkafka marks `_CONFLICT` retriable, but it means another transactional call is
    still in progress (one that timed out, or one on another thread): repeating this one
    cannot end that, so it is treated as fatal.
    """
    return bool(error.retriable()) and not error.fatal() and error.code() != KafkaError._CONFLICT
