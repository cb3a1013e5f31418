"""Every blocking read ends well before its client's socket timeout, or an idle reader dies of
a read timeout (issue 16: `newsdrop tail` blocked 5,000 ms on redis-py's default 5 s timeout).
tests/integration/test_subscriber_examples.py holds the readers idle for twice the timeout."""

from __future__ import annotations

import asyncio

from newsdrop.shared.redis_client import SOCKET_TIMEOUT, async_redis, sync_redis
from newsdrop.store import changes
from newsdrop.store.config import BLOCK_MS, ConsumerConfig

MARGIN = 4  # a blocking read waits at most a quarter of the socket timeout

URL = "redis://127.0.0.1:1/0"  # never connected: only the clients' options are read


def test_the_clients_use_the_one_socket_timeout() -> None:
    tool = sync_redis(URL)
    assert tool.connection_pool.connection_kwargs["socket_timeout"] == SOCKET_TIMEOUT
    tool.close()
    service = async_redis(URL)
    assert service.connection_pool.connection_kwargs["socket_timeout"] == SOCKET_TIMEOUT
    asyncio.run(service.aclose())


def test_the_store_blocks_well_below_it() -> None:
    assert ConsumerConfig("s", "g", "c", 1).block_ms == BLOCK_MS
    assert BLOCK_MS * MARGIN <= SOCKET_TIMEOUT * 1000


def test_tail_blocks_well_below_it() -> None:
    assert changes.LiveReads([]).block_ms == changes.BLOCK_MS
    assert changes.BLOCK_MS * MARGIN <= SOCKET_TIMEOUT * 1000
