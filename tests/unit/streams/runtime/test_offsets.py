"""Input offsets: only moved partitions are sent, an abort rewinds to the committed ones."""

from __future__ import annotations

from streams.runtime.offsets import InputOffsets

QUOTES0, QUOTES1 = ("quotes", 0), ("quotes", 1)


def test_pending_holds_the_next_offset_of_partitions_that_moved() -> None:
    offsets = InputOffsets()
    offsets.assign({QUOTES0: 10, QUOTES1: None})
    offsets.processed(QUOTES0, 14)

    assert offsets.pending() == {QUOTES0: 15}

    offsets.committed(offsets.pending())
    assert offsets.pending() == {}
    assert offsets.committed_offset(QUOTES0) == 15


def test_rewind_resumes_at_the_committed_offset_or_the_group_default() -> None:
    offsets = InputOffsets()
    offsets.assign({QUOTES0: 10, QUOTES1: None})
    offsets.processed(QUOTES0, 14)
    offsets.processed(QUOTES1, 3)

    assert offsets.rewind() == {QUOTES0: 10, QUOTES1: None}
    assert offsets.pending() == {}


def test_revoked_partitions_are_forgotten() -> None:
    offsets = InputOffsets()
    offsets.assign({QUOTES0: 10})
    offsets.processed(QUOTES0, 11)

    offsets.revoke([QUOTES0])

    assert offsets.pending() == {}
    assert offsets.committed_offset(QUOTES0) is None


def test_rewind_seeks_every_partition_held_not_only_the_processed_ones() -> None:
    """A partition nothing was processed of may still have been fetched past the commit."""
    offsets = InputOffsets()
    offsets.assign({QUOTES0: 10, QUOTES1: 7})
    offsets.processed(QUOTES0, 14)

    assert offsets.rewind() == {QUOTES0: 10, QUOTES1: 7}
    offsets.revoke([QUOTES1])
    assert offsets.rewind() == {QUOTES0: 10}
