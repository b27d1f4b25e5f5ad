"""`primestream status`'s join of group members, lag, run files and /ready answers."""

from __future__ import annotations

from consumers.group_status import GroupMember, GroupState, WorkerRow, input_topics, worker_rows
from infra.run_files import WorkerRunFile

_A = GroupMember(
    "m-a",
    "primestream-ns-host-101",
    "127.0.0.1",
    (
        ("ns.market.quotes", 0),
        ("ns.market.bars", 0),
        ("primestream-ns-positions-changelog", 1),  # a standby: not an input
        ("primestream-ns-__assignor-__leader", 0),
    ),
)
_B = GroupMember("m-b", "other-client", "10.0.0.2", (("ns.market.quotes", 1),))
_STATE = GroupState("primestream-ns", "STABLE", (_A, _B))
_LAG = {("ns.market.quotes", 0): 3, ("ns.market.bars", 0): 4, ("ns.market.quotes", 1): 10}


def _run_file(pid: int, client_id: str, web: str | None = "http://127.0.0.1:6066") -> WorkerRunFile:
    return WorkerRunFile(pid, "primestream-ns", client_id, "host", web, 1)


def _logical(topic: str) -> str:
    return topic.removeprefix("ns.")


def test_members_show_their_input_partitions_lag_readiness_and_last_error() -> None:
    answer = {
        "ready": False,
        "failed": ["tables"],
        "last_error": {"at_us": 5, "source": "deadletter (desk)", "message": "DecodeError: x"},
    }

    rows = worker_rows(
        _STATE,
        _LAG,
        [_run_file(101, _A.client_id)],
        {101: answer},
        logical=_logical,
    )

    assert rows == [
        WorkerRow(
            "primestream-ns-host-101",
            "127.0.0.1",
            101,
            {"market.bars": [0], "market.quotes": [0]},
            7,
            ready=False,
            failed=["tables"],
            last_error="deadletter (desk): DecodeError: x",
        ),
        WorkerRow("other-client", "10.0.0.2", None, {"market.quotes": [1]}, 10),
    ]


def test_a_worker_that_has_not_joined_yet_and_one_that_does_not_answer() -> None:
    state = GroupState("primestream-ns", "EMPTY")
    files = [_run_file(7, "primestream-ns-host-7"), _run_file(8, "primestream-ns-host-8")]

    rows = worker_rows(state, {}, files, {7: {"ready": False, "failed": ["assignment"]}, 8: None})

    assert [(r.pid, r.partitions, r.ready, r.failed) for r in rows] == [
        (7, {}, False, ["assignment"]),
        (8, {}, None, []),
    ]
    assert rows[0].note == "not in the group (yet)"
    assert rows[1].note == "not in the group (yet); its web server did not answer"


def test_no_worker_no_rows_and_unknown_lag_stays_unknown() -> None:
    assert worker_rows(GroupState("g", "DEAD"), None, [], {}) == []
    (row,) = worker_rows(GroupState("g", "STABLE", (_B,)), None, [], {})
    assert row.lag is None


def test_input_topics_leave_faust_internals_out() -> None:
    assert input_topics(_STATE) == ["ns.market.bars", "ns.market.quotes"]
