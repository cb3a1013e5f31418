"""Where the test session's Redis comes from: ``REDIS_URL``, else a testcontainers Redis when
a Docker engine answers, else the embedded server binary.

A Docker engine that answers but cannot run the image (no registry, no ryuk image, a broken
daemon) falls back to the embedded server with one line on stderr instead of failing the
session.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator

# The image compose uses (the team's docker-engine.sh tool, outside this repository, builds
# a local stand-in of it where no registry is reachable).
CONTAINER_IMAGE = "redis:7.4-alpine"


def docker_answers() -> bool:
    try:
        import docker  # type: ignore[import-untyped]

        client = docker.from_env(timeout=2)
        client.ping()
        client.close()
    except Exception:
        return False
    return True


@contextlib.contextmanager
def container_redis_url(image: str = CONTAINER_IMAGE) -> Iterator[str | None]:
    """A testcontainers Redis URL, or None (with one line on stderr) if it cannot start."""
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")  # ryuk cannot be pulled here
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            from testcontainers.redis import RedisContainer

            container = RedisContainer(image).start()
    except Exception as exc:
        sys.stderr.write(
            f"tests: Docker answers but {image} did not start ({type(exc).__name__}: "
            f"{str(exc)[:200]}); using the embedded server instead\n"
        )
        yield None
        return
    try:
        host = container.get_container_host_ip()
        port = container.get_exposed_port(6379)
        yield f"redis://{host}:{port}/0"
    finally:
        container.stop()
