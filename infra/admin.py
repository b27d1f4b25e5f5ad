"""Apply and describe the topic table against a real cluster (the I/O half of infra.topics).

Describing asks again when a broker did not answer in time: librdkafka sends the request to
one broker of its choosing, and a broker restarting after a crash accepts connections
before it answers requests, so one unlucky request used to wait out the whole timeout and
fail the caller, a worker's start among them (`make reliability` saw a worker restarted
after a broker kill time out there after 30 s, then start fine a second later).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TypeVar

from confluent_kafka import KafkaError, KafkaException
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

log = logging.getLogger("primestream.infra")
T = TypeVar("T")
_TIMEOUT_SECS = 30.0
_ASK_SECS = 8.0  # one attempt at describing; three fit in what one used to take
_ATTEMPTS = 3
_WATCHED_CONFIGS = ("cleanup.policy", "retention.ms", "min.insync.replicas")


def describe_topics(
    admin: AdminClient, names: Iterable[str] | None = None
) -> dict[str, ExistingTopic]:
    """Return partitions and the watched configs of NAMES (default: every non-internal topic)."""
    wanted = set(names) if names is not None else None
    return _asked_again(lambda: _describe(admin, wanted))


def _describe(admin: AdminClient, wanted: set[str] | None) -> dict[str, ExistingTopic]:
    metadata = admin.list_topics(timeout=_ASK_SECS)
    topics = {
        name: len(t.partitions)
        for name, t in metadata.topics.items()
        if not name.startswith("__") and (wanted is None or name in wanted)
    }
    if not topics:
        return {}
    resources = [ConfigResource(ConfigResource.Type.TOPIC, name) for name in topics]
    existing: dict[str, ExistingTopic] = {}
    futures = admin.describe_configs(resources, request_timeout=_ASK_SECS)
    for resource, future in futures.items():
        entries = future.result(timeout=_ASK_SECS + 2.0)  # librdkafka's own timeout comes first
        configs = {k: entries[k].value for k in _WATCHED_CONFIGS if k in entries}
        existing[resource.name] = ExistingTopic(resource.name, topics[resource.name], configs)
    return existing


def _asked_again(ask: Callable[[], T], attempts: int = _ATTEMPTS) -> T:
    """Return ASK(), asked again (up to ATTEMPTS in all) while it fails for lack of an answer."""
    for attempt in range(1, attempts + 1):
        try:
            return ask()
        except (KafkaException, TimeoutError) as exc:
            if attempt == attempts or not _unanswered(exc):
                raise
            log.info("no answer from the cluster (%s); asking again", exc)
    raise AssertionError("unreachable")


def _unanswered(exc: Exception) -> bool:
    """Whether EXC says a request went unanswered (not that the cluster refused it)."""
    if isinstance(exc, TimeoutError):
        return True
    error = exc.args[0] if exc.args else None
    if not isinstance(error, KafkaError):
        return False
    return error.code() in (KafkaError._TIMED_OUT, KafkaError._TRANSPORT) or bool(error.retriable())


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
