"""The collector's pauses are timed and start-up objects leave its full passes."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from streams.runtime.heap import YOUNG_THRESHOLD, PauseClock, freeze_startup_heap
from streams.runtime.timings import LoopTimings


@pytest.fixture
def unfrozen() -> Iterator[None]:
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


def test_a_full_collection_is_timed_into_the_loop_line() -> None:
    timings = LoopTimings(started=0.0)
    pauses = PauseClock(timings.collected)
    pauses.install()
    pauses.install()  # idempotent: one callback, one count per pass
    try:
        gc.collect(0)
        gc.collect(2)
    finally:
        pauses.remove()
    gc.collect(2)  # after removal: not counted

    assert timings.full_gc.count == 1
    assert timings.full_gc.most > 0.0
    line = timings.report(now=10.0)
    assert line is not None
    assert "full gc 1x" in line


def test_freezing_moves_live_objects_out_of_reach(unfrozen: None) -> None:
    kept = [[i] for i in range(1000)]

    frozen = freeze_startup_heap()

    assert frozen >= len(kept)
    assert gc.get_freeze_count() == frozen
    assert all(len(gc.get_objects(generation)) < frozen for generation in range(3))


def test_the_young_generation_is_widened_and_the_older_ones_kept(unfrozen: None) -> None:
    _, older, oldest = gc.get_threshold()

    freeze_startup_heap()

    assert gc.get_threshold() == (YOUNG_THRESHOLD, older, oldest)
