"""A worker asked to serve its web views on a taken port says so in one line, at once."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

_CLI = str(Path(sys.executable).with_name("primestream"))


def test_a_taken_web_port_is_one_error_line_before_any_broker_is_asked(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [_CLI, "worker", "--web-port", str(port), "--web-host", "127.0.0.1"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            # No broker anywhere: the port check must come first.
            env={"PATH": "/usr/bin:/bin", "PRIMESTREAM_HOME": str(tmp_path)},
        )

    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert lines == [f"error: cannot serve the web views on 127.0.0.1:{port}: the port is taken"]
