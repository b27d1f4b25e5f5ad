"""librdkafka configuration for every primestream client, in one place."""

from __future__ import annotations

from typing import Any

from infra.settings import Settings

__all__ = ["admin_config", "consumer_config", "producer_config"]


def _base(settings: Settings, bootstrap_servers: str) -> dict[str, Any]:
    config: dict[str, Any] = {"bootstrap.servers": bootstrap_servers}
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
