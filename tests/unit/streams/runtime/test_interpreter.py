"""The worker's switch interval: set for the loop's run, given back after it."""

from __future__ import annotations

import asyncio
import sys

import pytest

from infra.settings import Settings
from streams.runtime.commit_policy import CommitPolicy
from streams.runtime.interpreter import switch_interval
from streams.runtime.loop import ProcessingLoop


def test_the_interval_holds_inside_the_block_and_is_given_back_after() -> None:
    before = sys.getswitchinterval()
    with switch_interval(0.0007):
        assert sys.getswitchinterval() == pytest.approx(0.0007)
    assert sys.getswitchinterval() == before


def test_the_interval_is_given_back_when_the_block_fails() -> None:
    before = sys.getswitchinterval()
    with pytest.raises(RuntimeError), switch_interval(0.0003):
        raise RuntimeError("the loop stopped")
    assert sys.getswitchinterval() == before


def test_none_leaves_the_interval_alone_and_a_non_positive_one_is_refused() -> None:
    before = sys.getswitchinterval()
    with switch_interval(None):
        assert sys.getswitchinterval() == before
    with pytest.raises(ValueError, match="positive"), switch_interval(0.0):
        pass
    assert sys.getswitchinterval() == before


def test_the_loop_runs_under_its_interval() -> None:
    seen: list[float] = []

    class _Loop(ProcessingLoop):
        async def _run(self) -> None:
            seen.append(sys.getswitchinterval())

    loop = _Loop(
        stages=[],
        consumer_config={},
        outputs=[object()],  # type: ignore[list-item]
        restorer=None,  # type: ignore[arg-type]
        deadletter_topic="dead",
        policy=CommitPolicy(),
        max_batch=1,
        switch_interval_secs=0.0004,
    )
    before = sys.getswitchinterval()
    asyncio.run(loop.run())
    assert seen == [pytest.approx(0.0004)]
    assert sys.getswitchinterval() == before


def test_the_workers_default_is_half_a_millisecond() -> None:
    assert Settings(_env_file=None).gil_switch_interval_ms == 0.5  # type: ignore[call-arg]
