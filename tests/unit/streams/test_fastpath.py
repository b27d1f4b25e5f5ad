"""The fast path's offset bookkeeping: what may be committed, and which batches are stale."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

from faust.types import TP

from streams.fastpath import FastApp, _make_batch_message, fold_spans, next_expected

_TP = TP("quotes", 0)


def test_contiguous_spans_commit_past_their_end() -> None:
    spans = [(10, 14), (15, 15), (16, 30)]
    assert fold_spans(spans, 10) == 31
    assert spans == []


def test_a_hole_stops_the_commit_and_keeps_what_follows() -> None:
    spans = [(16, 30), (10, 12)]  # 13..15 still in flight
    assert fold_spans(spans, 10) == 13
    assert spans == [(16, 30)]
    assert fold_spans(spans, 13) is None
    assert spans == [(16, 30)], "nothing consumed while the hole is open"


def test_spans_before_the_committed_offset_are_absorbed() -> None:
    spans = [(5, 12), (13, 20)]
    assert fold_spans(spans, 10) == 21


def test_without_a_committed_offset_the_first_span_starts_the_prefix() -> None:
    spans = [(7, 9), (3, 6)]
    assert fold_spans(spans, None) == 10


def test_no_spans_means_nothing_to_commit() -> None:
    assert fold_spans([], 4) is None


def test_after_a_seek_the_next_record_is_expected_at_the_seek_offset() -> None:
    # faust's read offset holds the NEXT offset right after a seek: a committed offset on
    # a transaction marker (10) followed by a record at 11 must leave 10 as a gap.
    assert next_expected(10, 10) == 10
    assert next_expected(None, 10) == 11
    assert next_expected(None, None) is None


def _consumer() -> object:
    app = FastApp("t-fastpath", broker="kafka://127.0.0.1:1", store="memory://")
    return app.consumer


def _records(first: int, last: int) -> list[SimpleNamespace]:
    return [
        SimpleNamespace(offset=o, timestamp=1_000, timestamp_type=0, value=b"")
        for o in range(first, last + 1)
    ]


def test_an_acked_batch_after_a_seek_gap_commits_through_the_marker() -> None:
    consumer = _consumer()
    consumer._committed_offset[_TP] = 10
    consumer._spans[_TP].append((10, 10))  # the gap _drain_messages records for the marker
    message = _make_batch_message(_TP, _records(11, 20), consumer.app.consumer_generation_id)
    assert consumer.ack_batch(message)
    assert consumer._new_offset(_TP) == 21


def test_a_rebalance_makes_every_batch_fetched_before_it_stale() -> None:
    consumer = _consumer()
    before = _make_batch_message(
        _TP, _records(0, 4), consumer.app.consumer_generation_id, consumer.seek_epoch(_TP)
    )
    consumer.in_transaction = True
    asyncio.run(consumer._revoke_barrier())
    after = _make_batch_message(
        _TP, _records(5, 9), consumer.app.consumer_generation_id, consumer.seek_epoch(_TP)
    )
    assert consumer.drop_stale(before), "fetched before the revocation: never processed"
    assert before.acked
    assert not consumer._spans[_TP], "dropped without marking it processed"
    assert not consumer.drop_stale(after)
    assert not consumer.flow_active


def test_a_revocation_commits_what_was_processed_before_it_is_forgotten() -> None:
    consumer = _consumer()
    consumer.in_transaction = True
    consumer._spans[_TP].append((0, 9))
    commits: list[tuple[dict[TP, list[tuple[int, int]]], bool]] = []

    async def force_commit(topics: object = None, start_new_transaction: bool = True) -> bool:
        commits.append(({tp: list(s) for tp, s in consumer._spans.items()}, start_new_transaction))
        return True

    consumer.force_commit = force_commit
    asyncio.run(consumer.on_partitions_revoked({_TP}))
    assert commits == [({_TP: [(0, 9)]}, False)], "committed, transactions ended, then forgotten"
    assert not consumer._spans.get(_TP)


def test_a_tainted_consumer_commits_nothing() -> None:
    consumer = _consumer()
    consumer.tainted = "half a batch in the transaction"
    consumer._spans[_TP].append((0, 9))
    assert asyncio.run(consumer.force_commit()) is False
    assert consumer._spans[_TP] == [(0, 9)]


def test_draining_waits_for_a_write_the_buffers_own_task_is_publishing() -> None:
    async def scenario() -> None:
        consumer = _consumer()
        buffer = consumer.app.producer.buffer
        gate, published = asyncio.Event(), []

        class Channel:
            async def publish_message(self, fut: object, wait: bool = False) -> None:
                await gate.wait()
                published.append(fut)

        write = SimpleNamespace(message=SimpleNamespace(channel=Channel()))
        in_flight = asyncio.ensure_future(buffer._send_pending(write))  # as its own task does
        await asyncio.sleep(0)
        drain = asyncio.ensure_future(consumer.drain_producer_buffer())
        await asyncio.sleep(0.05)
        assert not drain.done(), "a batch may not be acked while its table write is in flight"
        gate.set()
        await asyncio.wait_for(drain, 1.0)
        await in_flight
        assert published == [write]

    asyncio.run(scenario())


def test_the_tracked_buffer_is_wired_like_fausts_own() -> None:
    app = FastApp("t-buffer", broker="kafka://127.0.0.1:1", store="memory://")
    buffer = app.producer.buffer
    assert buffer.app is app
    assert buffer.size == 0


def test_every_reposition_of_a_partition_is_counted_where_it_happens() -> None:
    thread = _consumer()._thread
    moved: list[object] = []
    fetcher = SimpleNamespace(
        seek_to=lambda tp, offset: moved.append((tp, offset)),
        request_offset_reset=lambda tps, strategy: moved.append((tuple(tps), strategy)),
    )
    thread._count_seeks(fetcher)
    other = TP("quotes", 1)
    fetcher.seek_to(_TP, 5)
    fetcher.request_offset_reset([_TP, other], "earliest")
    assert thread.seeks == {_TP: 2, other: 1}
    assert moved == [(_TP, 5), ((_TP, other), "earliest")], "the seeks themselves still happen"


def test_a_partition_without_commits_goes_back_to_its_earliest_offset_once() -> None:
    consumer = _consumer()

    async def earliest(*tps: TP) -> dict[TP, int]:
        return dict.fromkeys(tps, 0)

    seeks: list[tuple[TP, int]] = []
    consumer.earliest_offsets = earliest
    consumer._thread.seek = lambda tp, offset: seeks.append((tp, offset))

    assert asyncio.run(consumer._start_of(_TP, 1170)) is None, "1,170 records were skipped"
    assert seeks == [(_TP, 0)]
    assert asyncio.run(consumer._start_of(_TP, 2)) == 0, "a second miss: a gap, not a skip"
    assert asyncio.run(consumer._start_of(TP("quotes", 1), 0)) == 0
    assert seeks == [(_TP, 0)]


def test_a_partition_lost_and_regained_has_its_table_stores_rebuilt(tmp_path: Path) -> None:
    consumer = _consumer()
    dbs: dict[int, object] = {0: object(), 1: object()}

    def partition_path(partition: int) -> Path:
        return tmp_path / f"signal-state-{partition}.db"

    for partition in (0, 1):
        partition_path(partition).mkdir()
    store = SimpleNamespace(_dbs=dbs, partition_path=partition_path)
    tables = {"signal-state": SimpleNamespace(data=store, name="signal-state")}
    consumer.app = SimpleNamespace(tables=tables, batch_topic_names={"quotes"})  # type: ignore[assignment]
    both, one = {TP("quotes", 0), TP("quotes", 1)}, {TP("quotes", 0)}

    consumer._forget_regained(both)  # first assignment: local stores are trusted
    consumer._forget_regained(one)  # partition 1 moves to another worker
    assert partition_path(1).exists(), "a store is only dropped when its partition comes back"
    consumer._forget_regained(both)  # ...and comes back: its old store may hold aborted writes

    assert not partition_path(1).exists()
    assert partition_path(0).exists(), "a partition held all along keeps its store"
    assert set(dbs) == {0}


class _Txn:
    """aiokafka's transaction state, as far as the producer looks at it."""

    def __init__(self, *, open_: bool, sent: bool) -> None:
        self.open = open_
        self._txn_partitions = {TP("fills", 0)} if sent else set()
        self._pending_txn_partitions: set[TP] = set()

    def is_in_transaction(self) -> bool:
        return self.open


class _TxnProducer:
    def __init__(self, txn: _Txn) -> None:
        self._txn_manager, self.calls = txn, []

    async def abort_transaction(self) -> None:
        self.calls.append("abort")
        self._txn_manager.open = False

    async def begin_transaction(self) -> None:
        self.calls.append("begin")
        self._txn_manager.open = True


def _begin_again(txn: _Txn) -> tuple[list[str], list[tuple[set[int], str]]]:
    app = FastApp("t-fastpath", broker="kafka://127.0.0.1:1", store="memory://")
    producer, forgotten = app.producer, []
    tid = "t-fastpath-1-3"
    client = _TxnProducer(txn)
    producer._transaction_producers[tid] = client
    producer._trn_locks[tid] = asyncio.Lock()
    producer._producer = object()  # started
    app.consumer.forget_stores = lambda parts, why: forgotten.append((parts, why))
    asyncio.run(producer.maybe_begin_transaction(tid))
    return client.calls, forgotten


def test_a_transaction_left_open_with_records_is_aborted_and_its_stores_rebuilt() -> None:
    calls, forgotten = _begin_again(_Txn(open_=True, sent=True))

    assert calls == ["abort", "begin"], "re-read records must not join the old transaction"
    assert forgotten == [({3}, "had a transaction aborted")]


def test_an_open_transaction_with_nothing_sent_just_carries_on() -> None:
    assert _begin_again(_Txn(open_=True, sent=False)) == ([], [])


def test_a_closed_transaction_is_begun_as_faust_does() -> None:
    assert _begin_again(_Txn(open_=False, sent=False)) == (["begin"], [])


class _Tables(dict[str, object]):
    """faust's TableManager as forget_stores sees it: tables by name, and its recovery."""

    def __init__(self, tables: dict[str, object], recovery: object) -> None:
        super().__init__(tables)
        self._recovery = recovery


def test_a_forgotten_store_is_recovered_from_the_changelogs_start(tmp_path: Path) -> None:
    """A kept partition's recovery offset must go with its store, or recovery resumes there."""
    from faust.tables.recovery import Recovery

    consumer = _consumer()
    revoked: list[TP] = []
    recovery = SimpleNamespace(revoke=revoked.append)
    store = SimpleNamespace(_dbs={0: object()}, partition_path=lambda p: tmp_path / f"s-{p}.db")
    (tmp_path / "s-0.db").mkdir()
    changelog = SimpleNamespace(get_topic_name=lambda: "app-positions-changelog")
    table = SimpleNamespace(data=store, name="positions", changelog_topic=changelog)
    consumer.app = SimpleNamespace(tables=_Tables({"positions": table}, recovery))  # type: ignore[assignment]

    consumer.forget_stores({0}, "had a transaction aborted")

    assert revoked == [TP("app-positions-changelog", 0)]
    assert not (tmp_path / "s-0.db").exists()
    assert hasattr(Recovery, "revoke"), "faust's Recovery still drops a partition's offsets so"
