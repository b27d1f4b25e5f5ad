"""Input offsets of one worker: what it processed, what its group has committed.

A transaction commits the *next* offset of each input partition it processed (the Kafka
convention: the committed offset is where the group resumes). Between commits the worker
remembers both, so a commit sends only partitions that moved, an aborted transaction
rewinds to what was committed, and the lag gauge reads the committed side.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

__all__ = ["InputOffsets", "TopicPartitionKey"]

TopicPartitionKey = tuple[str, int]


class InputOffsets:
    """Next offsets processed and committed, per input (topic, partition) held."""

    def __init__(self) -> None:
        self._processed: dict[TopicPartitionKey, int] = {}
        self._committed: dict[TopicPartitionKey, int] = {}
        self._held: set[TopicPartitionKey] = set()

    def assign(self, committed: Mapping[TopicPartitionKey, int | None]) -> None:
        """Hold these partitions from their committed offsets (None: not committed yet)."""
        for tp, offset in committed.items():
            self._held.add(tp)
            if offset is not None and offset >= 0:
                self._committed[tp] = offset
            else:
                self._committed.pop(tp, None)
            self._processed.pop(tp, None)

    def revoke(self, partitions: Iterable[TopicPartitionKey]) -> None:
        """Forget partitions the worker no longer holds."""
        for tp in partitions:
            self._processed.pop(tp, None)
            self._committed.pop(tp, None)
            self._held.discard(tp)

    def processed(self, tp: TopicPartitionKey, last_offset: int) -> None:
        """Record that every record of TP up to LAST_OFFSET was processed."""
        self._processed[tp] = last_offset + 1

    def pending(self) -> dict[TopicPartitionKey, int]:
        """Return {tp: next offset} of partitions processed past their committed offset."""
        committed = self._committed
        return {
            tp: offset for tp, offset in self._processed.items() if committed.get(tp, -1) < offset
        }

    def committed(self, offsets: Mapping[TopicPartitionKey, int]) -> None:
        """Record that OFFSETS were committed."""
        self._committed.update(offsets)

    def rewind(self) -> dict[TopicPartitionKey, int | None]:
        """Drop what was processed since the last commit; return where each tp resumes.

        Every partition held, not only those processed: the consumer may have fetched past
        the commit on one that nothing was processed of yet (its first records, in a batch
        the loop drops because an abort landed while it was fetched), and only a seek
        reads those again. None: nothing was committed for that partition yet (the group's
        reset policy decides, i.e. its earliest offset).
        """
        resume: dict[TopicPartitionKey, int | None] = {
            tp: self._committed.get(tp) for tp in self._held | self._processed.keys()
        }
        self._processed.clear()
        return resume

    def committed_offset(self, tp: TopicPartitionKey) -> int | None:
        """Return TP's committed (next) offset, None if unknown."""
        return self._committed.get(tp)
