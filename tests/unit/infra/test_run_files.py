"""Workers' run files: written, found by group, and forgotten when their process is gone."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from infra.run_files import WorkerRunFile, read_run_files, remove_run_file, write_run_file


def _worker(pid: int, group: str = "primestream-a") -> WorkerRunFile:
    return WorkerRunFile(pid, group, f"{group}-host-{pid}", "host", "http://127.0.0.1:6066", 1)


def _finished_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return int(done.stdout)


def test_a_running_worker_is_found_by_its_group(tmp_path: Path) -> None:
    me = _worker(os.getpid())
    write_run_file(tmp_path, me)

    assert read_run_files(tmp_path, "primestream-a") == [me]
    assert read_run_files(tmp_path, "primestream-b") == []
    assert read_run_files(tmp_path) == [me]


def test_a_stopped_worker_removes_its_file(tmp_path: Path) -> None:
    write_run_file(tmp_path, _worker(os.getpid()))

    remove_run_file(tmp_path, os.getpid())
    remove_run_file(tmp_path, os.getpid())  # twice: nothing to do

    assert read_run_files(tmp_path) == []


def test_the_file_of_a_killed_worker_is_ignored_and_removed(tmp_path: Path) -> None:
    path = write_run_file(tmp_path, _worker(_finished_pid()))

    assert read_run_files(tmp_path) == []
    assert not path.exists()


def test_unreadable_files_are_skipped_and_no_directory_means_no_workers(tmp_path: Path) -> None:
    assert read_run_files(tmp_path) == []
    write_run_file(tmp_path, _worker(os.getpid()))
    (tmp_path / "run" / "workers" / "1.json").write_text("{not json")

    assert [w.pid for w in read_run_files(tmp_path)] == [os.getpid()]


def test_stop_workers_signals_workers_only_and_clears_their_files(tmp_path: Path) -> None:
    import subprocess
    import sys
    import time

    from infra.run_files import WorkerRunFile, read_run_files, stop_workers, write_run_file

    script = tmp_path / "primestream"
    script.write_text(
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))\n"
        "open(sys.argv[2], 'w').close()\n"
        "time.sleep(60)\n"
    )
    ready = tmp_path / "ready"
    worker = subprocess.Popen([sys.executable, str(script), "worker", str(ready)])
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        deadline = time.monotonic() + 10.0
        while not ready.exists() and time.monotonic() < deadline:  # its handler is installed
            time.sleep(0.02)
        for pid in (worker.pid, bystander.pid):
            write_run_file(tmp_path, WorkerRunFile(pid, "g", f"c{pid}", "h", None, 0))

        lines = stop_workers(tmp_path, grace_secs=10.0)

        assert worker.wait(10) == 0, "SIGTERM, as Ctrl-C: a clean exit"
        assert lines == [f"worker g: stopped (pid {worker.pid}, SIGTERM)"]
        assert bystander.poll() is None, "a pid that is not a primestream worker is left alone"
        assert read_run_files(tmp_path) == []
    finally:
        bystander.kill()
        worker.kill()
