"""Local table stores survive only a clean shutdown (exactly-once and RocksDB).

faust writes a table's RocksDB store as the agent changes it, before the transaction that
carries the change to the changelog commits. A worker killed mid-transaction leaves the
store holding changes Kafka aborted, and recovery (which resumes from the last persisted
changelog offset) does not undo them: the restarted worker would compute from state no
committed record explains. Kafka Streams answers this by wiping local state after an
unclean shutdown under exactly-once; so do we: a worker marks a clean exit, and a start
without that mark rebuilds every table from its (read_committed) changelog.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

__all__ = ["CLEAN_MARK", "mark_clean_exit", "prepare_table_dir"]

CLEAN_MARK = "clean-exit"
log = logging.getLogger("primestream.state")


def prepare_table_dir(tabledir: Path) -> bool:
    """Wipe TABLEDIR unless the last worker using it exited cleanly; True if wiped.

    The mark is consumed: a worker that dies from here on leaves none behind.
    """
    mark = tabledir.parent / f"{tabledir.name}.{CLEAN_MARK}"
    clean = mark.exists()
    mark.unlink(missing_ok=True)
    if clean or not tabledir.exists():
        return False
    log.warning("unclean shutdown before: rebuilding tables in %s from their changelogs", tabledir)
    shutil.rmtree(tabledir)
    return True


def mark_clean_exit(tabledir: Path) -> None:
    """Record that the worker using TABLEDIR stopped cleanly: its stores are committed state."""
    tabledir.parent.mkdir(parents=True, exist_ok=True)
    (tabledir.parent / f"{tabledir.name}.{CLEAN_MARK}").touch()
