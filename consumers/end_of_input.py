"""The end of a finite input: a marker per partition, and when a consumer group is past them.

A backtest feeds the pipeline a file, so it has an end; a sleep would only guess when the
worker got there. Instead, after the last record the writer puts an end-of-stream marker
(an empty record with the `primestream.end-of-stream` header, which every stage skips) on
**every** partition of every input topic, and notes the markers' offsets. Under
exactly-once the worker commits its input offsets in the same transaction as everything
those inputs produced, so once the group's committed offset is past a partition's marker,
all the outputs of that partition are committed too. Past every marker, the run is done.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from confluent_kafka import KafkaException, Producer

from streams.edge import END_OF_STREAM

__all__ = ["InputEnd", "write_markers"]

TopicPartitionKey = tuple[str, int]


@dataclass(frozen=True)
class InputEnd:
    """The offset of each partition's end-of-stream marker."""

    markers: Mapping[TopicPartitionKey, int]

    def remaining(self, committed: Mapping[TopicPartitionKey, int]) -> int:
        """Return how many records the group has yet to commit, markers included.

        COMMITTED maps (topic, partition) to the group's committed offset (the next offset
        it would read); a partition it never committed counts as 0.
        """
        return sum(max(0, marker + 1 - committed.get(tp, 0)) for tp, marker in self.markers.items())

    def reached(self, committed: Mapping[TopicPartitionKey, int]) -> bool:
        """Return True once the group has committed past every marker."""
        return self.remaining(committed) == 0

    @property
    def total(self) -> int:
        """Return how many records (markers included) lie before the ends."""
        return sum(marker + 1 for marker in self.markers.values())


def write_markers(
    producer: Producer, partitions: Iterable[TopicPartitionKey], *, timeout_secs: float = 30.0
) -> InputEnd:
    """Write an end-of-stream marker to each of PARTITIONS and return where they landed.

    PRODUCER must be the one that wrote the input (or the input must be flushed): a marker
    then comes after every record of its partition.
    """
    placed: dict[TopicPartitionKey, int] = {}
    errors: list[str] = []

    def delivered(err: object, msg: object) -> None:
        if err is not None:
            errors.append(str(err))
            return
        placed[(msg.topic(), msg.partition())] = msg.offset()  # type: ignore[attr-defined]

    wanted = list(partitions)
    for topic, partition in wanted:
        producer.produce(
            topic,
            value=b"",
            partition=partition,
            headers=[(END_OF_STREAM, b"1")],
            on_delivery=delivered,
        )
    left = producer.flush(timeout_secs)
    if errors or left or len(placed) != len(wanted):
        raise KafkaException(
            f"end-of-stream markers not all written ({len(placed)} of {len(wanted)}): "
            + "; ".join(errors or [f"{left} undelivered after {timeout_secs:.0f} s"])
        )
    return InputEnd(placed)
