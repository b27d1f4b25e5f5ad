"""A `primestream worker` subprocess for integration tests: start, kill -9, stop, log."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["CLI", "WorkerProcess"]

CLI = str(Path(sys.executable).with_name("primestream"))


class WorkerProcess:
    """One worker in a test's namespace, its output appended to LOG."""

    def __init__(self, env: Mapping[str, str], args: Sequence[str], log: Path) -> None:
        self._env, self._args, self.log = dict(env), list(args), log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the worker (again)."""
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [CLI, "worker", *self._args, "--loglevel", "info"],
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        """kill -9 the worker: no clean-up, no commit, as a crash."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def stop(self) -> None:
        """Stop it as Ctrl-C would; kill it if it does not stop within a minute."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    def alive(self) -> bool:
        """True while the process runs."""
        return self.process is not None and self.process.poll() is None

    def tail(self, chars: int = 4000) -> str:
        """Return the end of the worker's log."""
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""
