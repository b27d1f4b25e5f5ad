"""The local Apicurio Registry 3 (in-memory storage) and its Confluent-compatible API.

Layout under `<home>/registry/`: registry.log (the JVM's console log). The app itself is
unpacked once into `<dist_dir>/apicurio-<version>/` by infra/jars.py.
"""

from __future__ import annotations

import httpx

from infra.exceptions import RegistryStartError
from infra.jars import APICURIO_VERSION, apicurio_app
from infra.jvm_service import LOOPBACK, LocalJvmService, http_ok, reported_version
from infra.process import ServiceRecord

__all__ = [
    "CCOMPAT_PATH",
    "REGISTRY_MIN_JAVA",
    "LocalRegistry",
    "ccompat_url",
    "registry_system_properties",
]

REGISTRY_MIN_JAVA = 21  # Apicurio 3.3 is compiled for Java 21 (class file 65)
CCOMPAT_PATH = "/apis/ccompat/v7"


def ccompat_url(port: int) -> str:
    """Return the Confluent-compatible API URL of a local registry on PORT."""
    return f"http://{LOOPBACK}:{port}{CCOMPAT_PATH}"


def registry_system_properties(*, http_port: int, management_port: int) -> dict[str, str]:
    """Return the Quarkus/Apicurio settings of the local registry.

    Both listeners stay on loopback (the management interface is on by default, at 9000,
    so it gets its own free port). ccompat ids are content ids, like Confluent's (the same
    schema under two subjects has one id). Deletion is on so that clients can delete subjects.
    """
    return {
        "quarkus.http.host": LOOPBACK,
        "quarkus.http.port": str(http_port),
        "quarkus.management.host": LOOPBACK,
        "quarkus.management.port": str(management_port),
        "quarkus.http.access-log.enabled": "false",
        "apicurio.ccompat.legacy-id-mode.enabled": "false",
        "apicurio.rest.deletion.group.enabled": "true",
        "apicurio.rest.deletion.artifact.enabled": "true",
        "apicurio.rest.deletion.artifact-version.enabled": "true",
    }


class LocalRegistry(LocalJvmService):
    """Start, probe and stop the local Apicurio Registry of `settings.home`."""

    name = "registry"
    noun = "registry"
    title = "the registry"
    error = RegistryStartError

    def start(self) -> ServiceRecord:
        """Start the registry JVM and wait until its ccompat API lists subjects.

        Raises RegistryStartError (with the log's tail) when the JVM dies or does not
        answer within `settings.start_timeout_secs`; a JVM that did not come up is stopped.
        """
        java = self._java(REGISTRY_MIN_JAVA, f"Apicurio Registry {APICURIO_VERSION}")
        app = apicurio_app(self._settings.dist_dir, progress=self._progress)
        port = self._claim_port(self._settings.registry_port, rival="registry")
        management_port = self._spare_port(port)
        properties = registry_system_properties(http_port=port, management_port=management_port)
        argv = self._jvm_argv(
            java,
            heap_mb=self._settings.registry_heap_mb,
            initial_heap_mb=128,
            c1_only=True,
            args=[
                *(f"-D{key}={value}" for key, value in properties.items()),
                "-jar",
                str(app / "quarkus-run.jar"),
            ],
        )
        self._say(f"starting Apicurio Registry (Java {java.major}) on {LOOPBACK}:{port}…")
        launch = self._spawn(argv)
        url = ccompat_url(port)
        info_url = f"http://{LOOPBACK}:{port}/apis/registry/v3/system/info"
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            self._wait_ready(launch, url, lambda: http_ok(client, f"{url}/subjects"))
            # The running app's own word on its version; the unpacked one if it will not say.
            version = reported_version(client, info_url, "version")
        return self._record(
            launch,
            address=url,
            ports={"http": port, "management": management_port},
            version=version or APICURIO_VERSION,
        )
