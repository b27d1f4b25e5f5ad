"""One faust event per fetched (topic, partition) chunk: the batch, its message, its topic."""

from __future__ import annotations

from typing import Any

from faust.topics import Topic
from faust.types import TP
from faust.types.tuples import ConsumerMessage


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
