"""librdkafka configuration for every primestream client, in one place.

The typed security settings (`PRIMESTREAM_KAFKA_SECURITY_PROTOCOL`, `..._SASL_*`,
`..._SSL_CA_LOCATION`) become librdkafka's keys here, so producers, tail/export/replay,
the worker's consumer, transactional producer, restorer and admin client all connect
alike; `PRIMESTREAM_KAFKA_EXTRA_CONFIG` comes last and wins. The configs hold the
password in clear (librdkafka needs it so): they are never logged.
"""

from __future__ import annotations

from typing import Any

from infra.settings import Settings

__all__ = ["admin_config", "consumer_config", "producer_config", "security_config"]


def security_config(settings: Settings) -> dict[str, Any]:
    """Return the librdkafka security keys of SETTINGS (empty for PLAINTEXT)."""
    protocol = settings.kafka_security_protocol
    if protocol == "PLAINTEXT":
        return {}
    config: dict[str, Any] = {"security.protocol": protocol.lower()}
    if protocol.startswith("SASL_"):
        config["sasl.mechanisms"] = settings.kafka_sasl_mechanism
        if settings.kafka_sasl_username is not None:
            config["sasl.username"] = settings.kafka_sasl_username
        if settings.kafka_sasl_password is not None:
            config["sasl.password"] = settings.kafka_sasl_password.get_secret_value()
    if protocol.endswith("SSL") and settings.kafka_ssl_ca_location is not None:
        config["ssl.ca.location"] = str(settings.kafka_ssl_ca_location)
    return config


def _base(settings: Settings, bootstrap_servers: str) -> dict[str, Any]:
    config: dict[str, Any] = {"bootstrap.servers": bootstrap_servers}
    config.update(security_config(settings))
    config.update(settings.kafka_extra_config)
    return config


def admin_config(settings: Settings, bootstrap_servers: str) -> dict[str, Any]:
    """Return the AdminClient configuration."""
    return _base(settings, bootstrap_servers)


def producer_config(settings: Settings, bootstrap_servers: str, **overrides: Any) -> dict[str, Any]:
    """Return an idempotent, acks=all, compressed producer configuration.

    linger and batch size favour throughput; the idempotent producer keeps
    per-partition order even with several requests in flight.
    """
    config = _base(settings, bootstrap_servers)
    config.update(
        {
            "enable.idempotence": True,
            # Java's (and faust's) key hashing, so a symbol lands in the same partition
            # whichever client wrote it: co-partitioning holds across clients.
            "partitioner": "murmur2_random",
            "acks": "all",
            "compression.type": "lz4",
            "linger.ms": 5,
            "batch.size": 1_000_000,
            "queue.buffering.max.messages": 1_000_000,
            "queue.buffering.max.kbytes": 1_048_576,
        }
    )
    config.update(overrides)
    return config


def consumer_config(
    settings: Settings, bootstrap_servers: str, group_id: str, **overrides: Any
) -> dict[str, Any]:
    """Return a read_committed consumer configuration that commits only what it processed."""
    config = _base(settings, bootstrap_servers)
    config.update(
        {
            "group.id": group_id,
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "enable.partition.eof": True,
        }
    )
    config.update(overrides)
    return config
