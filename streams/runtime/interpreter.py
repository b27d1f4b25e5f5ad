"""The worker's interpreter lock: how soon a waiting thread gets it.

A worker runs three Python threads: the event loop (the agents), the fetch thread and the
commit thread. The two last spend their time inside librdkafka, without the lock, and need
it back for a moment after every call: the commit thread after its offsets, its flush and
its commit, the fetch thread after each poll. While the event loop runs Python, a thread
asking for the lock gets it only when the loop's thread has held it for the switch interval
(`sys.setswitchinterval`, 5 ms by default), and a commit asks three times. At 1,000 quotes/s
the loop runs about half of the time, so those waits were a share of every commit and of
its tail. A 0.5 ms interval cut the signal's commit wait p99 by ~10% and narrowed its
spread (BENCHMARKS.md, "The interpreter lock"); the cost is more switches while the loop
has work, which the throughput benchmarks measured.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["switch_interval"]


@contextmanager
def switch_interval(secs: float | None) -> Iterator[None]:
    """Run the block with the interpreter's switch interval at SECS (None: unchanged).

    A SECS of 0 or less is refused by `sys.setswitchinterval` (ValueError).
    """
    if secs is None:
        yield
        return
    before = sys.getswitchinterval()
    sys.setswitchinterval(secs)
    try:
        yield
    finally:
        sys.setswitchinterval(before)
