"""Table state moves from 0.1's per-table changelogs into the one changelog, once (real broker).

The copy keeps every table's committed state where a restore finds it (same partition, key
prefixed by the table, faust's JSON-quoted keys decoded), drops what an aborted
transaction wrote, and deletes the old topics; a changelog that already holds state is
never overwritten by a second copy.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient

from infra.admin import apply_topics
from infra.clients import admin_config
from infra.topics import TopicSpec, changelog_specs, changelog_topic, legacy_changelog_topic
from streams.context import app_id
from streams.positions.accounting import PositionBook
from streams.recovery import RecoveryWatch
from streams.runtime.clients import restore_consumer_config, transactional_producer_config
from streams.runtime.migrate import migrate_changelogs
from streams.runtime.restore import ChangelogRestorer
from streams.runtime.tables import ChangelogTable, changelog_key, encode_value
from streams.trading.core import POSITIONS
from tests.integration.conftest import Scope
from tests.integration.test_worker_endpoints import _free_port, _get, _start, _until_ready
from tests.kit.desk import desk_toml


def _configs(scope: Scope) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    settings, servers = scope.settings, scope.settings.bootstrap_servers
    ident = app_id(settings)
    return (
        admin_config(settings, servers),
        restore_consumer_config(settings, servers, ident, "migration-test"),
        transactional_producer_config(settings, servers, f"{ident}-test-writer", "migration-test"),
    )


def _old_topics(admin: AdminClient, ident: str, tables: list[str]) -> None:
    specs = [
        TopicSpec(legacy_changelog_topic(ident, t), None, 2, None, "compact", -1) for t in tables
    ]
    apply_topics(admin, specs)


Row = tuple[str, bytes, bytes | None, int]  # topic, key, value, partition


def _write(producer_config: dict[str, Any], rows: list[Row], *, commit: bool) -> None:
    producer = Producer(producer_config)
    producer.init_transactions(30)
    producer.begin_transaction()
    for topic, key, value, partition in rows:
        producer.produce(topic, value, key, partition=partition)
    if commit:
        producer.commit_transaction(30)
    else:
        producer.flush(30)
        producer.abort_transaction(30)


def _restore(scope: Scope, names: list[str]) -> tuple[dict[str, ChangelogTable], ChangelogRestorer]:
    admin_conf, consumer_conf, _ = _configs(scope)
    ident = app_id(scope.settings)
    tables = {name: ChangelogTable(name, changelog_topic(ident)) for name in names}
    restorer = ChangelogRestorer(consumer_conf, admin_conf, RecoveryWatch(60.0))
    try:
        restorer.restore(list(tables.values()), [0, 1])
    finally:
        restorer.close()
    return tables, restorer


def test_old_changelogs_are_copied_once_and_restore_as_they_were(scope: Scope) -> None:
    admin_conf, consumer_conf, producer_conf = _configs(scope)
    admin = AdminClient(admin_conf)
    ident = app_id(scope.settings)
    positions = legacy_changelog_topic(ident, "positions")
    books = legacy_changelog_topic(ident, "paper-books")
    mine = ["positions", "paper-books"]
    _old_topics(admin, ident, ["positions", "paper-books", "gone"])
    _write(
        producer_conf,
        [
            (positions, b'"ACME"', encode_value({"qty": 5}), 1),  # faust's JSON-quoted key
            (positions, b"BRK/B", encode_value({"qty": 1}), 0),
            (positions, b"OLD", encode_value({"qty": 9}), 0),
            (positions, b"OLD", None, 0),  # deleted
            (books, b"ACME", encode_value({"resting": []}), 1),
            (legacy_changelog_topic(ident, "gone"), b"X", encode_value(1), 0),
        ],
        commit=True,
    )
    _write(producer_conf, [(positions, b"ACME", encode_value({"qty": 666}), 1)], commit=False)
    apply_topics(admin, changelog_specs(scope.settings, ident))

    copied = migrate_changelogs(admin, ident, mine, consumer_conf, producer_conf)

    assert copied == 5  # the aborted write and the table this worker has not stay behind
    names = set(admin.list_topics(timeout=30).topics)
    assert positions not in names
    assert books not in names
    assert legacy_changelog_topic(ident, "gone") in names
    tables, restorer = _restore(scope, mine)
    assert tables["positions"].partition_items(1) == [("ACME", {"qty": 5})]
    assert tables["positions"].partition_items(0) == [("BRK/B", {"qty": 1})]
    assert tables["paper-books"].get("ACME", partition=1) == {"resting": []}
    assert restorer.skipped == 0

    assert migrate_changelogs(admin, ident, mine, consumer_conf, producer_conf) == 0


def test_a_changelog_that_holds_state_is_not_overwritten_by_a_late_copy(scope: Scope) -> None:
    admin_conf, consumer_conf, producer_conf = _configs(scope)
    admin = AdminClient(admin_conf)
    ident = app_id(scope.settings)
    old = legacy_changelog_topic(ident, "positions")
    _old_topics(admin, ident, ["positions"])
    apply_topics(admin, changelog_specs(scope.settings, ident))
    target = changelog_topic(ident)
    _write(
        producer_conf,
        [
            (old, b"ACME", encode_value({"qty": 1}), 1),
            (target, changelog_key("positions", "ACME"), encode_value({"qty": 2}), 1),
            (target, changelog_key("retired", "X"), encode_value(0), 0),  # a table no one has
        ],
        commit=True,
    )

    copied = migrate_changelogs(admin, ident, ["positions"], consumer_conf, producer_conf)

    assert copied == 0
    assert old not in admin.list_topics(timeout=30).topics  # a leftover: deleted
    tables, restorer = _restore(scope, ["positions"])
    assert tables["positions"].items() == [("ACME", {"qty": 2})]
    assert restorer.skipped == 1


def test_a_worker_started_on_old_changelogs_copies_them_and_serves_their_state(
    scope: Scope, tmp_path: Path
) -> None:
    """The upgrade as a user meets it: a 0.1 worker's positions, then `primestream worker`."""
    admin_conf, _, producer_conf = _configs(scope)
    admin = AdminClient(admin_conf)
    ident = app_id(scope.settings)
    old = legacy_changelog_topic(ident, POSITIONS)
    _old_topics(admin, ident, [POSITIONS])
    state = PositionBook("paper", "ACME").state() | {"qty": "5", "avg_price": "10.5"}
    _write(producer_conf, [(old, b'"ACME"', encode_value({"paper": state}), 1)], commit=True)
    config = tmp_path / "trading.toml"
    config.write_text(desk_toml())
    port = _free_port()
    worker = _start(scope, config, tmp_path / "worker.log", port)
    try:
        _until_ready(port, worker)
        answer = _get(f"http://127.0.0.1:{port}/positions/ACME/")
    finally:
        worker.stop()
    assert answer is not None
    assert answer[0] == 200, worker.tail()
    assert [(p["qty"], p["avg_price"]) for p in answer[1]["positions"]] == [(5.0, 10.5)]
    assert old not in admin.list_topics(timeout=30).topics
    assert f"copied 1 records of {old} into" in worker.tail(200_000), worker.tail()
