"""The worker's runtime: records in and out of Kafka under exactly-once, for faust agents.

`StreamRuntime` (service) registers stages as faust agents and runs `ProcessingLoop` (loop):
one consumer-group member, one transactional producer (transactions), changelog-backed
tables (tables) restored on assignment (restore), commits on a cadence (commit_policy), and
a watchdog that ends a worker which stopped committing (watchdog).
Everything is confluent-kafka's public API; faust hosts the agents, views and timers.
"""

from __future__ import annotations

from streams.runtime.commit_policy import CommitPolicy
from streams.runtime.exceptions import (
    FatalTransactionError,
    RestoreStalledError,
    StreamRuntimeError,
    TransactionAbortedError,
)
from streams.runtime.loop import STAGE_HEADER, LoopState, ProcessingLoop
from streams.runtime.records import ConsumedRecord
from streams.runtime.service import StreamRuntime, WorkerApp
from streams.runtime.stages import Delivery, Processor, Stage, TableLoaders
from streams.runtime.tables import ChangelogTable, changelog_topic
from streams.runtime.watchdog import STALLED_EXIT, CommitWatch

__all__ = [
    "STAGE_HEADER",
    "STALLED_EXIT",
    "ChangelogTable",
    "CommitPolicy",
    "CommitWatch",
    "ConsumedRecord",
    "Delivery",
    "FatalTransactionError",
    "LoopState",
    "ProcessingLoop",
    "Processor",
    "RestoreStalledError",
    "Stage",
    "StreamRuntime",
    "StreamRuntimeError",
    "TableLoaders",
    "TransactionAbortedError",
    "WorkerApp",
    "changelog_topic",
]
