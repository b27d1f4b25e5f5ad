"""Test support of the schemas tests: an in-memory schema registry, fastavro as the reference."""

from __future__ import annotations

import io
import json
import math
from typing import Any, cast

from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError
from fastavro import schemaless_writer


class FakeRegistry:
    """The part of SchemaRegistryClient the codec uses, in memory, counting calls."""

    def __init__(self, first_id: int = 1) -> None:
        self.by_id: dict[int, str] = {}
        self.subjects: dict[str, list[int]] = {}
        self.calls: list[str] = []
        self._next_id = first_id
        self.fail_with: Exception | None = None

    def register_schema(
        self, subject_name: str, schema: Schema, normalize_schemas: bool = False
    ) -> int:
        self.calls.append(f"register {subject_name}")
        text = str(schema.schema_str)
        canonical = json.dumps(json.loads(text), sort_keys=True)
        known = {json.dumps(json.loads(text), sort_keys=True): i for i, text in self.by_id.items()}
        schema_id = known.get(canonical) or self.add(text)
        self.subjects.setdefault(subject_name, [])
        if schema_id not in self.subjects[subject_name]:
            self.subjects[subject_name].append(schema_id)
        return schema_id

    def get_schema(
        self, schema_id: int, subject_name: str | None = None, fmt: str | None = None
    ) -> Schema:
        self.calls.append(f"get {schema_id}")
        if self.fail_with is not None:
            raise self.fail_with
        if schema_id not in self.by_id:
            raise SchemaRegistryError(404, 40403, f"Schema {schema_id} not found")
        return Schema(self.by_id[schema_id], "AVRO")

    def set_compatibility(self, subject_name: str | None = None, level: str | None = None) -> str:
        self.calls.append(f"compatibility {subject_name} {level}")
        return str(level)

    def add(self, schema_text: str) -> int:
        """Store SCHEMA_TEXT under a new id, as another producer would have."""
        schema_id = self._next_id
        self._next_id += 1
        self.by_id[schema_id] = schema_text
        return schema_id


def as_client(registry: FakeRegistry | None) -> SchemaRegistryClient | None:
    """The fake, typed as the real client the codec expects."""
    return cast(SchemaRegistryClient | None, registry)


def fastavro_bytes(schema: Any, record: Any) -> bytes:
    """The reference: what fastavro's generic writer produces."""
    stream = io.BytesIO()
    schemaless_writer(stream, schema, record)
    return stream.getvalue()


def same_record(a: Any, b: Any) -> bool:
    """Equality where NaN equals NaN (records are compared field by field)."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (
            a == b and math.copysign(1, a) == math.copysign(1, b)
        )
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same_record(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_record(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b) and type(a) is type(b)
