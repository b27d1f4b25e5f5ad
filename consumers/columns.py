"""Avro records as typed Arrow columns: what `export` writes and notebooks read.

The Avro schema decides each column's type, not the values seen: a timestamp-micros long
becomes a UTC timestamp, decimal(18,6) bytes a decimal128(18,6), an enum a string, a
nullable union a nullable column, a nested record a struct. An empty export of a topic
therefore has the same columns as a full one. Every row also carries where it came from
(`_partition`, `_offset`, `_timestamp`, `_key`), so an export can be traced back to Kafka.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

from schemas.catalog import parsed_schema
from schemas.shapes import is_timestamp_micros, resolve, type_name

__all__ = ["COORDINATES", "ExportRow", "arrow_schema", "records_table"]

#: (name, type) of the columns that say where a row came from
COORDINATES: tuple[tuple[str, pa.DataType], ...] = (
    ("_partition", pa.int32()),
    ("_offset", pa.int64()),
    ("_timestamp", pa.timestamp("ms", tz="UTC")),
    ("_key", pa.string()),
)

_PRIMITIVES: dict[str, pa.DataType] = {
    "int": pa.int32(),
    "long": pa.int64(),
    "float": pa.float32(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "string": pa.string(),
    "bytes": pa.binary(),
    "enum": pa.string(),
    "null": pa.null(),
}

ExportRow = tuple[int, int, int, str | None, Mapping[str, Any]]
"""(partition, offset, Kafka timestamp in ms, key, decoded record)."""


def _arrow_type(schema: Any, named: Mapping[str, Any]) -> pa.DataType:
    schema = resolve(schema, named)
    kind = type_name(schema)
    if kind == "record":
        return pa.struct(
            [pa.field(f["name"], _arrow_type(f["type"], named)) for f in schema["fields"]]
        )
    if kind == "union":
        branches = [b for b in schema if type_name(resolve(b, named)) != "null"]
        if len(branches) != 1:
            raise ValueError(f"unions of several types have no column type: {schema!r}")
        return _arrow_type(branches[0], named)
    if kind == "long" and is_timestamp_micros(schema):
        return pa.timestamp("us", tz="UTC")
    if kind == "bytes" and isinstance(schema, dict) and schema.get("logicalType") == "decimal":
        return pa.decimal128(int(schema["precision"]), int(schema.get("scale", 0)))
    if kind == "array":
        return pa.list_(_arrow_type(schema["items"], named))
    if kind == "map":
        return pa.map_(pa.string(), _arrow_type(schema["values"], named))
    return _PRIMITIVES[kind]


def arrow_schema(record_name: str) -> pa.Schema:
    """Return the Arrow schema of an export of RECORD_NAME: coordinates, then its fields."""
    schema = parsed_schema(record_name)
    named = schema.get("__named_schemas", {})
    fields = [pa.field(name, kind) for name, kind in COORDINATES]
    fields += [pa.field(f["name"], _arrow_type(f["type"], named)) for f in schema["fields"]]
    return pa.schema(fields)


def records_table(rows: Iterable[ExportRow], record_name: str) -> pa.Table:
    """Return ROWS as an Arrow table typed by RECORD_NAME's schema."""
    schema = arrow_schema(record_name)
    columns = [name for name, _ in COORDINATES]
    pylist = [
        {**dict(zip(columns, (p, o, ts, key), strict=True)), **record}
        for p, o, ts, key, record in rows
    ]
    return pa.Table.from_pylist(pylist, schema=schema)
