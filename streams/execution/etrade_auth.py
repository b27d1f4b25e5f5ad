"""E*TRADE's OAuth 1.0a authorization, and the token file the live worker reads.

E*TRADE has no unattended login: a person opens the authorize URL in a browser, logs in,
accepts, and copies the verifier code it shows. `OAuthFlow` does the two signed requests
around that step (request token, then access token), on requests-oauthlib's public API
with our timeout; the hosts are `<base_url>/oauth/...` and `<base_url>/e/t/etws/authorize`
when a base URL is set (a fake server in tests), else E*TRADE's: OAuth lives on
api.etrade.com for the sandbox too, authorization on us.etrade.com.

The tokens go to a JSON file created with mode 0600 (only its owner reads it), with the
time they were issued: they die at the next midnight US Eastern
(`etrade_session.token_expiry_us`), so the worker knows when without asking.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from pydantic import SecretStr
from requests_oauthlib import OAuth1Session  # type: ignore[import-untyped]  # no type info

from streams.execution.broker import BrokerConfigError, BrokerError

__all__ = [
    "AUTHORIZE_URL",
    "OAUTH_HOST",
    "REAUTHORIZE",
    "OAuthFlow",
    "StoredTokens",
    "read_tokens",
    "session_expired",
    "write_tokens",
]

OAUTH_HOST = "https://api.etrade.com"
AUTHORIZE_URL = "https://us.etrade.com/e/t/etws/authorize"
REAUTHORIZE = "run `primestream etrade auth`, then restart"
"""The one instruction every expired-session message gives (README quotes it)."""


def session_expired(cause: str) -> str:
    """Return the line that reports an expired E*TRADE session: CAUSE, then what to do."""
    # The causes (TokenExpiredError's text) say only what happened, so a user reads one
    # instruction, not two that disagree.
    return f"the E*TRADE session expired ({cause}); {REAUTHORIZE}"


@dataclass(frozen=True, slots=True)
class StoredTokens:
    """An access token and secret, and when E*TRADE issued them (µs since the epoch)."""

    access_token: SecretStr
    access_token_secret: SecretStr
    issued_us: int


def write_tokens(path: Path, tokens: StoredTokens) -> None:
    """Write TOKENS to PATH with mode 0600, replacing it atomically (never world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "access_token": tokens.access_token.get_secret_value(),
        "access_token_secret": tokens.access_token_secret.get_secret_value(),
        "issued_us": tokens.issued_us,
    }
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.unlink(missing_ok=True)
    # Created 0600 by open(2) itself: no moment where another user could read it.
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(body, out)
    os.replace(temporary, path)


def read_tokens(path: Path) -> StoredTokens:
    """Return the tokens in PATH; BrokerConfigError if missing, unreadable or too open."""
    try:
        mode = path.stat().st_mode & 0o777
        body: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BrokerConfigError(
            f"no E*TRADE tokens at {path}: run `primestream etrade auth`"
        ) from None
    except (OSError, ValueError) as err:
        raise BrokerConfigError(f"cannot read the E*TRADE tokens at {path}: {err}") from None
    if mode & 0o077:
        raise BrokerConfigError(
            f"{path} is readable by others (mode {mode:o}): chmod 600 it or run "
            "`primestream etrade auth` again"
        )
    try:
        return StoredTokens(
            SecretStr(str(body["access_token"])),
            SecretStr(str(body["access_token_secret"])),
            int(body["issued_us"]),
        )
    except (KeyError, TypeError, ValueError):
        raise BrokerConfigError(
            f"{path} is not a token file of `primestream etrade auth`"
        ) from None


class OAuthFlow:
    """The request token, the authorize URL, and the access token for a verifier."""

    def __init__(
        self,
        consumer_key: SecretStr,
        consumer_secret: SecretStr,
        *,
        base_url: str | None = None,
        timeout_secs: float = 10.0,
    ) -> None:
        host = (base_url or OAUTH_HOST).rstrip("/")
        self._key = consumer_key.get_secret_value()
        self._secret = consumer_secret.get_secret_value()
        self._request_url = f"{host}/oauth/request_token"
        self._access_url = f"{host}/oauth/access_token"
        self._authorize_url = f"{host}/e/t/etws/authorize" if base_url else AUTHORIZE_URL
        self._timeout_secs = timeout_secs
        self._request_token: tuple[str, str] | None = None

    def authorize_url(self) -> str:
        """Fetch a request token; return the URL the user opens to get a verifier."""
        session = OAuth1Session(self._key, self._secret, callback_uri="oob")
        answer = self._fetch(session.fetch_request_token, self._request_url, "request token")
        token, secret = answer["oauth_token"], answer["oauth_token_secret"]
        self._request_token = (token, secret)
        return f"{self._authorize_url}?key={self._key}&token={token}"

    def access_tokens(self, verifier: str, *, issued_us: int) -> StoredTokens:
        """Trade VERIFIER and the request token for the access token and its secret."""
        if self._request_token is None:
            raise BrokerError("ask for the authorize URL first: it fetches the request token")
        token, secret = self._request_token
        session = OAuth1Session(self._key, self._secret, token, secret, verifier=verifier.strip())
        answer = self._fetch(session.fetch_access_token, self._access_url, "access token")
        return StoredTokens(
            SecretStr(answer["oauth_token"]), SecretStr(answer["oauth_token_secret"]), issued_us
        )

    def _fetch(self, call: Any, url: str, what: str) -> dict[str, str]:
        try:
            answer: dict[str, str] = call(url, timeout=self._timeout_secs)
        except requests.RequestException as err:
            raise BrokerError(f"E*TRADE {what}: {type(err).__name__}: {err}") from None
        except ValueError as err:  # oauthlib's TokenRequestDenied / missing token are ValueErrors
            raise BrokerError(f"E*TRADE refused the {what}: {err}") from None
        if not answer.get("oauth_token") or not answer.get("oauth_token_secret"):
            raise BrokerError(f"E*TRADE's {what} answer has no token")
        return answer
