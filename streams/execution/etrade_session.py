"""The HTTP side of the E*TRADE adapter: pyetrade on our host, timeouts, tokens, typed errors.

- **Host.** pyetrade hard-codes E*TRADE's hosts but reads them from attributes on every
  call, so `ETradeSession` sets them after construction: `ETradeOrder.base_url` and
  `ETradeAccounts.base_url` to `<host>/v1/accounts`, and
  `ETradeAccessManager.renew_access_token_url` to `<host>/oauth/renew_access_token`
  (without an override the renewal stays on api.etrade.com, which serves OAuth for the
  sandbox too).
- **Timeouts.** Every pyetrade session gets an adapter that applies `timeout_secs` to
  requests pyetrade sends without one (accounts, renewal), and no urllib3 retries: the
  adapter decides what is safe to resend.
- **Errors.** A response hook turns 401 into a token problem, 5xx into `VenueServerError`
  (transient), other 4xx into `ETradeApiError(code, message)` from E*TRADE's Error body;
  204 means an empty listing.
- **Tokens.** An access token expires at midnight US Eastern and goes inactive after two
  hours without a request. Before a request after more than two idle hours the session
  renews it; at or after the midnight that follows its issue it raises
  `TokenExpiredError` without sending anything (re-authorizing needs a browser). A 401
  gets one renewal and one retry, then `TokenExpiredError`.
- **Secrets.** oauthlib and requests-oauthlib log the Authorization header and the
  signature base string at DEBUG (consumer key and access token, percent-encoded once or
  twice): a filter on exactly those loggers (and pyetrade's) replaces every form of our
  secrets with `***` before any handler sees the record.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus
from xml.parsers.expat import ExpatError
from zoneinfo import ZoneInfo

import requests
import xmltodict  # type: ignore[import-untyped]  # pyetrade's XML parser, ships no types
from pydantic import SecretStr
from pyetrade import (  # type: ignore[import-untyped]  # ships no type information
    ETradeAccessManager,
    ETradeAccounts,
    ETradeMarket,
    ETradeOrder,
)
from requests.adapters import HTTPAdapter

from infra.clock import Clock
from streams.execution.broker import BrokerConfigError, BrokerError, TokenExpiredError

__all__ = [
    "EASTERN",
    "IDLE_RENEW_US",
    "REDACTOR",
    "TRANSIENT_ERRORS",
    "ETradeApiError",
    "ETradeConfig",
    "ETradeSession",
    "SecretRedactor",
    "VenueServerError",
    "token_expiry_us",
]

EASTERN = ZoneInfo("America/New_York")
IDLE_RENEW_US = 2 * 3_600 * 1_000_000  # E*TRADE: inactive after two hours without a request
_HOSTS = {True: "https://apisb.etrade.com", False: "https://api.etrade.com"}
_API_ERROR = re.compile(r"Etrade API Error - Code: (?P<code>.*?), Msg: (?P<message>.*)", re.S)
_REDACTED_LOGGERS = (
    "oauthlib.oauth1.rfc5849",
    "oauthlib.oauth1.rfc5849.signature",
    "requests_oauthlib.oauth1_auth",
    "requests_oauthlib.oauth1_session",
    "pyetrade.accounts",
    "pyetrade.authorization",
    "pyetrade.order",
    "pyetrade.market",
    "urllib3.connectionpool",
)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class ETradeConfig:
    """What the E*TRADE adapter needs; secrets stay `SecretStr` until a request is signed."""

    consumer_key: SecretStr
    consumer_secret: SecretStr
    access_token: SecretStr
    access_token_secret: SecretStr
    account_id_key: str
    sandbox: bool = True
    base_url: str | None = None
    timeout_secs: float = 10.0
    max_attempts: int = 3
    retry_backoff_secs: float = 0.5
    max_pages: int = 20
    token_issued_us: int | None = None  # from the token file; None: assume issued at start

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.max_pages < 1 or self.timeout_secs <= 0:
            raise BrokerConfigError("max_attempts, max_pages and timeout_secs must be positive")

    @property
    def host(self) -> str:
        """Scheme and host requests go to: the override, else sandbox or live."""
        return (self.base_url or _HOSTS[self.sandbox]).rstrip("/")

    def secrets(self) -> tuple[str, ...]:
        """Return the four secret values (for redaction only)."""
        fields = (self.consumer_key, self.consumer_secret, self.access_token)
        return tuple(s.get_secret_value() for s in (*fields, self.access_token_secret))


class ETradeApiError(BrokerError):
    """E*TRADE answered with an Error: its code and message (the request was refused)."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(f"E*TRADE error {code}: {message}")
        self.code = code
        self.message = message
        self.status = status  # the HTTP status, when the refusal came as one


class VenueServerError(BrokerError):
    """E*TRADE failed on its side (5xx or an unreadable body); the outcome is unknown."""


class _UnauthorizedError(BrokerError):
    """401: the token is expired, inactive or rejected."""


class _NoContentError(Exception):
    """204: E*TRADE's answer to a listing with nothing in it."""


TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    requests.Timeout,
    requests.ConnectionError,
    VenueServerError,
)


def token_expiry_us(issued_us: int) -> int:
    """Return the first US Eastern midnight after ISSUED_US, in µs: when the token dies."""
    issued = datetime.fromtimestamp(issued_us / 1_000_000, tz=EASTERN)
    midnight = datetime.combine(issued.date() + timedelta(days=1), time(0), tzinfo=EASTERN)
    return int(midnight.timestamp()) * 1_000_000


class SecretRedactor(logging.Filter):
    """Replaces registered secrets (raw and percent-encoded) in log records with `***`."""

    def __init__(self) -> None:
        super().__init__()
        self._forms: set[str] = set()

    def add(self, secrets: Iterable[str]) -> None:
        """Redact SECRETS from now on, in every encoding OAuth signing gives them."""
        for secret in secrets:
            if secret:
                once = quote(secret, safe="~")
                self._forms |= {secret, once, quote(once, safe="~"), quote_plus(secret)}

    def scrub(self, text: str) -> str:
        """Return TEXT with every registered secret replaced by `***`."""
        for form in sorted(self._forms, key=len, reverse=True):
            text = text.replace(form, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite RECORD's message without secrets; never drops a record."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            return True
        scrubbed = self.scrub(message)
        if scrubbed != message:
            record.msg, record.args = scrubbed, None
        return True


REDACTOR = SecretRedactor()


def _error_of(response: requests.Response) -> tuple[str, str]:
    text = response.text.strip()
    try:
        body: Any = json.loads(text) if text.startswith("{") else xmltodict.parse(text)
        error = body["Error"]
        return str(error.get("code", response.status_code)), str(error.get("message", ""))
    except (ValueError, ExpatError, KeyError, TypeError, AttributeError):
        return str(response.status_code), REDACTOR.scrub(text[:200]) or response.reason


def _check_response(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    status = response.status_code
    if status == 204:
        raise _NoContentError
    if status == 401:
        raise _UnauthorizedError(REDACTOR.scrub(response.text.strip()[:200]) or "401 Unauthorized")
    if status >= 500:
        raise VenueServerError(f"E*TRADE answered {status} {response.reason}")
    if status >= 400:
        raise ETradeApiError(*_error_of(response), status=status)


class _TimeoutAdapter(HTTPAdapter):
    """Applies a default timeout to requests sent without one; never retries on its own."""

    def __init__(self, timeout_secs: float) -> None:
        super().__init__(max_retries=0)
        self._timeout_secs = timeout_secs

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float | None, float | None] | None = None,
        verify: bool | str = True,
        cert: str | tuple[str, str] | None = None,
        proxies: dict[str, str] | None = None,
    ) -> requests.Response:
        timeout = self._timeout_secs if timeout is None else timeout
        return super().send(request, stream, timeout, verify, cert, proxies)


def _prepare(session: requests.Session, timeout_secs: float) -> None:
    adapter = _TimeoutAdapter(timeout_secs)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    session.hooks["response"].append(_check_response)


class ETradeSession:
    """Signed E*TRADE requests through pyetrade, with token upkeep and typed errors."""

    def __init__(self, config: ETradeConfig, *, clock: Clock, token_issued_us: int | None = None):
        self._config = config
        self._clock = clock
        REDACTOR.add(config.secrets())
        for name in _REDACTED_LOGGERS:
            logging.getLogger(name).addFilter(REDACTOR)
        keys = config.secrets()
        self._order = ETradeOrder(*keys, dev=config.sandbox, timeout=config.timeout_secs)
        self._accounts = ETradeAccounts(*keys, dev=config.sandbox)
        self._access = ETradeAccessManager(*keys)
        self._market = ETradeMarket(*keys, dev=config.sandbox)
        self._market.base_url = f"{config.host}/v1/market/"
        api = f"{config.host}/v1/accounts"
        self._order.base_url = api
        self._accounts.base_url = api
        if config.base_url is not None:
            self._access.renew_access_token_url = f"{config.host}/oauth/renew_access_token"
        for client in (self._order, self._accounts, self._access, self._market):
            _prepare(client.session, config.timeout_secs)
        now = clock()
        self._last_request_us = now
        issued_us = token_issued_us if token_issued_us is not None else config.token_issued_us
        self._expires_us = token_expiry_us(now if issued_us is None else issued_us)

    @property
    def expires_us(self) -> int:
        """When the access token dies (the US Eastern midnight after its issue), in µs."""
        return self._expires_us

    def preview(self, request: dict[str, Any]) -> dict[str, Any]:
        """Preview an equity order (no side effect); return the PreviewOrderResponse."""
        return self._call(lambda: self._order.preview_equity_order(**request))

    def place(self, request: dict[str, Any], preview_id: str) -> dict[str, Any]:
        """Place a previewed equity order; return the PlaceOrderResponse."""
        return self._call(lambda: self._order.place_equity_order(previewId=preview_id, **request))

    def cancel(self, etrade_id: int) -> dict[str, Any]:
        """Ask E*TRADE to cancel its order ETRADE_ID; return the CancelOrderResponse."""
        key = self._config.account_id_key
        return self._call(lambda: self._order.cancel_order(key, etrade_id, resp_format="xml"))

    def quotes(self, symbols: Sequence[str]) -> dict[str, Any]:
        """Return E*TRADE's JSON QuoteResponse for SYMBOLS (at most 25, detail ALL)."""
        return self._call(lambda: self._market.get_quote(list(symbols), resp_format="json"))

    def list_orders(self, marker: str | None) -> dict[str, Any]:
        """Return one page (up to 100) of the account's orders, from MARKER on."""
        key = self._config.account_id_key
        return self._call(
            lambda: self._order.list_orders(key, marker=marker, count=100, resp_format="json"),
            empty={},
        )

    def portfolio(self, page: int) -> dict[str, Any]:
        """Return page PAGE (1-based) of the account's portfolio."""
        key = self._config.account_id_key
        return self._call(
            lambda: self._accounts.get_account_portfolio(
                key, count=100, page_number=page, resp_format="json"
            ),
            empty={},
        )

    def _before_request(self) -> None:
        now = self._clock()
        if now >= self._expires_us:
            raise TokenExpiredError("the access token expired at midnight US Eastern")
        if now - self._last_request_us > IDLE_RENEW_US:
            self._renew(now)
        self._last_request_us = now

    def _renew(self, now: int) -> None:
        try:
            self._access.renew_access_token()
        except (_UnauthorizedError, ETradeApiError) as err:
            raise TokenExpiredError(f"E*TRADE refused to renew the access token ({err})") from None
        self._last_request_us = now

    def _call(self, request: Callable[[], T], *, empty: T | None = None) -> T:
        self._before_request()
        try:
            return self._send(request, empty)
        except _UnauthorizedError:
            self._renew(self._clock())
        try:
            return self._send(request, empty)
        except _UnauthorizedError as err:
            raise TokenExpiredError(
                f"E*TRADE rejects the access token after renewal ({err})"
            ) from None

    @staticmethod
    def _send(request: Callable[[], T], empty: T | None) -> T:
        try:
            return request()
        except _NoContentError:
            if empty is None:
                raise VenueServerError("E*TRADE answered 204 No Content") from None
            return empty
        except (ExpatError, requests.JSONDecodeError) as err:
            raise VenueServerError(f"unreadable E*TRADE response: {err}") from None
        except (BrokerError, requests.RequestException):
            raise
        except Exception as err:
            # pyetrade raises a bare Exception for an Error body in a 200 answer.
            match = _API_ERROR.fullmatch(str(err))
            if match is None:
                raise
            raise ETradeApiError(match["code"], match["message"]) from None
