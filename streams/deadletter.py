"""What a dead-lettered record carries: its raw bytes, where it came from, and why.

Bad input is data: it is routed to the `deadletter` topic (raw value and key untouched,
the reason in headers) instead of crashing a worker or being dropped. The original
headers (its `traceparent` among them) are kept so the trace shows where it ended.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["HEADER_PREFIX", "DeadLetter", "reason_of"]

HEADER_PREFIX = "deadletter."
_MAX_MESSAGE = 1000


@dataclass(frozen=True)
class DeadLetter:
    """One rejected record: coordinates, error type (a class name or rule) and message."""

    source_topic: str
    partition: int
    offset: int
    error_type: str
    message: str

    def headers(
        self, original: Iterable[tuple[str, bytes | str | None]] = ()
    ) -> list[tuple[str, bytes]]:
        """Return the dead-letter headers followed by the record's own headers."""
        ours = [
            (f"{HEADER_PREFIX}source.topic", self.source_topic.encode()),
            (f"{HEADER_PREFIX}source.partition", str(self.partition).encode()),
            (f"{HEADER_PREFIX}source.offset", str(self.offset).encode()),
            (f"{HEADER_PREFIX}error.type", self.error_type.encode()),
            (f"{HEADER_PREFIX}error.message", self.message[:_MAX_MESSAGE].encode()),
        ]
        kept = [
            (k, v.encode() if isinstance(v, str) else (v or b""))
            for k, v in original
            if not k.startswith(HEADER_PREFIX)
        ]
        return ours + kept


def reason_of(headers: Mapping[str, str]) -> tuple[str, str] | None:
    """Return (error type, message) from decoded dead-letter headers, or None."""
    error_type = headers.get(f"{HEADER_PREFIX}error.type")
    if error_type is None:
        return None
    return error_type, headers.get(f"{HEADER_PREFIX}error.message", "")
