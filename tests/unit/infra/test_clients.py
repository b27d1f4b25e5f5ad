"""Every producer the project builds waits for all in-sync replicas and never writes twice."""

from __future__ import annotations

from typing import Any

import pytest

from infra.clients import producer_config
from infra.settings import Settings
from streams.runtime.clients import transactional_producer_config

_SERVERS = "127.0.0.1:9092,127.0.0.1:9093,127.0.0.1:9094"


def _settings(**kw: Any) -> Settings:
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    "config",
    [
        producer_config(_settings(), _SERVERS),
        transactional_producer_config(_settings(), _SERVERS, "app-w1", "client"),
    ],
    ids=["feed", "worker"],
)
def test_producers_use_acks_all_idempotence_and_every_bootstrap_server(
    config: dict[str, Any],
) -> None:
    assert config["acks"] == "all"
    assert config["enable.idempotence"] is True
    assert config["bootstrap.servers"] == _SERVERS
