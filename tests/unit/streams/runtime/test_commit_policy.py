"""The commit cadence: soon after catching up, at least every interval, never with nothing."""

from __future__ import annotations

import pytest

from streams.runtime.commit_policy import CommitPolicy

POLICY = CommitPolicy(interval_secs=0.1, min_interval_secs=0.01)


@pytest.mark.parametrize(
    ("since", "pending", "caught_up", "due"),
    [
        (5.0, False, True, False),  # nothing processed: nothing to commit, ever
        (0.005, True, True, False),  # caught up, but the last commit was 5 ms ago
        (0.01, True, True, True),  # caught up and the minimum spacing passed
        (0.05, True, False, False),  # records keep coming: wait for the interval
        (0.1, True, False, True),  # busy, but the interval passed
    ],
)
def test_commit_is_due(since: float, pending: bool, caught_up: bool, due: bool) -> None:
    assert POLICY.due(now=since, last_commit=0.0, pending=pending, caught_up=caught_up) is due


def test_minimum_above_interval_is_refused() -> None:
    with pytest.raises(ValueError, match="min interval"):
        CommitPolicy(interval_secs=0.01, min_interval_secs=0.1)


@pytest.mark.parametrize(
    ("since", "pending", "caught_up", "due"),
    [
        (0.001, True, True, True),  # outputs waited through the last commit: at once
        (0.001, False, True, False),  # ... but never with nothing to commit
        (0.05, True, False, False),  # records keep coming: the interval still batches
    ],
)
def test_outputs_that_waited_a_commit_do_not_wait_the_minimum_too(
    since: float, pending: bool, caught_up: bool, due: bool
) -> None:
    assert (
        POLICY.due(now=since, last_commit=0.0, pending=pending, caught_up=caught_up, waited=True)
        is due
    )
