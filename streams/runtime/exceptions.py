"""What can go wrong under the worker's exactly-once loop, named by what the worker does next."""

from __future__ import annotations

from infra.exceptions import PrimestreamError

__all__ = [
    "FatalTransactionError",
    "RestoreStalledError",
    "StreamRuntimeError",
    "TransactionAbortedError",
]


class StreamRuntimeError(PrimestreamError):
    """Root of the runtime's errors."""


class TransactionAbortedError(StreamRuntimeError):
    """The open transaction was aborted: its outputs never show, its inputs are read again."""


class FatalTransactionError(StreamRuntimeError):
    """The producer cannot go on (fenced by a newer worker, or stuck in a call): the worker stops.

    Its restart resumes from the last commit, which exactly-once across kill -9 already
    relies on.
    """


class RestoreStalledError(StreamRuntimeError):
    """A table's changelog restore made no progress for longer than allowed."""
