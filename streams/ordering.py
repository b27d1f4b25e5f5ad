"""Event-time order per symbol: a grace-window reorder buffer, then dead-letter for the late.

Policy (documented in the README): records of one symbol are released to the indicators
in event-time order. A record may arrive up to `grace_us` behind the newest event time
seen for its symbol and is put back in order; with grace 0 (the default) records are
released as they arrive. A record older than the last one already released cannot be put
in order any more: it is *late* and goes to the dead-letter topic with the reason. Ties
in event time keep arrival order, so the release order depends only on the input order.
"""

from __future__ import annotations

import heapq
from typing import Final, Generic, TypeVar

__all__ = ["Late", "ReorderBuffer"]

T = TypeVar("T")


class Late(Generic[T]):
    """A record that arrived after a newer one was released: why, and the record.

    A plain class (mypyc does not compile a generic dataclass); `reason` is `Final`.
    """

    def __init__(self, item: T, reason: str) -> None:
        self.item = item
        self.reason: Final = reason

    def __repr__(self) -> str:
        return f"Late({self.item!r}, {self.reason!r})"


class ReorderBuffer(Generic[T]):
    """Per-key reorder buffer; pure and deterministic (no clock: event time drives it).

    A plain class, like `Late`: mypyc does not compile a generic dataclass.
    """

    def __init__(self, grace_us: int = 0) -> None:
        self.grace_us = grace_us
        self._heap: list[tuple[int, int, T]] = []
        self._arrivals = 0
        self.newest_us: int | None = None
        self.released_us: int | None = None

    def push(self, ts_us: int, item: T) -> tuple[list[T], Late[T] | None]:
        """Add ITEM; return the items now in order to release, and ITEM if it is late."""
        if self.released_us is not None and ts_us < self.released_us:
            behind = self.released_us - ts_us
            return [], Late(
                item,
                f"late: {behind / 1000:g} ms behind event time already "
                f"processed (grace {self.grace_us / 1000:g} ms)",
            )
        self._arrivals += 1
        newest = self.newest_us
        if newest is None or ts_us > newest:
            self.newest_us = newest = ts_us
        if not self._heap and not self.grace_us:
            # Nothing held and no grace: ITEM is released as it arrives, as the heap would.
            self.released_us = ts_us
            return [item], None
        heapq.heappush(self._heap, (ts_us, self._arrivals, item))
        return self._release(newest - self.grace_us), None

    def pending(self) -> list[tuple[int, T]]:
        """Return the held (event time, item) pairs in release order."""
        return [(ts_us, item) for ts_us, _, item in sorted(self._heap, key=lambda e: e[:2])]

    def restore(
        self, pending: list[tuple[int, T]], released_us: int | None, newest_us: int | None
    ) -> None:
        """Put back what `pending()` and the two marks described (a restarted worker)."""
        self._heap = [(ts_us, n, item) for n, (ts_us, item) in enumerate(pending, 1)]
        heapq.heapify(self._heap)
        self._arrivals = len(self._heap)
        self.released_us, self.newest_us = released_us, newest_us

    def flush(self) -> list[T]:
        """Release everything held (end of input)."""
        return self._release(None)

    def _release(self, up_to_us: int | None) -> list[T]:
        ready: list[T] = []
        while self._heap and (up_to_us is None or self._heap[0][0] <= up_to_us):
            ts_us, _, item = heapq.heappop(self._heap)
            self.released_us = ts_us
            ready.append(item)
        return ready

    def __len__(self) -> int:
        return len(self._heap)
