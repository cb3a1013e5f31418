from __future__ import annotations

from pathlib import Path

import redis

from newsdrop.shared.keys import Keys
from newsdrop.shared.redis_server import EmbeddedRedis, redact_url


def test_session_redis_is_real(redis_client: redis.Redis, keys: Keys) -> None:
    entry = redis_client.xadd(keys.articles, {"a": "1"})
    assert redis_client.xrange(keys.articles) == [(entry, {"a": "1"})]
    assert "redis_version" in redis_client.info("server")


def test_embedded_server_keeps_data_with_aof(tmp_path: Path) -> None:
    server = EmbeddedRedis(tmp_path, appendonly=True)
    with server:
        client = redis.Redis.from_url(server.url)
        client.set("k", "v")
        client.execute_command("CONFIG", "SET", "appendfsync", "always")
        client.set("k2", "v2")
        client.close()
    again = EmbeddedRedis(tmp_path, port=server.port, appendonly=True)
    with again:
        client = redis.Redis.from_url(again.url, decode_responses=True)
        assert client.get("k2") == "v2"
        client.close()
    assert again.process is None


def test_embedded_server_password(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path, password="s3cret", appendonly=False) as server:
        assert redis.Redis.from_url(server.url).ping()
        assert "s3cret" not in redact_url(server.url)
        assert redact_url(server.url).startswith("redis://:***@127.0.0.1:")
