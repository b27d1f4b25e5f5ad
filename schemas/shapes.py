"""Classify parsed Avro schemas into the shapes the code generators specialize."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "NO_DEFAULT",
    "PRIMITIVES",
    "UnsupportedSchemaError",
    "field_default",
    "is_timestamp_micros",
    "nullable_branches",
    "resolve",
    "type_name",
]

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})

NO_DEFAULT: Any = object()


class UnsupportedSchemaError(Exception):
    """The generators do not specialize this schema; callers fall back to fastavro."""


def resolve(schema: Any, named: Mapping[str, Any]) -> Any:
    """Return SCHEMA with a reference to a named type replaced by its definition."""
    if isinstance(schema, str) and schema not in PRIMITIVES:
        try:
            return named[schema]
        except KeyError:
            raise UnsupportedSchemaError(f"unknown named type {schema!r}") from None
    return schema


def type_name(schema: Any) -> str:
    """Return the Avro type of a resolved SCHEMA: "record", "long", "union", ..."""
    if isinstance(schema, str):
        return schema
    if isinstance(schema, list):
        return "union"
    return str(schema["type"])


def is_timestamp_micros(schema: Any) -> bool:
    """Return True for `{"type": "long", "logicalType": "timestamp-micros"}`."""
    return (
        isinstance(schema, dict)
        and schema.get("type") == "long"
        and schema.get("logicalType") == "timestamp-micros"
    )


def nullable_branches(union: list[Any]) -> tuple[int, int]:
    """Return (null index, value index) of a two-branch union with "null"; else raise."""
    if len(union) == 2 and "null" in union:
        null_index = union.index("null")
        return null_index, 1 - null_index
    raise UnsupportedSchemaError(f"only [null, T] unions are specialized, not {union}")


def field_default(field: Mapping[str, Any]) -> Any:
    """Return what fastavro writes for a missing field: its default, None, or NO_DEFAULT."""
    if "default" in field:
        return field["default"]
    field_type = field["type"]
    if field_type == "null" or (isinstance(field_type, list) and "null" in field_type):
        return None
    return NO_DEFAULT
