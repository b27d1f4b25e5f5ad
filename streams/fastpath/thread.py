"""The aiokafka consumer thread, counting repositions and asking the broker for stable ends."""

from __future__ import annotations

from typing import Any

from faust.transport.drivers import aiokafka as _aiokafka_driver
from faust.types import TP


class SeekCounts(dict):  # type: ignore[type-arg]
    """A fetch's records (tp -> records) and each tp's seek count when the fetch returned."""

    seeks: dict[TP, int]


class FastConsumerThread(_aiokafka_driver.AIOKafkaConsumerThread):
    """The aiokafka consumer thread, counting every reposition of each partition.

    Records come back from the thread some time after the fetch: a seek may have moved
    the partition in between. Counting seeks where they happen (the fetcher's seek_to
    and offset resets, whoever calls them) and stamping each fetch with the counts tells
    the fast path exactly which records predate a reposition of their partition.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.seeks: dict[TP, int] = {}
        self._counted: Any = None

    def _count_seeks(self, fetcher: Any) -> None:
        seeks = self.seeks
        seek_to, reset = fetcher.seek_to, fetcher.request_offset_reset

        def counted_seek_to(tp: Any, offset: int) -> Any:
            seeks[tp] = seeks.get(tp, 0) + 1
            if not tp.topic.endswith("-changelog"):
                self.log.info("seek %s[%d] -> %d", tp.topic, tp.partition, offset)
            return seek_to(tp, offset)

        def counted_reset(tps: Any, strategy: Any) -> Any:
            for tp in tps:
                seeks[tp] = seeks.get(tp, 0) + 1
            return reset(tps, strategy)

        fetcher.seek_to, fetcher.request_offset_reset = counted_seek_to, counted_reset
        self._counted = fetcher

    async def _highwaters(self, partitions: Any) -> Any:
        """Ask the broker for the partitions' ends (read_committed: last stable offsets).

        faust reads `last_stable_offset()` here under exactly_once, which aiokafka only
        knows from a fetch response: before the first fetch of a changelog partition it is
        unknown (-1), so a restarted worker "recovered" its tables from nothing, or up to a
        stale offset, and computed on from there.
        """
        return await self._ensure_consumer().end_offsets(list(partitions))

    async def _fetch_records(
        self,
        consumer: Any,
        active_partitions: Any,
        timeout: float | None = None,  # noqa: ASYNC109 - faust's signature
        max_records: int | None = None,
    ) -> Any:
        if self._counted is not consumer._fetcher:
            self._count_seeks(consumer._fetcher)
        records = SeekCounts(
            await super()._fetch_records(
                consumer, active_partitions, timeout=timeout, max_records=max_records
            )
        )
        records.seeks = {tp: self.seeks.get(tp, 0) for tp in records}
        return records
