"""The two framings of a record value: Confluent wire format and Avro single-object encoding.

- Confluent: magic byte 0x00, then the 4-byte big-endian schema id of a registry.
- Single-object: 0xC3 0x01, then the 8-byte little-endian CRC-64-AVRO fingerprint.
"""

from __future__ import annotations

from typing import NamedTuple

from schemas.exceptions import DecodeError

__all__ = [
    "CONFLUENT_HEADER_SIZE",
    "CONFLUENT_MAGIC",
    "SINGLE_OBJECT_HEADER_SIZE",
    "SINGLE_OBJECT_MAGIC",
    "Header",
    "confluent_header",
    "read_header",
    "single_object_header",
]

CONFLUENT_MAGIC = b"\x00"
CONFLUENT_HEADER_SIZE = 5
SINGLE_OBJECT_MAGIC = b"\xc3\x01"
SINGLE_OBJECT_HEADER_SIZE = 10


class Header(NamedTuple):
    """What the framing of one value says about its writer schema."""

    schema_id: int | None  # Confluent framing
    fingerprint: bytes | None  # single-object framing
    size: int  # bytes before the Avro body


def confluent_header(schema_id: int) -> bytes:
    """Return the 5-byte Confluent header of registry SCHEMA_ID."""
    return CONFLUENT_MAGIC + schema_id.to_bytes(4, "big")


def single_object_header(fingerprint: bytes) -> bytes:
    """Return the 10-byte single-object header of an 8-byte (wire-order) FINGERPRINT."""
    if len(fingerprint) != 8:
        raise ValueError("a CRC-64-AVRO fingerprint has 8 bytes")
    return SINGLE_OBJECT_MAGIC + fingerprint


def read_header(data: bytes) -> Header:
    """Return the header of DATA; raise DecodeError when it is neither framing."""
    if not data:
        raise DecodeError("empty value: no Avro framing", raw=data)
    if data[:1] == CONFLUENT_MAGIC:
        if len(data) < CONFLUENT_HEADER_SIZE:
            raise DecodeError("truncated Confluent header", raw=data)
        return Header(int.from_bytes(data[1:5], "big"), None, CONFLUENT_HEADER_SIZE)
    if data[:2] == SINGLE_OBJECT_MAGIC:
        if len(data) < SINGLE_OBJECT_HEADER_SIZE:
            raise DecodeError("truncated single-object header", raw=data)
        return Header(None, bytes(data[2:10]), SINGLE_OBJECT_HEADER_SIZE)
    raise DecodeError(
        f"unknown framing: first bytes {bytes(data[:2]).hex()} are neither 00 (Confluent) "
        "nor c301 (Avro single-object)",
        raw=data,
    )
