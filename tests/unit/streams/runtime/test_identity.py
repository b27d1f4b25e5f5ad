"""A worker's identity: the lowest free slot, freed when its holder goes."""

from __future__ import annotations

import socket
from pathlib import Path

from streams.runtime.identity import claim_slot


def test_live_workers_get_distinct_slots_and_a_freed_one_is_taken_again(tmp_path: Path) -> None:
    host = socket.gethostname()
    first = claim_slot(tmp_path / "app")
    second = claim_slot(tmp_path / "app")

    assert (first.worker_id, second.worker_id) == (f"{host}-0", f"{host}-1")

    first.release()
    third = claim_slot(tmp_path / "app")
    assert third.worker_id == f"{host}-0"  # the restarted worker takes its predecessor's id
    second.release()
    third.release()


def test_apps_have_their_own_slots(tmp_path: Path) -> None:
    one = claim_slot(tmp_path / "app-a")
    other = claim_slot(tmp_path / "app-b")

    assert one.worker_id == other.worker_id
    one.release()
    other.release()


def test_a_configured_id_is_used_as_given(tmp_path: Path) -> None:
    assert claim_slot(tmp_path / "app", "desk-7").worker_id == "desk-7"
