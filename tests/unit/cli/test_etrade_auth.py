"""`primestream etrade auth` against the fake E*TRADE's OAuth endpoints, and the token file."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from infra.settings import Settings
from streams.execution.broker import BrokerConfigError, BrokerError
from streams.execution.etrade import config_from_settings
from streams.execution.etrade_auth import OAuthFlow, StoredTokens, read_tokens, write_tokens
from streams.execution.etrade_session import ETradeSession, token_expiry_us
from tests.kit.etrade_server import FakeETrade

CLI = str(Path(sys.executable).with_name("primestream"))
ISSUED_US = 1_704_205_800_000_000
# Long and unique: the process-wide log redactor replaces every secret it has seen.
KEY, SECRET = "auth-test-consumer-key", "auth-test-consumer-secret"


@pytest.fixture
def server() -> Iterator[FakeETrade]:
    with FakeETrade() as fake:
        yield fake


def env_for(server: FakeETrade, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIMESTREAM_")}
    env |= {
        "PRIMESTREAM_HOME": str(home),
        "PRIMESTREAM_ETRADE_CONSUMER_KEY": KEY,
        "PRIMESTREAM_ETRADE_CONSUMER_SECRET": SECRET,
        "PRIMESTREAM_ETRADE_BASE_URL": server.url,
    }
    return env


def test_auth_stores_the_tokens_readable_by_the_owner_only(
    server: FakeETrade, tmp_path: Path
) -> None:
    done = subprocess.run(
        [CLI, "etrade", "auth", "--verifier", server.verifier],
        env=env_for(server, tmp_path), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert f"{server.url}/e/t/etws/authorize?key={KEY}&token={server.request_token}" in done.stdout
    path = tmp_path / "etrade" / "tokens.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    tokens = read_tokens(path)
    assert tokens.access_token.get_secret_value() == server.access_token
    assert tokens.access_token_secret.get_secret_value() == server.access_secret
    assert server.endpoints()[:2] == ["request_token", "access_token"]
    # The worker's config reads them (no token in the environment).
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, home=tmp_path, etrade_consumer_key=KEY, etrade_consumer_secret=SECRET,
        etrade_account_id_key=server.account_id_key, etrade_base_url=server.url,
    )  # fmt: skip
    config = config_from_settings(settings)
    assert config.access_token.get_secret_value() == server.access_token
    assert config.token_issued_us == tokens.issued_us


def test_the_verifier_can_be_typed_at_the_prompt(server: FakeETrade, tmp_path: Path) -> None:
    done = subprocess.run(
        [CLI, "etrade", "auth"], input=f"{server.verifier}\n",
        env=env_for(server, tmp_path), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert done.returncode == 0, done.stderr
    assert (tmp_path / "etrade" / "tokens.json").exists()


def test_a_wrong_verifier_is_one_line_and_no_file(server: FakeETrade, tmp_path: Path) -> None:
    done = subprocess.run(
        [CLI, "etrade", "auth", "--verifier", "WRONG"],
        env=env_for(server, tmp_path), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: E*TRADE refused the access token")
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "etrade" / "tokens.json").exists()


def test_the_flow_in_process_with_the_browser_step(server: FakeETrade) -> None:
    flow = OAuthFlow(SecretStr(KEY), SecretStr(SECRET), base_url=server.url)

    url = flow.authorize_url()
    verifier = httpx.get(url).text  # the fake plays the user's browser step
    tokens = flow.access_tokens(verifier, issued_us=ISSUED_US)

    assert tokens.access_token.get_secret_value() == server.access_token
    assert tokens.issued_us == ISSUED_US


def test_access_before_the_request_token_is_refused(server: FakeETrade) -> None:
    with pytest.raises(BrokerError, match="authorize URL first"):
        OAuthFlow(SecretStr(KEY), SecretStr(SECRET), base_url=server.url).access_tokens(
            "x", issued_us=ISSUED_US
        )


def test_a_token_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tokens.json"
    write_tokens(
        path,
        StoredTokens(SecretStr("auth-test-token-a"), SecretStr("auth-test-secret-b"), ISSUED_US),
    )
    path.chmod(0o644)

    with pytest.raises(BrokerConfigError, match="readable by others"):
        read_tokens(path)
    with pytest.raises(BrokerConfigError, match="etrade auth"):
        read_tokens(tmp_path / "missing.json")


def test_the_session_expires_at_the_stored_issue_time(server: FakeETrade, tmp_path: Path) -> None:
    write_tokens(
        tmp_path / "t.json",
        StoredTokens(SecretStr("auth-test-token-a"), SecretStr("auth-test-secret-b"), ISSUED_US),
    )
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, home=tmp_path, etrade_token_file=tmp_path / "t.json",
        etrade_consumer_key=KEY, etrade_consumer_secret=SECRET, etrade_account_id_key="k",
    )  # fmt: skip

    session = ETradeSession(config_from_settings(settings), clock=lambda: ISSUED_US + 10**12)

    assert session.expires_us == token_expiry_us(ISSUED_US)
