"""What a dead-lettered record carries: its raw bytes, where it came from, and why.

Bad input is data: it is routed to the `deadletter` topic (raw value and key untouched,
the reason in headers) instead of crashing a worker or being dropped. The original
headers (its `traceparent` among them) are kept so the trace shows where it ended.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = [
    "ERROR_MESSAGE",
    "ERROR_TYPE",
    "HEADER_PREFIX",
    "SOURCE_OFFSET",
    "SOURCE_PARTITION",
    "SOURCE_TOPIC",
    "STAGE",
    "DeadLetter",
    "original_headers",
    "reason_of",
]

HEADER_PREFIX = "deadletter."
SOURCE_TOPIC = f"{HEADER_PREFIX}source.topic"
SOURCE_PARTITION = f"{HEADER_PREFIX}source.partition"
SOURCE_OFFSET = f"{HEADER_PREFIX}source.offset"
ERROR_TYPE = f"{HEADER_PREFIX}error.type"
ERROR_MESSAGE = f"{HEADER_PREFIX}error.message"
STAGE = f"{HEADER_PREFIX}stage"  # which stage refused it (the runtime adds it)
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
            (SOURCE_TOPIC, self.source_topic.encode()),
            (SOURCE_PARTITION, str(self.partition).encode()),
            (SOURCE_OFFSET, str(self.offset).encode()),
            (ERROR_TYPE, self.error_type.encode()),
            (ERROR_MESSAGE, self.message[:_MAX_MESSAGE].encode()),
        ]
        return ours + original_headers(original)

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> DeadLetter | None:
        """Return the dead letter that decoded HEADERS describe; None if they are not one.

        A record without the source coordinates (or with ones that are not numbers) was
        not written by a stage, so it cannot be sent back anywhere.
        """
        topic = headers.get(SOURCE_TOPIC)
        partition, offset = headers.get(SOURCE_PARTITION, ""), headers.get(SOURCE_OFFSET, "")
        if not topic or not partition.isdigit() or not offset.isdigit():
            return None
        return cls(
            topic,
            int(partition),
            int(offset),
            headers.get(ERROR_TYPE, ""),
            headers.get(ERROR_MESSAGE, ""),
        )


def original_headers(
    headers: Iterable[tuple[str, bytes | str | None]],
) -> list[tuple[str, bytes]]:
    """Return HEADERS without the dead-letter ones: what the record carried when it came in.

    A header without a value comes back as empty bytes (Kafka headers may be null; the
    dead letter already stored it so).
    """
    return [
        (k, v.encode() if isinstance(v, str) else (v or b""))
        for k, v in headers
        if not k.startswith(HEADER_PREFIX)
    ]


def reason_of(headers: Mapping[str, str]) -> tuple[str, str] | None:
    """Return (error type, message) from decoded dead-letter headers, or None."""
    error_type = headers.get(ERROR_TYPE)
    if error_type is None:
        return None
    return error_type, headers.get(ERROR_MESSAGE, "")
