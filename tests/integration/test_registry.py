"""The registry holds our schemas and enforces compatibility."""

from __future__ import annotations

import json

import pytest
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from schemas.catalog import RECORD_NAMES, schema_text
from schemas.registry import set_compatibility
from tests.integration.conftest import Scope

pytestmark = pytest.mark.integration


def _client(scope: Scope) -> SchemaRegistryClient:
    assert scope.settings.schema_registry_url
    return SchemaRegistryClient({"url": scope.settings.schema_registry_url})


def test_topics_apply_registers_every_value_schema(scope: Scope) -> None:
    subjects = set(_client(scope).get_subjects())

    for name in (
        "market.quotes",
        "market.bars",
        "news.items",
        "signals",
        "orders",
        "fills",
        "positions",
    ):
        assert f"{scope.topic(name)}-value" in subjects
    registered = _client(scope).get_latest_version(f"{scope.topic('market.quotes')}-value")
    assert json.loads(registered.schema.schema_str)["name"] == "Quote"
    assert "Quote" in RECORD_NAMES


def test_registry_accepts_a_backward_compatible_change_and_refuses_an_incompatible_one(
    scope: Scope,
) -> None:
    client = _client(scope)
    subject = f"{scope.topic('market.quotes')}-value"
    set_compatibility(client, subject, "BACKWARD")
    schema = json.loads(schema_text("Quote"))
    compatible = dict(
        schema,
        fields=[*schema["fields"], {"name": "venue", "type": ["null", "string"], "default": None}],
    )
    incompatible = dict(schema, fields=[*schema["fields"], {"name": "venue", "type": "string"}])

    client.register_schema(subject, Schema(json.dumps(compatible), "AVRO"))

    with pytest.raises(SchemaRegistryError) as refused:
        client.register_schema(subject, Schema(json.dumps(incompatible), "AVRO"))
    assert refused.value.http_status_code == 409
