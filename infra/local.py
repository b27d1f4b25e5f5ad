"""The local infra facade for the CLI and the test fixture: up, down, status, resolve_endpoints.

Kafka and the registry are the infra; the tracing backend (Zipkin) is optional: started
only when asked for, listed by `status` and `down` only once it has run in this home.

Kafka is one broker, or a replicated cluster of N (`up(..., brokers=3)`: every node a
broker and a controller voter, see infra/cluster.py), whose layout is kept in
`<home>/run/cluster.json`: a home stays the size it was first started at.

What `up` started is kept in `<home>/run/state.json` (pids, ports, start times, log paths);
a recorded pid that is gone, or no longer our java, counts as not running. Each home is
independent: its JVMs carry `-Dprimestream.home=<home>` and only those are ever stopped.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from infra.broker import SECURE_PORT, LocalKafka
from infra.cluster import ClusterLayout, layout_path, load_layout, new_layout, save_layout
from infra.exceptions import BrokerStartError, KafkaAccessError, NoBrokerError
from infra.process import (
    ServiceRecord,
    find_marked_pids,
    marker_args,
    pick_lasting_port,
    stop_process,
)
from infra.registry import LocalRegistry
from infra.run_files import stop_workers
from infra.settings import Settings
from infra.tracing_backend import LocalTracing

__all__ = [
    "Endpoints",
    "ServiceStatus",
    "down",
    "load_state",
    "resolve_endpoints",
    "save_state",
    "state_path",
    "status",
    "tracing_address",
    "up",
]

Progress = Callable[[str], None]

SERVICES = ("kafka", "registry")
OPTIONAL_SERVICES = ("tracing",)


@dataclass(frozen=True)
class Endpoints:
    """Where clients connect: the bootstrap servers and the ccompat registry URL (or None)."""

    bootstrap_servers: str
    schema_registry_url: str | None


@dataclass(frozen=True)
class ServiceStatus:
    """One local service as `infra status` shows it."""

    name: str
    running: bool
    pid: int | None
    address: str | None
    version: str | None
    log_path: Path | None
    security: str | None = None  # kafka: PLAINTEXT or "SASL_SSL (SCRAM-SHA-512, ACLs)"
    broker_id: int | None = None  # a cluster's node id (None: the single broker, or not Kafka)


class _Service(Protocol):
    def start(self) -> ServiceRecord: ...


def state_path(home: Path) -> Path:
    """Return the state file of the infra in HOME."""
    return home / "run" / "state.json"


def load_state(path: Path) -> dict[str, ServiceRecord]:
    """Return the recorded services by name; a missing or unreadable file records none."""
    try:
        data = json.loads(path.read_text())
        return {
            name: ServiceRecord.from_json(entry) for name, entry in dict(data["services"]).items()
        }
    except (OSError, ValueError, KeyError, TypeError):
        # Unreadable state is no state: `down` still finds our JVMs by their marker.
        return {}


def save_state(path: Path, services: dict[str, ServiceRecord]) -> None:
    """Write SERVICES to PATH atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"services": {name: record.to_json() for name, record in services.items()}}
    scratch = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    scratch.write_text(json.dumps(payload, indent=2) + "\n")
    scratch.replace(path)


def _running(services: dict[str, ServiceRecord]) -> dict[str, ServiceRecord]:
    return {name: record for name, record in services.items() if record.is_running()}


@contextlib.contextmanager
def _locked(home: Path) -> Iterator[None]:
    # One `up`/`down` per home at a time: a second one waits instead of starting twins.
    lock_path = home / "run" / "lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _stop_orphans(home: Path, name: str) -> list[str]:
    markers = marker_args(home, name)
    return [
        stop_process(pid, markers).describe(f"{name} (unrecorded)")
        for pid in find_marked_pids(markers)
    ]


def _start(name: str, service: _Service, home: Path, say: Progress) -> ServiceRecord:
    # A JVM of this home that the state file lost would hold the data dir or the port.
    for line in _stop_orphans(home, name):
        say(line)
    record = service.start()
    say(f"{name}: {record.version or '?'} up at {record.address} (pid {record.pid})")
    return record


def _start_all(
    wanted: dict[str, _Service], services: dict[str, ServiceRecord], home: Path, say: Progress
) -> None:
    # Broker and registry are independent: their JVMs start side by side to halve the wait.
    with ThreadPoolExecutor(max_workers=len(wanted) or 1) as pool:
        futures = {name: pool.submit(_start, name, svc, home, say) for name, svc in wanted.items()}
    errors: list[BaseException] = []
    for name, future in futures.items():
        error = future.exception()
        if error is None:
            services[name] = future.result()
        else:
            errors.append(error)
    save_state(state_path(home), services)
    if errors:
        for other in errors[1:]:
            errors[0].add_note(f"also: {other}")
        raise errors[0]


def _kafka_layout(settings: Settings, brokers: int | None) -> ClusterLayout | None:
    """Return the cluster layout `up` runs (laid out and kept on first start), None: one broker.

    BROKERS defaults to the home's cluster size if it has one, else `settings.brokers`.
    """
    home = settings.home
    layout = load_layout(home)
    size = brokers if brokers is not None else (layout.size if layout else settings.brokers)
    if layout is not None and layout.size != size:
        raise BrokerStartError(
            f"{home} holds a {layout.size}-broker cluster ({layout_path(home)}): "
            f"run `infra up --brokers {layout.size}`, or use another PRIMESTREAM_HOME"
        )
    if layout is not None or size == 1:
        return layout
    if (home / "kafka" / "data" / "meta.properties").is_file():
        raise BrokerStartError(
            f"{home} holds a single broker's data ({home / 'kafka'}): `infra down` and delete "
            f"it, or use another PRIMESTREAM_HOME, for a {size}-broker cluster"
        )
    layout = new_layout(size, first_port=settings.kafka_port, free_port=pick_lasting_port)
    save_layout(home, layout)
    return layout


def _kafka_services(
    settings: Settings,
    layout: ClusterLayout | None,
    progress: Progress | None,
    *,
    secure: bool = False,
) -> dict[str, LocalKafka]:
    if layout is None:
        return {"kafka": LocalKafka(settings, progress=progress, secure=secure)}
    return {
        node.name: LocalKafka(settings, progress=progress, cluster=layout, node=node)
        for node in layout.nodes
    }


def _kafka_names(home: Path) -> list[str]:
    layout = load_layout(home)
    return ["kafka"] if layout is None else [node.name for node in layout.nodes]


def up(
    settings: Settings,
    *,
    brokers: int | None = None,
    with_registry: bool | None = None,
    with_tracing: bool = False,
    secure: bool = False,
    progress: Progress | None = None,
) -> Endpoints:
    """Start the local broker(s) (and registry, and tracing backend) unless running.

    Returns where the broker and registry listen (`status` has the tracing backend's URL);
    a cluster's bootstrap servers are all its nodes. BROKERS > 1 starts a replicated
    cluster (replication min(3, BROKERS) for every topic); default: the home's size, else
    `settings.brokers`. A node of the cluster that is down is started again on its ports.
    Nothing is started for Kafka when `settings.bootstrap_servers` is set, nor a registry
    when `settings.schema_registry_url` is. WITH_REGISTRY defaults to `settings.registry`
    with no registry URL configured; WITH_TRACING also starts the local Zipkin; SECURE
    starts the broker with SASL_SSL and ACLs (`infra.broker_security`). Raises
    BrokerStartError / RegistryStartError / TracingStartError / JarResolutionError; a
    service that did start stays recorded for `down`.
    """
    want_registry = settings.registry if with_registry is None else with_registry
    want_registry = want_registry and settings.schema_registry_url is None
    say: Progress = progress or (lambda _line: None)
    path = state_path(settings.home)
    layout: ClusterLayout | None = None
    with _locked(settings.home):
        services = _running(load_state(path))
        wanted: dict[str, _Service] = {}
        if settings.bootstrap_servers is None:
            layout = _kafka_layout(settings, brokers)
            if secure and layout is not None:
                raise BrokerStartError("a secured cluster is not supported: --secure or --brokers")
            wanted.update(_kafka_services(settings, layout, progress, secure=secure))
            running = services.get("kafka")
            if running is not None and (SECURE_PORT in running.ports) != secure:
                raise BrokerStartError(
                    f"a {_security(running)} broker already runs in {settings.home}: "
                    "`primestream infra down` first"
                )
        if want_registry:
            wanted["registry"] = LocalRegistry(settings, progress=progress)
        if with_tracing:
            wanted["tracing"] = LocalTracing(settings, progress=progress)
        for name in [name for name in wanted if name in services]:
            record = services[name]
            say(f"{name}: already running at {record.address} (pid {record.pid})")
            del wanted[name]
        _start_all(wanted, services, settings.home, say)
    bootstrap = settings.bootstrap_servers or (
        layout.bootstrap_servers if layout is not None else services["kafka"].address
    )
    local_registry = services.get("registry")
    use_local = local_registry is not None and (want_registry or settings.registry)
    local_url = local_registry.address if local_registry is not None and use_local else None
    return Endpoints(bootstrap, settings.schema_registry_url or local_url)


def down(settings: Settings, *, progress: Progress | None = None) -> list[str]:
    """Stop the workers of `settings.home`, then what `up` started (and stray JVMs).

    Returns one line per service, e.g. "kafka: stopped (pid 123, SIGTERM, 2.1 s)"; an
    optional service that was neither recorded nor found running gets no line.
    """
    path = state_path(settings.home)
    # Workers first (a demo leaves its worker running): they would only reconnect forever.
    lines: list[str] = stop_workers(settings.home)
    if progress is not None:
        for line in lines:
            progress(line)
    with _locked(settings.home):
        services = load_state(path)
        kafkas = _kafka_names(settings.home)
        # A cluster's nodes stop together: stopped one by one, the last would wait for a
        # controller quorum that is gone and end by SIGKILL.
        for group in (kafkas, SERVICES[1:], OPTIONAL_SERVICES):
            records = {name: services.pop(name, None) for name in group}
            required = group is not OPTIONAL_SERVICES
            with ThreadPoolExecutor(max_workers=len(group)) as pool:
                stops = [
                    pool.submit(_stop, settings.home, name, record, required=required)
                    for name, record in records.items()
                ]
            save_state(path, services)
            for stop in stops:
                found = stop.result()
                lines += found
                if progress is not None and found:
                    progress(found[-1])
    return lines


def _security(record: ServiceRecord) -> str:
    return "SASL_SSL (SCRAM-SHA-512, ACLs)" if SECURE_PORT in record.ports else "PLAINTEXT"


def _stop(home: Path, name: str, record: ServiceRecord | None, *, required: bool) -> list[str]:
    found: list[str] = []
    if record is not None:
        found.append(stop_process(record.pid, record.markers).describe(name))
    elif required:
        found.append(f"{name}: not running")
    return found + _stop_orphans(home, name)


def tracing_address(settings: Settings) -> str | None:
    """Return the URL of the running local tracing backend of `settings.home`, else None."""
    for service in status(settings):
        if service.name == "tracing" and service.running:
            return service.address
    return None


def status(settings: Settings) -> list[ServiceStatus]:
    """Return the state of the local broker(s) and registry (and tracing) of `settings.home`.

    A cluster lists each node (`broker_id`; its fixed address even while it is down). The
    tracing backend is listed once it has run in this home (recorded, or a log left).
    """
    services = load_state(state_path(settings.home))
    layout = load_layout(settings.home)
    kafkas = _kafka_services(settings, layout, None)
    default_logs = {
        **{name: kafka.log_path for name, kafka in kafkas.items()},
        "registry": LocalRegistry(settings).log_path,
        "tracing": LocalTracing(settings).log_path,
    }
    shown = [
        *kafkas,
        *SERVICES[1:],
        *(n for n in OPTIONAL_SERVICES if n in services or default_logs[n].exists()),
    ]
    result = []
    for name in shown:
        record = services.get(name)
        node = kafkas[name].node if name in kafkas else None
        broker_id = node.node_id if node is not None else None
        if record is not None and record.is_running():
            security = _security(record) if name in kafkas else None
            result.append(
                ServiceStatus(
                    name,
                    True,
                    record.pid,
                    record.address,
                    record.version,
                    record.log_path,
                    security,
                    broker_id,
                )
            )
        else:
            last_log = default_logs[name] if default_logs[name].exists() else None
            address = node.address if node is not None else None
            result.append(
                ServiceStatus(name, False, None, address, None, last_log, broker_id=broker_id)
            )
    return result


def resolve_endpoints(settings: Settings) -> Endpoints:
    """Return the configured endpoints, else those of the running local infra.

    Raises NoBrokerError when no bootstrap servers are set and no local broker runs, and
    KafkaAccessError when the local broker is secured and the settings are not.
    Raises NoBrokerError when no bootstrap servers are set and no local broker runs; a
    cluster's bootstrap servers are all its nodes, while any of them runs.
    The registry is `settings.schema_registry_url`, else the local one if running, else
    None (always None with `settings.registry` off and no URL).
    """
    services = _running(load_state(state_path(settings.home)))
    bootstrap = settings.bootstrap_servers
    if bootstrap is None:
        layout = load_layout(settings.home)
        names = ["kafka"] if layout is None else [node.name for node in layout.nodes]
        running = [services[name] for name in names if name in services]
        if not running:
            raise NoBrokerError(
                "no broker: set PRIMESTREAM_BOOTSTRAP_SERVERS or run `primestream infra up`"
            )
        # A cluster is reached through every node, so one that is down strands no client.
        bootstrap = running[0].address if layout is None else layout.bootstrap_servers
        kafka = running[0]
        if layout is None and SECURE_PORT in kafka.ports and not settings.kafka_secured:
            env_file = settings.home / "kafka" / "secure" / "client.env"
            raise KafkaAccessError(
                f"the local broker at {bootstrap} takes SASL_SSL clients only: "
                f"set -a; . {env_file}; set +a"
            )
    registry_url = settings.schema_registry_url
    if registry_url is None and settings.registry and "registry" in services:
        registry_url = services["registry"].address
    return Endpoints(bootstrap, registry_url)
