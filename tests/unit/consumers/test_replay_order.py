"""The replay's merge order and pacing, without a broker."""

from __future__ import annotations

from consumers.replay import Recorded, merge, paced


def _rec(ts: int, rank: int, partition: int, offset: int) -> Recorded:
    return Recorded(ts, rank, partition, offset, "t", b"k", b"v", [], ts // 1000)


def test_topics_merge_by_event_time_then_topic_partition_offset() -> None:
    quotes_p0 = [_rec(1, 0, 0, 0), _rec(3, 0, 0, 1)]
    quotes_p1 = [_rec(2, 0, 1, 0), _rec(3, 0, 1, 1)]
    news_p0 = [_rec(3, 1, 0, 0)]

    order = [
        (r.ts_event_us, r.topic_rank, r.partition) for r in merge([news_p0, quotes_p1, quotes_p0])
    ]

    assert order == [(1, 0, 0), (2, 0, 1), (3, 0, 0), (3, 0, 1), (3, 1, 0)]


def test_a_partitions_own_order_is_kept_even_when_its_event_times_go_back() -> None:
    late = [_rec(5, 0, 0, 0), _rec(2, 0, 0, 1)]  # a late record, as it was recorded
    other = [_rec(3, 0, 1, 0)]

    offsets = [(r.partition, r.offset) for r in merge([late, other])]

    assert offsets.index((0, 0)) < offsets.index((0, 1))


def test_pacing_follows_event_time_divided_by_speed() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(secs: float) -> None:
        slept.append(round(secs, 6))
        now[0] += secs

    records = [_rec(0, 0, 0, 0), _rec(1_000_000, 0, 0, 1), _rec(3_000_000, 0, 0, 2)]
    out = list(paced(records, 2.0, sleep=sleep, clock=lambda: now[0]))

    assert out == records
    assert slept == [0.5, 1.0]


def test_max_speed_never_sleeps() -> None:
    records = [_rec(0, 0, 0, 0), _rec(9_000_000, 0, 0, 1)]

    def sleep(_secs: float) -> None:
        raise AssertionError("max speed must not sleep")

    assert list(paced(records, None, sleep=sleep)) == records
