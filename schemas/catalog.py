"""The record schemas in `schemas/avro/`: their text, parsed form and fingerprints."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any, cast

from fastavro import parse_schema
from fastavro.schema import fingerprint as _fastavro_fingerprint
from fastavro.schema import to_parsing_canonical_form

from schemas.exceptions import SchemaNotFoundError

__all__ = [
    "RECORD_NAMES",
    "fingerprint",
    "fingerprint_of",
    "parsed_schema",
    "record_for_fingerprint",
    "schema_text",
]

RECORD_NAMES: tuple[str, ...] = (
    "Quote",
    "Bar",
    "NewsItem",
    "Signal",
    "Order",
    "OrderEvent",
    "Rejection",
    "Alert",
    "Fill",
    "Position",
    "RiskControl",
    "VenuePoll",
    "OrderCancel",
)


@cache
def schema_text(name: str) -> str:
    """Return the `.avsc` text of record NAME (e.g. "Quote")."""
    if name not in RECORD_NAMES:
        raise SchemaNotFoundError(f"no schema named {name!r}; known: {', '.join(RECORD_NAMES)}")
    return resources.files("schemas").joinpath("avro").joinpath(f"{name}.avsc").read_text("utf-8")


@cache
def parsed_schema(name: str) -> dict[str, Any]:
    """Return fastavro's parsed schema of record NAME (cached; do not mutate)."""
    return cast(dict[str, Any], parse_schema(json.loads(schema_text(name))))


def fingerprint_of(schema: dict[str, Any] | str) -> bytes:
    """Return the 8-byte CRC-64-AVRO fingerprint of SCHEMA's Parsing Canonical Form.

    Bytes are in wire order (little-endian), as Avro single-object encoding writes them.
    """
    parsed = parse_schema(json.loads(schema) if isinstance(schema, str) else schema)
    canonical = to_parsing_canonical_form(parsed)
    return bytes.fromhex(_fastavro_fingerprint(canonical, "CRC-64-AVRO"))


@cache
def fingerprint(name: str) -> bytes:
    """Return the 8-byte CRC-64-AVRO fingerprint of record NAME, in wire (little-endian) order."""
    return fingerprint_of(parsed_schema(name))


@cache
def _names_by_fingerprint() -> dict[bytes, str]:
    return {fingerprint(name): name for name in RECORD_NAMES}


def record_for_fingerprint(fp: bytes) -> str:
    """Return the record name whose schema has fingerprint FP; raise SchemaNotFoundError."""
    try:
        return _names_by_fingerprint()[fp]
    except KeyError:
        raise SchemaNotFoundError(f"no schema in schemas/avro has fingerprint {fp.hex()}") from None
