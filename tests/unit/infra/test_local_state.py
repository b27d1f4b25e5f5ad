"""The local infra's pure parts: config rendering, state file, liveness, ports, caches."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from infra import jars, local
from infra.broker import (
    new_cluster_id,
    parse_kafka_version,
    render_log4j2_config,
    render_server_properties,
)
from infra.exceptions import BrokerStartError, JarResolutionError, NoBrokerError
from infra.process import (
    ServiceRecord,
    StopResult,
    find_java,
    find_marked_pids,
    is_alive,
    marker_args,
    parse_java_major,
    pick_free_port,
    port_in_use,
)
from infra.registry import ccompat_url, registry_system_properties
from infra.settings import Settings


def _settings(home: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "home": home,
        "bootstrap_servers": None,
        "schema_registry_url": None,
        "registry": True,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def _record(name: str, pid: int, home: Path) -> ServiceRecord:
    return ServiceRecord(
        name=name,
        pid=pid,
        address="127.0.0.1:19092" if name == "kafka" else ccompat_url(18081),
        ports={"kafka": 19092, "controller": 19093},
        started_at="2026-01-02T03:04:05+00:00",
        log_path=home / name / f"{name}.log",
        version="4.1.1",
        markers=tuple(marker_args(home, name)),
    )


def _dead_pid() -> int:
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


def _properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {key: value for key, value in pairs}


# --- rendering ------------------------------------------------------------------------


def test_server_properties_are_one_node_kraft_on_loopback(tmp_path: Path) -> None:
    props = _properties(
        render_server_properties(port=19092, controller_port=19093, data_dir=tmp_path, partitions=4)
    )

    assert props["process.roles"] == "broker,controller"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["log.dirs"] == str(tmp_path)
    assert props["num.partitions"] == "4"
    assert props["auto.create.topics.enable"] == "false"
    assert props["group.initial.rebalance.delay.ms"] == "0"
    for key in ("offsets.topic.replication.factor", "transaction.state.log.replication.factor"):
        assert props[key] == "1"
    assert "0.0.0.0" not in "".join(props.values())


def test_log4j2_config_is_xml_logging_info_to_the_file(tmp_path: Path) -> None:
    log_path = tmp_path / "kafka.log"

    root = ET.fromstring(render_log4j2_config(log_path))

    appender = root.find("./Appenders/RollingFile")
    assert appender is not None
    assert appender.get("fileName") == str(log_path)
    level = root.find("./Loggers/Root")
    assert level is not None
    assert level.get("level") == "INFO"


def test_cluster_ids_are_fresh_base64url_uuids() -> None:
    ids = {new_cluster_id() for _ in range(200)}

    assert len(ids) == 200
    for cluster_id in ids:
        assert len(cluster_id) == 22
        assert not cluster_id.startswith("-")
        assert set(cluster_id) <= set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        )


@pytest.mark.parametrize(
    ("log_text", "expected"),
    [
        ("[x] INFO Kafka version: 4.1.1 (org.apache.kafka.common.utils.AppInfoParser)\n", "4.1.1"),
        ("Kafka version: 4.0.0 (a)\nKafka commitId: abc\nKafka version: 4.1.1 (a)\n", "4.1.1"),
        ("no version here\n", None),
    ],
)
def test_kafka_version_is_the_last_one_logged(log_text: str, expected: str | None) -> None:
    assert parse_kafka_version(log_text) == expected


@pytest.mark.parametrize(
    ("output", "major"),
    [
        ('openjdk version "17.0.15" 2025-04-15\nOpenJDK Clients Environment', 17),
        ('openjdk version "21" 2023-09-19', 21),
        ('java version "1.8.0_392"', 8),
        ("Error: could not find libjava.so", None),
    ],
)
def test_java_major_is_parsed_from_version_output(output: str, major: int | None) -> None:
    assert parse_java_major(output) == major


def test_registry_listens_on_loopback_with_content_ids() -> None:
    props = registry_system_properties(http_port=18081, management_port=19000)

    assert props["quarkus.http.host"] == "127.0.0.1"
    assert props["quarkus.management.host"] == "127.0.0.1"
    assert props["quarkus.http.port"] == "18081"
    assert props["quarkus.management.port"] == "19000"
    assert props["apicurio.ccompat.legacy-id-mode.enabled"] == "false"
    assert ccompat_url(18081) == "http://127.0.0.1:18081/apis/ccompat/v7"


# --- state file -----------------------------------------------------------------------


def test_state_file_round_trips(tmp_path: Path) -> None:
    path = local.state_path(tmp_path)
    services = {
        "kafka": _record("kafka", 123, tmp_path),
        "registry": _record("registry", 45, tmp_path),
    }

    local.save_state(path, services)

    assert path == tmp_path / "run" / "state.json"
    assert local.load_state(path) == services
    assert json.loads(path.read_text())["services"]["kafka"]["pid"] == 123
    assert not list(path.parent.glob("*.tmp"))


@pytest.mark.parametrize("content", [None, "", "{not json", '{"services": {"kafka": {"pid": 1}}}'])
def test_missing_or_corrupt_state_records_nothing(tmp_path: Path, content: str | None) -> None:
    path = local.state_path(tmp_path)
    if content is not None:
        path.parent.mkdir(parents=True)
        path.write_text(content)

    assert local.load_state(path) == {}


def test_stop_result_says_what_happened() -> None:
    assert StopResult(123, "SIGTERM", 2.14, stopped=True).describe("kafka") == (
        "kafka: stopped (pid 123, SIGTERM, 2.1 s)"
    )
    assert "already gone" in StopResult(9, None, 0.0, stopped=True).describe("registry")
    assert "STILL RUNNING" in StopResult(9, "SIGKILL", 40.0, stopped=False).describe("kafka")


# --- liveness -------------------------------------------------------------------------


def _fake_proc(root: Path, pid: int, argv: list[str], state: str = "S") -> None:
    entry = root / str(pid)
    entry.mkdir(parents=True)
    (entry / "cmdline").write_bytes(b"\0".join(arg.encode() for arg in argv) + b"\0")
    (entry / "stat").write_text(f"{pid} (java) {state} 1 {pid} {pid} 0 -1\n")


def test_only_a_live_java_with_our_markers_counts_as_running(tmp_path: Path) -> None:
    proc = tmp_path / "proc"
    ours = marker_args(tmp_path / "home", "kafka")
    other_home = marker_args(tmp_path / "other", "kafka")
    _fake_proc(proc, 10, ["/usr/bin/java", *ours, "kafka.Kafka", "server.properties"])
    _fake_proc(proc, 11, ["/usr/bin/java", *other_home, "kafka.Kafka"])
    _fake_proc(proc, 12, ["/usr/bin/python3", *ours])
    _fake_proc(proc, 13, ["/usr/bin/java", *ours], state="Z")

    assert is_alive(10, ours, proc)
    assert not is_alive(11, ours, proc)  # another home's broker
    assert not is_alive(12, ours, proc)  # the pid was recycled by a non-java
    assert not is_alive(13, ours, proc)  # exited, not yet reaped
    assert not is_alive(14, ours, proc)  # gone
    assert find_marked_pids(ours, proc) == [10]


def test_this_python_process_is_not_a_running_service(tmp_path: Path) -> None:
    assert not is_alive(os.getpid(), marker_args(tmp_path, "kafka"))


def test_stale_pids_count_as_not_running(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    dead = _dead_pid()
    local.save_state(
        local.state_path(tmp_path),
        {
            "kafka": _record("kafka", dead, tmp_path),
            "registry": _record("registry", dead, tmp_path),
        },
    )

    statuses = local.status(settings)

    assert [(s.name, s.running, s.pid) for s in statuses] == [
        ("kafka", False, None),
        ("registry", False, None),
    ]
    with pytest.raises(NoBrokerError, match="PRIMESTREAM_BOOTSTRAP_SERVERS"):
        local.resolve_endpoints(settings)


def test_down_with_stale_state_reports_and_clears_it(tmp_path: Path) -> None:
    local.save_state(local.state_path(tmp_path), {"kafka": _record("kafka", _dead_pid(), tmp_path)})

    lines = local.down(_settings(tmp_path))

    assert lines[0].startswith("kafka: not running")
    assert lines[1] == "registry: not running"
    assert local.load_state(local.state_path(tmp_path)) == {}


# --- endpoints ------------------------------------------------------------------------


def test_configured_endpoints_win_over_local_state(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path, bootstrap_servers="kafka:9092", schema_registry_url="http://sr:8081"
    )

    assert local.resolve_endpoints(settings) == local.Endpoints("kafka:9092", "http://sr:8081")


def test_registry_off_resolves_to_no_registry(tmp_path: Path) -> None:
    settings = _settings(tmp_path, bootstrap_servers="kafka:9092", registry=False)

    assert local.resolve_endpoints(settings) == local.Endpoints("kafka:9092", None)


def test_up_starts_nothing_when_everything_is_configured(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path, bootstrap_servers="kafka:9092", schema_registry_url="http://sr:8081"
    )

    assert local.up(settings) == local.Endpoints("kafka:9092", "http://sr:8081")
    assert local.load_state(local.state_path(tmp_path)) == {}


# --- ports, java, jars ----------------------------------------------------------------


def test_free_port_is_bindable_and_a_listener_makes_it_taken() -> None:
    port = pick_free_port()
    assert 0 < port < 65536
    assert not port_in_use(port)

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        assert port_in_use(port)


def test_no_suitable_java_raises_the_callers_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("infra.process.shutil.which", lambda _name: None)
    monkeypatch.setattr("infra.process._bundled_java", lambda: None)

    with pytest.raises(BrokerStartError, match=r"Kafka 4 needs Java 17\+.*missing"):
        find_java(tmp_path / "no-jdk", min_major=17, purpose="Kafka 4", error=BrokerStartError)


def test_cached_classpath_is_used_without_maven(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pom = tmp_path / "pom.xml"
    pom.write_text("<project/>")
    jar_files = [tmp_path / "kafka_2.13-4.1.1.jar", tmp_path / "kafka-clients-4.1.1.jar"]
    for jar in jar_files:
        jar.write_bytes(b"PK")
    home = tmp_path / "home"
    cache = jars._classpath_cache(home, pom)
    cache.parent.mkdir(parents=True)
    cache.write_text(os.pathsep.join(str(jar) for jar in jar_files))
    monkeypatch.setattr("infra.jars.shutil.which", lambda _name: None)  # no mvn at all

    assert jars.kafka_classpath(home, pom=pom) == jar_files
    assert jars.kafka_jar_version(jar_files) == "4.1.1"

    jar_files[1].unlink()  # a jar left ~/.m2: the cache is stale and Maven is needed
    with pytest.raises(JarResolutionError, match="mvn"):
        jars.kafka_classpath(home, pom=pom)


def test_classpath_cache_is_keyed_by_the_pom(tmp_path: Path) -> None:
    pom = tmp_path / "pom.xml"
    pom.write_text("<project>a</project>")
    first = jars._classpath_cache(tmp_path, pom)
    pom.write_text("<project>b</project>")

    assert jars._classpath_cache(tmp_path, pom) != first
