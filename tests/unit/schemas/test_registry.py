"""The registry layer, against an in-memory registry (the real one is in tests/integration)."""

from __future__ import annotations

from typing import cast

import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient
from pydantic import SecretStr

from schemas.catalog import schema_text
from schemas.registry import register_all, registry_client, set_compatibility, value_subject
from tests.unit.schemas.support import FakeRegistry


def test_register_all_registers_each_value_subject_once_and_is_idempotent() -> None:
    fake = FakeRegistry(first_id=7)
    client = cast(SchemaRegistryClient, fake)
    topics = {"Quote": "dev.market.quotes", "Bar": "dev.market.bars"}

    first = register_all(client, topics)
    again = register_all(client, topics)

    assert first == again == {"dev.market.quotes-value": 7, "dev.market.bars-value": 8}
    assert fake.by_id[7] == schema_text("Quote")


def test_value_subject_is_topic_name_strategy() -> None:
    assert value_subject("market.quotes") == "market.quotes-value"


def test_set_compatibility_passes_known_levels_and_refuses_others() -> None:
    fake = FakeRegistry()
    client = cast(SchemaRegistryClient, fake)

    set_compatibility(client, "signals-value")
    set_compatibility(client, "fills-value", "FULL_TRANSITIVE")
    with pytest.raises(ValueError, match="SIDEWAYS"):
        set_compatibility(client, "fills-value", "SIDEWAYS")

    assert fake.calls == [
        "compatibility signals-value BACKWARD",
        "compatibility fills-value FULL_TRANSITIVE",
    ]


def test_registry_client_is_built_without_io_and_with_basic_auth() -> None:
    anonymous = registry_client("http://127.0.0.1:9")
    authed = registry_client("http://127.0.0.1:9", user="svc", password=SecretStr("s3:cret"))

    assert isinstance(anonymous, SchemaRegistryClient)
    assert isinstance(authed, SchemaRegistryClient)
