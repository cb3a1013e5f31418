"""`.ci/run` provisions the images the repository asks for: its list covers every base image
of the Dockerfile, every image of the compose files and the test harness's Redis image."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.redis_harness import CONTAINER_IMAGE

ROOT = Path(__file__).resolve().parents[2]


def provisioned() -> set[str]:
    match = re.search(r"^images=\(([^)]*)\)$", (ROOT / ".ci/run").read_text(), re.MULTILINE)
    assert match, ".ci/run has no images=(...) list"
    return set(match.group(1).split())


def asked_for() -> set[str]:
    wanted = {CONTAINER_IMAGE}
    wanted |= set(re.findall(r"^FROM (\S+)", (ROOT / "Dockerfile").read_text(), re.MULTILINE))
    for name in ("docker-compose.yml", "docker-compose.cluster.yml"):
        services = yaml.safe_load((ROOT / name).read_text())["services"]
        wanted |= {s["image"] for s in services.values() if "build" not in s and "image" in s}
    return {image for image in wanted if not image.startswith("newsdrop")}


def test_ci_provisions_every_image_the_repository_asks_for() -> None:
    wanted = asked_for()
    assert wanted >= {"python:3.11-slim", "redis:7.4-alpine"}
    assert wanted <= provisioned(), f"missing from .ci/run: {sorted(wanted - provisioned())}"
