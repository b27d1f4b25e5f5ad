"""`kill -USR2 <worker pid>` writes every asyncio task's stack to the worker's log.

A stalled asyncio worker looks idle to thread-level profilers (the loop sits in
select()); what matters is which coroutine awaits what. This is the worker's jstack.
(SIGUSR1 is mode's: it dumps the threads.)
"""

from __future__ import annotations

import asyncio
import io
import logging
import signal

__all__ = ["install_task_dump"]

log = logging.getLogger("primestream.diagnostics")


def _dump(loop: asyncio.AbstractEventLoop) -> None:
    out = io.StringIO()
    tasks = asyncio.all_tasks(loop)
    out.write(f"{len(tasks)} asyncio tasks\n")
    for task in sorted(tasks, key=lambda t: t.get_name()):
        out.write(f"--- {task.get_name()}: {task.get_coro()!r}\n")
        task.print_stack(limit=12, file=out)
    log.warning("task dump:\n%s", out.getvalue())


def install_task_dump(loop: asyncio.AbstractEventLoop) -> None:
    """Dump all tasks of LOOP on SIGUSR2."""
    loop.add_signal_handler(signal.SIGUSR2, _dump, loop)
