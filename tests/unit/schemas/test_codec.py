"""Serializers and deserializers: both framings, exact headers, and DecodeError on bad bytes."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from confluent_kafka.schema_registry.error import SchemaRegistryError
from confluent_kafka.serialization import MessageField, SerializationContext

from schemas.catalog import RECORD_NAMES, fingerprint, parsed_schema, schema_text
from schemas.codec import AvroDeserializer, AvroSerializer, deserializer_for, serializer_for
from schemas.exceptions import DecodeError, EncodeError, SchemaNotFoundError
from schemas.fastcodec import record_encoder
from schemas.samples import random_record
from tests.kit import stubs
from tests.unit.schemas.support import FakeRegistry, as_client, same_record


def _ctx(topic: str = "market.quotes") -> SerializationContext:
    return SerializationContext(topic, MessageField.VALUE)


def _records(name: str, count: int = 50) -> list[dict[str, Any]]:
    rng = random.Random(name)
    return [random_record(parsed_schema(name), rng, edge=i % 3 == 0) for i in range(count)]


@pytest.mark.parametrize("name", RECORD_NAMES)
def test_single_object_round_trip_with_exact_header(name: str) -> None:
    serialize, deserialize = (
        serializer_for(name, registry=None),
        deserializer_for(name, registry=None),
    )

    for record in _records(name):
        data = serialize(record)

        assert data[:10] == b"\xc3\x01" + fingerprint(name)
        assert data[10:] == record_encoder(name)(record)
        assert same_record(deserialize(data), record)


@pytest.mark.parametrize("name", RECORD_NAMES)
def test_confluent_round_trip_with_exact_header(name: str, registry: FakeRegistry) -> None:
    topic = f"t.{name.lower()}"
    serialize = serializer_for(name, registry=as_client(registry))
    deserialize = deserializer_for(name, registry=as_client(registry))

    for record in _records(name):
        data = serialize(record, _ctx(topic))

        schema_id = registry.subjects[f"{topic}-value"][0]
        assert data[:5] == b"\x00" + schema_id.to_bytes(4, "big")
        assert data[5:] == record_encoder(name)(record)
        assert same_record(deserialize(data, _ctx(topic)), record)


def test_schema_id_is_big_endian_on_four_bytes(registry: FakeRegistry) -> None:
    registry._next_id = 0x01020304
    data = serializer_for("Quote", registry=as_client(registry), subject="q-value")(stubs.quote())

    assert data[:5] == bytes([0, 1, 2, 3, 4])


def test_registration_is_lazy_and_happens_once(registry: FakeRegistry) -> None:
    serialize = serializer_for("Quote", registry=as_client(registry))
    deserialize = deserializer_for("Quote", registry=as_client(registry))
    assert registry.calls == []

    for _ in range(3):
        deserialize(serialize(stubs.quote(), _ctx("market.quotes")))

    assert registry.calls == ["register market.quotes-value", "get 100000"]


def test_explicit_subject_wins_over_the_topic(registry: FakeRegistry) -> None:
    serialize = serializer_for("Quote", registry=as_client(registry), subject="custom-value")

    serialize(stubs.quote(), _ctx("market.quotes"))
    serialize(stubs.quote())

    assert list(registry.subjects) == ["custom-value"]


def test_registry_without_subject_or_context_is_a_configuration_error(
    registry: FakeRegistry,
) -> None:
    with pytest.raises(SchemaNotFoundError, match="subject"):
        serializer_for("Quote", registry=as_client(registry))(stubs.quote())


def test_unknown_record_name_is_refused_up_front() -> None:
    with pytest.raises(SchemaNotFoundError):
        serializer_for("Trade", registry=None)
    with pytest.raises(SchemaNotFoundError):
        deserializer_for("Trade", registry=None)


def test_none_is_a_tombstone() -> None:
    assert deserializer_for("Position", registry=None)(None) is None


def test_types_are_confluent_shaped() -> None:
    assert isinstance(serializer_for("Quote", registry=None), AvroSerializer)
    assert isinstance(deserializer_for("Quote", registry=None), AvroDeserializer)


def _decode_error(
    data: bytes, registry: FakeRegistry | None = None, name: str = "Quote"
) -> DecodeError:
    deserialize = deserializer_for(name, registry=as_client(registry))
    with pytest.raises(DecodeError) as raised:
        deserialize(data, _ctx("market.quotes"))
    assert raised.value.raw == data
    assert raised.value.topic == "market.quotes"
    return raised.value


GOOD = b"\xc3\x01" + fingerprint("Quote") + record_encoder("Quote")(stubs.quote())


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "empty"),
        (b"\x01abc", "unknown framing"),
        (b"\xc3\x02" + GOOD[2:], "unknown framing"),
        (b"\xc3\x01" + bytes(8) + GOOD[10:], "unknown schema fingerprint"),
        (GOOD[:7], "truncated single-object header"),
        (GOOD[:12], "truncated body"),
        (GOOD[:-1], "truncated body"),
        (GOOD + b"\x00", "trailing bytes"),
        (b"\x00\x00\x00\x00\x07" + GOOD[10:], "needs a schema registry"),
        (b"\x00\x00\x00", "truncated Confluent header"),
    ],
    ids=[
        "empty",
        "magic",
        "version",
        "fingerprint",
        "header",
        "body-start",
        "body-end",
        "trailing",
        "no-registry",
        "confluent-header",
    ],
)
def test_undecodable_bytes_raise_decode_error_with_raw_bytes_and_topic(
    data: bytes, reason: str
) -> None:
    assert reason in _decode_error(data).reason


def test_unknown_schema_id_raises_decode_error(registry: FakeRegistry) -> None:
    error = _decode_error(b"\x00\x00\x00\x00\x63" + GOOD[10:], registry)

    assert "schema id 99 is not in the registry" in error.reason


def test_registry_outage_propagates_instead_of_dead_lettering_good_bytes(
    registry: FakeRegistry,
) -> None:
    registry.fail_with = SchemaRegistryError(503, 50301, "unavailable")
    deserialize = deserializer_for("Quote", registry=as_client(registry))

    with pytest.raises(SchemaRegistryError):
        deserialize(b"\x00\x00\x00\x00\x01" + GOOD[10:])


def test_another_record_types_bytes_do_not_decode_as_this_one() -> None:
    data = serializer_for("Bar", registry=None)(stubs.bar())

    assert "undecodable" in _decode_error(data).reason


def test_a_single_object_reader_also_reads_records_of_an_older_writer_schema(
    registry: FakeRegistry,
) -> None:
    old = json.loads(schema_text("Quote"))
    old["fields"] = [f for f in old["fields"] if f["name"] not in ("last", "seq")]
    old_id = registry.add(json.dumps(old))
    from fastavro import parse_schema

    from tests.unit.schemas.support import fastavro_bytes

    body = fastavro_bytes(
        parse_schema(old), {k: v for k, v in stubs.quote().items() if k not in ("last", "seq")}
    )
    deserialize = deserializer_for("Quote", registry=as_client(registry))

    record = deserialize(b"\x00" + old_id.to_bytes(4, "big") + body)

    assert record == stubs.quote(last=None, seq=0)
    assert isinstance(record["ts_event_us"], int)


def test_a_registry_reader_decodes_single_object_values_too(registry: FakeRegistry) -> None:
    deserialize = deserializer_for("Quote", registry=as_client(registry))

    assert deserialize(GOOD) == stubs.quote()
    assert registry.calls == []


def test_buffers_other_than_bytes_are_accepted() -> None:
    deserialize = deserializer_for("Quote", registry=None)

    assert deserialize(memoryview(GOOD)) == stubs.quote()  # type: ignore[arg-type]  # on purpose
    assert deserialize(bytearray(GOOD)) == stubs.quote()  # type: ignore[arg-type]  # on purpose


def test_a_registry_schema_that_does_not_parse_makes_the_value_undecodable(
    registry: FakeRegistry,
) -> None:
    bad_id = registry.add('{"type": "record"}')

    error = _decode_error(b"\x00" + bad_id.to_bytes(4, "big") + GOOD[10:], registry)

    assert "does not parse as Avro" in error.reason


def test_serializers_raise_encode_error_naming_the_field() -> None:
    with pytest.raises(EncodeError, match=r"^Quote\.ask: expected double"):
        serializer_for("Quote", registry=None)(stubs.quote(ask="185.22"))
