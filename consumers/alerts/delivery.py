"""Posting a notice to a webhook, retried with exponential backoff until it lands or gives up.

Which failures are worth a retry: no connection, a timeout, 408, 425, 429 (honouring its
Retry-After) and any 5xx. Another 4xx means the receiver will never take this body (a
wrong URL, a refused payload), so it fails at once rather than after minutes of retries.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import httpx

from consumers.alerts.notices import Notice
from consumers.alerts.payloads import Format, payload
from infra.exceptions import PrimestreamError

__all__ = [
    "DeliveryError",
    "Outcome",
    "RetryPolicy",
    "WebhookConfigError",
    "WebhookSink",
    "deliver",
    "parse_sinks",
]

log = logging.getLogger(__name__)

Outcome = Literal["delivered", "failed", "interrupted"]
_RETRIED_STATUS = frozenset({408, 425, 429})
_FORMATS: tuple[Format, ...] = ("slack", "discord", "json")


class DeliveryError(PrimestreamError):
    """A webhook did not take a notice; RETRY says whether trying again may help."""

    def __init__(self, message: str, *, retry: bool, retry_after_secs: float | None = None):
        super().__init__(message)
        self.retry = retry
        self.retry_after_secs = retry_after_secs


class WebhookConfigError(PrimestreamError, ValueError):
    """A configured webhook is not usable (not an http(s) URL)."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how far apart to try: MAX_ATTEMPTS (0: forever), doubling waits."""

    max_attempts: int = 8
    backoff_secs: float = 1.0
    backoff_max_secs: float = 30.0

    def wait_secs(self, failures: int, retry_after_secs: float | None = None) -> float:
        """Return the wait after FAILURES failed attempts (a receiver's Retry-After wins)."""
        wait = min(self.backoff_max_secs, self.backoff_secs * 2.0 ** (failures - 1))
        if retry_after_secs is not None:
            wait = min(max(wait, retry_after_secs), self.backoff_max_secs)
        return wait

    def gives_up_after(self, failures: int) -> bool:
        """Tell whether FAILURES failed attempts are all this policy tries."""
        return self.max_attempts > 0 and failures >= self.max_attempts


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    try:
        return float(value)
    except ValueError:
        return None


class WebhookSink:
    """One webhook URL and the format of its payloads; `send` posts one notice."""

    def __init__(self, url: str, fmt: Format, *, timeout_secs: float = 5.0) -> None:
        self.url, self.format, self.timeout_secs = url, fmt, timeout_secs
        self._client: httpx.Client | None = None  # made on first use: no I/O here

    def __repr__(self) -> str:
        # Webhook URLs carry their secret in the path: show the host only.
        return f"WebhookSink({self.format}, {httpx.URL(self.url).host})"

    def send(self, notice: Notice) -> None:
        """Post NOTICE; raise DeliveryError if the receiver did not take it."""
        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout_secs)
        try:
            response = self._client.post(self.url, json=payload(notice, self.format))
        except httpx.HTTPError as err:
            raise DeliveryError(f"{self!r}: {type(err).__name__}: {err}", retry=True) from err
        status = response.status_code
        if 200 <= status < 300:
            return
        retry = status >= 500 or status in _RETRIED_STATUS
        raise DeliveryError(
            f"{self!r}: HTTP {status} {response.text[:200]!r}",
            retry=retry,
            retry_after_secs=_retry_after(response),
        )

    def close(self) -> None:
        """Close the connection pool."""
        if self._client is not None:
            self._client.close()


def deliver(
    send: Callable[[Notice], None],
    notice: Notice,
    policy: RetryPolicy,
    *,
    wait: Callable[[float], bool],
) -> Outcome:
    """Send NOTICE until it lands, the policy gives up, or WAIT says stop.

    WAIT(seconds) sleeps between attempts and returns True if the dispatcher is stopping
    (then the outcome is "interrupted": the record is not committed, so it comes again).
    """
    failures = 0
    while True:
        try:
            send(notice)
            return "delivered"
        except DeliveryError as err:
            failures += 1
            if not err.retry or policy.gives_up_after(failures):
                log.error("alert %s not delivered after %d attempts: %s", notice.key, failures, err)
                return "failed"
            pause = policy.wait_secs(failures, err.retry_after_secs)
            log.warning(
                "alert %s: attempt %d failed (%s); again in %.1f s",
                notice.key,
                failures,
                err,
                pause,
            )
            if wait(pause):
                return "interrupted"


def parse_sinks(urls: list[str], default: Format, *, timeout_secs: float) -> list[WebhookSink]:
    """Return a sink per URL; `slack:`, `discord:` or `json:` before a URL picks its format."""
    sinks = []
    for entry in urls:
        head, _, rest = entry.partition(":")
        fmt: Format = default
        if head in _FORMATS and rest and not rest.startswith("//"):
            fmt, entry = head, rest
        if not entry.startswith(("http://", "https://")):
            raise WebhookConfigError(f"alert webhook {entry!r} is not an http(s) URL")
        sinks.append(WebhookSink(entry, fmt, timeout_secs=timeout_secs))
    return sinks
