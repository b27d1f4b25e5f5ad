"""Who is in a worker group, which input partitions each member holds, and how far behind.

The I/O half asks the broker: the members and their assignments (admin API,
describe_consumer_groups) and the committed and end offsets (`consumers.lag`).
`worker_rows` joins them with the workers' run files (`infra.run_files`) and their
`/ready` answers, without Kafka, so the join is tested on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from infra.run_files import WorkerRunFile

__all__ = [
    "GroupMember",
    "GroupState",
    "WorkerRow",
    "describe_group",
    "input_topics",
    "is_internal",
    "worker_rows",
]


@dataclass(frozen=True)
class GroupMember:
    """One member of a consumer group and the topic partitions assigned to it."""

    member_id: str
    client_id: str
    host: str
    partitions: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class GroupState:
    """A consumer group as the coordinator sees it: its state and members."""

    group: str
    state: str
    members: tuple[GroupMember, ...] = ()


@dataclass(frozen=True)
class WorkerRow:
    """One worker as `primestream status` shows it."""

    member: str
    host: str
    pid: int | None
    partitions: dict[str, list[int]] = field(default_factory=dict)
    lag: int | None = None
    ready: bool | None = None  # None: not asked (no web address) or no answer
    failed: list[str] = field(default_factory=list)
    last_error: str = ""
    note: str = ""


def is_internal(topic: str) -> bool:
    """Tell whether faust assigns TOPIC besides the inputs: a changelog, the leader topic."""
    return topic.endswith("-changelog") or "__assignor" in topic


def describe_group(admin: Any, group: str, *, timeout_secs: float = 10.0) -> GroupState:
    """Return GROUP's state and members from the broker (an unknown group has none)."""
    future = admin.describe_consumer_groups([group], request_timeout=timeout_secs)[group]
    described = future.result(timeout=timeout_secs + 5)
    members = tuple(
        GroupMember(
            m.member_id,
            m.client_id,
            m.host.lstrip("/"),
            tuple(sorted((tp.topic, tp.partition) for tp in (m.assignment.topic_partitions or ()))),
        )
        for m in described.members or ()
    )
    state = getattr(described.state, "name", str(described.state))
    return GroupState(group, state, tuple(sorted(members, key=lambda m: m.client_id)))


def input_topics(state: GroupState) -> list[str]:
    """Return the input topics assigned to any member of STATE (faust's own left out)."""
    return sorted(
        {t for m in state.members for t, _ in m.partitions if not is_internal(t)},
    )


def _pid_of(client_id: str) -> int | None:
    tail = client_id.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else None


def _by_topic(
    partitions: Iterable[tuple[str, int]], logical: Callable[[str], str]
) -> dict[str, list[int]]:
    held: dict[str, list[int]] = {}
    for topic, partition in partitions:
        if not is_internal(topic):
            held.setdefault(logical(topic), []).append(partition)
    return {t: sorted(ps) for t, ps in sorted(held.items())}


def _with_answer(row: WorkerRow, answer: Mapping[str, Any] | None, asked: bool) -> WorkerRow:
    if not asked:
        return row
    if answer is None:
        return replace(
            row, note="; ".join(filter(None, (row.note, "its web server did not answer")))
        )
    error = answer.get("last_error") or {}
    last = f"{error.get('source', '')}: {error.get('message', '')}" if error else ""
    return replace(
        row,
        ready=bool(answer.get("ready")),
        failed=[str(name) for name in answer.get("failed", [])],
        last_error=last,
    )


def worker_rows(
    state: GroupState,
    lag: Mapping[tuple[str, int], int] | None,
    run_files: Sequence[WorkerRunFile],
    answers: Mapping[int, Mapping[str, Any] | None],
    *,
    logical: Callable[[str], str] = lambda topic: topic,
) -> list[WorkerRow]:
    """Return one row per worker: the group's members, then run files not (yet) in it.

    LAG is {(topic, partition): records not committed} (None: unknown); RUN_FILES and
    ANSWERS ({pid: /ready body, None for no answer}) add pid, readiness and last error to
    the member whose client id they name. LOGICAL maps physical topic names for display.
    """
    files = {f.client_id: f for f in run_files}
    rows = []
    for member in state.members:
        run = files.pop(member.client_id, None)
        pid = run.pid if run is not None else _pid_of(member.client_id)
        held = [tp for tp in member.partitions if not is_internal(tp[0])]
        behind = None if lag is None else sum(lag.get(tp, 0) for tp in held)
        row = WorkerRow(member.client_id, member.host, pid, _by_topic(held, logical), behind)
        asked = run is not None and run.web_url is not None
        rows.append(_with_answer(row, answers.get(run.pid) if run else None, asked))
    for run in sorted(files.values(), key=lambda f: f.pid):
        row = WorkerRow(run.client_id, run.host, run.pid, note="not in the group (yet)")
        rows.append(_with_answer(row, answers.get(run.pid), run.web_url is not None))
    return rows
