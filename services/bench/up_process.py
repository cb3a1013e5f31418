"""The real pipeline under test: `newsdrop up` as a subprocess, with its own ports and state.

It talks to the private Redis the benchmark started itself.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from newsdrop.bench.process_tree import ServiceTree, service_tree
from newsdrop.shared.pdeathsig import die_with_parent
from newsdrop.shared.redis_server import free_port


@dataclass
class UpProcess:
    process: subprocess.Popen[bytes]
    log_path: Path
    started: float  # perf_counter just before the spawn

    def tree(self) -> ServiceTree:
        """The processes of each service: its main process and all of its descendants."""
        return service_tree(self.process.pid)

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self, timeout: float = 20.0) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


# Modules the services import at start, compiled once before the timed start (see below).
WARM_IMPORTS = (
    "newsdrop.cli",
    "newsdrop.supervisor",
    "newsdrop.ingest.app",
    "newsdrop.ingest.jobs",
    "newsdrop.store.app",
    "uvicorn",
    "watchfiles",
)


def bytecode_env(env: dict[str, str], cache: Path | None) -> dict[str, str]:
    """Let the services use (and write) compiled bytecode in a private cache folder.

    A deployed install has .pyc files; this machine sets PYTHONDONTWRITEBYTECODE and uv
    installs without compiling, so every process start would compile every module it
    imports from source (~3 s per service here). ``cache=None`` measures that cold start.
    """
    env = dict(env)
    if cache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def warm_bytecode(cache: Path) -> None:
    """Compile what the services import into ``cache`` (not timed)."""
    code = "import " + ", ".join(WARM_IMPORTS)
    subprocess.run(
        [sys.executable, "-c", code], env=bytecode_env(dict(os.environ), cache), check=True
    )


def start_up(
    inbox: Path,
    redis_url: str,
    work: Path,
    prefix: str,
    pycache: Path | None = None,
    extra_env: Mapping[str, str] | None = None,
) -> UpProcess:
    """`newsdrop up --inbox INBOX` against the private Redis (or cluster), with ports of its
    own; ``extra_env`` adds settings (``NEWSDROP_PARTITIONS`` for a cluster)."""
    env = bytecode_env(dict(os.environ), pycache)
    env.update(
        {
            "REDIS_URL": redis_url,
            "NEWSDROP_PREFIX": prefix,
            "NEWSDROP_INGEST_PORT": str(free_port()),
            "NEWSDROP_STORE_PORT": str(free_port()),
            "NEWSDROP_STATE_DIR": str(work / "state"),
            "NEWSDROP_LOG_FORMAT": "json",
        }
    )
    env.update(extra_env or {})
    env.pop("NEWSDROP_REDIS_URL", None)
    log_path = work / "up.log"
    command = [sys.executable, "-m", "newsdrop", "up", "--inbox", str(inbox)]
    with log_path.open("wb") as log:
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent,  # `up` stops its children if the bench dies
        )
    return UpProcess(process, log_path, started)
