"""The local Apicurio Registry 3 (in-memory storage) and its Confluent-compatible API.

Layout under `<home>/registry/`: registry.log (the JVM's console log). The app itself is
unpacked once into `<dist_dir>/apicurio-<version>/` by infra/jars.py.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from infra.exceptions import RegistryStartError
from infra.jars import APICURIO_VERSION, apicurio_app
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
    "CCOMPAT_PATH",
    "REGISTRY_MIN_JAVA",
    "LocalRegistry",
    "ccompat_url",
    "registry_system_properties",
]

Progress = Callable[[str], None]

REGISTRY_MIN_JAVA = 21  # Apicurio 3.3 is compiled for Java 21 (class file 65)
CCOMPAT_PATH = "/apis/ccompat/v7"
_HOST = "127.0.0.1"


def ccompat_url(port: int) -> str:
    """Return the Confluent-compatible API URL of a local registry on PORT."""
    return f"http://{_HOST}:{port}{CCOMPAT_PATH}"


def registry_system_properties(*, http_port: int, management_port: int) -> dict[str, str]:
    """Return the Quarkus/Apicurio settings of the local registry.

    Both listeners stay on loopback (the management interface is on by default, at 9000,
    so it gets its own free port). ccompat ids are content ids, like Confluent's (the same
    schema under two subjects has one id). Deletion is on so that clients can delete subjects.
    """
    return {
        "quarkus.http.host": _HOST,
        "quarkus.http.port": str(http_port),
        "quarkus.management.host": _HOST,
        "quarkus.management.port": str(management_port),
        "quarkus.http.access-log.enabled": "false",
        "apicurio.ccompat.legacy-id-mode.enabled": "false",
        "apicurio.rest.deletion.group.enabled": "true",
        "apicurio.rest.deletion.artifact.enabled": "true",
        "apicurio.rest.deletion.artifact-version.enabled": "true",
    }


def _subjects_ok(client: httpx.Client, url: str) -> bool:
    try:
        return client.get(f"{url}/subjects").status_code == httpx.codes.OK
    except httpx.HTTPError:
        return False


class LocalRegistry:
    """Start, probe and stop the local Apicurio Registry of `settings.home`."""

    def __init__(self, settings: Settings, *, progress: Progress | None = None) -> None:
        self._settings = settings
        self._progress = progress
        self.dir = settings.home / "registry"
        self.log_path = self.dir / "registry.log"
        self.markers = tuple(marker_args(settings.home, "registry"))

    def _say(self, line: str) -> None:
        if self._progress is not None:
            self._progress(line)

    def _ports(self) -> tuple[int, int]:
        port = self._settings.registry_port
        if port and port_in_use(port, _HOST):
            raise RegistryStartError(
                f"port {port} on {_HOST} is taken (another registry?): stop it, or set "
                "PRIMESTREAM_REGISTRY_PORT=0 for any free port"
            )
        port = port or pick_free_port(_HOST)
        management_port = pick_free_port(_HOST)
        while management_port == port:
            management_port = pick_free_port(_HOST)
        return port, management_port

    def start(self) -> ServiceRecord:
        """Start the registry JVM and wait until its ccompat API lists subjects.

        Raises RegistryStartError (with the log's tail) when the JVM dies or does not
        answer within `settings.start_timeout_secs`; a JVM that did not come up is stopped.
        """
        java = find_java(
            self._settings.java_home,
            min_major=REGISTRY_MIN_JAVA,
            purpose=f"Apicurio Registry {APICURIO_VERSION}",
            error=RegistryStartError,
        )
        app = apicurio_app(self._settings.dist_dir, progress=self._progress)
        port, management_port = self._ports()
        properties = registry_system_properties(http_port=port, management_port=management_port)
        heap_mb = self._settings.registry_heap_mb
        argv = [
            str(java.path),
            f"-Xms{min(128, heap_mb)}m",
            f"-Xmx{heap_mb}m",
            "-XX:+UseSerialGC",
            "-XX:TieredStopAtLevel=1",
            "-Xshare:auto",
            "-XX:+ExitOnOutOfMemoryError",
            *self.markers,
            *(f"-D{key}={value}" for key, value in properties.items()),
            "-jar",
            str(app / "quarkus-run.jar"),
        ]
        self.dir.mkdir(parents=True, exist_ok=True)
        self._say(f"starting Apicurio Registry (Java {java.major}) on {_HOST}:{port}…")
        started_at = datetime.now(UTC).isoformat(timespec="seconds")
        log_offset = file_size(self.log_path)
        pid = spawn_detached(argv, log_path=self.log_path, cwd=self.dir)
        url = ccompat_url(port)
        version = self._wait_ready(pid, url, port, log_offset)
        return ServiceRecord(
            name="registry",
            pid=pid,
            address=url,
            ports={"http": port, "management": management_port},
            started_at=started_at,
            log_path=self.log_path,
            version=version,
            markers=self.markers,
        )

    def _wait_ready(self, pid: int, url: str, port: int, log_offset: int) -> str:
        deadline = time.monotonic() + self._settings.start_timeout_secs
        with httpx.Client(timeout=2.0, trust_env=False) as client:
            while time.monotonic() < deadline:
                if has_exited(pid):
                    output = tail(self.log_path, 20, start=log_offset)
                    raise RegistryStartError(f"the registry JVM (pid {pid}) exited:\n{output}")
                if _subjects_ok(client, url):
                    return self._version(client, port)
                time.sleep(0.2)
        result = stop_process(pid, self.markers, grace_secs=10.0)
        raise RegistryStartError(
            f"the registry did not answer on {url} within "
            f"{self._settings.start_timeout_secs:.0f} s ({result.describe('registry')}):\n"
            f"{tail(self.log_path, 20, start=log_offset)}"
        )

    @staticmethod
    def _version(client: httpx.Client, port: int) -> str:
        # The running app's own word on its version; the unpacked one if it will not say.
        try:
            info = client.get(f"http://{_HOST}:{port}/apis/registry/v3/system/info").json()
        except (httpx.HTTPError, ValueError):
            return APICURIO_VERSION
        version = info.get("version") if isinstance(info, dict) else None
        return str(version) if version else APICURIO_VERSION

    def stop(self, record: ServiceRecord) -> str:
        """Stop the registry of RECORD (SIGTERM, then SIGKILL after ~30 s); return what happened."""
        return stop_process(record.pid, record.markers).describe("registry")
