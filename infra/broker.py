"""The local single-node Apache Kafka 4 broker (KRaft, broker+controller) of one infra home.

Layout under `<home>/kafka/`: server.properties, log4j2.xml, cluster.id, data/ (log.dirs),
kafka.log (the broker's log4j2 log) and kafka.out (the JVM's stdout/stderr).
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from infra.exceptions import BrokerStartError
from infra.jars import kafka_classpath, kafka_jar_version
from infra.process import (
    JavaRuntime,
    ServiceRecord,
    file_size,
    find_java,
    has_exited,
    marker_args,
    pick_free_port,
    port_in_use,
    spawn_detached,
    stop_process,
    tail,
)
from infra.settings import Settings

__all__ = [
    "KAFKA_MIN_JAVA",
    "LocalKafka",
    "new_cluster_id",
    "parse_kafka_version",
    "render_log4j2_config",
    "render_server_properties",
]

Progress = Callable[[str], None]

KAFKA_MIN_JAVA = 17
_HOST = "127.0.0.1"
_VERSION_LINE = re.compile(r"Kafka version: (\S+)")


def render_server_properties(
    *, port: int, controller_port: int, data_dir: Path, partitions: int = 4
) -> str:
    """Return server.properties for a one-node KRaft cluster listening on loopback only.

    Internal topics have one replica and few partitions so the broker starts in seconds;
    topics are never auto-created (topics are code, see infra/topics.py).
    """
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@{_HOST}:{controller_port}",
        "listeners": f"PLAINTEXT://{_HOST}:{port},CONTROLLER://{_HOST}:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://{_HOST}:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(data_dir),
        "num.partitions": str(partitions),
        "default.replication.factor": "1",
        "min.insync.replicas": "1",
        "auto.create.topics.enable": "false",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "10",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        "group.initial.rebalance.delay.ms": "0",
        # Two cores run the broker, the registry and the Python workers: few threads.
        "num.network.threads": "2",
        "num.io.threads": "4",
        "num.recovery.threads.per.data.dir": "1",
        "background.threads": "4",
    }
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


def _metadata_ok(admin: AdminClient) -> bool:
    try:
        metadata = admin.list_topics(timeout=1.0)
    except KafkaException:
        return False
    return bool(metadata.brokers)


class LocalKafka:
    """Start, probe and stop the local broker of `settings.home`."""

    def __init__(self, settings: Settings, *, progress: Progress | None = None) -> None:
        self._settings = settings
        self._progress = progress
        self.dir = settings.home / "kafka"
        self.log_path = self.dir / "kafka.log"
        self.out_path = self.dir / "kafka.out"
        self.markers = tuple(marker_args(settings.home, "kafka"))

    def _say(self, line: str) -> None:
        if self._progress is not None:
            self._progress(line)

    def _ports(self) -> tuple[int, int]:
        port = self._settings.kafka_port
        if port and port_in_use(port, _HOST):
            raise BrokerStartError(
                f"port {port} on {_HOST} is taken (another broker?): stop it, or set "
                "PRIMESTREAM_KAFKA_PORT=0 for any free port"
            )
        port = port or pick_free_port(_HOST)
        controller_port = pick_free_port(_HOST)
        while controller_port == port:
            controller_port = pick_free_port(_HOST)
        return port, controller_port

    def _cluster_id(self) -> str:
        path = self.dir / "cluster.id"
        if path.is_file():
            return path.read_text().strip()
        cluster_id = new_cluster_id()
        path.write_text(cluster_id + "\n")
        return cluster_id

    def _jvm_base(self, java: JavaRuntime, classpath: str) -> list[str]:
        return [
            str(java.path),
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={self.dir / 'log4j2.xml'}",
            "-cp",
            classpath,
        ]

    def _format(self, java: JavaRuntime, classpath: str, data_dir: Path) -> None:
        if (data_dir / "meta.properties").is_file():
            return
        self._say("formatting the broker's storage (first start)…")
        argv = [*self._jvm_base(java, classpath), "kafka.tools.StorageTool", "format"]
        argv += ["-t", self._cluster_id(), "-c", str(self.dir / "server.properties")]
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
        java = find_java(
            self._settings.java_home,
            min_major=KAFKA_MIN_JAVA,
            purpose="Kafka 4",
            error=BrokerStartError,
        )
        jars = kafka_classpath(self._settings.dist_dir, progress=self._progress)
        classpath = os.pathsep.join(str(jar) for jar in jars)
        port, controller_port = self._ports()
        data_dir = self.dir / "data"
        data_dir.mkdir(parents=True, exist_ok=True)
        (self.dir / "server.properties").write_text(
            render_server_properties(
                port=port,
                controller_port=controller_port,
                data_dir=data_dir,
                partitions=self._settings.partitions,
            )
        )
        (self.dir / "log4j2.xml").write_text(render_log4j2_config(self.log_path))
        self._format(java, classpath, data_dir)
        heap_mb = self._settings.kafka_heap_mb
        argv = [
            str(java.path),
            f"-Xms{min(256, heap_mb)}m",
            f"-Xmx{heap_mb}m",
            "-XX:+UseSerialGC",
            "-Xshare:auto",
            "-XX:+ExitOnOutOfMemoryError",
            *self.markers,
            *self._jvm_base(java, classpath)[1:],
            "kafka.Kafka",
            str(self.dir / "server.properties"),
        ]
        self._say(f"starting Kafka (Java {java.major}) on {_HOST}:{port}…")
        started_at = datetime.now(UTC).isoformat(timespec="seconds")
        offsets = (file_size(self.out_path), file_size(self.log_path))
        pid = spawn_detached(argv, log_path=self.out_path, cwd=self.dir)
        self._wait_ready(pid, f"{_HOST}:{port}", offsets)
        return ServiceRecord(
            name="kafka",
            pid=pid,
            address=f"{_HOST}:{port}",
            ports={"kafka": port, "controller": controller_port},
            started_at=started_at,
            log_path=self.log_path,
            version=self._running_version(offsets[1]) or kafka_jar_version(jars),
            markers=self.markers,
        )

    def _wait_ready(self, pid: int, bootstrap: str, offsets: tuple[int, int]) -> None:
        admin = AdminClient(
            {
                "bootstrap.servers": bootstrap,
                # The probe expects refused connections at first: keep librdkafka quiet.
                "log_level": 0,
                "reconnect.backoff.ms": 100,
                "reconnect.backoff.max.ms": 500,
            }
        )
        deadline = time.monotonic() + self._settings.start_timeout_secs
        while time.monotonic() < deadline:
            if has_exited(pid):
                raise BrokerStartError(
                    f"the Kafka JVM (pid {pid}) exited:\n{self._log_tails(offsets)}"
                )
            if _metadata_ok(admin):
                return
            time.sleep(0.2)
        result = stop_process(pid, self.markers, grace_secs=10.0)
        raise BrokerStartError(
            f"Kafka did not answer on {bootstrap} within {self._settings.start_timeout_secs:.0f} s "
            f"({result.describe('kafka')}):\n{self._log_tails(offsets)}"
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

    def _log_tails(self, offsets: tuple[int, int]) -> str:
        paths = (self.out_path, self.log_path)
        parts = [
            f"--- {path} ---\n{tail(path, 20, start=start)}"
            for path, start in zip(paths, offsets, strict=True)
        ]
        return "\n".join(parts)

    def stop(self, record: ServiceRecord) -> str:
        """Stop the broker of RECORD (SIGTERM, then SIGKILL after ~30 s); return what happened."""
        return stop_process(record.pid, record.markers).describe("kafka")
