"""A worker's transaction lanes: one producer takes new outputs while another commits.

With one transactional producer, what the loop makes while a commit is in flight must
wait for the commit to return. With several, the committing lane first writes all its
records (a flush), and from then on new outputs go straight into the next lane's
transaction, which commits next (BENCHMARKS.md, "Two lanes"). The lanes take turns.

Three by default, not two: a transaction's first record makes librdkafka register its
partitions with the coordinator (AddPartitionsToTxn), and while the coordinator is still
writing the markers of the same producer's last transaction it answers
CONCURRENT_TRANSACTIONS, which librdkafka retries after a fixed 20 ms
(`rdkafka_txnmgr.c`, not configurable). With two lanes the lane taking outputs is the one
whose commit returned a moment ago, so its registration often met that answer and the
next commit's flush waited the 20 ms; with three it is the one that committed two commits
ago, whose markers are written by then (BENCHMARKS.md, "Three lanes"). What keeps this
exactly once, whatever the number:

- **Each partition's order.** The flush comes before the switch, so every partition gets
  one transaction's records before the next one's.
- **Input offsets in commit order.** One commit is in flight at a time: a lane sends its
  offsets only after the previous lane's commit returned, and the group coordinator keeps,
  per partition, the offset whose commit record it appended last (even when the markers
  land in another order).
- **Aborts.** The next lane's outputs came from records processed after the aborted
  transaction's; the loop aborts every lane and reads them all again.

Lane 0's transactional id is the worker's (`transactional_ids`), so a one-lane worker keeps
the id of the runtime before lanes. A worker started with fewer lanes than its dead
predecessor does not fence the extra lanes' ids: a transaction one of them left open is
aborted by the broker after `transaction_timeout_ms`, and until then `read_committed`
readers of its partitions wait.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from streams.runtime.offsets import TopicPartitionKey
from streams.runtime.transactions import Outgoing, TransactionalOutput

__all__ = ["TransactionLanes", "transactional_ids"]


def transactional_ids(base: str, lanes: int) -> list[str]:
    """Return the transactional id of each of LANES lanes of the worker whose id is BASE."""
    return [base if lane == 0 else f"{base}.lane-{lane}" for lane in range(lanes)]


class TransactionLanes:
    """The worker's producers: `current` takes new outputs, another may be committing."""

    def __init__(self, lanes: Sequence[TransactionalOutput]) -> None:
        if not lanes:
            raise ValueError("a worker needs at least one transactional producer")
        self._lanes = list(lanes)
        self.current = self._lanes[0]

    def start(self) -> None:
        """Register every lane's transactional id (aborting a dead predecessor's transaction)."""
        for lane in self._lanes:
            lane.start()

    def close(self) -> None:
        """Abort what is open and release every producer."""
        for lane in self._lanes:
            lane.close()

    def abort(self) -> None:
        """Abort every lane's open transaction."""
        for lane in self._lanes:
            lane.abort()

    def poll(self, committing: TransactionalOutput | None) -> None:
        """Serve the delivery reports of every lane but the one COMMITTING (its thread does)."""
        for lane in self._lanes:
            if lane is not committing:
                lane.poll()

    def commit(
        self,
        lane: TransactionalOutput,
        offsets: dict[TopicPartitionKey, int],
        metadata: Any,
        flushed: threading.Event,
        writes: Sequence[Outgoing] = (),
    ) -> None:
        """Commit thread: add the changelog WRITES and OFFSETS, write it all, set FLUSHED, commit.

        Once FLUSHED is set, another lane may take outputs; with one lane it never is. The
        offsets go first: their two round trips to the coordinators overlap the produce
        requests of the lane's outputs and changelog writes, which librdkafka sends
        meanwhile, so the flush after them mostly finds everything written and the commit
        costs one round trip less than flush, then offsets (BENCHMARKS.md, "Offsets before
        the flush"). The order holds all the same: a lane writes changelogs only in its own
        commit, one commit is in flight at a time, a commit returns only once every record
        of its transaction is written, and the next lane takes outputs only after the flush.
        """
        for outgoing in writes:
            lane.produce(*outgoing)
        lane.send_offsets(offsets, metadata)
        if len(self._lanes) > 1 and lane.flush():
            flushed.set()
        lane.commit()

    def switch_from(self, lane: TransactionalOutput) -> None:
        """Make the lane after LANE (committing, its records written) the current one.

        The lanes take turns, so the one taking outputs is the one whose commit returned
        longest ago (see the module's docstring on why that matters with three).
        """
        lanes = self._lanes
        self.current = lanes[(lanes.index(lane) + 1) % len(lanes)]
