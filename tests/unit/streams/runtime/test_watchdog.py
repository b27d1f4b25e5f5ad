"""The stall watch: a worker that stops committing while work waits is ended, an idle one never."""

from __future__ import annotations

import threading

from streams.runtime.watchdog import STALLED_EXIT, CommitWatch, LoopProgress, Watchdog

WAITING = LoopProgress(True, 7, "a commit in flight for 3.0 s")


def test_work_waiting_without_progress_for_the_stall_time_is_a_stall() -> None:
    watch = CommitWatch(stall_secs=30.0)
    assert watch.observe(0.0, WAITING) is None
    assert watch.observe(29.0, WAITING) is None
    reason = watch.observe(30.0, WAITING)
    assert reason == "no commit for 30 s while work waits (a commit in flight for 3.0 s)"


def test_progress_restarts_the_clock() -> None:
    watch = CommitWatch(stall_secs=30.0)
    watch.observe(0.0, WAITING)
    assert watch.observe(25.0, LoopProgress(True, 8)) is None  # a commit completed
    assert watch.observe(50.0, LoopProgress(True, 8)) is None
    assert watch.observe(55.0, LoopProgress(True, 8)) is not None


def test_an_idle_worker_is_never_stalled() -> None:
    watch = CommitWatch(stall_secs=30.0)
    idle = LoopProgress(False, 7)
    for now in range(0, 600, 10):
        assert watch.observe(float(now), idle) is None
    # Work that begins to wait after a long idle time gets its full stall time.
    assert watch.observe(600.0, WAITING) is None
    assert watch.observe(629.0, WAITING) is None
    assert watch.observe(630.0, WAITING) is not None


def test_a_pause_in_waiting_restarts_the_clock() -> None:
    watch = CommitWatch(stall_secs=30.0)
    watch.observe(0.0, WAITING)
    watch.observe(20.0, LoopProgress(False, 7))
    assert watch.observe(45.0, WAITING) is None
    assert watch.observe(75.0, WAITING) is not None


def test_the_watchdog_ends_the_process_with_the_stalled_exit_code() -> None:
    ended = threading.Event()
    codes: list[int] = []
    now = [0.0]

    def end(code: int) -> None:
        codes.append(code)
        ended.set()

    def clock() -> float:
        now[0] += 10.0
        return now[0]

    dog = Watchdog(CommitWatch(20.0), lambda: WAITING, interval_secs=0.001, clock=clock, end=end)
    dog.start()
    assert ended.wait(5)
    dog.stop()
    assert codes == [STALLED_EXIT]


def test_a_stopped_watchdog_ends_nothing() -> None:
    codes: list[int] = []
    dog = Watchdog(CommitWatch(0.001), lambda: WAITING, interval_secs=0.01, end=codes.append)
    dog.stop()
    dog.start()
    threading.Event().wait(0.1)
    assert codes == []
