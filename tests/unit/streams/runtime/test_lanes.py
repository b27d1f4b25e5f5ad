"""The commit thread's order of calls on a lane: writes and offsets, then flush, then commit."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from streams.runtime.lanes import TransactionLanes, transactional_ids
from streams.runtime.transactions import TransactionalOutput


class _Producer:
    """Records the transactional producer calls it gets, and whether FLUSHED was set at each."""

    def __init__(self, flushed: threading.Event) -> None:
        self.calls: list[tuple[str, bool]] = []
        self._flushed = flushed

    def _note(self, name: str) -> None:
        self.calls.append((name, self._flushed.is_set()))

    def init_transactions(self, timeout: float) -> None:
        self._note("init")

    def begin_transaction(self) -> None:
        self._note("begin")

    def produce(self, topic: str, **kwargs: Any) -> None:
        self._note(f"produce {topic}")

    def send_offsets_to_transaction(self, partitions: Any, metadata: Any, timeout: float) -> None:
        self._note(f"send_offsets {[(p.topic, p.partition, p.offset) for p in partitions]}")

    def flush(self, timeout: float) -> int:
        self._note("flush")
        return 0

    def commit_transaction(self, timeout: float) -> None:
        self._note("commit")

    def poll(self, timeout: float) -> int:
        return 0


def _made(producer: _Producer) -> Callable[[dict[str, Any]], Any]:
    return lambda config: producer


def _lanes(count: int, flushed: threading.Event) -> tuple[TransactionLanes, list[_Producer]]:
    producers = [_Producer(flushed) for _ in range(count)]
    outputs = [
        TransactionalOutput({"transactional.id": txn_id}, make_producer=_made(producer))
        for txn_id, producer in zip(transactional_ids("w", count), producers, strict=True)
    ]
    lanes = TransactionLanes(outputs)
    lanes.start()
    return lanes, producers


def test_offsets_go_before_the_flush_and_the_next_lane_takes_outputs_only_after_it() -> None:
    flushed = threading.Event()
    lanes, (first, second) = _lanes(2, flushed)
    lane = lanes.current
    lane.produce("signals", b"s", b"ACME")

    writes = [("changelog", b"state", b"positions/ACME", None, 0)]
    lanes.commit(lane, {("quotes", 0): 7}, object(), flushed, writes)

    assert first.calls == [
        ("init", False),
        ("begin", False),
        ("produce signals", False),
        ("produce changelog", False),  # the state changed, in the same transaction
        ("send_offsets [('quotes', 0, 7)]", False),  # before the flush: overlaps its requests
        ("flush", False),
        ("commit", True),  # FLUSHED: another lane took outputs while this one ended
    ]
    assert second.calls == [("init", False)]
    assert not lane.open
    assert lane.commits == 1
    lanes.switch_from(lane)
    assert lanes.current is not lane


def test_one_lane_never_flushes_apart_nor_lets_go_before_its_commit_returns() -> None:
    flushed = threading.Event()
    lanes, (only,) = _lanes(1, flushed)
    lane = lanes.current
    lane.produce("signals", b"s", b"ACME")

    lanes.commit(lane, {("quotes", 0): 3}, object(), flushed)

    assert [name for name, _ in only.calls] == [
        "init",
        "begin",
        "produce signals",
        "send_offsets [('quotes', 0, 3)]",
        "commit",  # which flushes inside librdkafka
    ]
    assert not flushed.is_set()


def test_offsets_alone_begin_a_transaction_and_nothing_at_all_commits_nothing() -> None:
    flushed = threading.Event()
    lanes, (only,) = _lanes(1, flushed)
    lane = lanes.current

    lanes.commit(lane, {}, object(), flushed)
    assert [name for name, _ in only.calls] == ["init"]

    lanes.commit(lane, {("quotes", 1): 9}, object(), flushed)
    assert [name for name, _ in only.calls][1:] == [
        "begin",
        "send_offsets [('quotes', 1, 9)]",
        "commit",
    ]
