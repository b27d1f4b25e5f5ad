"""Move table state from primestream 0.1's per-table changelogs into the worker's one changelog.

0.1 kept each table in a topic of its own (`<app>-<table>-changelog`); the worker now keeps
them all in `<app>-changelog`, each key prefixed by its table (`infra.topics` says why). A
worker that finds its app's old topics copies their committed records into the new one
before it joins its group (keys prefixed, JSON-quoted keys of the faust runtime before
decoded), in one transaction, and then deletes them: it restores the same state, and the
copy happens once.

Workers starting together copy safely: the copy runs under one transactional id per app,
so a second worker's copy fences the first's before it commits, and a copy commits only
into a changelog that held no committed record when it began (checked after fencing). A
changelog that already holds state means a copy (or a worker) got there first: the old
topics are leftovers and only deleted. Old workers must be stopped before the upgrade.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    IsolationLevel,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec

from infra.admin import delete_topics
from infra.topics import changelog_topic, legacy_changelog_topic
from streams.runtime.tables import changelog_key, decode_key

__all__ = ["migrate_changelogs", "migration_transactional_id"]

log = logging.getLogger("primestream.runtime")
_TIMEOUT_SECS = 30.0
_SETTLE_SECS = 120.0  # well past a transaction timeout


def migration_transactional_id(app_id: str) -> str:
    """Return the transactional id every worker of APP_ID copies under (so one copy wins)."""
    return f"{app_id}-changelog-migration"


def migrate_changelogs(
    admin: AdminClient,
    app_id: str,
    tables: Iterable[str],
    consumer_config: Mapping[str, Any],
    producer_config: Mapping[str, Any],
) -> int:
    """Copy the old per-table changelogs of APP_ID's TABLES into its one; return records copied.

    The one changelog must exist. No old topic: nothing happens (one metadata request).
    PRODUCER_CONFIG is a transactional producer's; its transactional id is replaced.
    """
    existing = admin.list_topics(timeout=_TIMEOUT_SECS).topics
    old = {
        topic: table
        for table in sorted(set(tables))
        if (topic := legacy_changelog_topic(app_id, table)) in existing
    }
    if not old:
        return 0
    target = changelog_topic(app_id)
    producer = Producer({**producer_config, "transactional.id": migration_transactional_id(app_id)})
    producer.init_transactions(_TIMEOUT_SECS)  # fences a copy another worker has open
    copied = 0
    if _holds_state(admin, target, len(existing[target].partitions)):
        log.info("%s already holds state: not copying %s", target, ", ".join(sorted(old)))
    else:
        producer.begin_transaction()
        for topic, table in old.items():
            _wait_settled(admin, topic, len(existing[topic].partitions))
            copied += _copy(consumer_config, producer, topic, table, target)
        producer.commit_transaction(_TIMEOUT_SECS)
        log.info("copied %d records of %s into %s", copied, ", ".join(sorted(old)), target)
    delete_topics(admin, list(old))
    return copied


def _ends(admin: AdminClient, topic: str, partitions: int, isolation: Any) -> list[int]:
    request = {TopicPartition(topic, p): OffsetSpec.latest() for p in range(partitions)}
    futures = admin.list_offsets(request, isolation_level=isolation, request_timeout=_TIMEOUT_SECS)
    return [f.result().offset for _, f in sorted(futures.items(), key=lambda i: i[0].partition)]


def _holds_state(admin: AdminClient, topic: str, partitions: int) -> bool:
    """Tell whether TOPIC has a record (committed or not) in any partition."""
    return any(end > 0 for end in _ends(admin, topic, partitions, IsolationLevel.READ_UNCOMMITTED))


def _wait_settled(admin: AdminClient, topic: str, partitions: int) -> None:
    """Wait until no transaction is open on TOPIC (a killed old worker's ends at its timeout)."""
    deadline = time.monotonic() + _SETTLE_SECS
    while _ends(admin, topic, partitions, IsolationLevel.READ_COMMITTED) != _ends(
        admin, topic, partitions, IsolationLevel.READ_UNCOMMITTED
    ):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{topic} still has an open transaction after {_SETTLE_SECS:.0f} s")
        time.sleep(0.1)


def _copy(
    consumer_config: Mapping[str, Any], producer: Producer, topic: str, table: str, target: str
) -> int:
    """Produce TOPIC's committed records (TABLE's) into TARGET, partition for partition."""
    consumer = Consumer({**consumer_config, "enable.partition.eof": True})
    try:
        meta = consumer.list_topics(topic, timeout=_TIMEOUT_SECS).topics[topic]
        parts = [TopicPartition(topic, p, OFFSET_BEGINNING) for p in sorted(meta.partitions)]
        consumer.assign(parts)
        waiting, copied = {tp.partition for tp in parts}, 0
        while waiting:
            for message in consumer.consume(num_messages=10_000, timeout=1.0):
                error = message.error()
                if error is not None:
                    if error.code() != KafkaError._PARTITION_EOF:
                        raise KafkaException(error)
                    waiting.discard(message.partition())
                    continue
                raw = message.key()
                if raw is None:
                    continue
                key = changelog_key(table, decode_key(raw))
                _produce(producer, target, message.value(), key, message.partition())
                copied += 1
        return copied
    finally:
        consumer.close()


def _produce(
    producer: Producer, topic: str, value: bytes | None, key: bytes, partition: int
) -> None:
    while True:
        try:
            producer.produce(topic, value, key, partition=partition)
        except BufferError:  # the local queue is full: let deliveries drain it
            producer.poll(0.1)
            continue
        producer.poll(0)
        return
