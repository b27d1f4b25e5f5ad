"""Worker health is told on a change only: not ready, ready again, lagging, caught up, gone."""

from __future__ import annotations

from consumers.alerts.health import HealthWatch
from consumers.group_status import WorkerRow


def _row(
    member: str, ready: bool | None, lag: int | None = 0, failed: tuple[str, ...] = ()
) -> WorkerRow:
    return WorkerRow(member, "host", 11, lag=lag, ready=ready, failed=list(failed))


def _kinds(watch: HealthWatch, *rows: WorkerRow) -> list[tuple[str, str]]:
    return [(n.kind, str(n.fields["member"])) for n in watch.update(rows, 1)]


def test_readiness_is_told_when_it_changes_not_at_every_check() -> None:
    watch = HealthWatch("primestream-ns", lag_threshold=100, namespace="ns")

    assert _kinds(watch, _row("w1", True)) == []
    assert _kinds(watch, _row("w1", False, failed=("tables",))) == [("worker_not_ready", "w1")]
    assert _kinds(watch, _row("w1", False, failed=("tables",))) == []
    assert _kinds(watch, _row("w1", None)) == []  # no answer is no news
    assert _kinds(watch, _row("w1", True)) == [("worker_ready", "w1")]


def test_a_worker_unready_from_its_first_check_is_told() -> None:
    watch = HealthWatch("g", lag_threshold=100)

    notices = watch.update([_row("w1", False, failed=("assignment", "broker"))], 1)

    assert [n.kind for n in notices] == ["worker_not_ready"]
    assert "assignment, broker" in notices[0].text


def test_lag_past_the_threshold_is_told_once_and_its_recovery_once() -> None:
    watch = HealthWatch("g", lag_threshold=100)

    assert _kinds(watch, _row("w1", True, lag=100)) == []  # at the threshold: fine
    assert _kinds(watch, _row("w1", True, lag=101)) == [("worker_lagging", "w1")]
    assert _kinds(watch, _row("w1", True, lag=5000)) == []
    assert _kinds(watch, _row("w1", True, lag=None)) == []  # unknown lag changes nothing
    assert _kinds(watch, _row("w1", True, lag=3)) == [("worker_caught_up", "w1")]


def test_a_worker_that_leaves_the_group_is_told_and_others_are_not() -> None:
    watch = HealthWatch("g", lag_threshold=100)
    watch.update([_row("w1", True), _row("w2", True)], 1)

    assert _kinds(watch, _row("w2", True)) == [("worker_left", "w1")]
    assert _kinds(watch, _row("w2", True)) == []
