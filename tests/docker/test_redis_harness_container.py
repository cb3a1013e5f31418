"""The harness's container branches (tests/redis_harness.py), with an engine: the container
works and is gone afterwards; an image that cannot be had falls back to the embedded server
with one warning."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import redis

from tests.docker.compose import docker
from tests.redis_harness import CONTAINER_IMAGE, session_redis

NO_REDIS_URL = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}


def test_engine_answers_and_the_container_is_the_session_redis(tmp_path: Path) -> None:
    with session_redis(tmp_path, environ=NO_REDIS_URL) as chosen:
        assert chosen.source.startswith(f"testcontainers {CONTAINER_IMAGE} (redis_version ")
        assert chosen.warning is None
        with redis.Redis.from_url(chosen.url, decode_responses=True) as client:
            client.xadd("harness:probe", {"a": "1"})
            assert client.xlen("harness:probe") == 1
            port = int(chosen.url.rsplit(":", 1)[1].split("/")[0])
        published = docker("ps", "--filter", f"publish={port}", "-q").split()
        assert len(published) == 1
    assert docker("ps", "-aq", "--filter", f"id={published[0]}").split() == []


def test_image_that_cannot_be_had_falls_back_with_one_warning(tmp_path: Path) -> None:
    absent = f"redis:newsdrop-absent-{uuid.uuid4().hex[:8]}"  # no registry has it
    with session_redis(tmp_path, image=absent, environ=NO_REDIS_URL) as chosen:
        assert chosen.source.startswith("embedded server (version ")
        assert chosen.warning is not None
        assert chosen.warning.startswith(f"a Docker engine answers but {absent} did not start (")
        assert "\n" not in chosen.warning
        with redis.Redis.from_url(chosen.url) as client:
            assert client.ping()
