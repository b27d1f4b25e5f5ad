"""The ids a news feed has already published, kept in a small JSON file across restarts.

Why a file and not the topic: `news.items` is keyed by symbol, not by item, so reading
back "what did we publish" means decoding the whole topic on every start (time grows
with history), and the topic's retention may already have dropped items that a feed
still lists, which would then be published again. A feed lists its latest few dozen
items, so the newest `capacity` ids (default 5,000) are all that must be remembered.

An id counts as seen once its records were handed to the producer; the file is written
(atomically: a temporary file renamed over it) after each poll and when the source
stops. Ctrl-C flushes the producer first; only a hard kill between hand-over and
delivery can lose an item (the trade-off against publishing duplicates on every restart).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["SeenIds", "seen_path"]


def seen_path(home: Path, url: str) -> Path:
    """Return the state file of the feed at URL under HOME (one file per feed)."""
    digest = hashlib.blake2b(url.encode(), digest_size=8).hexdigest()
    return home / "feeds" / f"{digest}.json"


class SeenIds:
    """An insertion-ordered set of item ids, bounded to the newest CAPACITY, saved to PATH."""

    def __init__(self, path: Path | None, *, capacity: int = 5_000) -> None:
        self.path = path
        self.capacity = capacity
        self._ids: dict[str, None] = {}
        if path is not None and path.exists():
            try:
                loaded = json.loads(path.read_text(encoding="utf-8"))
                self._ids = dict.fromkeys(str(i) for i in loaded.get("ids", []))
            except (ValueError, AttributeError, OSError):
                self._ids = {}  # an unreadable file: start afresh (repeats, never a crash)

    def __contains__(self, item_id: object) -> bool:
        return item_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, ids: Iterable[str]) -> None:
        """Remember IDS, dropping the oldest beyond capacity."""
        for item_id in ids:
            self._ids.pop(item_id, None)
            self._ids[item_id] = None
        while len(self._ids) > self.capacity:
            del self._ids[next(iter(self._ids))]

    def save(self) -> None:
        """Write the ids to the file (no file: nothing to do)."""
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"ids": list(self._ids)}), encoding="utf-8")
        os.replace(temporary, self.path)
