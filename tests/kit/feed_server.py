"""A local RSS/Atom server for tests: real HTTP on 127.0.0.1, an ETag, scripted statuses."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from xml.sax.saxutils import escape

__all__ = ["FakeFeed", "FeedItem", "atom", "rss"]


@dataclass(frozen=True)
class FeedItem:
    """One entry: guid (None: the feed gives none), title, link, summary, publication time."""

    guid: str | None
    title: str
    link: str
    summary: str = ""
    published: datetime | None = None


def rss(title: str, items: Sequence[FeedItem]) -> bytes:
    """Return an RSS 2.0 document, items in the given order (newest first, as feeds list)."""
    parts = []
    for item in items:
        guid = f"<guid>{escape(item.guid)}</guid>" if item.guid else ""
        date = f"<pubDate>{format_datetime(item.published)}</pubDate>" if item.published else ""
        parts.append(
            f"<item><title>{escape(item.title)}</title><link>{escape(item.link)}</link>"
            f"<description>{escape(item.summary)}</description>{guid}{date}</item>"
        )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel>'
        f"<title>{escape(title)}</title><link>http://example.test/</link>"
        f"{''.join(parts)}</channel></rss>"
    ).encode()


def atom(title: str, items: Sequence[FeedItem]) -> bytes:
    """Return an Atom 1.0 document with ITEMS."""
    parts = []
    for item in items:
        when = (item.published or datetime(2024, 1, 2, tzinfo=UTC)).isoformat()
        parts.append(
            f"<entry><id>{escape(item.guid or item.link)}</id><title>{escape(item.title)}</title>"
            f'<link href="{escape(item.link)}"/><updated>{when}</updated>'
            f"<summary>{escape(item.summary)}</summary></entry>"
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{escape(title)}</title><id>urn:test</id>"
        f"<updated>2024-01-02T00:00:00Z</updated>{''.join(parts)}</feed>"
    ).encode()


class FakeFeed:
    """Serves `body` at any path with an ETag (304 when it matches); `statuses` go first."""

    def __init__(self, body: bytes = b"") -> None:
        self.body = body
        self.statuses: list[int] = []
        self.requests: list[dict[str, str]] = []
        self.answers: list[int] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None

    def __enter__(self) -> FakeFeed:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()

    @property
    def url(self) -> str:
        assert self._httpd is not None
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/feed.xml"

    def answer(self, headers: dict[str, str]) -> tuple[int, bytes, str]:
        with self._lock:
            self.requests.append(headers)
            body = self.body
            etag = '"' + hashlib.sha1(body).hexdigest()[:12] + '"'
            if self.statuses:
                status = self.statuses.pop(0)
            elif headers.get("If-None-Match") == etag:
                status = 304
            else:
                status = 200
            self.answers.append(status)
        return status, body if status == 200 else b"", etag


class _Handler(BaseHTTPRequestHandler):
    fake: FakeFeed

    def do_GET(self) -> None:
        status, body, etag = self.fake.answer(dict(self.headers.items()))
        self.send_response(status)
        self.send_header("ETag", etag)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass
