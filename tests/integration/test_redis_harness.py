from __future__ import annotations

from pathlib import Path

import redis

from newsdrop.shared.keys import Keys
from newsdrop.shared.redis_server import EmbeddedRedis, redact_url
from tests.redis_harness import docker_answers, session_redis


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


def test_harness_uses_redis_url_when_given(tmp_path: Path) -> None:
    with (
        EmbeddedRedis(tmp_path / "given", appendonly=False) as server,
        session_redis(tmp_path / "unused", environ={"REDIS_URL": server.url}) as chosen,
    ):
        assert (chosen.url, chosen.source, chosen.warning) == (
            server.url,
            "REDIS_URL (given)",
            None,
        )
        assert not (tmp_path / "unused").exists()  # no server of its own was started


def test_harness_without_an_engine_starts_the_embedded_server(tmp_path: Path) -> None:
    no_engine = {"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}
    assert not docker_answers(no_engine)
    with session_redis(tmp_path, environ=no_engine) as chosen:
        assert chosen.source.startswith("embedded server (version ")
        assert chosen.warning is None  # no engine is not a fallback: nothing to warn about
        with redis.Redis.from_url(chosen.url) as client:
            assert client.ping()
