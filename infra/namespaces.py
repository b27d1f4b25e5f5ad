"""Namespaces on a cluster: which topics, consumer groups and local state belong to which.

A namespace is a topic prefix (`NS.market.quotes`) plus its faust app id
(`primestream-NS`: the consumer group, and the prefix of the app's own topics such as
table changelogs) and the worker state under `home/workers/primestream-NS`. Replays and
backtests run in namespaces of their own, so `primestream namespaces delete NS` can
remove everything one left behind without touching live topics (the unprefixed ones).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["APP_PREFIX", "NamespaceUsage", "survey"]

APP_PREFIX = "primestream-"


@dataclass
class NamespaceUsage:
    """What one namespace holds: its topics, consumer groups and local state directories."""

    name: str
    topics: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    state_dirs: list[Path] = field(default_factory=list)


def survey(
    topics: Iterable[str],
    groups: Iterable[str],
    state_dirs: Iterable[Path],
    tables: Iterable[str],
) -> list[NamespaceUsage]:
    """Group TOPICS, GROUPS and STATE_DIRS (worker directories) by namespace, sorted by name.

    A namespace is known from its data topics (`NS.<table>`, TABLES being the declared
    topic names); the app's own topics (`primestream-NS-...`), its group (`primestream-NS`)
    and its state directory are then matched by prefix. The live (unprefixed) pipeline is
    not a namespace and never listed.
    """
    table_names = set(tables)
    found: dict[str, NamespaceUsage] = {}
    topics = list(topics)
    for topic in topics:
        ns, _, rest = topic.partition(".")
        if rest in table_names and ns:
            found.setdefault(ns, NamespaceUsage(ns)).topics.append(topic)
    # longest names first: namespace "a-b" must not lose its topics to namespace "a"
    by_length = sorted(found.values(), key=lambda u: len(u.name), reverse=True)
    for topic in topics:
        owner = _owner(topic, by_length, internal=True)
        if owner is not None:
            owner.topics.append(topic)
    for group in groups:
        owner = _owner(group, by_length, internal=False)
        if owner is not None:
            owner.groups.append(group)
    for directory in state_dirs:
        owner = _owner(directory.name, by_length, internal=False)
        if owner is not None:
            owner.state_dirs.append(directory)
    for usage in found.values():
        usage.topics.sort()
        usage.groups.sort()
    return [found[name] for name in sorted(found)]


def _owner(name: str, usages: list[NamespaceUsage], *, internal: bool) -> NamespaceUsage | None:
    for usage in usages:
        app = f"{APP_PREFIX}{usage.name}"
        if (internal and name.startswith(app + "-")) or (not internal and name == app):
            return usage
    return None
