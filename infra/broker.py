"""The local Apache Kafka 4 broker of one infra home (KRaft, broker+controller), or a cluster node.

Layout under `<home>/kafka/` (node N>1 of a cluster: `<home>/kafka-N/`): server.properties,
log4j2.xml, cluster.id (node 1's, shared by every node), data/ (log.dirs), kafka.log (the
broker's log4j2 log) and kafka.out (the JVM's stdout/stderr).
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import subprocess
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from infra.broker_security import (
    SecureBroker,
    ensure_secure_broker,
    scram_format_argument,
    secure_properties,
)
from infra.cluster import BrokerNode, ClusterLayout
from infra.exceptions import BrokerStartError
from infra.jars import kafka_classpath, kafka_jar_version
from infra.jvm_service import LOOPBACK, LocalJvmService, Progress
from infra.process import JavaRuntime, ServiceRecord, port_in_use
from infra.settings import Settings

__all__ = [
    "KAFKA_MIN_JAVA",
    "SECURE_PORT",
    "LocalKafka",
    "new_cluster_id",
    "parse_kafka_version",
    "render_log4j2_config",
    "render_server_properties",
]

KAFKA_MIN_JAVA = 17
SECURE_PORT = "sasl_ssl"  # ports key of a secured broker's record
_VERSION_LINE = re.compile(r"Kafka version: (\S+)")


def render_server_properties(
    *,
    port: int,
    controller_port: int,
    data_dir: Path,
    partitions: int = 4,
    overrides: Mapping[str, str] | None = None,
    cluster: ClusterLayout | None = None,
    node_id: int = 1,
) -> str:
    """Return server.properties for one KRaft broker+controller listening on loopback only.

    Alone (no CLUSTER) it is its own quorum and every topic has one replica; in CLUSTER
    (node NODE_ID of it) every topic, the internal ones included, has the cluster's
    replication factor and min.insync.replicas, and a killed node is fenced within 6 s.
    Internal topics have few partitions so the broker starts in seconds; topics are never
    auto-created (topics are code, see infra/topics.py). OVERRIDES replace or add keys
    (the secured mode's listeners, TLS, SASL and authorizer).
    """
    voters = cluster.voters if cluster is not None else f"{node_id}@{LOOPBACK}:{controller_port}"
    copies = str(cluster.replication_factor if cluster is not None else 1)
    min_isr = str(cluster.min_insync_replicas if cluster is not None else 1)
    settings = {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        "controller.quorum.voters": voters,
        "listeners": f"PLAINTEXT://{LOOPBACK}:{port},CONTROLLER://{LOOPBACK}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{LOOPBACK}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": str(partitions),
        "default.replication.factor": copies,
        "min.insync.replicas": min_isr,
        "auto.create.topics.enable": "false",
        "offsets.topic.replication.factor": copies,
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": copies,
        "transaction.state.log.min.isr": min_isr,
        "transaction.state.log.num.partitions": "10",
        "share.coordinator.state.topic.replication.factor": copies,
        "share.coordinator.state.topic.min.isr": min_isr,
        "group.initial.rebalance.delay.ms": "0",
        # Two cores run the broker, the registry and the Python workers: few threads.
        "num.network.threads": "2",
        "num.io.threads": "4",
        "num.recovery.threads.per.data.dir": "1",
        "background.threads": "4",
    }
    if cluster is not None and cluster.size > 1:
        # A node killed with -9 says nothing: the controller fences it (and moves its
        # partitions' leadership and coordinators) when its heartbeats stop, after 4 s
        # instead of 9. The whole failover (a new controller elected if it was the active
        # one, ~2 s, then the fencing, then the coordinators' load) must fit in a worker's
        # 10 s session and transaction timeouts, or the worker's transaction is aborted
        # under it and it exits fenced (measured with 6 s: 9 s failover, worker fenced).
        settings["broker.session.timeout.ms"] = "4000"
        settings["broker.heartbeat.interval.ms"] = "1000"
        # Never elect a replica that missed acknowledged writes (the default, said aloud).
        settings["unclean.leader.election.enable"] = "false"
    settings.update(overrides or {})
    lines = ["# Written by primestream infra/broker.py on every start; edits are overwritten."]
    lines += [f"{key}={value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def render_log4j2_config(log_path: Path) -> str:
    """Return a log4j2 XML config logging INFO to LOG_PATH (rolled at 50 MB, 3 kept).

    log4j2's own shutdown hook is off, so the broker's shutdown is logged to the end.
    """
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by primestream infra/broker.py on every start. -->
<Configuration status="WARN" shutdownHook="disable">
  <Appenders>
    <RollingFile name="file" fileName="{log_path}" filePattern="{log_path}.%i">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
      <Policies><SizeBasedTriggeringPolicy size="50 MB"/></Policies>
      <DefaultRolloverStrategy max="3"/>
    </RollingFile>
  </Appenders>
  <Loggers>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Logger name="state.change.logger" level="WARN"/>
    <Root level="INFO"><AppenderRef ref="file"/></Root>
  </Loggers>
</Configuration>
"""


def new_cluster_id() -> str:
    """Return a fresh KRaft cluster id (a base64url UUID, never starting with '-')."""
    while True:
        cluster_id = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def parse_kafka_version(log_text: str) -> str | None:
    """Return the version in the last "Kafka version: X" line AppInfoParser logged."""
    found = _VERSION_LINE.findall(log_text)
    return found[-1] if found else None


def _probe_client(bootstrap: str, secure: SecureBroker | None = None) -> AdminClient:
    config: dict[str, Any] = {
        "bootstrap.servers": bootstrap,
        # The probe expects refused connections at first: keep librdkafka quiet.
        "log_level": 0,
        "reconnect.backoff.ms": 100,
        "reconnect.backoff.max.ms": 500,
    }
    if secure is not None:
        config.update(
            {
                "security.protocol": "sasl_ssl",
                "sasl.mechanisms": "SCRAM-SHA-512",
                "sasl.username": secure.admin_user,
                "sasl.password": secure.admin_password.get_secret_value(),
                "ssl.ca.location": str(secure.pki.ca_path),
            }
        )
    return AdminClient(config)


def _metadata_ok(admin: AdminClient, node_id: int) -> bool:
    # Ready once the node serves metadata that lists itself: it joined its quorum and
    # registered (a cluster's node waits for a majority of voters to be up).
    try:
        metadata = admin.list_topics(timeout=1.0)
    except KafkaException:
        return False
    return node_id in metadata.brokers


class LocalKafka(LocalJvmService):
    """Start, probe and stop the local broker of `settings.home` (SECURE: SASL_SSL + ACLs).

    The secured broker keeps its own storage (`data-secure/`): its admin's SCRAM
    credential is written when the storage is formatted.
    """

    name = "kafka"
    noun = "Kafka"
    title = "Kafka"
    error = BrokerStartError

    _cluster_id_lock = threading.Lock()  # a cluster's nodes start side by side

    def __init__(
        self,
        settings: Settings,
        *,
        progress: Progress | None = None,
        cluster: ClusterLayout | None = None,
        node: BrokerNode | None = None,
        secure: bool = False,
    ) -> None:
        """Run the single broker of the home, or NODE of CLUSTER (both or neither given)."""
        if (cluster is None) != (node is None):
            raise ValueError("a cluster node needs both its cluster and its node")
        if secure and cluster is not None:
            raise BrokerStartError("a secured cluster is not supported: --secure or --brokers")
        self.cluster, self.node = cluster, node
        if node is not None:
            self.name = node.name
        super().__init__(settings, progress=progress)
        self.out_path = self.dir / "kafka.out"
        self.console_path = self.out_path
        self.secure = secure

    def _cluster_id(self) -> str:
        # Every node of a cluster formats with node 1's id (node 1's dir is the single
        # broker's, so a home keeps its id whichever way it runs).
        path = self._settings.home / "kafka" / "cluster.id"
        with self._cluster_id_lock:
            if path.is_file():
                return path.read_text().strip()
            cluster_id = new_cluster_id()
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(cluster_id + "\n")
            return cluster_id

    def _ports(self) -> tuple[int, int]:
        if self.node is None:
            port = self._claim_port(self._settings.kafka_port, rival="broker")
            return port, self._spare_port(port)
        # A node keeps its ports for life: the quorum and every client know it by them.
        for port in (self.node.port, self.node.controller_port):
            if port_in_use(port, LOOPBACK):
                raise BrokerStartError(
                    f"port {port} of {self.name} (node {self.node.node_id}) on {LOOPBACK} is "
                    "taken: stop whatever holds it, the cluster's nodes keep their ports"
                )
        return self.node.port, self.node.controller_port

    def _jvm_base(self, java: JavaRuntime, classpath: str) -> list[str]:
        return [
            str(java.path),
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.dir / 'log4j2.xml'}",
            "-cp",
            classpath,
        ]

    def _format(
        self, java: JavaRuntime, classpath: str, data_dir: Path, secure: SecureBroker | None
    ) -> None:
        if (data_dir / "meta.properties").is_file():
            return
        self._say("formatting the broker's storage (first start)…")
        argv = [*self._jvm_base(java, classpath), "kafka.tools.StorageTool", "format"]
        argv += ["-t", self._cluster_id(), "-c", str(self.dir / "server.properties")]
        if secure is not None:
            password = secure.admin_password.get_secret_value()
            scram = scram_format_argument(secure.admin_user, password, os.urandom(32))
            argv += ["--add-scram", scram]
        done = subprocess.run(  # noqa: S603 - argv built here from trusted paths
            argv, capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            last = "\n".join((done.stdout + done.stderr).strip().splitlines()[-20:])
            raise BrokerStartError(f"kafka-storage format failed (exit {done.returncode}):\n{last}")

    def start(self) -> ServiceRecord:
        """Write the config, format storage once, start the JVM and wait until it serves metadata.

        Raises BrokerStartError (with the log's tail) when the JVM dies or does not answer
        within `settings.start_timeout_secs`; a JVM that did not come up is stopped.
        """
        java = self._java(KAFKA_MIN_JAVA, "Kafka 4")
        jars = kafka_classpath(self._settings.dist_dir, progress=self._progress)
        classpath = os.pathsep.join(str(jar) for jar in jars)
        port, controller_port = self._ports()
        secure = ensure_secure_broker(self._settings, self.dir / "secure") if self.secure else None
        data_dir = self.dir / ("data-secure" if secure else "data")
        data_dir.mkdir(parents=True, exist_ok=True)
        properties = self.dir / "server.properties"
        properties.touch(mode=0o600)
        properties.chmod(0o600)  # the secured broker's holds its key store's password
        properties.write_text(
            render_server_properties(
                port=port,
                controller_port=controller_port,
                data_dir=data_dir,
                partitions=self._settings.partitions,
                overrides=secure_properties(secure, port, controller_port) if secure else None,
                cluster=self.cluster,
                node_id=self.node.node_id if self.node is not None else 1,
            )
        )
        (self.dir / "log4j2.xml").write_text(render_log4j2_config(self.log_path))
        self._format(java, classpath, data_dir, secure)
        argv = self._jvm_argv(
            java,
            heap_mb=self._settings.kafka_heap_mb,
            initial_heap_mb=256,
            c1_only=False,
            low_pause=True,
            args=[
                *self._jvm_base(java, classpath)[1:],
                "kafka.Kafka",
                str(self.dir / "server.properties"),
            ],
        )
        bootstrap = f"{LOOPBACK}:{port}"
        who = "Kafka" if self.node is None else f"Kafka node {self.node.node_id}"
        mode = " (SASL_SSL, SCRAM-SHA-512, ACLs)" if secure else ""
        self._say(f"starting {who} (Java {java.major}) on {bootstrap}{mode}…")
        launch = self._spawn(argv)
        admin = _probe_client(bootstrap, secure)
        node_id = self.node.node_id if self.node is not None else 1
        self._wait_ready(launch, bootstrap, lambda: _metadata_ok(admin, node_id))
        version = self._running_version(launch.log_offsets[self.log_path])
        ports = {"kafka": port, "controller": controller_port}
        if secure:
            ports[SECURE_PORT] = port  # the state file says which protocol, never a secret
        return self._record(
            launch,
            address=bootstrap,
            ports=ports,
            version=version or kafka_jar_version(jars),
        )

    def _running_version(self, log_offset: int) -> str | None:
        # AppInfoParser logs the version just before "Kafka Server started"; wait briefly.
        deadline = time.monotonic() + 10.0
        while True:
            try:
                with self.log_path.open("rb") as handle:
                    handle.seek(log_offset)
                    version = parse_kafka_version(handle.read().decode(errors="replace"))
            except OSError:
                version = None
            if version is not None or time.monotonic() >= deadline:
                return version
            time.sleep(0.2)
