"""The local cluster's pure parts: its layout, its nodes' server.properties, its topics' copies."""

from __future__ import annotations

import itertools
import random
from pathlib import Path
from typing import Any

import pytest

from infra import local
from infra.broker import render_server_properties
from infra.cluster import BrokerNode, ClusterLayout, load_layout, new_layout, save_layout
from infra.exceptions import BrokerStartError, NoBrokerError
from infra.process import ephemeral_ports, pick_lasting_port
from infra.settings import Settings
from infra.topics import changelog_specs, topic_specs


def _settings(home: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"home": home, "bootstrap_servers": None, "registry": False}
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def _properties(text: str) -> dict[str, str]:
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def _three() -> ClusterLayout:
    return ClusterLayout(
        (BrokerNode(1, 19092, 29092), BrokerNode(2, 19093, 29093), BrokerNode(3, 19094, 29094))
    )


def test_a_layout_from_a_fixed_port_numbers_the_nodes_from_it() -> None:
    free = itertools.count(30000)

    layout = new_layout(3, first_port=9092, free_port=lambda: next(free))

    assert [(n.node_id, n.name, n.port) for n in layout.nodes] == [
        (1, "kafka", 9092),
        (2, "kafka-2", 9093),
        (3, "kafka-3", 9094),
    ]
    assert [n.controller_port for n in layout.nodes] == [30000, 30001, 30002]
    assert layout.bootstrap_servers == "127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094"
    assert layout.voters == "1@127.0.0.1:30000,2@127.0.0.1:30001,3@127.0.0.1:30002"


def test_a_layout_on_free_ports_never_hands_one_out_twice() -> None:
    offered = iter([5000, 5000, 5001, 5001, 5002, 5000, 5003, 5004, 5005])

    layout = new_layout(3, first_port=0, free_port=lambda: next(offered))

    ports = [p for n in layout.nodes for p in (n.port, n.controller_port)]
    assert sorted(ports) == [5000, 5001, 5002, 5003, 5004, 5005]


@pytest.mark.parametrize(
    ("size", "copies", "min_isr"), [(1, 1, 1), (2, 2, 2), (3, 3, 2), (5, 3, 2)]
)
def test_replication_follows_the_size_up_to_three(size: int, copies: int, min_isr: int) -> None:
    layout = new_layout(size, first_port=9092, free_port=iter(range(40000, 40100)).__next__)

    assert (layout.replication_factor, layout.min_insync_replicas) == (copies, min_isr)


def test_a_layout_needs_a_broker() -> None:
    with pytest.raises(ValueError, match="at least one broker"):
        new_layout(0, first_port=0, free_port=lambda: 1)


def test_a_layout_survives_its_file(tmp_path: Path) -> None:
    assert load_layout(tmp_path) is None

    save_layout(tmp_path, _three())

    assert load_layout(tmp_path) == _three()
    assert _three().node(2).address == "127.0.0.1:19093"
    with pytest.raises(KeyError):
        _three().node(4)


def test_a_cluster_node_replicates_every_topic_internal_ones_included(tmp_path: Path) -> None:
    props = _properties(
        render_server_properties(
            port=19093, controller_port=29093, data_dir=tmp_path, cluster=_three(), node_id=2
        )
    )

    assert props["node.id"] == "2"
    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == _three().voters
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19093"
    for key in (
        "default.replication.factor",
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "share.coordinator.state.topic.replication.factor",
    ):
        assert props[key] == "3", key
    for key in (
        "min.insync.replicas",
        "transaction.state.log.min.isr",
        "share.coordinator.state.topic.min.isr",
    ):
        assert props[key] == "2", key
    assert props["unclean.leader.election.enable"] == "false"
    assert int(props["broker.session.timeout.ms"]) < 9000  # fenced sooner than by default


def test_topics_and_changelogs_take_the_clusters_replication_unless_told(tmp_path: Path) -> None:
    default = _settings(tmp_path)
    told = _settings(tmp_path, replication_factor=3)

    for specs in (topic_specs(default), changelog_specs(default, "app")):
        assert {(s.replication_factor, s.min_insync_replicas) for s in specs} == {(None, None)}
        assert all("min.insync.replicas" not in s.configs() for s in specs)
    for specs in (topic_specs(told), changelog_specs(told, "app")):
        assert {(s.replication_factor, s.min_insync_replicas) for s in specs} == {(3, 2)}
        assert all(s.configs()["min.insync.replicas"] == "2" for s in specs)


def test_a_home_keeps_the_size_it_was_first_started_at(tmp_path: Path) -> None:
    save_layout(tmp_path, _three())

    with pytest.raises(BrokerStartError, match="3-broker cluster"):
        local.up(_settings(tmp_path), brokers=1)


def test_a_single_brokers_data_is_not_turned_into_a_cluster(tmp_path: Path) -> None:
    (tmp_path / "kafka" / "data").mkdir(parents=True)
    (tmp_path / "kafka" / "data" / "meta.properties").write_text("node.id=1\n")

    with pytest.raises(BrokerStartError, match="single broker's data"):
        local.up(_settings(tmp_path), brokers=3)
    assert load_layout(tmp_path) is None


def test_status_lists_every_node_of_a_stopped_cluster(tmp_path: Path) -> None:
    save_layout(tmp_path, _three())
    settings = _settings(tmp_path)

    statuses = local.status(settings)

    assert [(s.name, s.broker_id, s.address, s.running) for s in statuses] == [
        ("kafka", 1, "127.0.0.1:19092", False),
        ("kafka-2", 2, "127.0.0.1:19093", False),
        ("kafka-3", 3, "127.0.0.1:19094", False),
        ("registry", None, None, False),
    ]
    with pytest.raises(NoBrokerError):
        local.resolve_endpoints(settings)


def test_down_names_every_node_of_the_cluster(tmp_path: Path) -> None:
    save_layout(tmp_path, _three())

    lines = local.down(_settings(tmp_path))

    assert lines == [
        "kafka: not running",
        "kafka-2: not running",
        "kafka-3: not running",
        "registry: not running",
    ]


def test_lasting_ports_lie_below_the_ephemeral_range(tmp_path: Path) -> None:
    # A node's port must not be taken by an outgoing connection while the node is down.
    (tmp_path / "range").write_text("32768\t60999\n")
    low, _ = ephemeral_ports(tmp_path / "range")

    ports = {pick_lasting_port(rng=random.Random(seed)) for seed in range(20)}

    assert low == 32768
    assert all(10_000 <= port < ephemeral_ports()[0] for port in ports)
    assert ephemeral_ports(tmp_path / "missing") == (32768, 60999)
