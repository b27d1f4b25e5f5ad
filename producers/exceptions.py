"""Errors of the producers: a record that breaks a rule, an input that cannot be read."""

from __future__ import annotations

from infra.exceptions import PrimestreamError

__all__ = ["FeedUnavailableError", "SourceError", "ValidationError"]


class ValidationError(PrimestreamError, ValueError):
    """A record breaks a validation rule; `reason` says which, `field` names the field.

    The record is bad *data*: route it to the dead-letter topic with the reason.
    """

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


class SourceError(PrimestreamError, ValueError):
    """The input itself is unusable: missing, unreadable, wrong format or missing columns.

    `source` names the file (or spec) and `problem` says what is wrong; `str(err)` is the
    one-line message `"<source>: <problem>"`.
    """

    def __init__(self, source: str, problem: str) -> None:
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


class FeedUnavailableError(PrimestreamError, ConnectionError):
    """A live feed did not answer usefully this time (network, 5xx): the next poll retries."""
