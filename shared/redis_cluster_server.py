"""A local Redis Cluster from the embedded server binary (tests, ``newsdrop bench --cluster``).

No ``valkey-cli``/``redis-cli`` needed: the nodes are joined from redis-py with CLUSTER MEET,
ADDSLOTSRANGE and REPLICATE. The server holds a new cluster unwritable for ~2 s after the
join, so start it once (session-scoped in tests) and clear keys between uses.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import TracebackType

from newsdrop.shared.partitions import even_slot_ranges, key_slot
from newsdrop.shared.server_nodes import ServerNode, start_on_free_port, wait_until

START_TIMEOUT = 30.0


def cluster_args(node_timeout_ms: int, port: int) -> list[str]:
    return [
        "--cluster-enabled",
        "yes",
        "--cluster-config-file",
        f"nodes-{port}.conf",
        "--cluster-node-timeout",
        str(node_timeout_ms),
        "--repl-diskless-sync-delay",  # else a replica's first sync waits 5 s
        "0",
        "--appendonly",
        "yes",
        "--appendfsync",
        "everysec",
        "--save",
        "",
        "--protected-mode",
        "yes",
    ]


class EmbeddedCluster:
    """``primaries`` primaries with ``replicas_per_primary`` replicas each, on 127.0.0.1.

    The slots are split evenly (as ``redis-cli --cluster create`` does); ``nodes`` lists
    primaries first, then replicas. Every process dies with its parent; ``stop()`` (or
    leaving the ``with`` block, even on an error) kills them all.
    """

    def __init__(
        self,
        data_dir: Path,
        primaries: int = 3,
        replicas_per_primary: int = 1,
        node_timeout_ms: int = 1000,
    ) -> None:
        if primaries < 1 or replicas_per_primary < 0:
            raise ValueError("a cluster needs at least one primary and no negative replicas")
        self.data_dir = data_dir
        self.primaries = primaries
        self.replicas_per_primary = replicas_per_primary
        self.node_timeout_ms = node_timeout_ms
        self.nodes: list[ServerNode] = []
        self.started_in: float | None = None  # seconds from the first process to writable

    # -- start / stop --------------------------------------------------------------------

    def start(self) -> EmbeddedCluster:
        began = time.monotonic()
        try:
            self._start_nodes()
            self._join()
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - began
        return self

    def _start_nodes(self) -> None:
        taken: set[int] = set()
        for _ in range(self.primaries * (1 + self.replicas_per_primary)):
            self.nodes.append(
                start_on_free_port(
                    lambda port: ServerNode(
                        self.data_dir / f"node-{port}",
                        port,
                        cluster_args(self.node_timeout_ms, port),
                    ),
                    taken,
                )
            )

    def _join(self) -> None:
        first = self.nodes[0]
        for node in self.nodes[1:]:
            with node.client() as client:
                client.execute_command("CLUSTER MEET", "127.0.0.1", first.port)
        for node, (low, high) in zip(
            self.nodes[: self.primaries], even_slot_ranges(self.primaries), strict=True
        ):
            with node.client() as client:
                client.execute_command("CLUSTER ADDSLOTSRANGE", low, high)
        if not self.replicas_per_primary:
            return
        wait_until(self._all_nodes_met, START_TIMEOUT, "cluster nodes meeting")
        primary_ids = [self._node_id(node) for node in self.nodes[: self.primaries]]
        for index, node in enumerate(self.nodes[self.primaries :]):
            with node.client() as client:
                client.execute_command("CLUSTER REPLICATE", primary_ids[index % self.primaries])

    def _all_nodes_met(self) -> bool:
        for node in self.nodes:
            with node.client() as client:
                known: dict[str, dict[str, object]] = client.execute_command("CLUSTER NODES")
            if len(known) < len(self.nodes):
                return False
            if any("handshake" in str(entry["flags"]) for entry in known.values()):
                return False
        return True

    @staticmethod
    def _node_id(node: ServerNode) -> str:
        with node.client() as client:
            return str(client.execute_command("CLUSTER MYID"))

    def stop(self) -> None:
        """Kill every node (SIGKILL: nothing of a throw-away cluster is worth a clean save)."""
        for node in self.nodes:
            node.kill()

    def __enter__(self) -> EmbeddedCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- state ---------------------------------------------------------------------------

    @property
    def live_nodes(self) -> list[ServerNode]:
        return [node for node in self.nodes if node.alive]

    @property
    def url(self) -> str:
        """A URL of one live node (any node will do: clients discover the rest)."""
        return self.live_nodes[0].url

    def _info(self, node: ServerNode, section: str) -> dict[str, object]:
        with node.client() as client:
            info: dict[str, object] = client.info(section)
            return info

    def _role(self, node: ServerNode) -> str:
        return str(self._info(node, "replication")["role"])

    def primary_nodes(self) -> list[ServerNode]:
        """The live nodes that are primaries now (after a failover: the promoted ones)."""
        return [node for node in self.live_nodes if self._role(node) == "master"]

    def slot_owner(self, slot: int) -> ServerNode:
        """The live primary serving ``slot`` (as ``CLUSTER SLOTS`` on a live node says)."""
        with self.live_nodes[0].client() as client:
            for low, high, primary, *_ in client.execute_command("CLUSTER SLOTS"):
                if low <= slot <= high:
                    port = int(primary[1])
                    return next(node for node in self.live_nodes if node.port == port)
        raise LookupError(f"slot {slot} is not served")

    def primary_for_key(self, key: str) -> ServerNode:
        return self.slot_owner(key_slot(key))

    def busiest_primary(self) -> ServerNode:
        """The live primary holding the most keys (ties: the first)."""
        sizes = {}
        for node in self.primary_nodes():
            with node.client() as client:
                sizes[node.port] = int(client.dbsize())
        port = max(sizes, key=lambda candidate: sizes[candidate])
        return next(node for node in self.live_nodes if node.port == port)

    # -- health and faults ---------------------------------------------------------------

    def _node_ok(self, node: ServerNode) -> bool:
        info = self._cluster_info(node)
        return info.get("cluster_state") == "ok" and info.get("cluster_slots_ok") == "16384"

    def _cluster_info(self, node: ServerNode) -> dict[str, str]:
        with node.client() as client:
            info: dict[str, str] = client.execute_command("CLUSTER INFO")
            return info

    def _replicas_in_sync(self) -> bool:
        for node in self.primary_nodes():
            info = self._info(node, "replication")
            offset = int(str(info["master_repl_offset"]))
            replicas = [value for name, value in info.items() if name.startswith("slave")]
            if self.replicas_per_primary and not replicas:
                return False
            for replica in replicas:
                if not isinstance(replica, dict) or replica.get("state") != "online":
                    return False
                if int(replica["offset"]) != offset:
                    return False
        return True

    def wait_healthy(self, timeout: float = START_TIMEOUT) -> None:
        """Until every live node says ``cluster_state:ok``, every slot is served and every
        primary has its replicas online and in sync."""
        wait_until(lambda: all(self._node_ok(node) for node in self.live_nodes), timeout, "ok")
        wait_until(self._replicas_in_sync, timeout, "replicas in sync")

    def kill_primary(self, port: int | None = None) -> ServerNode:
        """SIGKILL one primary (the given one, else the busiest); the node killed."""
        victim = (
            next(node for node in self.primary_nodes() if node.port == port)
            if port is not None
            else self.busiest_primary()
        )
        victim.kill()
        return victim

    def wait_for_failover(self, timeout: float = 30.0) -> float:
        """Until every slot is served by a live primary again; the seconds it took."""
        began = time.monotonic()
        wait_until(
            lambda: (
                all(self._node_ok(node) for node in self.live_nodes)
                and len(self.primary_nodes()) == self.primaries
            ),
            timeout,
            "failover",
            step=0.01,
        )
        return time.monotonic() - began

    def restart(self, node: ServerNode) -> None:
        """Start a killed node again (same port, data and cluster config): it rejoins, as a
        replica of whichever node took over its slots. Then waits until all is healthy."""
        node.kill()
        node.start()
        self.wait_healthy()

    def heal(self) -> None:
        """Restart every dead node and wait until healthy (between tests that kill nodes)."""
        for node in self.nodes:
            if not node.alive:
                node.start()
        self.wait_healthy()
