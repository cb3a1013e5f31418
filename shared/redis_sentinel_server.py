"""A local Sentinel set from the embedded server binary: one primary, replicas, sentinels.

Sentinel mode is the same binary started as ``<binary> <config> --sentinel``; each sentinel
gets a generated, writable config (sentinels rewrite it as they learn the topology).
"""

from __future__ import annotations

import time
from pathlib import Path
from types import TracebackType
from urllib.parse import quote

from newsdrop.shared.server_nodes import ServerNode, start_on_free_port, wait_until

SERVICE_NAME = "newsdrop"
START_TIMEOUT = 30.0


class EmbeddedSentinel:
    """A primary with ``replicas`` replicas watched by ``sentinels`` sentinels (quorum: a
    majority), on 127.0.0.1; ``url`` is the ``redis+sentinel://`` form newsdrop reads."""

    def __init__(
        self,
        data_dir: Path,
        *,
        replicas: int = 1,
        sentinels: int = 3,
        down_after_ms: int = 1000,
        failover_timeout_ms: int = 3000,
        password: str | None = None,
        sentinel_password: str | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.replica_count = replicas
        self.sentinel_count = sentinels
        self.down_after_ms = down_after_ms
        self.failover_timeout_ms = failover_timeout_ms
        self.password = password
        self.sentinel_password = sentinel_password
        self.data_nodes: list[ServerNode] = []
        self.sentinels: list[ServerNode] = []
        self.started_in: float | None = None

    @property
    def quorum(self) -> int:
        return self.sentinel_count // 2 + 1

    # -- start / stop --------------------------------------------------------------------

    def _data_args(self, replica_of: int | None) -> list[str]:
        args = ["--save", "", "--appendonly", "yes", "--repl-diskless-sync-delay", "0"]
        if self.password:
            args += ["--requirepass", self.password, "--masterauth", self.password]
        if replica_of is not None:
            args += ["--replicaof", "127.0.0.1", str(replica_of)]
        return args

    def _sentinel_config(self, directory: Path, primary_port: int) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        lines = [
            f"sentinel monitor {SERVICE_NAME} 127.0.0.1 {primary_port} {self.quorum}",
            f"sentinel down-after-milliseconds {SERVICE_NAME} {self.down_after_ms}",
            f"sentinel failover-timeout {SERVICE_NAME} {self.failover_timeout_ms}",
            f"sentinel parallel-syncs {SERVICE_NAME} 1",
        ]
        if self.password:
            lines.append(f"sentinel auth-pass {SERVICE_NAME} {self.password}")
        if self.sentinel_password:
            lines.append(f"requirepass {self.sentinel_password}")
        path = directory / "sentinel.conf"
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self) -> EmbeddedSentinel:
        began = time.monotonic()
        taken: set[int] = set()
        try:
            for index in range(1 + self.replica_count):
                replica_of = self.data_nodes[0].port if index else None
                self.data_nodes.append(
                    start_on_free_port(
                        lambda port, of=replica_of: ServerNode(  # type: ignore[misc]
                            self.data_dir / f"data-{port}",
                            port,
                            self._data_args(of),
                            self.password,
                        ),
                        taken,
                    )
                )
            for _ in range(self.sentinel_count):
                self.sentinels.append(start_on_free_port(self._make_sentinel, taken))
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise
        self.started_in = time.monotonic() - began
        return self

    def _make_sentinel(self, port: int) -> ServerNode:
        directory = self.data_dir / f"sentinel-{port}"
        config = self._sentinel_config(directory, self.data_nodes[0].port)
        return ServerNode(directory, port, [str(config), "--sentinel"], self.sentinel_password)

    def stop(self) -> None:
        for node in [*self.sentinels, *self.data_nodes]:
            node.kill()

    def __enter__(self) -> EmbeddedSentinel:
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
    def url(self) -> str:
        """``redis+sentinel://[:password@]host:port,host:port/newsdrop/0[?sentinel_password=]``"""
        auth = f":{quote(self.password, safe='')}@" if self.password else ""
        hosts = ",".join(f"127.0.0.1:{node.port}" for node in self.sentinels)
        query = (
            f"?sentinel_password={quote(self.sentinel_password, safe='')}"
            if self.sentinel_password
            else ""
        )
        return f"redis+sentinel://{auth}{hosts}/{SERVICE_NAME}/0{query}"

    def _sentinel_client_view(self, node: ServerNode) -> tuple[int, int]:
        """(primary port, replicas known) as one sentinel sees it."""
        with node.client() as client:
            primary = client.execute_command("SENTINEL GET-MASTER-ADDR-BY-NAME", SERVICE_NAME)
            replicas = client.execute_command("SENTINEL REPLICAS", SERVICE_NAME)
        return int(primary[1]), len(replicas)

    def primary(self) -> ServerNode:
        """The data node the sentinels name as primary now."""
        port, _ = self._sentinel_client_view(self.live_sentinels()[0])
        return next(node for node in self.data_nodes if node.port == port)

    def live_sentinels(self) -> list[ServerNode]:
        return [node for node in self.sentinels if node.alive]

    def _agreed(self) -> bool:
        """Every sentinel names the same live primary and knows the replicas, and (with
        several sentinels) they know each other."""
        views = {self._sentinel_client_view(node) for node in self.live_sentinels()}
        if len(views) != 1:
            return False
        port, replicas = views.pop()
        alive = {node.port for node in self.data_nodes if node.alive}
        return port in alive and replicas >= self.replica_count and self._sentinels_met()

    def _sentinels_met(self) -> bool:
        for node in self.live_sentinels():
            with node.client() as client:
                peers = client.execute_command("SENTINEL SENTINELS", SERVICE_NAME)
            if len(peers) < self.sentinel_count - 1:
                return False
        return True

    def wait_healthy(self, timeout: float = START_TIMEOUT) -> None:
        wait_until(self._agreed, timeout, "sentinels agreeing on the primary")

    def kill_primary(self) -> ServerNode:
        """SIGKILL the current primary; the node killed."""
        victim = self.primary()
        victim.kill()
        return victim

    def wait_for_failover(self, old: ServerNode, timeout: float = 30.0) -> float:
        """Until the sentinels name a live primary other than ``old``; the seconds it took."""
        began = time.monotonic()

        def promoted() -> bool:
            port, _ = self._sentinel_client_view(self.live_sentinels()[0])
            return port != old.port and any(
                node.port == port and node.alive for node in self.data_nodes
            )

        wait_until(promoted, timeout, "sentinel failover", step=0.01)
        return time.monotonic() - began

    def heal(self) -> None:
        """Restart dead data nodes as replicas of the current primary; wait until agreed."""
        for node in self.data_nodes:
            if not node.alive:
                primary = self.primary()
                node.extra_args = self._data_args(primary.port)
                node.start()
        self.wait_healthy()
