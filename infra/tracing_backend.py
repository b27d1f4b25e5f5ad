"""The local tracing backend: an in-memory Zipkin server that takes spans and serves UI + API.

Why Zipkin and not Jaeger: Jaeger v2 comes only as Go source here. `go install
.../cmd/jaeger@v1.76.0` refuses the module (its go.mod has replace directives); a wrapper
module builds it, but a cold build took ~15 min on this 2-core machine and ~3 GB of module
and build cache. Zipkin's executable jar is one 135 MB artifact on Maven Central (~10 s
cold through `mvn`, as the Kafka jars are), runs on the Java 17 the broker already needs,
and starts in 10-40 s. Zipkin 3 does not take OTLP, so the processes export Zipkin v2 JSON
(`PRIMESTREAM_TRACING_EXPORTER=zipkin`); Zipkin's model has no span links.

One port serves everything: the UI at `/zipkin/`, the query API at `/api/v2/trace/{id}`,
span intake at `/api/v2/spans`. Layout under `<home>/tracing/`: tracing.log (console log).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from infra.exceptions import TracingStartError
from infra.jars import ZIPKIN_VERSION, zipkin_jar
from infra.process import (
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
    "TRACING_MIN_JAVA",
    "LocalTracing",
    "spans_url",
    "trace_ui_url",
    "ui_url",
    "zipkin_system_properties",
]

Progress = Callable[[str], None]

TRACING_MIN_JAVA = 17  # Zipkin 3 is built for Java 17
_HOST = "127.0.0.1"
_COLLECTORS = ("kafka", "rabbitmq", "activemq", "pulsar", "grpc", "scribe")


def ui_url(address: str) -> str:
    """Return the UI of the backend at ADDRESS (its base URL)."""
    return f"{address.rstrip('/')}/zipkin/"


def trace_ui_url(address: str, trace_id: str) -> str:
    """Return the UI page of one trace (TRACE_ID: 32 hex digits)."""
    return f"{address.rstrip('/')}/zipkin/traces/{trace_id}"


def spans_url(address: str) -> str:
    """Return where processes send spans (`PRIMESTREAM_ZIPKIN_ENDPOINT`)."""
    return f"{address.rstrip('/')}/api/v2/spans"


def zipkin_system_properties(*, port: int, max_spans: int = 500_000) -> dict[str, str]:
    """Return the Zipkin server settings of the local backend.

    Loopback only, in-memory storage of at most MAX_SPANS spans, spans taken over HTTP
    only: every message-queue collector is off even if the environment names a broker
    (Zipkin would otherwise read e.g. KAFKA_BOOTSTRAP_SERVERS). The port list is given
    whole: Spring replaces a list, so a lone `ip` entry would lose the port.
    """
    properties = {
        "armeria.ports[0].ip": _HOST,
        "armeria.ports[0].port": str(port),
        "armeria.ports[0].protocols[0]": "http",
        "zipkin.storage.type": "mem",
        "zipkin.storage.mem.max-spans": str(max_spans),
        "zipkin.self-tracing.enabled": "false",
        "zipkin.discovery.eureka.enabled": "false",
        "logging.level.root": "WARN",
        "logging.level.com.linecorp.armeria.server.Server": "INFO",
    }
    properties.update({f"zipkin.collector.{name}.enabled": "false" for name in _COLLECTORS})
    return properties


def _healthy(client: httpx.Client, address: str) -> bool:
    try:
        response = client.get(f"{address}/health")
    except httpx.HTTPError:
        return False
    return response.status_code == httpx.codes.OK


class LocalTracing:
    """Start, probe and stop the local Zipkin server of `settings.home`."""

    def __init__(self, settings: Settings, *, progress: Progress | None = None) -> None:
        self._settings = settings
        self._progress = progress
        self.dir = settings.home / "tracing"
        self.log_path = self.dir / "tracing.log"
        self.markers = tuple(marker_args(settings.home, "tracing"))

    def _say(self, line: str) -> None:
        if self._progress is not None:
            self._progress(line)

    def _port(self) -> int:
        port = self._settings.tracing_port
        if port and port_in_use(port, _HOST):
            raise TracingStartError(
                f"port {port} on {_HOST} is taken (another Zipkin?): stop it, or set "
                "PRIMESTREAM_TRACING_PORT=0 for any free port"
            )
        return port or pick_free_port(_HOST)

    def start(self) -> ServiceRecord:
        """Start the Zipkin JVM and wait until it reports healthy; the record's address is its URL.

        Raises TracingStartError (with the log's tail) when the JVM dies or does not answer
        within `settings.start_timeout_secs`; a JVM that did not come up is stopped.
        """
        java = find_java(
            self._settings.java_home,
            min_major=TRACING_MIN_JAVA,
            purpose=f"Zipkin {ZIPKIN_VERSION}",
            error=TracingStartError,
        )
        jar = zipkin_jar(self._settings.dist_dir, progress=self._progress)
        port = self._port()
        heap_mb = self._settings.tracing_heap_mb
        argv = [
            str(java.path),
            f"-Xms{min(64, heap_mb)}m",
            f"-Xmx{heap_mb}m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Xshare:auto",
            "-XX:+ExitOnOutOfMemoryError",
            *self.markers,
            *(f"-D{key}={value}" for key, value in zipkin_system_properties(port=port).items()),
            "-jar",
            str(jar),
        ]
        self.dir.mkdir(parents=True, exist_ok=True)
        self._say(f"starting Zipkin {ZIPKIN_VERSION} (Java {java.major}) on {_HOST}:{port}…")
        started_at = datetime.now(UTC).isoformat(timespec="seconds")
        log_offset = file_size(self.log_path)
        pid = spawn_detached(argv, log_path=self.log_path, cwd=self.dir)
        address = f"http://{_HOST}:{port}"
        version = self._wait_ready(pid, address, log_offset)
        return ServiceRecord(
            name="tracing",
            pid=pid,
            address=address,
            ports={"http": port},
            started_at=started_at,
            log_path=self.log_path,
            version=version,
            markers=self.markers,
        )

    def _wait_ready(self, pid: int, address: str, log_offset: int) -> str:
        deadline = time.monotonic() + self._settings.start_timeout_secs
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            while time.monotonic() < deadline:
                if has_exited(pid):
                    output = tail(self.log_path, 20, start=log_offset)
                    raise TracingStartError(f"the Zipkin JVM (pid {pid}) exited:\n{output}")
                if _healthy(client, address):
                    return self._version(client, address)
                time.sleep(0.2)
        result = stop_process(pid, self.markers, grace_secs=10.0)
        raise TracingStartError(
            f"Zipkin did not answer on {address} within "
            f"{self._settings.start_timeout_secs:.0f} s ({result.describe('tracing')}):\n"
            f"{tail(self.log_path, 20, start=log_offset)}"
        )

    @staticmethod
    def _version(client: httpx.Client, address: str) -> str:
        # The running server's own word on its version; the fetched one if it will not say.
        try:
            info = client.get(f"{address}/info").json()
        except (httpx.HTTPError, ValueError):
            return ZIPKIN_VERSION
        zipkin = info.get("zipkin") if isinstance(info, dict) else None
        version = zipkin.get("version") if isinstance(zipkin, dict) else None
        return str(version) if version else ZIPKIN_VERSION

    def stop(self, record: ServiceRecord) -> str:
        """Stop the server of RECORD (SIGTERM, then SIGKILL after ~30 s); return what happened."""
        return stop_process(record.pid, record.markers).describe("tracing")
