"""Workers and tools on a secured broker: SASL_SSL, SCRAM-SHA-512, a local CA, ACLs.

The broker is the one `primestream infra up --secure` starts (infra.local.up, secure),
in a home of its own, once per session, beside the session's plain broker (whose
registry, plain HTTP on localhost, it shares). Every client is configured the way a user
does it: the PRIMESTREAM_KAFKA_* settings that `infra up --secure` writes to
`<home>/kafka/secure/client.env`.

The paper loop is the scripted path of test_trading.py (BUY 100 filled at 12.01, SELL
200 at 7.99, short 100 left).
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pyarrow.parquet as pq
import pytest
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialUpsertion,
)
from pydantic import SecretStr

from cli.topic_commands import apply_all
from consumers.lag import group_lag
from infra import local
from infra.broker_security import parse_env_file
from infra.clients import admin_config
from infra.local import Endpoints
from infra.settings import Settings
from schemas.clients import Clients
from streams.context import app_id
from tests.kit.desk import SCRIPTED_MIDS, desk_toml
from tests.kit.topics import read_topic
from tests.kit.waiting import eventually
from tests.kit.worker import CLI, WorkerProcess

pytestmark = pytest.mark.integration

_READER = "reader"
_READER_PASSWORD = "reader-" + uuid.uuid4().hex


@dataclass(frozen=True)
class Secured:
    """The secured broker of this session: its home and the admin's client settings."""

    home: Path
    client_env: dict[str, str]  # PRIMESTREAM_KAFKA_* from client.env (admin, super user)
    registry_url: str | None

    def settings(self, namespace: str, **overrides: Any) -> Settings:
        """Return the admin's settings in NAMESPACE, as a worker on this broker reads them."""
        env = self.client_env
        fields: dict[str, Any] = {
            "home": self.home,
            "bootstrap_servers": None,
            "schema_registry_url": self.registry_url,
            "registry": self.registry_url is not None,
            "namespace": namespace,
            "partitions": 2,
            "kafka_security_protocol": env["PRIMESTREAM_KAFKA_SECURITY_PROTOCOL"],
            "kafka_sasl_mechanism": env["PRIMESTREAM_KAFKA_SASL_MECHANISM"],
            "kafka_sasl_username": env["PRIMESTREAM_KAFKA_SASL_USERNAME"],
            "kafka_sasl_password": SecretStr(env["PRIMESTREAM_KAFKA_SASL_PASSWORD"]),
            "kafka_ssl_ca_location": Path(env["PRIMESTREAM_KAFKA_SSL_CA_LOCATION"]),
        }
        return Settings(_env_file=None, **{**fields, **overrides})  # type: ignore[call-arg]

    def env(self, namespace: str, **overrides: str) -> dict[str, str]:
        """Return a CLI environment: the admin's client settings, NAMESPACE, OVERRIDES."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("PRIMESTREAM_")}
        env.update(self.client_env)
        env.update(
            {
                "PRIMESTREAM_HOME": str(self.home),
                "PRIMESTREAM_NAMESPACE": namespace,
                "PRIMESTREAM_PARTITIONS": "2",
                "COLUMNS": "250",
            }
        )
        if self.registry_url:
            env["PRIMESTREAM_SCHEMA_REGISTRY_URL"] = self.registry_url
        else:
            env["PRIMESTREAM_REGISTRY"] = "false"
        env.update(overrides)
        return env

    @property
    def password(self) -> str:
        """The admin's password: what must never show in logs, status or records."""
        return self.client_env["PRIMESTREAM_KAFKA_SASL_PASSWORD"]


@pytest.fixture(scope="session")
def secured(tmp_path_factory: pytest.TempPathFactory, endpoints: Endpoints) -> Iterator[Secured]:
    """Start the secured local broker once for these tests (the session's stays as it is)."""
    home = tmp_path_factory.mktemp("primestream-secure-home")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        home=home,
        bootstrap_servers=None,
        kafka_port=0,
        registry=False,
        kafka_sasl_username=None,
        kafka_sasl_password=None,
    )
    try:
        local.up(settings, secure=True)
    except Exception as exc:
        pytest.fail(f"the secured local Kafka broker could not start: {exc}", pytrace=False)
    try:
        client_env = parse_env_file((home / "kafka" / "secure" / "client.env").read_text())
        yield Secured(home, client_env, endpoints.schema_registry_url)
    finally:
        local.down(settings)


@dataclass(frozen=True)
class Desk:
    """A namespace on the secured broker with its topics and the scripted quotes in it."""

    namespace: str
    settings: Settings


@pytest.fixture(scope="module")
def desk(secured: Secured, tmp_path_factory: pytest.TempPathFactory) -> Desk:
    """Apply the topics (as the admin) and produce the quotes with `primestream produce`."""
    namespace = f"t{uuid.uuid4().hex[:10]}"
    settings = secured.settings(namespace)
    apply_all(Clients(settings))
    quotes = _quotes_csv(tmp_path_factory.mktemp("secured-desk") / "q.csv")
    _ok(_cli(secured.env(namespace), "produce", "market", "--source", f"csv:{quotes}"))
    return Desk(namespace, settings)


def _cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CLI, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def _ok(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _quotes_csv(path: Path) -> Path:
    rows = ["symbol,ts,bid,ask,bid_size,ask_size"]
    for i, mid in enumerate(SCRIPTED_MIDS):
        rows.append(f"ACME,2024-01-02T14:30:{i:02d}Z,{mid - 0.01:.2f},{mid + 0.01:.2f},1000,1000")
    path.write_text("\n".join(rows) + "\n")
    return path


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def workers() -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.stop()
        sys.stderr.write(worker.tail())


def test_a_paper_worker_trades_on_the_secured_broker_and_no_secret_leaks(
    secured: Secured, desk: Desk, tmp_path: Path, workers: list[WorkerProcess]
) -> None:
    env = secured.env(desk.namespace, PRIMESTREAM_TRADING_MODE="paper")
    settings = desk.settings
    config = tmp_path / "trading.toml"
    config.write_text(desk_toml())
    port = _free_port("127.0.0.2")
    # Bound to 127.0.0.2 only: reachable there, refused on 127.0.0.1 (the old fixed bind).
    args = ["--strategies", str(config), "--web-port", str(port), "--web-host", "127.0.0.2"]
    worker = WorkerProcess(env, args, tmp_path / "worker.log")
    workers.append(worker)
    worker.start()

    runtime = Clients(settings)
    bootstrap = runtime.endpoints.bootstrap_servers
    quotes = [settings.topic("market.quotes")]

    def caught_up() -> bool:
        assert worker.alive(), worker.tail()
        lag = group_lag(bootstrap, app_id(settings), quotes, settings=settings)
        return lag is not None and sum(lag.values()) == 0

    eventually(caught_up, timeout=120, message="the worker caught up on the secured broker")
    fills = [r.value for r in read_topic(runtime, settings.topic("fills"), idle_secs=1.5)]
    positions = [r.value for r in read_topic(runtime, settings.topic("positions"), idle_secs=1.5)]
    assert [(f["side"], f["qty"], f["price"]) for f in fills if f] == [
        ("BUY", 100.0, Decimal("12.01")),
        ("SELL", 200.0, Decimal("7.99")),
    ]
    assert positions[-1] is not None
    assert positions[-1]["qty"] == -100.0

    metrics = httpx.get(f"http://127.0.0.2:{port}/metrics", timeout=10.0).text
    assert "process_cpu_seconds_total" in metrics
    assert "process_resident_memory_bytes" in metrics
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5.0)

    # The tools: status (group, lag, the worker's /ready at its bind address), export.
    group = json.loads(_ok(_cli(env, "status", "--json")))
    assert [(w["pid"], w["lag"], w["ready"]) for w in group["workers"]] == [
        (worker.process.pid if worker.process else None, 0, True)
    ]
    exported = tmp_path / "fills.parquet"
    _ok(_cli(env, "export", "fills", "--to", str(exported)))
    assert pq.read_table(exported).column("side").to_pylist() == ["BUY", "SELL"]

    # Already up: says so, where the client settings are, and the status table.
    again = _cli(env, "infra", "up", "--secure")
    assert "already running" in _ok(again)
    assert "client.env" in again.stdout
    assert "SASL_SSL (SCRAM-SHA-512, ACLs)" in again.stdout
    worker.stop()
    kafka_dir = secured.home / "kafka"
    seen = {
        "worker log": worker.tail(10**7),
        "infra up + status": again.stdout + again.stderr,
        "state file": (secured.home / "run" / "state.json").read_text(),
        "broker log": (kafka_dir / "kafka.log").read_text(errors="replace"),
        "fills": repr(fills),
    }
    assert [where for where, text in seen.items() if secured.password in text] == []
    assert oct((kafka_dir / "server.properties").stat().st_mode & 0o777) == "0o600"
    assert oct((kafka_dir / "secure" / "client.env").stat().st_mode & 0o777) == "0o600"


def _admin(secured: Secured) -> AdminClient:
    settings = secured.settings("")
    return AdminClient(admin_config(settings, Clients(settings).endpoints.bootstrap_servers))


def _add_reader(secured: Secured, namespace: str) -> None:
    """Create user `reader`, allowed to read market.quotes of NAMESPACE and nothing else."""
    admin = _admin(secured)
    upsert = UserScramCredentialUpsertion(
        _READER,
        ScramCredentialInfo(ScramMechanism.SCRAM_SHA_512, 8192),
        _READER_PASSWORD.encode(),
    )
    for future in admin.alter_user_scram_credentials([upsert]).values():
        future.result(timeout=30)
    topic = f"{namespace}.market.quotes"
    principal = f"User:{_READER}"
    allow = AclPermissionType.ALLOW
    bindings = [
        AclBinding(
            ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, principal, "*", op, allow
        )
        for op in (AclOperation.READ, AclOperation.DESCRIBE)
    ]
    bindings.append(
        AclBinding(
            ResourceType.GROUP,
            "primestream-tail-",
            ResourcePatternType.PREFIXED,
            principal,
            "*",
            AclOperation.READ,
            allow,
        )
    )
    for future in admin.create_acls(bindings).values():
        future.result(timeout=30)


def test_a_principal_without_acls_on_orders_is_refused_with_one_clear_line(
    secured: Secured, desk: Desk
) -> None:
    namespace = desk.namespace
    _add_reader(secured, namespace)
    reader_env = secured.env(
        namespace,
        PRIMESTREAM_KAFKA_SASL_USERNAME=_READER,
        PRIMESTREAM_KAFKA_SASL_PASSWORD=_READER_PASSWORD,
    )

    def reads_quotes() -> subprocess.CompletedProcess[str] | None:
        done = _cli(reader_env, "tail", "market.quotes", "--from-beginning", "-o", "json")
        return done if done.returncode == 0 else None  # the new user's credential propagates

    allowed = eventually(reads_quotes, timeout=60, interval=1.0, message="reader reads quotes")
    assert allowed is not None
    assert len(allowed.stdout.splitlines()) == len(SCRIPTED_MIDS)

    refused = _cli(reader_env, "tail", "orders", "--from-beginning")
    assert refused.returncode == 2
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert lines[0].startswith("error: not authorized")
    assert "TOPIC_AUTHORIZATION_FAILED" in lines[0]
    assert f"'{namespace}.orders'" in lines[0]


def test_a_wrong_password_fails_with_one_clear_line_not_a_hang(secured: Secured) -> None:
    namespace = f"t{uuid.uuid4().hex[:10]}"
    wrong = "not-the-password-" + uuid.uuid4().hex
    env = secured.env(namespace, PRIMESTREAM_KAFKA_SASL_PASSWORD=wrong)
    user = secured.client_env["PRIMESTREAM_KAFKA_SASL_USERNAME"]
    # The tool's own bound is the first request (PRIMESTREAM_KAFKA_CONNECT_TIMEOUT_SECS,
    # 15 s); the subprocess timeout only keeps a broken build from hanging the suite.
    for args in (("tail", "market.quotes"), ("worker", "--loglevel", "info")):
        done = _cli(env, *args, timeout=90)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2, done.stderr
        assert len(lines) == 1, done.stderr
        assert f"refused user '{user}' (SCRAM-SHA-512): wrong user name or password" in lines[0]
        assert wrong not in done.stderr + done.stdout
