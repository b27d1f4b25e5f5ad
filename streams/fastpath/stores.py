"""Table stores that never outlive a partition's tenure under exactly-once.

faust writes a table's RocksDB store as the agent changes it, before the transaction
that carries the change commits. When a worker gives a partition up, a transaction of
that partition may be aborted, and the store keeps changes Kafka never committed. If the
partition comes back to this worker later, recovery replays the changelog only after
the store's own offset, so the store would start from state no committed record
explains (seen in the rebalance crash test: quotes dead-lettered as late). So a revoked
partition's store is deleted, and a partition that comes back is rebuilt from its
(read_committed) changelog, as after an unclean exit (`streams.local_state`).
"""

from __future__ import annotations

import gc
import shutil
from typing import Any

from faust.stores import STORES
from faust.stores.rocksdb import Store

__all__ = ["SCHEME", "RevokedPartitionsForgotten"]

SCHEME = "rocksdbeos"


class RevokedPartitionsForgotten(Store):
    """faust's RocksDB store that deletes a partition's database when it is revoked."""

    def revoke_partitions(self, table: Any, tps: Any) -> None:
        super().revoke_partitions(table, tps)
        gc.collect()  # the dropped DB handles close when collected
        for tp in tps:
            if tp.topic in table.changelog_topic.topics:
                path = self.partition_path(tp.partition)
                shutil.rmtree(path, ignore_errors=True)
                self.logger.info("forgot %s: rebuilt from the changelog if it comes back", path)


STORES.aliases[SCHEME] = f"{__name__}:RevokedPartitionsForgotten"
