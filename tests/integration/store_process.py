"""A real `newsdrop store` process for tests: its own HTTP port, JSON logs to a file."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from newsdrop.shared.keys import Keys
from newsdrop.shared.redis_server import free_port


class StoreProcess:
    def __init__(self, url: str, keys: Keys, log: Path, **env: str) -> None:
        self.port = free_port()
        self.log = log
        environment = dict(os.environ)
        environment.update(
            {
                "REDIS_URL": url,
                "NEWSDROP_PREFIX": keys.prefix,
                "NEWSDROP_STORE_PORT": str(self.port),
                "NEWSDROP_LOG_FORMAT": "json",
                **env,
            }
        )
        with log.open("ab") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "newsdrop", "store"], env=environment, stderr=sink
            )
        self.consumer = f"{os.uname().nodename}-{self.process.pid}"

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"http://127.0.0.1:{self.port}{path}", timeout=3)

    def status(self) -> int | None:
        try:
            return self.get("/health/ready").status_code
        except httpx.HTTPError:
            return None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
