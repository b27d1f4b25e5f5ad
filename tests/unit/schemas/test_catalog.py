"""The catalog: schema files, parsed schemas and CRC-64-AVRO fingerprints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastavro.schema import to_parsing_canonical_form

import schemas
from schemas.catalog import (
    RECORD_NAMES,
    fingerprint,
    fingerprint_of,
    parsed_schema,
    record_for_fingerprint,
    schema_text,
)
from schemas.exceptions import SchemaNotFoundError

AVRO_DIR = Path(schemas.__file__).parent / "avro"

# CRC-64-AVRO as the Avro specification defines it, written independently of fastavro.
_EMPTY = 0xC15D213AA4D7A795


def _table() -> list[int]:
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (_EMPTY & -(fp & 1))
        table.append(fp)
    return table


_TABLE = _table()


def _crc64_avro(data: bytes) -> int:
    fp = _EMPTY
    for byte in data:
        fp = (fp >> 8) ^ _TABLE[(fp ^ byte) & 0xFF]
    return fp


def test_record_names_are_exactly_the_schema_files() -> None:
    assert sorted(RECORD_NAMES) == sorted(p.stem for p in AVRO_DIR.glob("*.avsc"))


@pytest.mark.parametrize("name", RECORD_NAMES)
def test_schema_text_is_the_avsc_file(name: str) -> None:
    text = schema_text(name)

    assert text == (AVRO_DIR / f"{name}.avsc").read_text("utf-8")
    assert json.loads(text)["name"] == name
    assert json.loads(text)["namespace"] == "io.primestream"


@pytest.mark.parametrize("name", RECORD_NAMES)
def test_parsed_schema_is_parsed_once(name: str) -> None:
    parsed = parsed_schema(name)

    assert parsed is parsed_schema(name)
    assert parsed["name"] == f"io.primestream.{name}"


@pytest.mark.parametrize("name", RECORD_NAMES)
def test_fingerprint_is_little_endian_crc64_avro_of_the_canonical_form(name: str) -> None:
    canonical = to_parsing_canonical_form(parsed_schema(name)).encode()

    assert fingerprint(name) == _crc64_avro(canonical).to_bytes(8, "little")
    assert fingerprint_of(schema_text(name)) == fingerprint(name)


def test_fingerprints_are_distinct_and_map_back_to_their_record() -> None:
    fingerprints = {fingerprint(name): name for name in RECORD_NAMES}

    assert len(fingerprints) == len(RECORD_NAMES)
    assert all(record_for_fingerprint(fp) == name for fp, name in fingerprints.items())


def test_fingerprint_ignores_docs_and_defaults_but_not_fields() -> None:
    schema = json.loads(schema_text("Quote"))
    undocumented = dict(schema, doc="other", fields=[dict(f, doc="x") for f in schema["fields"]])
    fewer_fields = dict(schema, fields=schema["fields"][:-1])

    assert fingerprint_of(undocumented) == fingerprint("Quote")
    assert fingerprint_of(fewer_fields) != fingerprint("Quote")


def test_unknown_names_and_fingerprints_raise_schema_not_found() -> None:
    with pytest.raises(SchemaNotFoundError, match="Trade"):
        schema_text("Trade")
    with pytest.raises(SchemaNotFoundError, match="00" * 8):
        record_for_fingerprint(bytes(8))


@pytest.mark.parametrize("name", RECORD_NAMES)
def test_time_fields_are_timestamp_micros_and_named_in_us(name: str) -> None:
    fields = parsed_schema(name)["fields"]

    for field in fields:
        if field["name"].startswith("ts_"):
            assert field["name"].endswith("_us")
            assert field["type"] == {"type": "long", "logicalType": "timestamp-micros"}


@pytest.mark.parametrize("name", [*RECORD_NAMES, "Sentiment"])
def test_typed_dicts_mirror_the_schemas(name: str) -> None:
    from typing import get_type_hints

    from schemas import records

    if name == "Sentiment":
        schema = next(
            f["type"] for f in parsed_schema("NewsItem")["fields"] if f["name"] == "sentiment"
        )
    else:
        schema = parsed_schema(name)
    hints = get_type_hints(getattr(records, name))

    assert list(hints) == [f["name"] for f in schema["fields"]]
    for field in schema["fields"]:
        if field["name"].startswith("ts_"):
            assert hints[field["name"]] is int
