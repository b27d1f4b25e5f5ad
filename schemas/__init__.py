"""Avro schemas (.avsc) and the codec that frames and (de)serializes them.

Start here: `serializer_for(name, registry=...)` and `deserializer_for(name, registry=...)`.
"""

from __future__ import annotations

from schemas.catalog import RECORD_NAMES, fingerprint, parsed_schema, schema_text
from schemas.codec import AvroDeserializer, AvroSerializer, deserializer_for, serializer_for
from schemas.exceptions import DecodeError, EncodeError, SchemaNotFoundError

__all__ = [
    "RECORD_NAMES",
    "AvroDeserializer",
    "AvroSerializer",
    "DecodeError",
    "EncodeError",
    "SchemaNotFoundError",
    "deserializer_for",
    "fingerprint",
    "parsed_schema",
    "schema_text",
    "serializer_for",
]
