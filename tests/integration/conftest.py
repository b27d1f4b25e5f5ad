"""The real broker and registry, started once per session; a fresh namespace per test.

Uses PRIMESTREAM_BOOTSTRAP_SERVERS (and PRIMESTREAM_SCHEMA_REGISTRY_URL) when set,
else starts the project's own local Apache Kafka and Apicurio Registry on free ports.
A broker that cannot start fails every test that needs it: these tests never skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from cli.topic_commands import apply_all
from infra import local
from infra.local import Endpoints
from infra.settings import Settings
from schemas.clients import Clients

_CLI = str(Path(sys.executable).with_name("primestream"))


@pytest.fixture(scope="session")
def infra_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("primestream-home")


@pytest.fixture(scope="session")
def endpoints(infra_home: Path) -> Iterator[Endpoints]:
    bootstrap = os.environ.get("PRIMESTREAM_BOOTSTRAP_SERVERS")
    if bootstrap:
        yield Endpoints(bootstrap, os.environ.get("PRIMESTREAM_SCHEMA_REGISTRY_URL"))
        return
    settings = Settings(_env_file=None, home=infra_home, kafka_port=0, registry_port=0)  # type: ignore[call-arg]
    try:
        started = local.up(settings)
    except Exception as exc:
        pytest.fail(f"the local Kafka broker / registry could not start: {exc}", pytrace=False)
    try:
        yield started
    finally:
        local.down(settings)


@dataclass(frozen=True)
class Cluster:
    """A local 3-broker replicated cluster: its settings (to kill and restart nodes), endpoints."""

    settings: Settings
    endpoints: Endpoints


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Start the project's own 3-broker cluster (no registry) for the tests that ask for it.

    Always local, even with PRIMESTREAM_BOOTSTRAP_SERVERS set: its tests kill its brokers.
    """
    home = tmp_path_factory.mktemp("primestream-cluster")
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, home=home, kafka_port=0, registry=False, brokers=3, kafka_heap_mb=512
    )
    try:
        started = local.up(settings)
    except Exception as exc:
        pytest.fail(f"the local 3-broker Kafka cluster could not start: {exc}", pytrace=False)
    try:
        yield Cluster(settings, started)
    finally:
        local.down(settings)


@dataclass(frozen=True)
class Scope:
    """One test's namespace on the shared broker: settings, env for the CLI, clients."""

    namespace: str
    settings: Settings
    env: dict[str, str]
    runtime: Clients

    def topic(self, name: str) -> str:
        return self.settings.topic(name)

    def cli(
        self,
        *args: str,
        check: bool = True,
        timeout: float = 120,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        """Run `primestream ARGS` in this namespace (ENV: instead of its own); return it."""
        done = subprocess.run(
            [_CLI, *args],
            env=self.env if env is None else env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"primestream {' '.join(args)} exited {done.returncode}\n"
                f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
            )
        return done


@pytest.fixture
def scope(endpoints: Endpoints, infra_home: Path) -> Scope:
    return make_scope(endpoints, infra_home)


def make_scope(endpoints: Endpoints, infra_home: Path) -> Scope:
    """Return a fresh namespace with its topics applied (for module-scoped fixtures too)."""
    namespace = f"t{uuid.uuid4().hex[:10]}"
    overrides: dict[str, str] = {
        "PRIMESTREAM_BOOTSTRAP_SERVERS": endpoints.bootstrap_servers,
        "PRIMESTREAM_NAMESPACE": namespace,
        "PRIMESTREAM_HOME": str(infra_home),
        "PRIMESTREAM_PARTITIONS": "2",
    }
    if endpoints.schema_registry_url:
        overrides["PRIMESTREAM_SCHEMA_REGISTRY_URL"] = endpoints.schema_registry_url
    env = {k: v for k, v in os.environ.items() if not k.startswith("PRIMESTREAM_")}
    env.update(overrides)
    env["COLUMNS"] = "250"
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        bootstrap_servers=endpoints.bootstrap_servers,
        schema_registry_url=endpoints.schema_registry_url,
        namespace=namespace,
        home=infra_home,
        partitions=2,
    )
    runtime = Clients(settings)
    apply_all(runtime)
    return Scope(namespace, settings, env, runtime)


def java_pids_under(path: Path) -> list[int]:
    """Return pids of java processes whose command line mentions PATH."""
    if shutil.which("pgrep") is None:
        out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True, check=True)
        return [
            int(line.split()[0])
            for line in out.stdout.splitlines()[1:]
            if "java" in line and str(path) in line
        ]
    out = subprocess.run(
        ["pgrep", "-f", f"java.*{path}"], capture_output=True, text=True, check=False
    )
    return [int(p) for p in out.stdout.split()]
