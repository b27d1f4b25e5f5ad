"""Consumer-group lag: how far a group's committed offsets are behind the topics' ends."""

from __future__ import annotations

from collections.abc import Iterable

from confluent_kafka import Consumer, KafkaException, TopicPartition

__all__ = ["group_lag"]


def group_lag(
    bootstrap_servers: str, group: str, topics: Iterable[str], *, timeout_secs: float = 10.0
) -> dict[tuple[str, int], int] | None:
    """Return {(topic, partition): records not yet committed by GROUP}; None if unknown yet.

    An empty partition has no lag; a partition the group never committed lags by all it
    holds. None means the group coordinator could not answer (it is still loading).
    """
    consumer = Consumer(
        {"bootstrap.servers": bootstrap_servers, "group.id": group, "enable.auto.commit": False}
    )
    try:
        partitions = []
        for topic in topics:
            metadata = consumer.list_topics(topic, timeout=timeout_secs).topics[topic]
            partitions += [TopicPartition(topic, p) for p in sorted(metadata.partitions)]
        try:
            committed = consumer.committed(partitions, timeout=timeout_secs)
        except KafkaException:
            return None
        lag = {}
        for tp in committed:
            low, high = consumer.get_watermark_offsets(
                TopicPartition(tp.topic, tp.partition), timeout=timeout_secs
            )
            start = tp.offset if tp.offset >= 0 else low
            lag[(tp.topic, tp.partition)] = max(0, high - start)
        return lag
    finally:
        consumer.close()
