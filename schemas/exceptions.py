"""Errors of the Avro codec."""

from __future__ import annotations

from infra.exceptions import PrimestreamError

__all__ = ["DecodeError", "EncodeError", "SchemaNotFoundError"]


class EncodeError(PrimestreamError, ValueError):
    """A record does not fit its schema."""


class DecodeError(PrimestreamError, ValueError):
    """Bytes could not be decoded; carries the raw bytes so they can be dead-lettered."""

    def __init__(self, reason: str, raw: bytes, topic: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.raw = raw
        self.topic = topic


class SchemaNotFoundError(PrimestreamError, LookupError):
    """No schema is known for a subject, id or fingerprint."""
