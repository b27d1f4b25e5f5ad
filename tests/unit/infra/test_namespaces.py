"""Which topics, groups and state directories belong to which namespace (no broker)."""

from __future__ import annotations

from pathlib import Path

from infra.namespaces import survey

_TABLES = ["market.quotes", "signals", "fills"]


def test_topics_groups_and_state_are_grouped_by_namespace() -> None:
    topics = [
        "market.quotes",  # live: never a namespace
        "signals",
        "bt1.market.quotes",
        "bt1.signals",
        "primestream-bt1-changelog",
        "primestream-bt1-__assignor-__leader",
        "bt1-x.fills",
        "primestream-bt1-x-changelog",
        "primestream-changelog",  # the live app's own topic
        "other.thing",
    ]
    groups = ["primestream", "primestream-bt1", "primestream-bt1-x", "someone-else"]
    dirs = [Path("/h/workers/primestream-bt1"), Path("/h/workers/primestream")]

    usages = survey(topics, groups, dirs, _TABLES)

    assert [u.name for u in usages] == ["bt1", "bt1-x"]
    bt1, bt1x = usages
    assert bt1.topics == [
        "bt1.market.quotes",
        "bt1.signals",
        "primestream-bt1-__assignor-__leader",
        "primestream-bt1-changelog",
    ]
    assert bt1.groups == ["primestream-bt1"]
    assert bt1.state_dirs == [Path("/h/workers/primestream-bt1")]
    assert bt1x.topics == ["bt1-x.fills", "primestream-bt1-x-changelog"]
    assert bt1x.groups == ["primestream-bt1-x"]


def test_a_cluster_with_only_the_live_pipeline_has_no_namespaces() -> None:
    assert survey(["market.quotes", "signals"], ["primestream"], [], _TABLES) == []
