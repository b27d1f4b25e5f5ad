"""Apply and describe the topic table against a real cluster (the I/O half of infra.topics)."""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import KafkaException
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
)

from infra.exceptions import InfraError
from infra.topics import ExistingTopic, TopicAction, TopicSpec, plan_topics

__all__ = ["apply_topics", "delete_topics", "describe_topics"]

_TIMEOUT_SECS = 30.0
_WATCHED_CONFIGS = ("cleanup.policy", "retention.ms", "min.insync.replicas")


def describe_topics(
    admin: AdminClient, names: Iterable[str] | None = None
) -> dict[str, ExistingTopic]:
    """Return partitions and the watched configs of NAMES (default: every non-internal topic)."""
    metadata = admin.list_topics(timeout=_TIMEOUT_SECS)
    wanted = set(names) if names is not None else None
    topics = {
        name: len(t.partitions)
        for name, t in metadata.topics.items()
        if not name.startswith("__") and (wanted is None or name in wanted)
    }
    if not topics:
        return {}
    resources = [ConfigResource(ConfigResource.Type.TOPIC, name) for name in topics]
    existing: dict[str, ExistingTopic] = {}
    for resource, future in admin.describe_configs(resources).items():
        entries = future.result(timeout=_TIMEOUT_SECS)
        configs = {k: entries[k].value for k in _WATCHED_CONFIGS if k in entries}
        existing[resource.name] = ExistingTopic(resource.name, topics[resource.name], configs)
    return existing


def apply_topics(
    admin: AdminClient, specs: Iterable[TopicSpec], *, namespace: str = ""
) -> list[TopicAction]:
    """Create missing topics and fix drifted configs; idempotent. Return the plan carried out."""
    specs = list(specs)
    plan = plan_topics(specs, describe_topics(admin), namespace=namespace)
    creates = [
        NewTopic(
            a.topic,
            a.spec.partitions,
            # -1: the cluster's default.replication.factor (KIP-464)
            a.spec.replication_factor or -1,
            config=a.spec.configs(),
        )
        for a in plan
        if a.kind == "create"
    ]
    if creates:
        for topic, future in admin.create_topics(creates, operation_timeout=_TIMEOUT_SECS).items():
            try:
                future.result(timeout=_TIMEOUT_SECS)
            except KafkaException as exc:
                if "TOPIC_ALREADY_EXISTS" not in str(exc):  # a concurrent apply won the race
                    raise InfraError(f"could not create topic {topic}: {exc}") from exc
    alters = [
        ConfigResource(
            ConfigResource.Type.TOPIC,
            a.topic,
            incremental_configs=[
                ConfigEntry(k, v, incremental_operation=AlterConfigOpType.SET)
                for k, v in a.changes.items()
            ],
        )
        for a in plan
        if a.kind == "alter"
    ]
    if alters:
        for resource, future in admin.incremental_alter_configs(alters).items():
            try:
                future.result(timeout=_TIMEOUT_SECS)
            except KafkaException as exc:
                raise InfraError(f"could not alter topic {resource.name}: {exc}") from exc
    return plan


def delete_topics(admin: AdminClient, names: Iterable[str]) -> list[str]:
    """Delete NAMES; return the ones deleted."""
    names = list(names)
    if not names:
        return []
    deleted = []
    for topic, future in admin.delete_topics(names, operation_timeout=_TIMEOUT_SECS).items():
        future.result(timeout=_TIMEOUT_SECS)
        deleted.append(topic)
    return deleted
