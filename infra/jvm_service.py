"""What the local JVM services share: their files and markers, ports, JVM flags, start, wait, stop.

LocalKafka (infra/broker.py), LocalRegistry (infra/registry.py) and LocalTracing
(infra/tracing_backend.py) each say what they run and how to tell that it answers; the
spawn, the wait-until-ready loop, the errors it raises and the stop are written once here,
so the three start and fail alike.
"""

from __future__ import annotations

import abc
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import ClassVar

import httpx

from infra.exceptions import InfraError
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

__all__ = ["LOOPBACK", "JvmLaunch", "LocalJvmService", "Progress", "http_ok", "reported_version"]

Progress = Callable[[str], None]

LOOPBACK = "127.0.0.1"  # every local service listens here only


@dataclass(frozen=True)
class JvmLaunch:
    """One spawned JVM: its pid, when it started, and each log's size just before it."""

    pid: int
    started_at: str
    log_offsets: dict[Path, int]


class LocalJvmService(abc.ABC):
    """Start, probe and stop one local JVM service of `settings.home`; a subclass says which.

    Its files live in `<home>/<name>/`: `<name>.log` is the log `status` shows, and the
    JVM's console output goes to `console_path` (that same log unless a subclass says not).
    """

    # "kafka": its directory, log, JVM marker and state-file entry (a cluster's nodes: per node)
    name: str
    noun: ClassVar[str]  # as in "the <noun> JVM (pid 123) exited"
    title: ClassVar[str]  # as in "<title> did not answer on <address>"
    error: ClassVar[type[InfraError]]  # what a failed start raises

    def __init__(self, settings: Settings, *, progress: Progress | None = None) -> None:
        self._settings = settings
        self._progress = progress
        self.dir = settings.home / self.name
        self.log_path = self.dir / f"{self.name}.log"
        self.console_path = self.log_path
        self.markers = tuple(marker_args(settings.home, self.name))

    @abc.abstractmethod
    def start(self) -> ServiceRecord:
        """Start the JVM and wait until it answers; return what the state file keeps of it."""

    def stop(self, record: ServiceRecord) -> str:
        """Stop the service of RECORD (SIGTERM, then SIGKILL after ~30 s); return what happened."""
        return stop_process(record.pid, record.markers).describe(self.name)

    def _say(self, line: str) -> None:
        if self._progress is not None:
            self._progress(line)

    def _java(self, min_major: int, purpose: str) -> JavaRuntime:
        return find_java(
            self._settings.java_home, min_major=min_major, purpose=purpose, error=self.error
        )

    def _claim_port(self, configured: int, rival: str) -> int:
        # 0 asks for any free port; the error names the setting, PRIMESTREAM_<NAME>_PORT.
        if configured and port_in_use(configured, LOOPBACK):
            raise self.error(
                f"port {configured} on {LOOPBACK} is taken (another {rival}?): stop it, or set "
                f"PRIMESTREAM_{self.name.upper()}_PORT=0 for any free port"
            )
        return configured or pick_free_port(LOOPBACK)

    @staticmethod
    def _spare_port(taken: int) -> int:
        # A second listener (controller, management) goes on any free port but TAKEN.
        port = pick_free_port(LOOPBACK)
        while port == taken:
            port = pick_free_port(LOOPBACK)
        return port

    def _jvm_argv(
        self,
        java: JavaRuntime,
        *,
        heap_mb: int,
        initial_heap_mb: int,
        c1_only: bool,
        args: list[str],
        low_pause: bool = False,
    ) -> list[str]:
        # Two cores run every JVM and the Python workers: serial GC, a first heap of at most
        # INITIAL_HEAP_MB; C1 alone (C1_ONLY) starts sooner where peak speed does not matter.
        # LOW_PAUSE (the broker): ZGC instead, whose pauses stay under a millisecond. The
        # serial collector stopped the broker for ~24 ms about once a second at 1,000
        # quotes/s, and every request in flight (a commit's, a fetch's) waited it out: a
        # pause in every latency tail (BENCHMARKS.md, "The broker's collector").
        return [
            str(java.path),
            f"-Xms{min(initial_heap_mb, heap_mb)}m",
            f"-Xmx{heap_mb}m",
            "-XX:+UseZGC" if low_pause else "-XX:+UseSerialGC",
            *(["-XX:TieredStopAtLevel=1"] if c1_only else []),
            "-Xshare:auto",
            "-XX:+ExitOnOutOfMemoryError",
            *self.markers,
            *args,
        ]

    def _spawn(self, argv: Sequence[str]) -> JvmLaunch:
        self.dir.mkdir(parents=True, exist_ok=True)
        started_at = datetime.now(UTC).isoformat(timespec="seconds")
        logs = dict.fromkeys((self.console_path, self.log_path))
        offsets = {path: file_size(path) for path in logs}
        pid = spawn_detached(argv, log_path=self.console_path, cwd=self.dir)
        return JvmLaunch(pid, started_at, offsets)

    def _wait_ready(self, launch: JvmLaunch, address: str, ready: Callable[[], bool]) -> None:
        # A JVM that did not come up in time is stopped, so that no half-started twin stays.
        timeout_secs = self._settings.start_timeout_secs
        deadline = time.monotonic() + timeout_secs
        while time.monotonic() < deadline:
            if has_exited(launch.pid):
                raise self.error(
                    f"the {self.noun} JVM (pid {launch.pid}) exited:\n{_log_tails(launch)}"
                )
            if ready():
                return
            time.sleep(0.2)
        result = stop_process(launch.pid, self.markers, grace_secs=10.0)
        raise self.error(
            f"{self.title} did not answer on {address} within {timeout_secs:.0f} s "
            f"({result.describe(self.name)}):\n{_log_tails(launch)}"
        )

    def _record(
        self, launch: JvmLaunch, *, address: str, ports: dict[str, int], version: str | None
    ) -> ServiceRecord:
        return ServiceRecord(
            name=self.name,
            pid=launch.pid,
            address=address,
            ports=ports,
            started_at=launch.started_at,
            log_path=self.log_path,
            version=version,
            markers=self.markers,
        )


def _log_tails(launch: JvmLaunch) -> str:
    # What the JVM wrote since it was spawned: one log bare, several each under its path.
    tails = {path: tail(path, 20, start=start) for path, start in launch.log_offsets.items()}
    if len(tails) == 1:
        return next(iter(tails.values()))
    return "\n".join(f"--- {path} ---\n{text}" for path, text in tails.items())


def http_ok(client: httpx.Client, url: str) -> bool:
    """Return True when a GET of URL answers 200 (False while nothing listens there)."""
    try:
        return client.get(url).status_code == httpx.codes.OK
    except httpx.HTTPError:
        return False


def reported_version(client: httpx.Client, url: str, *keys: str) -> str | None:
    """Return the version a running server reports: the value at KEYS of the JSON at URL.

    None when it does not answer, answers no JSON, or the keys lead to nothing.
    """
    try:
        found: object = client.get(url).json()
    except (httpx.HTTPError, ValueError):
        return None
    for key in keys:
        found = found.get(key) if isinstance(found, dict) else None
    return str(found) if found else None
