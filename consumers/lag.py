"""Consumer-group progress: committed offsets, and how far they are behind the topics' ends.

The committed offsets are asked of the group's coordinator by a consumer carrying the
group's id (never subscribed, so never a member). Its close waits for that coordinator, and
while the coordinator's broker is down it may wait forever (librdkafka issue #3740), which
would hang `status` and the alert dispatcher's lag check exactly when an operator needs
them; so the close runs on a thread of its own and nobody waits for it. (The admin API's
offset listing would need no close, but librdkafka 2.12 aborts the process on an assertion
when the coordinator dies under it.)
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from confluent_kafka import Consumer, KafkaException, TopicPartition

from infra.clients import consumer_config
from infra.settings import Settings

__all__ = ["group_lag", "group_position"]

Offsets = dict[tuple[str, int], tuple[int, int]]


def group_position(
    bootstrap_servers: str,
    group: str,
    topics: Iterable[str],
    *,
    timeout_secs: float = 10.0,
    settings: Settings | None = None,
) -> Offsets | None:
    """Return {(topic, partition): (committed, end)} of GROUP; None if unknown yet.

    A partition the group never committed counts from its first offset. None means the
    cluster could not answer (the group coordinator is loading or moving, a new topic's
    leader is not elected yet). SETTINGS, when given, bring the security settings (a
    secured cluster).
    """
    # read_committed would ask for *stable* offsets (KIP-447), which a transactional
    # group cannot give while a transaction is open (say, of a worker just killed):
    # the last committed offsets are what progress means.
    overrides = {"isolation.level": "read_uncommitted", "enable.partition.eof": False}
    if settings is not None:
        config = consumer_config(settings, bootstrap_servers, group, **overrides)
    else:
        config = {"bootstrap.servers": bootstrap_servers, "group.id": group, **overrides}
    consumer = Consumer({**config, "enable.auto.commit": False})
    try:
        partitions = []
        for topic in topics:
            metadata = consumer.list_topics(topic, timeout=timeout_secs).topics[topic]
            partitions += [TopicPartition(topic, p) for p in sorted(metadata.partitions)]
        try:
            committed = consumer.committed(partitions, timeout=timeout_secs)
        except KafkaException:
            return None
        position = {}
        for tp in committed:
            try:
                low, high = consumer.get_watermark_offsets(
                    TopicPartition(tp.topic, tp.partition), timeout=timeout_secs
                )
            except KafkaException:  # a new topic's leader is not elected yet
                return None
            position[(tp.topic, tp.partition)] = (tp.offset if tp.offset >= 0 else low, high)
        return position
    finally:
        threading.Thread(target=consumer.close, name="group-reader-close", daemon=True).start()


def group_lag(
    bootstrap_servers: str,
    group: str,
    topics: Iterable[str],
    *,
    timeout_secs: float = 10.0,
    settings: Settings | None = None,
) -> dict[tuple[str, int], int] | None:
    """Return {(topic, partition): records not yet committed by GROUP}; None if unknown yet."""
    position = group_position(
        bootstrap_servers, group, topics, timeout_secs=timeout_secs, settings=settings
    )
    if position is None:
        return None
    return {tp: max(0, end - committed) for tp, (committed, end) in position.items()}
