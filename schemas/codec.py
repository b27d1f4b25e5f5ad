"""Avro (de)serializers of Kafka record values, shaped like confluent_kafka's `Serializer`.

`serializer_for(name, registry=...)` writes the Confluent framing (schema registered
under the subject on first use); without a registry it writes Avro single-object
encoding. `deserializer_for` reads either framing, resolving the writer's schema by
registry id or by fingerprint, and returns records of its reader schema.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from fastavro.schema import SchemaParseException

from schemas.catalog import (
    RECORD_NAMES,
    fingerprint,
    fingerprint_of,
    record_for_fingerprint,
    schema_text,
)
from schemas.exceptions import DecodeError, SchemaNotFoundError
from schemas.fastcodec import Decoder, Encoder, record_decoder, record_encoder, resolving_decoder
from schemas.framing import confluent_header, read_header, single_object_header

if TYPE_CHECKING:  # the registry client is heavy to import; only registry users pay for it
    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.serialization import SerializationContext

__all__ = ["AvroDeserializer", "AvroSerializer", "deserializer_for", "serializer_for"]

_HTTP_NOT_FOUND = 404


def _check_name(name: str) -> None:
    if name not in RECORD_NAMES:
        raise SchemaNotFoundError(f"no schema named {name!r}; known: {', '.join(RECORD_NAMES)}")


class AvroSerializer:
    """Encode records of one type into one framing: `serializer(record, ctx) -> bytes`.

    With a registry, the schema is registered under `subject` (default: "<ctx.topic>-value",
    TopicNameStrategy) on the first call; nothing happens in the constructor.
    """

    __slots__ = ("_by_topic", "_encode", "_registry", "_subject", "record_name")

    def __init__(
        self,
        record_name: str,
        *,
        registry: SchemaRegistryClient | None = None,
        subject: str | None = None,
    ) -> None:
        _check_name(record_name)
        self.record_name = record_name
        self._registry = registry
        self._subject = subject
        self._encode: Encoder | None = None
        self._by_topic: dict[str, Encoder] = {}

    def __call__(self, obj: Mapping[str, Any], ctx: SerializationContext | None = None) -> bytes:
        """Return the framed Avro bytes of OBJ; raise EncodeError when it does not fit."""
        encode = self._encode or self._bind(ctx)
        return encode(obj)

    def _bind(self, ctx: SerializationContext | None) -> Encoder:
        if self._registry is None:
            header = single_object_header(fingerprint(self.record_name))
            self._encode = record_encoder(self.record_name, header)
            return self._encode
        if self._subject is not None:
            self._encode = record_encoder(self.record_name, self._register(self._subject))
            return self._encode
        if ctx is None:
            raise SchemaNotFoundError(
                f"no subject for {self.record_name}: pass subject= or a SerializationContext"
            )
        encode = self._by_topic.get(ctx.topic)
        if encode is None:
            header = self._register(f"{ctx.topic}-value")
            encode = self._by_topic[ctx.topic] = record_encoder(self.record_name, header)
        return encode

    def _register(self, subject: str) -> bytes:
        from confluent_kafka.schema_registry import Schema

        assert self._registry is not None
        schema = Schema(schema_text(self.record_name), "AVRO")
        return confluent_header(self._registry.register_schema(subject, schema))


class AvroDeserializer:
    """Decode values of either framing into records of one reader schema.

    Raises DecodeError (reason, raw bytes, topic) on anything undecodable; registry
    outages propagate as SchemaRegistryError, since the bytes may well be fine.
    """

    __slots__ = ("_decoders", "_registry", "record_name")

    def __init__(self, record_name: str, *, registry: SchemaRegistryClient | None = None) -> None:
        _check_name(record_name)
        self.record_name = record_name
        self._registry = registry
        self._decoders: dict[bytes, tuple[Decoder, int]] = {}

    def __call__(
        self, data: bytes | None, ctx: SerializationContext | None = None
    ) -> dict[str, Any] | None:
        """Return the record in DATA, or None for None (a tombstone)."""
        if data is None:
            return None
        if type(data) is not bytes:  # memoryview, bytearray: the decoders slice and decode
            data = bytes(data)
        magic = data[:1]
        entry = self._decoders.get(data[:10] if magic == b"\xc3" else data[:5])
        try:
            decode, offset = entry or self._resolve(data)
            return decode(data, offset)
        except DecodeError as exc:
            exc.raw = data
            exc.topic = ctx.topic if ctx is not None else None
            raise

    def _resolve(self, data: bytes) -> tuple[Decoder, int]:
        header = read_header(data)
        if header.fingerprint is not None:
            decoder = self._by_fingerprint(header.fingerprint, data)
        else:
            assert header.schema_id is not None
            decoder = self._by_schema_id(header.schema_id, data)
        self._decoders[bytes(data[: header.size])] = (decoder, header.size)
        return decoder, header.size

    def _by_fingerprint(self, fp: bytes, data: bytes) -> Decoder:
        try:
            writer = record_for_fingerprint(fp)
        except SchemaNotFoundError:
            raise DecodeError(f"unknown schema fingerprint {fp.hex()}", raw=data) from None
        if writer == self.record_name:
            return record_decoder(writer)
        return resolving_decoder(schema_text(writer), schema_text(self.record_name))

    def _by_schema_id(self, schema_id: int, data: bytes) -> Decoder:
        from confluent_kafka.schema_registry import SchemaRegistryError

        if self._registry is None:
            raise DecodeError(
                f"Confluent-framed value (schema id {schema_id}): decoding it needs a schema "
                "registry, and this deserializer has none",
                raw=data,
            )
        try:
            writer = self._registry.get_schema(schema_id)
        except SchemaRegistryError as exc:
            if exc.http_status_code != _HTTP_NOT_FOUND:
                raise
            raise DecodeError(f"schema id {schema_id} is not in the registry", raw=data) from exc
        if writer.schema_type not in (None, "AVRO") or writer.schema_str is None:
            raise DecodeError(f"schema id {schema_id} is not an Avro schema", raw=data)
        try:
            if fingerprint_of(writer.schema_str) == fingerprint(self.record_name):
                return record_decoder(self.record_name)
            return resolving_decoder(writer.schema_str, schema_text(self.record_name))
        except (ValueError, LookupError, TypeError, SchemaParseException) as exc:
            reason = f"schema id {schema_id} does not parse as Avro: {exc}"
            raise DecodeError(reason, raw=data) from exc


def serializer_for(
    name: str, *, registry: SchemaRegistryClient | None, subject: str | None = None
) -> AvroSerializer:
    """Return a serializer of record NAME: Confluent framing with a REGISTRY, else single-object.

    SUBJECT defaults to "<topic>-value" of the SerializationContext (TopicNameStrategy).
    """
    return AvroSerializer(name, registry=registry, subject=subject)


def deserializer_for(name: str, *, registry: SchemaRegistryClient | None) -> AvroDeserializer:
    """Return a deserializer into record NAME; without a REGISTRY it reads single-object only."""
    return AvroDeserializer(name, registry=registry)
