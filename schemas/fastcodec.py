"""Per-schema Avro encoders and decoders: generated fast paths, fastavro as reference and fallback.

- Encoders write exactly the bytes of `fastavro.schemaless_writer` (tests check it) and
  raise EncodeError naming the field for a record that does not fit.
- Decoders return plain dicts with timestamps as int µs and decimals as Decimal, and raise
  DecodeError carrying the raw bytes on anything that is not a record of their schema.
- Writer schemas that differ from the reader's are resolved by fastavro.
- Schemas the generators do not specialize are served by fastavro alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from io import BytesIO
from typing import Any, cast

from fastavro import parse_schema, schemaless_reader, schemaless_writer

from schemas.catalog import parsed_schema
from schemas.decoder_gen import Decoder, compile_decoder
from schemas.encoder_gen import Encoder, compile_encoder
from schemas.exceptions import DecodeError, EncodeError
from schemas.shapes import UnsupportedSchemaError
from schemas.validation import first_error

__all__ = [
    "Decoder",
    "Encoder",
    "decoder_for_schema",
    "encoder_for_schema",
    "plain_schema",
    "record_decoder",
    "record_encoder",
    "resolving_decoder",
]


def _strip(node: Any) -> Any:
    if isinstance(node, list):
        return [_strip(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _strip(value) for key, value in node.items() if not key.startswith("__")}
    if out.get("logicalType") not in (None, "decimal"):
        del out["logicalType"]
    return out


def plain_schema(schema: Mapping[str, Any] | str) -> dict[str, Any]:
    """Return SCHEMA parsed without logical types other than decimal.

    fastavro reads such a schema the way the specialized decoders do: timestamps as int µs
    (not datetime), uuids as str; decimals stay Decimal.
    """
    raw = json.loads(schema) if isinstance(schema, str) else schema
    return cast(dict[str, Any], parse_schema(_strip(raw)))


def _label(schema: Mapping[str, Any]) -> str:
    return str(schema.get("name", "record")).rsplit(".", 1)[-1]


def _fastavro_encoder(schema: dict[str, Any], prefix: bytes) -> Encoder:
    def encode(record: Mapping[str, Any]) -> bytes:
        error = first_error(schema, record)
        if error:
            raise EncodeError(error)
        stream = BytesIO()
        stream.write(prefix)
        try:
            schemaless_writer(stream, schema, record)
        except Exception as exc:
            raise EncodeError(f"{_label(schema)}: cannot encode: {exc!r}") from exc
        return stream.getvalue()

    return encode


def _fastavro_decoder(writer: dict[str, Any], reader: dict[str, Any] | None) -> Decoder:
    label = _label(reader or writer)

    def decode(data: bytes, offset: int = 0) -> dict[str, Any]:
        stream = BytesIO(data)
        stream.seek(offset)
        try:
            record = cast(dict[str, Any], schemaless_reader(stream, writer, reader))
        except Exception as exc:
            raise DecodeError(f"{label}: undecodable body: {exc!r}", raw=bytes(data)) from exc
        if stream.tell() != len(data):
            extra = len(data) - stream.tell()
            raise DecodeError(f"{label}: {extra} bytes after the record", raw=bytes(data))
        return record

    return decode


def encoder_for_schema(schema: dict[str, Any], *, prefix: bytes = b"") -> Encoder:
    """Return the fastest encoder of the parsed record SCHEMA, writing PREFIX first."""
    try:
        return compile_encoder(schema, prefix=prefix)
    except UnsupportedSchemaError:
        return _fastavro_encoder(schema, prefix)


def decoder_for_schema(schema: dict[str, Any]) -> Decoder:
    """Return the fastest decoder `decode(data, offset)` of bodies written with SCHEMA."""
    try:
        return compile_decoder(schema)
    except UnsupportedSchemaError:
        return _fastavro_decoder(plain_schema(schema), None)


def resolving_decoder(writer: Mapping[str, Any] | str, reader: Mapping[str, Any] | str) -> Decoder:
    """Return a decoder of bodies written with WRITER into records of READER (Avro resolution)."""
    return _fastavro_decoder(plain_schema(writer), plain_schema(reader))


@cache
def record_encoder(name: str, prefix: bytes = b"") -> Encoder:
    """Return the (cached) encoder of record NAME from schemas/avro, writing PREFIX first."""
    return encoder_for_schema(parsed_schema(name), prefix=prefix)


@cache
def record_decoder(name: str) -> Decoder:
    """Return the (cached) decoder of bodies written with record NAME's current schema."""
    return decoder_for_schema(parsed_schema(name))
