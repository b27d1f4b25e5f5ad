"""The public surface of the schemas package is what its __all__ lists, and all of it exists."""

from __future__ import annotations

import importlib

import pytest

import schemas

MODULES = (
    "schemas",
    "schemas.catalog",
    "schemas.codec",
    "schemas.compatibility",
    "schemas.decoder_gen",
    "schemas.encoder_gen",
    "schemas.exceptions",
    "schemas.fastcodec",
    "schemas.framing",
    "schemas.map_packer",
    "schemas.primitives",
    "schemas.records",
    "schemas.registry",
    "schemas.samples",
    "schemas.shapes",
    "schemas.validation",
)


def test_package_exports() -> None:
    assert set(schemas.__all__) == {
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
    }


@pytest.mark.parametrize("module_name", MODULES)
def test_every_exported_name_exists(module_name: str) -> None:
    module = importlib.import_module(module_name)

    assert module.__doc__
    assert all(hasattr(module, name) for name in module.__all__)


def test_codec_contract_names() -> None:
    from schemas import codec, registry

    assert {"AvroSerializer", "AvroDeserializer", "serializer_for", "deserializer_for"} <= set(
        codec.__all__
    )
    assert {"registry_client", "register_all", "set_compatibility"} <= set(registry.__all__)
