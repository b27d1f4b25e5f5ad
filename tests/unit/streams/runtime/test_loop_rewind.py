"""An aborted commit rewinds the loop: nothing fetched before the rewind is processed.

The loop's control flow around an abort, with stand-ins for the consumer and the
transactional output (the broker-backed behaviour is covered by the integration tests;
an abort cannot be provoked there on demand). The stand-in consumer keeps librdkafka's
contract that matters here: a position per partition, moved by what was fetched and by
`seek`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pytest
from confluent_kafka import TopicPartition

from streams.edge import OutRecord, RawRecord, StageOutput, TableLoaders
from streams.runtime.commit_policy import CommitPolicy
from streams.runtime.exceptions import TransactionAbortedError
from streams.runtime.lanes import TransactionLanes
from streams.runtime.loop import ProcessingLoop
from streams.runtime.stages import Delivery, Stage

TOPIC = "quotes"


class _Message:
    def __init__(self, offset: int) -> None:
        self._offset = offset

    def error(self) -> None:
        return None

    def topic(self) -> str:
        return TOPIC

    def partition(self) -> int:
        return 0

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return b"k"

    def value(self) -> bytes:
        return str(self._offset).encode()

    def headers(self) -> None:
        return None

    def timestamp(self) -> tuple[int, int]:
        return (0, 0)


class _Consumer:
    """One partition of END records; hands out CHUNK at a time from its position.

    PAUSE: seconds each poll takes (records arriving over time, not all at once).
    """

    def __init__(
        self, end: int, chunk: int, before_fetch: threading.Event | None, pause: float = 0.0
    ) -> None:
        self.pause = pause
        self.position = 0
        self.end = end
        self.chunk = chunk
        self.fetches = 0
        self._before_second_fetch = before_fetch

    def poll(self, timeout: float) -> _Message | None:
        self.fetches += 1
        if self.fetches == 2 and self._before_second_fetch is not None:
            # Return the second batch only once the first commit has failed: the race
            # of a real worker, whose abort lands while a fetch is out.
            self._before_second_fetch.wait(5)
            time.sleep(0.05)
        if self.pause:
            time.sleep(self.pause)
        if self.position >= self.end:
            return None
        message = _Message(self.position)
        self.position += 1
        return message

    def consume(self, num_messages: int, timeout: float) -> list[_Message]:
        taken = min(self.chunk - 1, num_messages, self.end - self.position)
        messages = [_Message(self.position + i) for i in range(taken)]
        self.position += taken
        return messages

    def seek(self, tp: TopicPartition) -> None:
        self.position = max(tp.offset, 0)  # OFFSET_BEGINNING (-2): this partition starts at 0

    def committed(self, partitions: list[TopicPartition], timeout: float) -> list[Any]:
        return [TopicPartition(tp.topic, tp.partition, -1001) for tp in partitions]

    def consumer_group_metadata(self) -> object:
        return object()


class _Output:
    """The transactional output: records what each commit held; the first commit aborts."""

    def __init__(self, failed: threading.Event) -> None:
        self.open = False
        self.sent: list[bytes] = []
        self.committed: list[bytes] = []
        self.commits: list[Mapping[tuple[str, int], int]] = []
        self.offsets: dict[tuple[str, int], int] = {}  # sent to the open transaction
        self._failed = failed

    def produce(
        self, topic: str, value: bytes | None, key: bytes | None, headers: Any, partition: Any
    ) -> None:
        self.open = True
        self.sent.append(value or b"")

    def poll(self) -> None:
        return None

    def send_offsets(self, offsets: Mapping[tuple[str, int], int], metadata: object) -> None:
        if offsets:
            self.open = True
            self.offsets |= offsets

    def commit(
        self, offsets: Mapping[tuple[str, int], int] | None = None, metadata: object = None
    ) -> None:
        self.send_offsets(offsets or {}, metadata)
        sent, self.sent, self.open = self.sent, [], False
        offsets_sent, self.offsets = self.offsets, {}
        if not self._failed.is_set():
            self._failed.set()
            raise TransactionAbortedError("commit: broker went away")
        self.committed += sent
        self.commits.append(offsets_sent)

    def abort(self) -> None:
        self.sent, self.open, self.offsets = [], False, {}


class _Echo:
    """A processor that answers each input with one output of the same value."""

    def process(self, records: Iterable[RawRecord], load: TableLoaders) -> StageOutput:
        out = StageOutput()
        for raw in records:
            out.records.append(("echo", OutRecord(raw.key, raw.value, [])))
        return out

    def state(self, table: str, key: str) -> Any:
        raise AssertionError("no tables")

    def forget(self) -> None:
        return None


async def _deliver(delivery: Delivery) -> None:
    delivery.done(_Echo().process(delivery.records, {}))


def _loop(consumer: _Consumer, output: _Output) -> ProcessingLoop:
    stage = Stage(
        name="echo",
        inputs={TOPIC: "Quote"},
        outputs={"echo": ("echo", lambda value: value)},
        tables={},
        processor=_Echo(),
        deliver=_deliver,
    )
    loop = ProcessingLoop(
        stages=[stage],
        consumer_config={},
        outputs=[output],  # type: ignore[list-item]
        restorer=None,  # type: ignore[arg-type]
        deadletter_topic="dead",
        policy=CommitPolicy(interval_secs=0.0, min_interval_secs=0.0),
        max_batch=3,
    )
    loop._consumer = consumer
    loop._on_assign(consumer, [TopicPartition(TOPIC, 0)])
    return loop


def _drive(loop: ProcessingLoop, done: Callable[[], bool]) -> None:
    """Step LOOP until DONE() (10 s at most), let its commit in flight end, stop its threads."""

    async def run() -> None:
        deadline = time.monotonic() + 10
        while not done() and time.monotonic() < deadline:
            await loop._step()
        await loop._settle(wait=True)

    asyncio.run(run())
    loop._fetcher.shutdown()
    loop._committer.shutdown()


def _committed(commits: Iterable[Mapping[tuple[str, int], int]], partition: int = 0) -> int:
    """Return how far COMMITS committed PARTITION of the input (0: not at all)."""
    return max((c.get((TOPIC, partition), 0) for c in commits), default=0)


def test_a_batch_fetched_before_an_abort_is_read_again_from_the_commit_not_processed() -> None:
    failed = threading.Event()
    consumer, output = _Consumer(end=12, chunk=3, before_fetch=failed), _Output(failed)
    loop = _loop(consumer, output)
    _drive(loop, lambda: _committed(output.commits) >= 12)

    assert loop.state.aborts == 1
    # Every input's output committed exactly once, in offset order: the aborted first
    # batch was read again, and the batch that was out when the abort landed was not
    # processed ahead of it.
    assert output.committed == [str(offset).encode() for offset in range(12)]
    assert output.commits[-1] == {(TOPIC, 0): 12}
    # All committed again: nothing waits, so the stall watchdog has nothing to count.
    progress = loop.progress()
    assert not progress.waiting
    assert progress.progress == len(output.commits) + 1  # + the assignment


def test_without_an_abort_every_batch_is_processed_once() -> None:
    failed = threading.Event()
    failed.set()  # no commit fails
    consumer, output = _Consumer(end=9, chunk=3, before_fetch=None), _Output(failed)
    loop = _loop(consumer, output)
    _drive(loop, lambda: _committed(output.commits) >= 9)

    assert loop.state.aborts == 0
    assert output.committed == [str(offset).encode() for offset in range(9)]


class _Lane(_Output):
    """One of several transactional outputs: its commits take a while and go to a shared log."""

    def __init__(self, failed: threading.Event, name: str, log: list[tuple[str, list[bytes]]]):
        super().__init__(failed)
        self.name = name
        self._log = log
        self.flushes = 0

    def flush(self) -> bool:
        self.flushes += 1
        return True

    def commit(
        self, offsets: Mapping[tuple[str, int], int] | None = None, metadata: object = None
    ) -> None:
        time.sleep(0.02)  # the loop fetches and processes on meanwhile
        before = len(self.committed)
        super().commit(offsets, metadata)
        self._log.append((self.name, self.committed[before:]))


def _with_lanes(consumer: _Consumer, lanes: list[_Lane]) -> ProcessingLoop:
    loop = _loop(consumer, lanes[0])
    loop._lanes = TransactionLanes(lanes)  # type: ignore[arg-type]
    return loop


@pytest.mark.parametrize("names", ["ab", "abc"])
def test_lanes_take_turns_in_rotation_and_commit_every_output_once_in_order(names: str) -> None:
    failed = threading.Event()
    failed.set()  # no commit fails
    log: list[tuple[str, list[bytes]]] = []
    consumer = _Consumer(end=45, chunk=3, before_fetch=None, pause=0.008)
    lanes = [_Lane(failed, name, log) for name in names]
    loop = _with_lanes(consumer, lanes)

    async def run() -> None:
        deadline = time.monotonic() + 10
        while consumer.position < 45 and time.monotonic() < deadline:
            await loop._step()
        loop._commit_now()

    asyncio.run(run())
    loop._fetcher.shutdown()
    loop._committer.shutdown()

    # Outputs made while one lane committed went into the next one's transaction: each
    # commit is the next lane's, so the lane taking outputs is always the one whose own
    # commit returned longest ago...
    committed_by = [name for name, _ in log]
    assert len(committed_by) >= 4
    assert committed_by == [names[i % len(names)] for i in range(len(committed_by))]
    # ...and the commits, taken in their order, hold every output once, in input order.
    assert [value for _, values in log for value in values] == [
        str(offset).encode() for offset in range(45)
    ]
    assert max(lane.commits[-1][(TOPIC, 0)] for lane in lanes) == 45


def test_an_aborted_commit_aborts_the_other_lane_and_reads_everything_again() -> None:
    failed = threading.Event()  # the first commit fails
    log: list[tuple[str, list[bytes]]] = []
    consumer = _Consumer(end=24, chunk=3, before_fetch=None)
    lanes = [_Lane(failed, "a", log), _Lane(failed, "b", log)]
    loop = _with_lanes(consumer, lanes)

    _drive(loop, lambda: _committed(c for lane in lanes for c in lane.commits) >= 24)

    assert loop.state.aborts == 1
    assert [value for _, values in log for value in values] == [
        str(offset).encode() for offset in range(24)
    ]


class _SlowLane(_Output):
    """A lane whose commit is still inside librdkafka until RELEASE is set; logs each call."""

    def __init__(self, release: threading.Event, calls: list[str]) -> None:
        failed = threading.Event()
        failed.set()  # its commit succeeds
        super().__init__(failed)
        self._release, self._calls = release, calls

    def commit(
        self, offsets: Mapping[tuple[str, int], int] | None = None, metadata: object = None
    ) -> None:
        self._calls.append("commit begins")
        self._release.wait(5)
        super().commit(offsets, metadata)
        self._calls.append("commit returns")

    def abort(self) -> None:
        self._calls.append("abort")
        super().abort()

    def close(self) -> None:
        self._calls.append("close")
        self.abort()


class _Closed:
    def close(self) -> None:
        return None


class _ClosingConsumer(_Consumer):
    def close(self) -> None:
        return None


def test_a_loop_stopping_on_an_error_waits_for_the_commit_in_flight_before_aborting() -> None:
    """librdkafka refuses an abort while the commit thread is inside a call (`_CONFLICT`).

    A worker whose loop failed while a commit was in flight used to close its lanes at
    once: the abort was refused, and the process then hung unwatched on the commit thread.
    """
    calls: list[str] = []
    release = threading.Event()
    consumer = _ClosingConsumer(end=3, chunk=3, before_fetch=None)
    lane = _SlowLane(release, calls)
    loop = _loop(consumer, lane)
    loop._restorer = _Closed()  # type: ignore[assignment]

    async def fail_with_a_commit_in_flight() -> None:
        await loop._step()  # processes the three records and begins their commit
        assert loop._commit is not None
        lane.open = True  # the next transaction's first output, made during the commit

    asyncio.run(fail_with_a_commit_in_flight())
    loop.state.error = "StreamRuntimeError: an agent failed"
    closing = threading.Thread(target=loop._close)
    closing.start()
    time.sleep(0.2)
    assert calls == ["commit begins"]  # the close waits: no abort while the commit runs
    loop._closing = True  # what run() sets around the close
    progress = loop.progress()
    assert progress.waiting  # the watchdog still counts it, and its line will say why
    assert "stopping on StreamRuntimeError: an agent failed" in progress.detail
    release.set()
    closing.join(5)
    assert not closing.is_alive()
    assert calls == ["commit begins", "commit returns", "close", "abort"]
    loop._fetcher.shutdown()
    loop._committer.shutdown()


class _PartitionMessage(_Message):
    def __init__(self, partition: int, offset: int) -> None:
        super().__init__(offset)
        self._partition = partition

    def partition(self) -> int:
        return self._partition

    def value(self) -> bytes:
        return f"{self._partition}:{self.offset()}".encode()


class _TwoPartitions(_Consumer):
    """Partition 0 first; partition 1's first records come in the fetch that meets the abort."""

    def __init__(self, ends: dict[int, int], failed: threading.Event) -> None:
        super().__init__(end=0, chunk=3, before_fetch=failed)
        self.positions = dict.fromkeys(ends, 0)
        self.ends = ends
        self._part = 0

    def poll(self, timeout: float) -> _Message | None:
        self.fetches += 1
        if self.fetches == 2 and self._before_second_fetch is not None:
            self._before_second_fetch.wait(5)
            time.sleep(0.05)
        order = [0] if self.fetches == 1 else [1, 0] if self.fetches == 2 else [0, 1]
        for part in order:
            if self.positions[part] < self.ends[part]:
                self._part = part
                message = _PartitionMessage(part, self.positions[part])
                self.positions[part] += 1
                return message
        return None

    def consume(self, num_messages: int, timeout: float) -> list[_Message]:
        part = self._part
        start = self.positions[part]
        taken = min(self.chunk - 1, num_messages, self.ends[part] - start)
        self.positions[part] += taken
        return [_PartitionMessage(part, start + i) for i in range(taken)]

    def seek(self, tp: TopicPartition) -> None:
        self.positions[tp.partition] = max(tp.offset, 0)


def test_an_abort_rereads_a_partition_whose_first_records_were_in_the_dropped_batch() -> None:
    """Nothing of partition 1 was processed when the abort landed, but it was fetched."""
    failed = threading.Event()
    consumer = _TwoPartitions({0: 6, 1: 3}, failed)
    output = _Output(failed)
    loop = _loop(consumer, output)
    loop._on_assign(consumer, [TopicPartition(TOPIC, 0), TopicPartition(TOPIC, 1)])

    _drive(loop, lambda: _committed(output.commits, 0) >= 6 and _committed(output.commits, 1) >= 3)

    assert loop.state.aborts == 1
    for part, end in ((0, 6), (1, 3)):
        mine = [v for v in output.committed if v.startswith(f"{part}:".encode())]
        assert mine == [f"{part}:{offset}".encode() for offset in range(end)]
