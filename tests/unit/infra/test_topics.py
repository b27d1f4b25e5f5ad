from infra.settings import Settings
from infra.topics import ExistingTopic, plan_topics, topic_specs


def _settings(**kw: object) -> Settings:
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg]


def test_trading_topics_are_co_partitioned_and_keyed_by_symbol() -> None:
    specs = topic_specs(_settings(partitions=6))

    assert {s.partitions for s in specs} == {6}
    assert [s.name for s in specs if not s.keyed_by_symbol] == [
        "risk.control",
        "venue.poll",
        "orders.cancel",
        "deadletter.redriven",
    ]
    names = {s.name for s in specs}
    assert {
        "market.quotes",
        "market.bars",
        "news.items",
        "signals",
        "orders",
        "orders.rejected",
        "orders.events",
        "alerts",
        "fills",
        "positions",
        "risk.control",
        "venue.poll",
        "orders.cancel",
        "deadletter",
        "deadletter.redriven",
    } == names


def test_positions_is_compacted_and_fills_are_kept_forever() -> None:
    specs = {s.name: s for s in topic_specs(_settings())}

    assert specs["positions"].cleanup_policy == "compact"
    assert specs["fills"].retention_ms == -1
    assert specs["deadletter"].record is None


def test_a_redrive_marker_outlives_the_dead_letter_it_names() -> None:
    specs = {s.name: s for s in topic_specs(_settings())}
    markers, letters = specs["deadletter.redriven"], specs["deadletter"]

    # a marker deleted before its dead letter would let a second redrive send it again
    assert markers.cleanup_policy == "compact,delete"
    assert markers.retention_ms >= 2 * letters.retention_ms > 0


def test_plan_creates_missing_topics_inside_the_namespace() -> None:
    specs = topic_specs(_settings())

    plan = plan_topics(specs, {}, namespace="bt1")

    assert {a.kind for a in plan} == {"create"}
    assert all(a.topic.startswith("bt1.") for a in plan)


def test_plan_is_idempotent_once_applied() -> None:
    specs = topic_specs(_settings())
    existing = {s.name: ExistingTopic(s.name, s.partitions, s.configs()) for s in specs}

    plan = plan_topics(specs, existing)

    assert [a.kind for a in plan] == ["ok"] * len(specs)


def test_plan_alters_only_the_configs_that_drifted() -> None:
    spec = next(s for s in topic_specs(_settings()) if s.name == "positions")
    configs = dict(spec.configs(), **{"cleanup.policy": "delete"})

    (action,) = plan_topics(
        [spec], {"positions": ExistingTopic("positions", spec.partitions, configs)}
    )

    assert action.kind == "alter"
    assert dict(action.changes) == {"cleanup.policy": "compact"}


def test_plan_reports_partition_drift_and_never_repartitions() -> None:
    spec = topic_specs(_settings(partitions=4))[0]

    (action,) = plan_topics([spec], {spec.name: ExistingTopic(spec.name, 8, spec.configs())})

    assert action.kind == "drift"
    assert "8 partitions" in action.detail
