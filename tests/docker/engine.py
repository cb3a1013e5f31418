"""Is there a Docker engine (and the Compose v2 plugin) for the container tests? One reason
string when not, so a run without one says why in a single line."""

from __future__ import annotations

import shutil
import subprocess


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=20, check=False)


def missing_engine() -> str | None:
    """None when ``docker`` answers and ``docker compose`` exists, else why not (one line)."""
    if shutil.which("docker") is None:
        return "no `docker` command on PATH"
    try:
        server = _run("docker", "version", "--format", "{{.Server.Version}}")
        if server.returncode != 0 or not server.stdout.strip():
            why = (server.stderr.strip().splitlines() or ["no answer"])[-1]
            return f"no Docker engine answers ({why[:160]})"
        compose = _run("docker", "compose", "version", "--short")
    except subprocess.TimeoutExpired:
        return "the Docker engine did not answer within 20 s"
    if compose.returncode != 0:
        return "the Docker Compose v2 plugin (`docker compose`) is missing"
    return None
