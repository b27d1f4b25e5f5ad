"""The end of a finite input: how far a group is from the end-of-stream markers."""

from __future__ import annotations

from consumers.end_of_input import InputEnd

_END = InputEnd({("bars", 0): 9, ("bars", 1): 0, ("news", 0): 4})


def test_a_group_that_committed_nothing_has_everything_left() -> None:
    assert _END.remaining({}) == _END.total == 10 + 1 + 5


def test_the_end_is_reached_only_past_every_marker() -> None:
    at_markers = {("bars", 0): 9, ("bars", 1): 0, ("news", 0): 4}  # the markers themselves unread
    past = {tp: offset + 1 for tp, offset in at_markers.items()}

    assert _END.remaining(at_markers) == 3
    assert not _END.reached(at_markers)
    assert _END.reached(past)
    assert not _END.reached({**past, ("bars", 1): 0}), "an empty partition's marker counts too"


def test_offsets_beyond_a_marker_count_as_reached() -> None:
    beyond = {("bars", 0): 50, ("bars", 1): 3, ("news", 0): 7}  # e.g. a transaction marker after

    assert _END.remaining(beyond) == 0
