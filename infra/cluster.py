"""The layout of a local replicated Kafka cluster: its nodes, their ports, quorum and replication.

Every node is a combined broker+controller (`process.roles=broker,controller`), so the
controller quorum has one voter per node: a 3-node cluster survives the loss of any one
node, controller or not, with 3 JVMs (a separate quorum that survives a loss would need
3 more on a 2-core machine). The ports are fixed when the cluster is first laid out and
kept in `<home>/run/cluster.json`: the quorum's voters and the addresses clients bootstrap
from must not move when a node restarts.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "MAX_REPLICATION",
    "BrokerNode",
    "ClusterLayout",
    "layout_path",
    "load_layout",
    "new_layout",
    "save_layout",
]

MAX_REPLICATION = 3  # more copies buy nothing on one machine but disk and CPU
_HOST = "127.0.0.1"


@dataclass(frozen=True)
class BrokerNode:
    """One node of the cluster: its id, client port and controller port (on loopback)."""

    node_id: int
    port: int
    controller_port: int

    @property
    def name(self) -> str:
        """Its service name: "kafka" for node 1 (as a single broker), "kafka-<id>" after."""
        return "kafka" if self.node_id == 1 else f"kafka-{self.node_id}"

    @property
    def address(self) -> str:
        """Where clients reach it (host:port)."""
        return f"{_HOST}:{self.port}"


@dataclass(frozen=True)
class ClusterLayout:
    """The nodes of one local cluster and what follows from their number."""

    nodes: tuple[BrokerNode, ...]

    @property
    def size(self) -> int:
        """How many nodes (brokers, and controller voters)."""
        return len(self.nodes)

    @property
    def replication_factor(self) -> int:
        """Copies of every partition, internal topics included: the size, at most 3."""
        return min(MAX_REPLICATION, self.size)

    @property
    def min_insync_replicas(self) -> int:
        """Copies an acks=all write needs: 2 from 2 copies on (with 3, one node may be down)."""
        return min(2, self.replication_factor)

    @property
    def voters(self) -> str:
        """The static controller quorum, `controller.quorum.voters` syntax."""
        return ",".join(f"{n.node_id}@{_HOST}:{n.controller_port}" for n in self.nodes)

    @property
    def bootstrap_servers(self) -> str:
        """Every node's address: a client whose first broker is down tries the next."""
        return ",".join(n.address for n in self.nodes)

    def node(self, node_id: int) -> BrokerNode:
        """Return node NODE_ID (KeyError if there is none)."""
        for found in self.nodes:
            if found.node_id == node_id:
                return found
        raise KeyError(node_id)

    def to_json(self) -> dict[str, object]:
        """Return the JSON object kept in cluster.json."""
        return {
            "nodes": [
                {"node_id": n.node_id, "port": n.port, "controller_port": n.controller_port}
                for n in self.nodes
            ]
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ClusterLayout:
        """Rebuild a layout from its JSON object (KeyError/TypeError/ValueError if malformed)."""
        raw = data["nodes"]
        if not isinstance(raw, list) or not raw:
            raise ValueError("a cluster has nodes")
        return cls(
            tuple(
                BrokerNode(int(n["node_id"]), int(n["port"]), int(n["controller_port"]))
                for n in raw
            )
        )


def new_layout(size: int, *, first_port: int, free_port: Callable[[], int]) -> ClusterLayout:
    """Lay out SIZE nodes: client ports FIRST_PORT, +1, ... (0: free ones), controllers free.

    FREE_PORT returns a port free right now (below the ephemeral range, so that no
    outgoing connection takes it while its node is down); no port is handed out twice.
    """
    if size < 1:
        raise ValueError(f"a cluster needs at least one broker, not {size}")
    taken: set[int] = set()

    def fresh() -> int:
        port = free_port()
        while port in taken:
            port = free_port()
        taken.add(port)
        return port

    ports = [first_port + i for i in range(size)] if first_port else []
    taken.update(ports)
    ports = ports or [fresh() for _ in range(size)]
    return ClusterLayout(tuple(BrokerNode(i + 1, ports[i], fresh()) for i in range(size)))


def layout_path(home: Path) -> Path:
    """Return where the cluster layout of the infra in HOME is kept."""
    return home / "run" / "cluster.json"


def load_layout(home: Path) -> ClusterLayout | None:
    """Return the cluster layout of HOME; None when it runs a single broker (no file)."""
    try:
        return ClusterLayout.from_json(json.loads(layout_path(home).read_text()))
    except FileNotFoundError:
        return None


def save_layout(home: Path, layout: ClusterLayout) -> None:
    """Write LAYOUT for HOME atomically."""
    path = layout_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    scratch.write_text(json.dumps(layout.to_json(), indent=2) + "\n")
    scratch.replace(path)
