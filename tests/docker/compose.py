"""One docker-compose.yml project of a test: a unique project name, the repository's compose
file plus a generated override (temp inbox, ephemeral loopback ports, the test image), and a
``down -v`` that checks nothing of the project is left."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"

# `!override` replaces the base file's list (compose would otherwise add to it): the test's
# inbox instead of ./inbox, an ephemeral port instead of the fixed 127.0.0.1:8081. Health
# checks every second (the image says 10 s) only make `up --wait` quicker.
OVERRIDE = """\
services:
  redis:
    ports: ["127.0.0.1::6379"]
    healthcheck: {{interval: 1s}}
  ingest:
    image: {image}
    volumes: !override
      - {inbox}:/inbox
    ports: !override
      - "127.0.0.1::8081"
    healthcheck: {{interval: 1s}}
    environment: {ingest_env}
  store:
    image: {image}
    ports: ["127.0.0.1::8082"]
    healthcheck: {{interval: 1s}}
    environment: {store_env}
"""


class Compose:
    def __init__(
        self,
        workdir: Path,
        image: str,
        inbox: Path,
        *,
        ingest_env: dict[str, str] | None = None,
        store_env: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.project = f"ndtest{uuid.uuid4().hex[:10]}"
        self.override = workdir / "compose.override.yml"
        self.override.write_text(
            OVERRIDE.format(
                image=image,
                inbox=inbox,
                ingest_env=json.dumps(ingest_env or {}),
                store_env=json.dumps(store_env or {}),
            )
        )
        self.env = {**os.environ, **(env or {})}

    def run(self, *args: str, timeout: float = 180) -> str:
        command = ["docker", "compose", "-p", self.project, "-f", str(COMPOSE_FILE)]
        command += ["-f", str(self.override), *args]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=self.env, check=False
        )
        if done.returncode != 0:
            raise AssertionError(f"`{' '.join(command[2:])}` failed:\n{done.stderr[-3000:]}")
        return done.stdout

    def up(self, *extra: str) -> None:
        self.run("up", "-d", "--wait", "--pull", "never", *extra)

    def containers(self, service: str) -> list[str]:
        """Container ids of a service's running replicas, in replica order."""
        ids = self.run("ps", "-q", service).split()
        names = {cid: docker("inspect", "--format", "{{.Name}}", cid).strip() for cid in ids}
        return sorted(ids, key=lambda cid: _replica_number(names[cid]))

    def url(self, service: str, port: int, index: int = 1) -> str:
        """host:port of a published container port (replica ``index``)."""
        return self.run("port", "--index", str(index), service, str(port)).strip()

    def redis_cli(self, *args: str) -> str:
        return self.run("exec", "-T", "redis", "redis-cli", *args).strip()

    def logs(self, service: str) -> str:
        return self.run("logs", "--no-color", service)

    def down(self) -> None:
        """``down -v``; raises if a container, volume or network of the project is left."""
        self.run("down", "-v", "--remove-orphans", "--timeout", "5")
        label = f"label=com.docker.compose.project={self.project}"
        left = docker("ps", "-aq", "--filter", label).split()
        left += docker("volume", "ls", "-q", "--filter", label).split()
        left += docker("network", "ls", "-q", "--filter", label).split()
        assert not left, f"`docker compose down -v` left {left} of project {self.project}"


def docker(*args: str) -> str:
    done = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise AssertionError(f"`docker {' '.join(args)}` failed: {done.stderr.strip()}")
    return done.stdout


def _replica_number(name: str) -> int:
    tail = name.rsplit("-", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def http_status(host_port: str, path: str, timeout: float = 10.0) -> int:
    """The HTTP status of ``http://host_port/path``, retried until it answers at all."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(f"http://{host_port}{path}", timeout=2) as reply:
                return int(reply.status)
        except urllib.error.HTTPError as exc:
            return exc.code
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
