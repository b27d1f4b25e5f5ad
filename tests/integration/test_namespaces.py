"""`primestream namespaces list | delete` on a real broker: one namespace goes, others stay."""

from __future__ import annotations

import subprocess

import pytest
from confluent_kafka.admin import AdminClient

from tests.integration.conftest import Scope
from tests.kit.worker import CLI

pytestmark = pytest.mark.integration


def _topics(scope: Scope) -> set[str]:
    admin = AdminClient({"bootstrap.servers": scope.settings.bootstrap_servers})
    return set(admin.list_topics(timeout=30).topics)


def test_delete_removes_one_namespace_and_nothing_else(scope: Scope) -> None:
    other = f"{scope.namespace}keep"
    scope.cli("topics", "apply")
    subprocess.run(
        [CLI, "topics", "apply"],
        env={**scope.env, "PRIMESTREAM_NAMESPACE": other},
        check=True,
        capture_output=True,
    )
    mine = {t for t in _topics(scope) if t.startswith(scope.namespace + ".")}
    assert scope.topic("market.quotes") in mine

    listed = scope.cli("namespaces", "list").stdout
    assert scope.namespace in listed
    assert other in listed

    done = scope.cli("namespaces", "delete", scope.namespace, "--yes")

    left = _topics(scope)
    assert f"deleted namespace {scope.namespace}: {len(mine)} topics" in done.stdout
    assert not (mine & left)
    assert f"{other}.market.quotes" in left, "another namespace is untouched"


def test_deleting_an_unknown_namespace_is_one_clear_line(scope: Scope) -> None:
    done = scope.cli("namespaces", "delete", "nosuchns", "--yes", check=False)

    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: no namespace 'nosuchns': see `primestream namespaces list`"
    ]
