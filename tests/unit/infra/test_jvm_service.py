"""What the local JVM services share: the HTTP probe and the version a server reports."""

from __future__ import annotations

import httpx
import pytest

from infra.jvm_service import http_ok, reported_version


def _client(status: int, body: bytes) -> httpx.Client:
    return httpx.Client(
        transport=httpx.MockTransport(lambda _req: httpx.Response(status, content=body))
    )


def test_http_ok_is_a_200_and_nothing_listening_is_not() -> None:
    assert http_ok(_client(200, b"{}"), "http://svc/health")
    assert not http_ok(_client(503, b""), "http://svc/health")

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    assert not http_ok(httpx.Client(transport=httpx.MockTransport(refuse)), "http://svc/health")


@pytest.mark.parametrize(
    ("body", "keys", "expected"),
    [
        (b'{"version": "3.3.3"}', ("version",), "3.3.3"),
        (b'{"zipkin": {"version": "3.6.1"}}', ("zipkin", "version"), "3.6.1"),
        (b'{"zipkin": "3.6.1"}', ("zipkin", "version"), None),
        (b'{"version": ""}', ("version",), None),
        (b"not json", ("version",), None),
    ],
)
def test_reported_version_is_the_value_at_the_keys_or_none(
    body: bytes, keys: tuple[str, ...], expected: str | None
) -> None:
    assert reported_version(_client(200, body), "http://svc/info", *keys) == expected
