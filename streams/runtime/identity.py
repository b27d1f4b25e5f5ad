"""A worker's stable identity: the suffix of its transactional id.

One transactional producer serves all of a worker's partitions (fencing of a stale worker
comes from its consumer group generation, KIP-447), so the transactional id need not name
partitions; but it should outlive the process. A worker killed mid-transaction leaves the
transaction open, and `read_committed` readers of everything it wrote (downstream users,
and the changelog restore of the worker that takes its partitions over) wait until it ends:
until the broker times it out, or until a producer with the same transactional id starts
and aborts it at once. So a restarted worker takes its predecessor's id: the lowest slot of
the app that no live process on this host holds, claimed with a lock file the kernel frees
when its holder dies (`kill -9` included). `PRIMESTREAM_WORKER_ID` names it explicitly, for
a supervisor that runs each worker under a fixed name on several hosts.
"""

from __future__ import annotations

import fcntl
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import IO

__all__ = ["WorkerSlot", "claim_slot"]

MAX_SLOTS = 1024


@dataclass
class WorkerSlot:
    """A claimed identity; held until `release` or the process ends."""

    worker_id: str
    _handle: IO[bytes] | None = None

    def release(self) -> None:
        """Give the slot back."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def claim_slot(slots: Path, configured: str | None = None) -> WorkerSlot:
    """Claim this process's identity among the workers whose lock files are in SLOTS.

    SLOTS is the app's own directory (its namespace's local state), so `namespaces delete`
    removes it with the rest.
    """
    if configured:
        return WorkerSlot(configured)
    host = socket.gethostname()
    slots.mkdir(parents=True, exist_ok=True)
    for number in range(MAX_SLOTS):
        handle = (slots / f"{host}-{number}.lock").open("ab")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        handle.truncate(0)
        handle.write(f"{os.getpid()}\n".encode())
        handle.flush()
        return WorkerSlot(f"{host}-{number}", handle)
    raise RuntimeError(f"{MAX_SLOTS} workers with locks in {slots} already run on {host}")
