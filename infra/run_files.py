"""Where running workers say who they are: one JSON file per process under `<home>/run/workers`.

`primestream worker` writes `<home>/run/workers/<pid>.json` as it starts and removes it as
it stops. `primestream status` reads them to match the members of a consumer group to
processes (by client id) and to find each one's web address, whose `/ready` tells its
readiness and last error. A worker killed with -9 leaves its file behind: a file whose
process no longer runs is ignored and removed. The files are local, as the home is:
workers on other hosts appear in `status` from the group alone.
"""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from infra.process import cmdline

__all__ = [
    "WorkerRunFile",
    "pid_alive",
    "read_run_files",
    "remove_run_file",
    "stop_workers",
    "write_run_file",
]


@dataclass(frozen=True)
class WorkerRunFile:
    """One running worker: process, consumer group and client id, host, web address."""

    pid: int
    group: str
    client_id: str
    host: str
    web_url: str | None
    started_at_us: int


def _run_dir(home: Path) -> Path:
    return home / "run" / "workers"


def write_run_file(home: Path, worker: WorkerRunFile) -> Path:
    """Write WORKER's file under HOME (atomically: a reader never sees half of it)."""
    directory = _run_dir(home)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{worker.pid}.json"
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(asdict(worker)))
    partial.replace(path)
    return path


def remove_run_file(home: Path, pid: int) -> None:
    """Remove the file of process PID (gone already: nothing to do)."""
    (_run_dir(home) / f"{pid}.json").unlink(missing_ok=True)


def pid_alive(pid: int) -> bool:
    """Tell whether process PID exists (on this host)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True


def read_run_files(home: Path, group: str | None = None) -> list[WorkerRunFile]:
    """Return the workers of GROUP (default: all) whose processes run, by pid.

    Files of processes that are gone (killed) are removed; unreadable files are skipped.
    """
    workers = []
    directory = _run_dir(home)
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        try:
            worker = WorkerRunFile(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError):
            continue
        if not pid_alive(worker.pid):
            path.unlink(missing_ok=True)
            continue
        if group is None or worker.group == group:
            workers.append(worker)
    return sorted(workers, key=lambda w: w.pid)


def stop_workers(home: Path, *, grace_secs: float = 60.0) -> list[str]:
    """SIGTERM every worker of HOME (as Ctrl-C would), SIGKILL one still up after GRACE_SECS.

    Only processes whose command line is a `primestream worker` are signalled: a pid the
    system reused for something else is left alone. Returns one line per worker.
    """
    lines = []
    for worker in read_run_files(home):
        if not _is_worker(worker.pid):
            remove_run_file(home, worker.pid)
            continue
        os.kill(worker.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace_secs
        while _running(worker.pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        how = "SIGTERM"
        if _running(worker.pid):
            os.kill(worker.pid, signal.SIGKILL)
            how = "SIGKILL"
        remove_run_file(home, worker.pid)
        lines.append(f"worker {worker.group}: stopped (pid {worker.pid}, {how})")
    return lines


def _running(pid: int) -> bool:
    """Return True while PID runs (a zombie waiting for its parent has finished)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _is_worker(pid: int) -> bool:
    argv = cmdline(pid)
    return any(Path(arg).name == "primestream" for arg in argv) and "worker" in argv
