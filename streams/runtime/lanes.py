"""A worker's transaction lanes: one producer takes new outputs while another commits.

With one transactional producer, what the loop makes while a commit is in flight must
wait for the commit to return, and the next transaction's first record then meets the
coordinator still writing the last one's markers (librdkafka retries the
CONCURRENT_TRANSACTIONS answer after a fixed 20 ms). With two, the committing lane first
writes all its records (a flush), and from then on new outputs go straight into the other
lane's transaction, which commits next (BENCHMARKS.md, "Two lanes"). What keeps this
exactly once:

- **Each partition's order.** The flush comes before the switch, so every partition gets
  one transaction's records before the next one's.
- **Input offsets in commit order.** A lane sends its offsets only after the other lane's
  commit returned, and the group coordinator keeps, per partition, the offset whose commit
  record it appended last (even when the markers land in the other order).
- **Aborts.** The other lane's outputs came from records processed after the aborted
  transaction's; the loop aborts every lane and reads them all again.

Lane 0's transactional id is the worker's (`transactional_ids`), so a one-lane worker keeps
the id of the runtime before lanes.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from streams.runtime.offsets import TopicPartitionKey
from streams.runtime.transactions import TransactionalOutput

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
    ) -> None:
        """Commit thread: write LANE's records, set FLUSHED, commit.

        Once FLUSHED is set, another lane may take outputs; with one lane it never is.
        """
        if len(self._lanes) > 1 and lane.flush():
            flushed.set()
        lane.commit(offsets, metadata)

    def switch_from(self, lane: TransactionalOutput) -> None:
        """Make a lane other than LANE (committing, its records written) the current one."""
        self.current = next(other for other in self._lanes if other is not lane)
