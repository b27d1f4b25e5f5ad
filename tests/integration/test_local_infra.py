"""The real local infra: a Kafka 4 broker and Apicurio Registry started in a private home.

These tests start their own JVMs (ports 0) and stop them; they never skip: a broker or
registry that cannot start fails them with its log.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import (  # type: ignore[attr-defined]  # no __all__ there
    AdminClient,
    NewTopic,
)
from confluent_kafka.schema_registry import Schema, SchemaRegistryClient
from confluent_kafka.schema_registry.error import SchemaRegistryError

from infra import local
from infra.exceptions import NoBrokerError
from infra.process import find_marked_pids, marker_args
from infra.settings import Settings
from tests.kit.waiting import eventually

pytestmark = pytest.mark.integration


def _settings(home: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        home=home,
        kafka_port=0,
        registry_port=0,
        bootstrap_servers=None,
        schema_registry_url=None,
        registry=True,
        kafka_heap_mb=512,
        registry_heap_mb=384,
        start_timeout_secs=120.0,
    )


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return _settings(tmp_path_factory.mktemp("local-infra-home"))


@pytest.fixture(scope="module")
def started(settings: Settings) -> Iterator[local.Endpoints]:
    endpoints = local.up(settings)  # any failure propagates: fail loudly, never skip
    try:
        yield endpoints
    finally:
        local.down(settings)


def _create_topic(bootstrap: str) -> str:
    topic = f"infra-{uuid.uuid4().hex[:8]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, num_partitions=2, replication_factor=1)])[topic].result(30)
    return topic


def _pid_gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True
    return state == "Z"


def test_broker_serves_metadata(started: local.Endpoints) -> None:
    metadata = AdminClient({"bootstrap.servers": started.bootstrap_servers}).list_topics(timeout=10)

    assert list(metadata.brokers) == [1]
    assert started.bootstrap_servers.startswith("127.0.0.1:")


def test_a_message_round_trips_through_a_new_topic(started: local.Endpoints) -> None:
    topic = _create_topic(started.bootstrap_servers)
    producer = Producer({"bootstrap.servers": started.bootstrap_servers, "acks": "all"})
    for i in range(10):
        producer.produce(topic, key=f"k{i}".encode(), value=f"v{i}".encode())
    assert producer.flush(30) == 0
    consumer = Consumer(
        {
            "bootstrap.servers": started.bootstrap_servers,
            "group.id": f"g-{topic}",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe([topic])
    seen: set[bytes] = set()

    def all_consumed() -> bool:
        message = consumer.poll(1.0)
        value = message.value() if message is not None and message.error() is None else None
        if value is not None:
            seen.add(value)
        return len(seen) == 10

    try:
        eventually(all_consumed, timeout=60, interval=0, message="10 records consumed")
    finally:
        consumer.close()
    assert seen == {f"v{i}".encode() for i in range(10)}


def test_registry_speaks_the_confluent_api(started: local.Endpoints) -> None:
    assert started.schema_registry_url is not None
    assert started.schema_registry_url.endswith("/apis/ccompat/v7")
    assert httpx.get(f"{started.schema_registry_url}/subjects").status_code == 200
    client = SchemaRegistryClient({"url": started.schema_registry_url})
    subject = f"infra-{uuid.uuid4().hex[:8]}-value"
    fields = [{"name": "symbol", "type": "string"}, {"name": "bid", "type": "double"}]
    v1 = {"type": "record", "name": "Quote", "namespace": "t", "fields": fields}

    schema_id = client.register_schema(subject, Schema(json.dumps(v1), "AVRO"))

    fetched = client.get_schema(schema_id).schema_str
    assert fetched is not None
    assert json.loads(fetched)["name"] == "Quote"
    assert client.register_schema(subject, Schema(json.dumps(v1), "AVRO")) == schema_id


def test_registry_refuses_an_incompatible_version(started: local.Endpoints) -> None:
    assert started.schema_registry_url is not None
    client = SchemaRegistryClient({"url": started.schema_registry_url})
    subject = f"infra-{uuid.uuid4().hex[:8]}-value"
    fields = [{"name": "symbol", "type": "string"}]
    v1 = {"type": "record", "name": "Quote", "fields": fields}
    v2 = {**v1, "fields": [*fields, {"name": "ask", "type": "double", "default": 0.0}]}
    bad = {**v1, "fields": [*fields, {"name": "venue", "type": "string"}]}
    client.register_schema(subject, Schema(json.dumps(v1), "AVRO"))

    client.set_compatibility(subject, "BACKWARD")
    client.register_schema(subject, Schema(json.dumps(v2), "AVRO"))

    assert client.get_compatibility(subject) == "BACKWARD"
    with pytest.raises(SchemaRegistryError) as refused:
        client.register_schema(subject, Schema(json.dumps(bad), "AVRO"))
    assert refused.value.http_status_code == 409
    assert client.get_versions(subject) == [1, 2]


def test_status_reports_both_running_with_real_versions(
    settings: Settings, started: local.Endpoints
) -> None:
    kafka, registry = local.status(settings)

    assert (kafka.name, kafka.running, kafka.address) == ("kafka", True, started.bootstrap_servers)
    assert kafka.version is not None
    assert kafka.version.startswith("4.")
    assert kafka.log_path is not None
    assert kafka.log_path.is_file()
    assert (registry.name, registry.running) == ("registry", True)
    assert registry.address == started.schema_registry_url
    assert registry.version is not None
    assert registry.version.startswith("3.")
    assert local.resolve_endpoints(settings) == started


def test_the_broker_runs_a_low_pause_collector_and_the_registry_the_serial_one(
    settings: Settings, started: local.Endpoints
) -> None:
    # The broker's stop-the-world pauses sat in every latency tail (infra/jvm_service.py).
    flags = {}
    for service in local.status(settings):
        assert service.pid is not None
        argv = Path(f"/proc/{service.pid}/cmdline").read_bytes().split(b"\0")
        flags[service.name] = [a.decode() for a in argv if a.startswith(b"-XX:+Use")]
    assert flags == {"kafka": ["-XX:+UseZGC"], "registry": ["-XX:+UseSerialGC"]}


def test_up_is_idempotent(settings: Settings, started: local.Endpoints) -> None:
    pids_before = [s.pid for s in local.status(settings)]

    again = local.up(settings)

    assert again == started
    assert [s.pid for s in local.status(settings)] == pids_before


def test_another_home_is_independent(
    settings: Settings, started: local.Endpoints, tmp_path: Path
) -> None:
    other = _settings(tmp_path)

    lines = local.down(other)

    assert lines == ["kafka: not running", "registry: not running"]
    assert all(s.running for s in local.status(settings))
    with pytest.raises(NoBrokerError):
        local.resolve_endpoints(other)


def test_down_leaves_no_process_and_up_restarts_on_the_same_data(
    settings: Settings, started: local.Endpoints
) -> None:
    topic = _create_topic(started.bootstrap_servers)
    pids = [s.pid for s in local.status(settings) if s.pid is not None]
    assert len(pids) == 2

    lines = local.down(settings)

    assert [line.split(":")[0] for line in lines] == ["kafka", "registry"]
    assert all(": stopped (pid " in line for line in lines), lines
    assert all(_pid_gone(pid) for pid in pids)
    for name in ("kafka", "registry"):
        assert find_marked_pids(marker_args(settings.home, name)) == []
    assert not any(s.running for s in local.status(settings))
    with pytest.raises(NoBrokerError):
        local.resolve_endpoints(settings)

    restarted = local.up(settings, with_registry=False)
    try:
        metadata = AdminClient({"bootstrap.servers": restarted.bootstrap_servers}).list_topics(
            timeout=10
        )
        assert topic in metadata.topics
        assert restarted.schema_registry_url is None
    finally:
        assert local.down(settings)[0].startswith("kafka: stopped")
    assert os.path.exists(settings.home / "kafka" / "cluster.id")
