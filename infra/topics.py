"""Topics as code: the declarative topic table and the pure plan that reconciles it.

Every trading topic is keyed by symbol and has the same partition count, so the
streams app can join them partition-locally (co-partitioning). The plan never
changes a topic's partition count: adding partitions would move keys and break
co-partitioning, so drift is reported instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from infra.settings import Settings

__all__ = [
    "ExistingTopic",
    "TopicAction",
    "TopicSpec",
    "changelog_specs",
    "changelog_topic",
    "legacy_changelog_topic",
    "plan_topics",
    "topic_specs",
]

CleanupPolicy = Literal["delete", "compact", "compact,delete"]

_DAY_MS = 24 * 3600 * 1000
_WEEK_MS = 7 * _DAY_MS


@dataclass(frozen=True)
class TopicSpec:
    """One topic: its name (without namespace), value schema and configuration.

    A replication factor / min.insync.replicas of None leaves them to the cluster's
    defaults, so the topics of a 3-broker cluster get 3 copies without being told.
    """

    name: str
    record: str | None
    partitions: int
    replication_factor: int | None
    cleanup_policy: CleanupPolicy = "delete"
    retention_ms: int = _WEEK_MS
    min_insync_replicas: int | None = 1
    keyed_by_symbol: bool = True
    doc: str = ""

    def configs(self) -> dict[str, str]:
        """Return the broker-side topic configuration this spec asks for."""
        configs = {"cleanup.policy": self.cleanup_policy, "retention.ms": str(self.retention_ms)}
        if self.min_insync_replicas is not None:
            configs["min.insync.replicas"] = str(self.min_insync_replicas)
        return configs


def _min_isr(replication_factor: int | None) -> int | None:
    # Two copies must have an acks=all write (with three, one broker may be down).
    return None if replication_factor is None else min(2, replication_factor)


_UNKEYED = frozenset({"risk.control", "venue.poll", "orders.cancel", "deadletter.redriven"})

# name, record, cleanup, retention, doc
_TABLE: tuple[tuple[str, str | None, CleanupPolicy, int, str], ...] = (
    ("market.quotes", "Quote", "delete", _WEEK_MS, "top of book per symbol"),
    ("market.bars", "Bar", "delete", 4 * 52 * _WEEK_MS, "OHLCV bars (historical replays)"),
    ("news.items", "NewsItem", "delete", 4 * _WEEK_MS, "news, one record per symbol"),
    ("signals", "Signal", "delete", 4 * _WEEK_MS, "strategy signals"),
    ("orders", "Order", "delete", 52 * _WEEK_MS, "orders accepted by the risk gate"),
    ("orders.rejected", "Rejection", "delete", 52 * _WEEK_MS, "refused signals and why"),
    ("orders.events", "OrderEvent", "delete", 52 * _WEEK_MS, "order lifecycle"),
    ("alerts", "Alert", "delete", 4 * _WEEK_MS, "alert-only mode decisions"),
    ("fills", "Fill", "delete", -1, "executions (kept forever: positions derive from them)"),
    ("positions", "Position", "compact", -1, "latest position per symbol (compacted)"),
    ("risk.control", "RiskControl", "delete", 52 * _WEEK_MS, "kill switch trip/reset"),
    ("venue.poll", "VenuePoll", "delete", _DAY_MS, "live mode: ask the venue for news of orders"),
    ("orders.cancel", "OrderCancel", "delete", 52 * _WEEK_MS, "live mode: cancel venue orders"),
    ("deadletter", None, "delete", 4 * _WEEK_MS, "rejected raw records, reason in headers"),
    # One marker per dead letter sent back (key: its deadletter partition/offset). Kept
    # twice as long as the dead letters, so a marker always outlives the letter it names
    # (a marker gone first would let a redrive send its letter again).
    ("deadletter.redriven", None, "compact,delete", 8 * _WEEK_MS, "redriven dead letters"),
)


def topic_specs(settings: Settings) -> list[TopicSpec]:
    """Return the topic table for SETTINGS (partitions, replication, namespace)."""
    min_isr = _min_isr(settings.replication_factor)
    return [
        TopicSpec(
            name=name,
            record=record,
            partitions=settings.partitions,
            replication_factor=settings.replication_factor,
            cleanup_policy=cleanup,
            retention_ms=retention,
            min_insync_replicas=min_isr,
            # co-partitioned too, but written to every partition explicitly
            keyed_by_symbol=name not in _UNKEYED,
            doc=doc,
        )
        for name, record, cleanup, retention, doc in _TABLE
    ]


def changelog_topic(app_id: str) -> str:
    """Return the changelog topic of the app APP_ID's tables (its namespace is in the id).

    One topic for all of a worker's tables, its keys prefixed by the table's name
    (`streams.runtime.tables.changelog_key`), not one per table: every partition a
    transaction writes is one more produce request in its flush, one more partition to
    register with the coordinator and one more commit marker, and with five tables a
    paper-desk commit wrote ~15 changelog partitions where it now writes ~3
    (BENCHMARKS.md, "One changelog topic").
    """
    return f"{app_id}-changelog"


def legacy_changelog_topic(app_id: str, table: str) -> str:
    """Return where primestream 0.1 kept TABLE's changelog (one topic per table)."""
    return f"{app_id}-{table}-changelog"


def changelog_specs(settings: Settings, app_id: str) -> list[TopicSpec]:
    """Return the compacted changelog topic of a worker's tables (full name: no namespace).

    Partitioned like the trading topics: a table's partition is its input partition's;
    replicated like them (by default as the cluster's topics are: a changelog is state).
    """
    return [
        TopicSpec(
            name=changelog_topic(app_id),
            record=None,
            partitions=settings.partitions,
            replication_factor=settings.replication_factor,
            cleanup_policy="compact",
            retention_ms=-1,
            min_insync_replicas=_min_isr(settings.replication_factor),
            keyed_by_symbol=False,
            doc="committed state of the app's tables, keyed by table/key",
        )
    ]


@dataclass(frozen=True)
class ExistingTopic:
    """What the cluster says about a topic."""

    name: str
    partitions: int
    configs: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TopicAction:
    """One step of a plan: create a topic, alter its configs, or report drift."""

    kind: Literal["create", "alter", "ok", "drift"]
    topic: str
    spec: TopicSpec
    changes: Mapping[str, str] = field(default_factory=dict)
    detail: str = ""


def plan_topics(
    specs: Iterable[TopicSpec], existing: Mapping[str, ExistingTopic], *, namespace: str = ""
) -> list[TopicAction]:
    """Return what must happen for the cluster to match SPECS; pure, no I/O."""
    actions: list[TopicAction] = []
    for spec in specs:
        full = f"{namespace}.{spec.name}" if namespace else spec.name
        have = existing.get(full)
        if have is None:
            actions.append(TopicAction("create", full, spec))
            continue
        if have.partitions != spec.partitions:
            detail = (
                f"has {have.partitions} partitions, table says {spec.partitions}; "
                "not changed (would break co-partitioning): recreate it"
            )
            actions.append(TopicAction("drift", full, spec, detail=detail))
            continue
        changes = {k: v for k, v in spec.configs().items() if have.configs.get(k) != v}
        actions.append(TopicAction("alter" if changes else "ok", full, spec, changes=changes))
    return actions
