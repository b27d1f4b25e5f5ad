"""Rebuild a table's partitions from their changelogs, committed records only, to the settled end.

When a worker is given a partition, its tables' state for that partition is whatever the
changelog holds (one topic for all tables; each record's key names its table): the
restorer reads each changelog partition from its start to its end with a `read_committed`
consumer of its own (assigned, never in a group). "The end" must be the
end after the previous owner's last transaction: that owner committed before it gave the
partition up, but the transaction's commit markers reach the changelog partitions a moment
later, and until they do a `read_committed` reader stops short of that transaction's
records (its last stable offset is before them). So the restorer first waits until each
changelog partition is settled, its last stable offset equal to its high watermark, which
also waits out a transaction that a killed worker left open, until the broker aborts it.

Progress is observed by a `RecoveryWatch`: what remains is served on `/ready`, and a restore
that makes no progress for `stall_secs` raises `RestoreStalledError` naming the partitions.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    IsolationLevel,
    KafkaError,
    KafkaException,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec

from streams.recovery import RecoveryWatch
from streams.runtime.exceptions import RestoreStalledError
from streams.runtime.tables import ChangelogTable, split_changelog_key

__all__ = ["ChangelogRestorer"]

log = logging.getLogger("primestream.runtime")
_SETTLE_POLL_SECS = 0.05
_REQUEST_SECS = 10.0
_WARNINGS = 10  # skipped records logged, then only counted

TP = tuple[str, int]


class ChangelogRestorer:
    """Reads changelog partitions into tables (one consumer, reused across rebalances)."""

    def __init__(
        self,
        consumer_config: Mapping[str, Any],
        admin_config: Mapping[str, Any],
        watch: RecoveryWatch,
        *,
        clock: Callable[[], float] = time.monotonic,
        make_admin: Callable[[dict[str, Any]], Any] = AdminClient,
    ) -> None:
        self._consumer_config = {**consumer_config, "enable.partition.eof": True}
        self._admin_config = dict(admin_config)
        self._make_admin = make_admin
        self._watch = watch
        self._clock = clock
        self._consumer: Any = None
        self._admin: Any = None
        self.skipped = 0  # changelog records that name no table of this worker

    def restore(self, tables: Sequence[ChangelogTable], partitions: Iterable[int]) -> int:
        """Load PARTITIONS of every table from its changelog; return the records read."""
        owners: dict[TP, dict[str, ChangelogTable]] = {}
        for partition in sorted(set(partitions)):
            for table in tables:
                owners.setdefault((table.topic, partition), {})[table.name] = table
                table.drop(partition)
                table.hold(partition)
        if not owners:
            return 0
        ends = self._settled_ends(list(owners))
        todo = {tp: end for tp, end in ends.items() if end > 0}
        if not todo:
            self._watch.observe(self._clock(), False, {}, {})
            return 0
        started = self._clock()
        read = self._read(owners, todo)
        log.info(
            "restored %d changelog records of %d partitions in %.2f s",
            read, len(todo), self._clock() - started,
        )  # fmt: skip
        return read

    def close(self) -> None:
        """Close the changelog consumer."""
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None

    # ------------------------------------------------------------------ ends
    def _settled_ends(self, tps: list[TP]) -> dict[TP, int]:
        """Return each partition's end once its last stable offset reached its high watermark."""
        waiting = set(tps)
        ends: dict[TP, int] = {}
        began, told = self._clock(), False
        while waiting:
            stable = self._offsets(waiting, IsolationLevel.READ_COMMITTED)
            high = self._offsets(waiting, IsolationLevel.READ_UNCOMMITTED)
            for tp in list(waiting):
                if stable[tp] >= high[tp]:
                    ends[tp] = high[tp]
                    waiting.discard(tp)
            if not waiting:
                break
            now = self._clock()
            reason = self._watch.observe(now, True, {tp: stable[tp] for tp in waiting}, high)
            if reason is not None:
                raise RestoreStalledError(f"a transaction stays open on a changelog: {reason}")
            if not told and now - began > 2.0:
                told = True
                log.info(
                    "waiting for an open transaction on %s to end",
                    ", ".join(f"{t}[{p}]" for t, p in sorted(waiting)),
                )
            time.sleep(_SETTLE_POLL_SECS)
        return ends

    def _offsets(self, tps: Iterable[TP], isolation: Any) -> dict[TP, int]:
        """Ask the partitions' leaders for TPS's end offsets (at ISOLATION).

        Asked again for a while on failure, each time with a new admin client: a changelog
        created a moment ago has no leader the client knows of yet, and after a broker
        died an old client kept asking a leader of a stale epoch (FENCED_LEADER_EPOCH)
        until the worker gave up (`make reliability`, 2026-12-07).
        """
        request = {TopicPartition(t, p): OffsetSpec.latest() for t, p in tps}
        deadline = self._clock() + _REQUEST_SECS
        while True:
            if self._admin is None:
                self._admin = self._make_admin(self._admin_config)
            futures = self._admin.list_offsets(
                request, isolation_level=isolation, request_timeout=_REQUEST_SECS
            )
            try:
                return {(tp.topic, tp.partition): f.result().offset for tp, f in futures.items()}
            except KafkaException as exc:
                if self._clock() > deadline:
                    raise
                log.info("changelog offsets: %s; asking again", exc.args[0].str())
                self._admin = None  # metadata of its own, fetched afresh
                time.sleep(0.2)

    # ------------------------------------------------------------------ read
    def _read(self, owners: Mapping[TP, Mapping[str, ChangelogTable]], ends: dict[TP, int]) -> int:
        consumer = self._ensure_consumer()
        consumer.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t, p in ends])
        positions: dict[TP, int] = dict.fromkeys(ends, 0)
        waiting = dict(ends)
        read, last_sample = 0, self._clock()
        try:
            while waiting:
                for message in consumer.consume(num_messages=10_000, timeout=0.2):
                    tp = (message.topic(), message.partition())
                    error = message.error()
                    if error is not None:
                        if error.code() != KafkaError._PARTITION_EOF:
                            raise KafkaException(error)
                        if message.offset() >= waiting.get(tp, 0):
                            waiting.pop(tp, None)
                        continue
                    self._apply(owners[tp], tp, message)
                    positions[tp] = message.offset() + 1
                    read += 1
                    if positions[tp] >= waiting.get(tp, 0):
                        waiting.pop(tp, None)
                now = self._clock()
                if now - last_sample >= 1.0:
                    last_sample = now
                    reason = self._watch.observe(now, True, positions, ends)
                    if reason is not None:
                        raise RestoreStalledError(reason)
        finally:
            consumer.unassign()
            self._watch.observe(self._clock(), False, {}, {})
        return read

    def _apply(self, tables: Mapping[str, ChangelogTable], tp: TP, message: Any) -> None:
        """Hand MESSAGE to the table its key names (a table this worker lacks: skipped)."""
        try:
            name, key = split_changelog_key(message.key() or b"")
        except ValueError as exc:  # not written by a worker
            self._skipped(tp, f"a record at offset {message.offset()}: {exc}")
            return
        table = tables.get(name)
        if table is None:
            self._skipped(tp, f"state of a table this worker has not: {name}")
            return
        table.restored(tp[1], key, message.value())

    def _skipped(self, tp: TP, what: str) -> None:
        self.skipped += 1
        if self.skipped <= _WARNINGS:
            log.warning("%s[%d]: skipped %s", tp[0], tp[1], what)

    def _ensure_consumer(self) -> Any:
        if self._consumer is None:
            self._consumer = Consumer(self._consumer_config)
        return self._consumer
