"""A real Prometheus for a test: its own temp dir, a free port, 1 s scrapes and rule
evaluations, the repository's alerts.yml; queried through its HTTP API."""

from __future__ import annotations

import math
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import yaml

from newsdrop.shared.redis_server import free_port
from tests.ops.catalogue import ALERTS

SCRAPE_SECONDS = 1


class Prometheus:
    def __init__(self, binary: Path, root: Path, targets: dict[str, str]) -> None:
        """``targets``: job name -> host:port."""
        self.binary = binary
        self.root = root
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        config = {
            "global": {
                "scrape_interval": f"{SCRAPE_SECONDS}s",
                "scrape_timeout": f"{SCRAPE_SECONDS}s",
                "evaluation_interval": f"{SCRAPE_SECONDS}s",
            },
            "rule_files": [str(ALERTS)],
            "scrape_configs": [
                {"job_name": job, "static_configs": [{"targets": [target]}]}
                for job, target in targets.items()
            ],
        }
        self.config = root / "prometheus.yml"
        self.config.write_text(yaml.safe_dump(config))
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Prometheus:
        self.log = (self.root / "prometheus.log").open("wb")
        self.process = subprocess.Popen(
            [
                str(self.binary),
                f"--config.file={self.config}",
                f"--storage.tsdb.path={self.root / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            cwd=self.root,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while not self._ready():
            assert self.process.poll() is None, self.log_text()
            assert time.monotonic() < deadline, "prometheus not ready within 20 s"
            time.sleep(0.1)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.log.close()

    def log_text(self) -> str:
        return (self.root / "prometheus.log").read_text(errors="replace")[-3000:]

    def _ready(self) -> bool:
        try:
            return httpx.get(f"{self.base}/-/ready", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    def api(self, path: str, **params: str) -> Any:
        response = httpx.get(f"{self.base}/api/v1/{path}", params=params, timeout=5)
        body = response.json()
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        """The instant vector (or scalar, as one sample) ``expr`` gives now."""
        data = self.api("query", query=expr)
        if data["resultType"] == "vector":
            return list(data["result"])
        return [{"metric": {}, "value": data["result"]}]


def has_data(samples: list[dict[str, Any]]) -> bool:
    """At least one sample, and at least one that is a number (not NaN: a quantile of no
    observations)."""
    return any(not math.isnan(float(sample["value"][1])) for sample in samples)
