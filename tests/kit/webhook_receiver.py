"""A real local HTTP server that receives webhook posts, as Slack or Discord would.

It listens on a port chosen up front (`free_port()`), so a test can point the
dispatcher at it before it is up (a receiver that is down) and start it later.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

__all__ = ["WebhookReceiver", "free_port", "receiving"]


def free_port() -> int:
    """Return a TCP port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class WebhookReceiver:
    """Records every JSON body posted to it; answers STATUSES in turn, then 200."""

    def __init__(self, port: int, statuses: tuple[int, ...] = ()) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}/hook"
        self.bodies: list[dict[str, Any]] = []
        self.attempts = 0
        self._statuses = list(statuses)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        """Listen and serve on a daemon thread."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.attempts += 1
                    status = receiver._statuses.pop(0) if receiver._statuses else 200
                    if status == 200:
                        receiver.bodies.append(json.loads(body))
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop serving and free the port."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def received(self) -> list[dict[str, Any]]:
        """Return a copy of the bodies taken so far."""
        with self._lock:
            return list(self.bodies)


@contextmanager
def receiving(statuses: tuple[int, ...] = ()) -> Iterator[WebhookReceiver]:
    """Run a receiver on a free port for the block."""
    receiver = WebhookReceiver(free_port(), statuses)
    receiver.start()
    try:
        yield receiver
    finally:
        receiver.stop()
