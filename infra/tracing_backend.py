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

import httpx

from infra.exceptions import TracingStartError
from infra.jars import ZIPKIN_VERSION, zipkin_jar
from infra.jvm_service import LOOPBACK, LocalJvmService, http_ok, reported_version
from infra.process import ServiceRecord

__all__ = [
    "TRACING_MIN_JAVA",
    "LocalTracing",
    "spans_url",
    "trace_ui_url",
    "ui_url",
    "zipkin_system_properties",
]

TRACING_MIN_JAVA = 17  # Zipkin 3 is built for Java 17
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
        "armeria.ports[0].ip": LOOPBACK,
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


class LocalTracing(LocalJvmService):
    """Start, probe and stop the local Zipkin server of `settings.home`."""

    name = "tracing"
    noun = "Zipkin"
    title = "Zipkin"
    error = TracingStartError

    def start(self) -> ServiceRecord:
        """Start the Zipkin JVM and wait until it reports healthy; the record's address is its URL.

        Raises TracingStartError (with the log's tail) when the JVM dies or does not answer
        within `settings.start_timeout_secs`; a JVM that did not come up is stopped.
        """
        java = self._java(TRACING_MIN_JAVA, f"Zipkin {ZIPKIN_VERSION}")
        jar = zipkin_jar(self._settings.dist_dir, progress=self._progress)
        port = self._claim_port(self._settings.tracing_port, rival="Zipkin")
        argv = self._jvm_argv(
            java,
            heap_mb=self._settings.tracing_heap_mb,
            initial_heap_mb=64,
            c1_only=True,
            args=[
                *(f"-D{key}={value}" for key, value in zipkin_system_properties(port=port).items()),
                "-jar",
                str(jar),
            ],
        )
        self._say(f"starting Zipkin {ZIPKIN_VERSION} (Java {java.major}) on {LOOPBACK}:{port}…")
        launch = self._spawn(argv)
        address = f"http://{LOOPBACK}:{port}"
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            self._wait_ready(launch, address, lambda: http_ok(client, f"{address}/health"))
            # The running server's own word on its version; the fetched one if it will not say.
            version = reported_version(client, f"{address}/info", "zipkin", "version")
        return self._record(
            launch, address=address, ports={"http": port}, version=version or ZIPKIN_VERSION
        )
