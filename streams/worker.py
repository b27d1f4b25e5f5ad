"""A built worker: the faust app to run, its runtime, and what its web views read."""

from __future__ import annotations

from dataclasses import dataclass

from streams.context import ProcessingContext
from streams.recovery import RecoveryWatch
from streams.runtime import StreamRuntime, WorkerApp

__all__ = ["Worker"]


@dataclass
class Worker:
    """What `streams.app.build_app` returns."""

    app: WorkerApp
    runtime: StreamRuntime
    context: ProcessingContext
    client_id: str
    recovery: RecoveryWatch
