"""The readiness rule as a function of its checks: every check must pass, failures are named."""

from __future__ import annotations

import pytest

from streams.readiness import (
    Check,
    LastError,
    assignment_check,
    probe_check,
    readiness,
    tables_check,
)

_OK = {
    "assignment": assignment_check(3, [("market.quotes", 0)]),
    "tables": tables_check(actives_ready=True, rebalancing=False, remaining=0),
    "broker": probe_check("broker", None, "127.0.0.1:9092"),
    "registry": probe_check("registry", None, "http://127.0.0.1:8081"),
}


@pytest.mark.parametrize(
    ("failing", "status"),
    [
        ({}, 200),
        ({"assignment": assignment_check(0, [])}, 503),
        ({"tables": tables_check(actives_ready=False, rebalancing=True, remaining=12)}, 503),
        ({"tables": tables_check(actives_ready=True, rebalancing=True, remaining=0)}, 503),
        ({"broker": probe_check("broker", "timed out", "127.0.0.1:9092")}, 503),
        ({"registry": probe_check("registry", "connection refused", "http://r")}, 503),
        (
            {
                "assignment": assignment_check(0, []),
                "broker": probe_check("broker", "timed out", "127.0.0.1:9092"),
            },
            503,
        ),
    ],
)
def test_ready_only_when_every_check_passes(failing: dict[str, Check], status: int) -> None:
    checks = {**_OK, **failing}

    result = readiness(checks.values())

    assert result.status == status
    assert result.ready is (status == 200)
    assert result.failed == list(failing)
    body = result.body(pid=7)
    assert body["failed"] == list(failing)
    assert body["pid"] == 7
    assert {name for name, c in body["checks"].items() if not c["ok"]} == set(failing)


def test_no_registry_configured_means_no_registry_check() -> None:
    checks = [_OK["assignment"], _OK["tables"], _OK["broker"]]

    assert readiness(checks).status == 200


def test_a_worker_with_no_partitions_in_an_assigned_group_is_ready() -> None:
    # More workers than partitions: the spare has joined and stands by.
    assert assignment_check(5, []).ok


@pytest.mark.parametrize(
    ("actives_ready", "rebalancing", "remaining", "detail"),
    [
        (True, False, 0, "recovered"),
        (False, True, 40, "recovering: 40 changelog records to go"),
        (False, False, 0, "waiting for table recovery to complete"),
    ],
)
def test_the_tables_check_says_how_far_recovery_is(
    actives_ready: bool, rebalancing: bool, remaining: int, detail: str
) -> None:
    assert tables_check(actives_ready, rebalancing, remaining).detail == detail


def test_the_last_error_is_the_latest_noted() -> None:
    errors = LastError()
    assert errors.snapshot() is None

    errors.note(1, "broker", "timed out")
    errors.note(2, "deadletter (desk)", "DecodeError: bad magic byte")

    assert errors.snapshot() == {
        "at_us": 2,
        "source": "deadletter (desk)",
        "message": "DecodeError: bad magic byte",
    }
