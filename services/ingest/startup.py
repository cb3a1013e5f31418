"""What ingest checks once Redis answers, before it writes anything: the Redis topology
allows the after-action, the number of partitions matches the one recorded, and this
instance's lease is ours. A failed check is a configuration error (``StartRefusedError``:
one line; the command exits 2); Redis errors propagate, and the caller retries them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from newsdrop.ingest.after_actions import STANDALONE, after_action_safe, unsafe_after_action_message
from newsdrop.ingest.instance_lease import InstanceLease, LeaseHeldError
from newsdrop.shared.partition_meta import PartitionMismatchError, ensure_partitions
from newsdrop.shared.redis_topology import AsyncClient
from newsdrop.shared.settings import AfterAction

# () -> "standalone" | "cluster" | "sentinel"
TopologyProbe = Callable[[], Awaitable[str]]


class StartRefusedError(Exception):
    """A configuration that cannot work against this Redis; the message is one line."""


class TopologyChangedError(StartRefusedError):
    """Redis turned out to be another topology than the one the client was made for (it did
    not answer when ingest started): start again, and the right client is made."""


async def standalone() -> str:
    """The topology until the client factories tell it (see ``StartupChecks``)."""
    return STANDALONE


@dataclass(frozen=True, slots=True)
class StartupConfig:
    prefix: str
    partitions: int
    on_success: AfterAction
    wait_replicas: int


class StartupChecks:
    """``run`` once at start (retried by the caller while Redis is away).

    ``topology`` says what Redis is behind REDIS_URL ("standalone", "cluster" or
    "sentinel"; ``app.topology_client`` probes it), for the after-action rule.
    """

    def __init__(
        self,
        redis: AsyncClient,
        config: StartupConfig,
        lease: InstanceLease,
        topology: TopologyProbe = standalone,
    ) -> None:
        self.redis = redis
        self.config = config
        self.lease = lease
        self.topology = topology

    async def run(self) -> None:
        config = self.config
        await self.redis.ping()
        topology = await self.topology()
        if not after_action_safe(config.on_success, config.wait_replicas, topology):
            raise StartRefusedError(unsafe_after_action_message(config.on_success, topology))
        try:
            await ensure_partitions(self.redis, config.prefix, config.partitions)
        except PartitionMismatchError as exc:
            raise StartRefusedError(str(exc)) from exc
        try:
            await self.lease.acquire()
        except LeaseHeldError as exc:
            raise StartRefusedError(str(exc)) from exc
