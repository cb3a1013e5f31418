"""Server processes for local multi-node setups (a test cluster, a Sentinel set).

Each node: the embedded server binary, 127.0.0.1 only, its own directory and log, stopped
with its parent (the same rules as ``EmbeddedRedis``). Used by ``EmbeddedCluster`` and
``EmbeddedSentinel`` for the tests and ``newsdrop bench --cluster``.
"""

from __future__ import annotations

import contextlib
import random
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from newsdrop.shared.child_process import stop_process
from newsdrop.shared.pdeathsig import die_with_parent
from newsdrop.shared.redis_server import NoRedisServerError, find_server_binary

CLUSTER_BUS_OFFSET = 10000  # a cluster node also listens on port + 10000
_PORT_RANGE = (20000, 30000)  # below the ephemeral range; + 10000 stays below 65536


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_pair(taken: set[int] | None = None) -> int:
    """A port whose cluster bus port (+10000) is free too (another process may still take
    either before the server binds: ``ServerNode.start`` retries on a busy port)."""
    avoid = taken or set()
    for _ in range(1000):
        port = random.randrange(*_PORT_RANGE)  # noqa: S311 - not security
        if port in avoid or port + CLUSTER_BUS_OFFSET in avoid:
            continue
        if port_is_free(port) and port_is_free(port + CLUSTER_BUS_OFFSET):
            return port
    raise NoRedisServerError("no free port pair (port and port + 10000) found")


def wait_until(check: Callable[[], bool], timeout: float, what: str, step: float = 0.02) -> None:
    """Poll ``check`` (exceptions count as "not yet") until true or ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(redis.RedisError, OSError):
            if check():
                return
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout} s")
        time.sleep(step)


class ServerNode:
    """One server process (data node or sentinel) on 127.0.0.1."""

    def __init__(
        self,
        data_dir: Path,
        port: int,
        extra_args: Sequence[str] = (),
        password: str | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.port = port
        self.extra_args = list(extra_args)
        self.password = password  # what the node requires (requirepass), for its clients
        self.binary = find_server_binary()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def log_path(self) -> Path:
        return self.data_dir / "server.log"

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def command_line(self) -> list[str]:
        return [
            str(self.binary),
            *self.extra_args,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.data_dir),
            "--daemonize",
            "no",
            "--logfile",
            str(self.log_path),
        ]

    def client(self, timeout: float = 2.0) -> redis.Redis:
        return redis.Redis(
            host="127.0.0.1",
            port=self.port,
            password=self.password,
            socket_timeout=timeout,
            retry=Retry(NoBackoff(), 0),  # polls: no retries with backoff
            decode_responses=True,
        )

    def start(self, timeout: float = 10.0) -> None:
        """Start and wait for PING (raises with the log's tail if the server exits).

        The node gets SIGTERM when the *thread* that started it ends (PR_SET_PDEATHSIG):
        start nodes from a long-lived thread (the main one), not from ``to_thread``.
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            self.command_line(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        deadline = time.monotonic() + timeout
        with self.client(timeout=1.0) as client:
            while True:
                if self.process.poll() is not None:
                    raise NoRedisServerError(f"{self.binary} exited at start:\n{self.log_tail()}")
                with contextlib.suppress(redis.ConnectionError, redis.BusyLoadingError):
                    if client.ping():
                        return
                if time.monotonic() > deadline:
                    self.kill()
                    raise NoRedisServerError(f"{self.binary} did not answer within {timeout} s")
                time.sleep(0.02)

    def log_tail(self, chars: int = 2000) -> str:
        if not self.log_path.exists():
            return ""
        return self.log_path.read_text(errors="replace")[-chars:]

    def kill(self) -> None:
        """SIGKILL (fault injection, and the fast way to stop a throw-away node)."""
        if self.process is not None:
            if self.process.poll() is None:
                self.process.kill()
            self.process.wait()

    def stop(self, timeout: float = 5.0) -> None:
        if self.process is not None:
            stop_process(self.process, timeout)


def start_on_free_port(
    make: Callable[[int], ServerNode], taken: set[int], attempts: int = 5
) -> ServerNode:
    """Start ``make(port)`` on a free port pair, retrying with another pair if the server
    could not bind (another process took the port between the check and the start)."""
    for attempt in range(attempts):
        port = free_port_pair(taken)
        node = make(port)
        try:
            node.start()
        except NoRedisServerError:
            if attempt == attempts - 1 or "in use" not in node.log_tail():
                raise
            continue
        taken.update({port, port + CLUSTER_BUS_OFFSET})
        return node
    raise NoRedisServerError("could not start a server node")  # pragma: no cover
