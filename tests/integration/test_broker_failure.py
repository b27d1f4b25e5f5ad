"""A broker dies mid-stream: kill -9 a node of the 3-broker cluster under a paper desk and a feed.

The feed publishes quotes with the project's producer settings (acks=all, idempotent) and
remembers every record the cluster acknowledged; a paper worker trades them. While both
run, the broker that is the worker's group coordinator is killed with SIGKILL and started
again (at full size, then each other node in turn, waiting for every partition to be fully
replicated before the next). A worker that exits meanwhile is started again, as the
systemd units in deploy/ do (`Restart=always`); exits are counted. A worker whose
Kafka calls hang (its coordinator's broker died mid-commit) must end itself: its watchdog
exits with code 75 after `PRIMESTREAM_WORKER_STALL_SECS` (20 s here) without a commit while
work waits (`streams.runtime.watchdog`). One still alive and not committing after
`_BACKSTOP_SECS` while input waits is killed -9 by the test, and that fails it. Afterwards:
- every acknowledged record is there, byte for byte, for a read_committed reader, and
  nothing else is (none lost, none twice), and no delivery failed;
- the fills equal those of an uninterrupted run and the positions a recomputation from
  them (the checks of tests/integration/test_reliability.py);
- every topic, the worker's changelogs and Kafka's internal ones included, has 3 replicas
  and min.insync.replicas 2.

`make test` runs it small (1,000 quotes, one kill); `make reliability` at 60,000 quotes
with a kill of each node (PRIMESTREAM_RELIABILITY_QUOTES,
PRIMESTREAM_RELIABILITY_BROKER_KILLS), and writes the figures (records lost, time to
resume, worker restarts) to tests/bench/results/reliability.json.
"""

from __future__ import annotations

import os
import random
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import ConsumerGroupState, KafkaException, Producer
from confluent_kafka.admin import AdminClient, ConfigResource

from consumers.lag import group_position
from infra import local
from infra.clients import admin_config, producer_config
from infra.clock import wall_clock_us
from infra.cluster import load_layout
from infra.telemetry import RecordTracer
from producers.market.registry import parse_source
from producers.publisher import Publisher
from producers.validation import ValidationLimits, validate_quote
from streams.context import app_id
from tests.integration.conftest import Cluster, Scope, make_scope
from tests.integration.test_reliability import _CONFIG, _check_exactly_once, _lag, _save
from tests.kit.topics import read_raw
from tests.kit.waiting import eventually
from tests.kit.worker import WorkerProcess

_QUOTES = int(os.environ.get("PRIMESTREAM_RELIABILITY_QUOTES", "1000"))
_KILLS = int(os.environ.get("PRIMESTREAM_RELIABILITY_BROKER_KILLS", "1"))
_WORKER_STALL_SECS = 20.0  # the worker's own watchdog (PRIMESTREAM_WORKER_STALL_SECS)
_BACKSTOP_SECS = 90.0  # the test's: a worker alive and stuck this long failed to end itself

# The thread method: a call stuck inside librdkafka never returns to Python, so a signal
# could not end it; this one dumps every thread's stack and ends the run instead of
# letting it hang (as a consumer's close once did while its coordinator's broker was down).
pytestmark = [
    pytest.mark.integration,
    pytest.mark.reliability,
    pytest.mark.timeout(600 if _QUOTES <= 1000 else 3600, method="thread"),
]
_SYMBOLS = "AAA,BBB,CCC,DDD,EEE,FFF"


class AckedFeed(threading.Thread):
    """Publish paced synthetic quotes, keeping each record the cluster acknowledged."""

    def __init__(self, scope: Scope, count: int, rate: float) -> None:
        super().__init__(name="feed", daemon=True)
        self._scope, self._count, self._rate = scope, count, rate
        self.acked: dict[tuple[int, int], bytes | None] = {}  # (partition, offset) -> value
        # Acknowledged without an offset: the idempotent producer learnt that they were
        # written from the acknowledgement of a later batch (its request had timed out).
        self.acked_unplaced: list[tuple[int, bytes | None]] = []  # (partition, value)
        self.failed: list[str] = []
        self.sent = 0
        self.longest_ack_gap_secs = 0.0
        self._last_ack = time.monotonic()
        self.error: BaseException | None = None

    def _on_delivery(self, err: Any, msg: Any) -> None:
        if err is not None:
            self.failed.append(str(err))
            return
        if msg.offset() is None or msg.offset() < 0:
            self.acked_unplaced.append((msg.partition(), msg.value()))
        else:
            self.acked[(msg.partition(), msg.offset())] = msg.value()
        now = time.monotonic()
        self.longest_ack_gap_secs = max(self.longest_ack_gap_secs, now - self._last_ack)
        self._last_ack = now

    def run(self) -> None:
        try:
            self._publish()
        except BaseException as exc:  # handed to the test thread, which asserts on it
            self.error = exc

    def _publish(self) -> None:
        settings, runtime = self._scope.settings, self._scope.runtime
        topic = settings.topic("market.quotes")
        config = producer_config(settings, runtime.endpoints.bootstrap_servers)
        config["on_delivery"] = self._on_delivery
        limits = ValidationLimits.from_settings(settings)
        publisher = Publisher(
            Producer(config),
            topic,
            runtime.serializer("Quote", topic),
            lambda rec: validate_quote(rec, now_us=wall_clock_us(), limits=limits),
            RecordTracer(None, 0.0),
        )
        spec = f"synthetic:symbols={_SYMBOLS},seed=29,count={self._count}"
        rows = parse_source(spec, clock=wall_clock_us).records()
        self._last_ack = time.monotonic()
        stats = publisher.publish(rows, rate=self._rate, flush_timeout_secs=300.0)
        self.sent = stats.sent


@pytest.fixture
def scope_on_cluster(cluster: Cluster) -> Scope:
    return make_scope(cluster.endpoints, cluster.settings.home)


@pytest.fixture
def desk_config(tmp_path: Path) -> Path:
    path = tmp_path / "desk.toml"
    path.write_text(_CONFIG)
    return path


@pytest.fixture
def worker(scope_on_cluster: Scope, desk_config: Path, tmp_path: Path) -> Iterator[WorkerProcess]:
    home = tmp_path / "worker-home"
    home.mkdir()
    env = {
        **scope_on_cluster.env,
        "PRIMESTREAM_HOME": str(home),
        "PRIMESTREAM_TRADING_MODE": "paper",
        "PRIMESTREAM_REGISTRY": "false",
        "PRIMESTREAM_WORKER_STALL_SECS": str(_WORKER_STALL_SECS),
    }
    process = WorkerProcess(env, ["--strategies", str(desk_config)], tmp_path / "worker.log")
    yield process
    process.stop()
    sys.stderr.write(process.tail(3000))


def _committed(scope: Scope) -> dict[int, int] | None:
    topic = scope.topic("market.quotes")
    position = group_position(
        scope.settings.bootstrap_servers or "", app_id(scope.settings), [topic]
    )
    if position is None:
        return None
    return {partition: committed for (_, partition), (committed, _) in position.items()}


def _coordinator(admin: AdminClient, group: str) -> int | None:
    """Return the broker coordinating GROUP once it is stable with a member, else None."""
    try:
        description = admin.describe_consumer_groups([group])[group].result(timeout=10)
    except (KafkaException, TimeoutError):
        return None
    if description.state != ConsumerGroupState.STABLE or not description.members:
        return None
    return int(description.coordinator.id)


class Supervisor:
    """Keep the worker going as systemd does (restart on exit), and count what it took.

    A worker that exited is started again. One that is alive but has committed nothing for
    STALL_SECS while input waits should have ended itself long before (its watchdog): it is
    killed -9 and started again so that the run can finish, and counted as a failure.
    """

    def __init__(
        self, worker: WorkerProcess, scope: Scope, stall_secs: float = _BACKSTOP_SECS
    ) -> None:
        self.worker, self._scope, self._stall_secs = worker, scope, stall_secs
        self.restarts = 0  # after the worker exited on its own
        self.exit_codes: list[int | None] = []
        self.stall_kills = 0  # after it stopped committing and did not end itself
        self._progress: tuple[int, float] = (-1, time.monotonic())

    def check(self) -> None:
        """Restart the worker if it exited, or kill and restart it if it stalled."""
        if not self.worker.alive():
            self.restarts += 1
            process = self.worker.process
            self.exit_codes.append(None if process is None else process.returncode)
            self._restart()
            return
        position = group_position(
            self._scope.settings.bootstrap_servers or "",
            app_id(self._scope.settings),
            [self._scope.topic("market.quotes")],
        )
        if position is None:
            return
        committed = sum(c for c, _ in position.values())
        waiting = sum(end - c for c, end in position.values())
        now = time.monotonic()
        if committed != self._progress[0] or not waiting:
            self._progress = (committed, now)
        elif now - self._progress[1] > self._stall_secs:
            self.stall_kills += 1
            self.worker.kill()
            self._restart()

    def _restart(self) -> None:
        self.worker.start()
        self._progress = (-1, time.monotonic())


def _kill_node(cluster: Cluster, node_id: int) -> None:
    name = load_layout(cluster.settings.home).node(node_id).name  # type: ignore[union-attr]
    record = local.load_state(local.state_path(cluster.settings.home))[name]
    os.kill(record.pid, signal.SIGKILL)
    eventually(lambda: not record.is_running(), message=f"{name} gone after kill -9")


def _resume_secs(
    scope: Scope, before: dict[int, int], killed_at: float, supervisor: Supervisor
) -> float:
    """Return seconds from KILLED_AT until the worker committed past BEFORE on every partition."""

    def moved() -> bool:
        supervisor.check()
        now = _committed(scope)
        return now is not None and all(now[p] > before[p] for p in before)

    eventually(moved, timeout=300, interval=0.1, message="the worker committing again")
    return time.monotonic() - killed_at


def _under_replicated(admin: AdminClient) -> list[str]:
    """Return the partitions (any topic, internal ones too) missing a replica from their ISR."""
    metadata = admin.list_topics(timeout=10)
    return [
        f"{name}/{p.id}"
        for name, topic in metadata.topics.items()
        for p in topic.partitions.values()
        if len(p.isrs) < len(p.replicas) or p.leader < 0
    ]


def _wait_whole(admin: AdminClient, restart: NodeRestart) -> None:
    """Wait for RESTART (which must succeed), then for every partition's ISR to be full."""
    restart.join()
    assert restart.error is None, f"the killed node did not start again: {restart.error}"
    under: list[str] = []

    def whole() -> bool:
        under[:] = _under_replicated(admin)
        return not under

    try:
        eventually(whole, timeout=300, message="full ISRs")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; under-replicated: {under[:20]}") from None


class NodeRestart(threading.Thread):
    """`infra up` in the background: the killed node starts again while the run goes on."""

    def __init__(self, cluster: Cluster) -> None:
        super().__init__(name="node-restart", daemon=True)
        self._settings = cluster.settings
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            local.up(self._settings)
        except BaseException as exc:  # handed to the test thread, which asserts on it
            self.error = exc


def _replication(admin: AdminClient, names: list[str]) -> dict[str, tuple[set[int], str]]:
    """Return each topic's replica counts (over its partitions) and min.insync.replicas."""
    metadata = admin.list_topics(timeout=10)
    resources = [ConfigResource(ConfigResource.Type.TOPIC, name) for name in names]
    found = {}
    for resource, future in admin.describe_configs(resources).items():
        partitions = metadata.topics[resource.name].partitions.values()
        min_isr = future.result(timeout=30)["min.insync.replicas"].value
        found[resource.name] = ({len(p.replicas) for p in partitions}, min_isr)
    return found


def test_status_lists_each_broker_of_the_cluster(cluster: Cluster) -> None:
    layout = load_layout(cluster.settings.home)
    assert layout is not None

    brokers = [s for s in local.status(cluster.settings) if s.broker_id is not None]

    assert [(s.broker_id, s.address, s.running) for s in brokers] == [
        (n.node_id, n.address, True) for n in layout.nodes
    ]
    assert cluster.endpoints.bootstrap_servers == ",".join(n.address for n in layout.nodes)


def test_a_broker_killed_mid_stream_loses_no_acked_record_and_no_fill(
    cluster: Cluster, scope_on_cluster: Scope, desk_config: Path, worker: WorkerProcess
) -> None:
    scope = scope_on_cluster
    layout = load_layout(cluster.settings.home)
    assert layout is not None
    assert layout.size == 3
    admin = AdminClient(admin_config(scope.settings, cluster.endpoints.bootstrap_servers))
    rng = random.Random(11)
    feed = AckedFeed(scope, _QUOTES, rate=max(100, _QUOTES // 120))
    resumes: list[float] = []
    supervisor = Supervisor(worker, scope)
    worker.start()
    group = app_id(scope.settings)
    # The hardest node first: the group's coordinator (often the transactions' too).
    first = eventually(lambda: _coordinator(admin, group), timeout=180, message="worker joined")
    victims = [first] + [n.node_id for n in layout.nodes if n.node_id != first]
    feed.start()
    restart: NodeRestart | None = None
    for kill in range(_KILLS):
        time.sleep(rng.uniform(2.0, 4.0))
        node = layout.node(victims[kill % layout.size])
        (before,) = eventually(lambda: (c,) if (c := _committed(scope)) else None)
        _kill_node(cluster, node.node_id)
        killed_at = time.monotonic()
        down = next(s for s in local.status(cluster.settings) if s.broker_id == node.node_id)
        assert not down.running
        if feed.is_alive():  # more input comes: the worker must go on without the node
            resumes.append(_resume_secs(scope, before, killed_at, supervisor))
        # `infra up` starts the missing node again, on its ports (meanwhile, the run goes on).
        restart = NodeRestart(cluster)
        restart.start()
        if kill + 1 < _KILLS:  # the next kill waits for every partition to be whole again
            _wait_whole(admin, restart)
    feed.join(600)

    def caught_up() -> bool:
        supervisor.check()
        return _lag(scope) == 0

    eventually(caught_up, timeout=600, message="caught up after the kills")

    # 1. The feed: every acknowledged record is there once, nothing else, nothing failed.
    assert feed.error is None
    assert feed.failed == []
    quotes = read_raw(scope.runtime, scope.topic("market.quotes"))
    found = {(q.partition, q.offset): q.value for q in quotes}
    lost = [f"{p}/{o}" for (p, o), value in feed.acked.items() if found.get((p, o)) != value]
    # Those acknowledged without an offset are the records at no acknowledged offset.
    unplaced = Counter(feed.acked_unplaced)
    elsewhere = Counter((p, value) for (p, o), value in found.items() if (p, o) not in feed.acked)
    lost += [f"{p}/?" for p, _ in (unplaced - elsewhere).elements()]
    assert lost == [], f"{len(lost)} acknowledged records lost"
    assert elsewhere == unplaced, "records no acknowledgement accounts for"
    assert len(found) == len(feed.acked) + len(feed.acked_unplaced) == feed.sent == _QUOTES
    figures: dict[str, Any] = {
        "broker_kills": _KILLS,
        "acked_records": len(feed.acked) + len(feed.acked_unplaced),
        "acked_without_offset": len(feed.acked_unplaced),
        "records_lost": len(lost),
        "resume_secs": resumes,
        "longest_feed_ack_gap_secs": round(feed.longest_ack_gap_secs, 2),
        "worker_restarts": supervisor.restarts,
        "worker_exit_codes": supervisor.exit_codes,
        "worker_stall_kills": supervisor.stall_kills,
    }
    sys.stderr.write(f"broker kill figures: {figures}\n")  # shown even if what follows fails

    # 2. The desk: exactly once, whether the worker rode through the loss or was restarted.
    figures |= _check_exactly_once(scope, desk_config)
    assert figures["fills"] > _QUOTES / 20, "the run must trade enough to prove anything"
    assert resumes, "at least one kill landed while input was still arriving"
    assert supervisor.stall_kills == 0, "a worker stopped committing and did not end itself"

    # 3. The killed node is back, and every topic of the run has 3 copies, 2 of which an
    # acks=all write needs.
    assert restart is not None
    _wait_whole(admin, restart)
    names = [
        name
        for name in admin.list_topics(timeout=10).topics
        if scope.namespace in name or name in ("__consumer_offsets", "__transaction_state")
    ]
    assert any(name.endswith("-changelog") for name in names)
    assert {"__consumer_offsets", "__transaction_state"} <= set(names)
    replication = _replication(admin, names)
    assert replication == dict.fromkeys(names, ({3}, "2"))

    _save("broker_kill", figures)
