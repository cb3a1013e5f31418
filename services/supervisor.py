"""What `newsdrop up` runs: Redis (given or embedded), then ingest and store as supervised children.

Children are restarted with back-off when they exit, except after a configuration error (exit
status 2: a setting the child refuses, such as another NEWSDROP_PARTITIONS than Redis holds):
restarting cannot fix that, so `up` stops everything and exits 2 with the child's message.
SIGINT/SIGTERM/SIGHUP stop the children with SIGTERM (each finishes its in-flight work within
graceful_timeout), then the embedded server (each child and the server in its own session, so
a terminal's Ctrl-C reaches `up` alone and the stop order holds). One `up` per state folder
(``shared.state.up_lock``). At a terminal (stderr a TTY, ``NEWSDROP_LOG_FORMAT`` not ``json``)
``terminal_display`` shows a backfill progress bar and then a live summary line, the services'
lines go to ``<state_dir>/logs/<service>.log`` (warnings and errors are also shown) and up's
own to ``logs/up.log``; off a terminal every JSON line goes to stderr.
The command line (``newsdrop.cli.up``) only builds the Settings and calls ``run_up``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType

from newsdrop.shared.exit_codes import CONFIG_ERROR
from newsdrop.shared.logging import configure_logging, get_logger
from newsdrop.shared.redis_server import EmbeddedRedis, NoRedisServerError, redact_url
from newsdrop.shared.retry import Backoff
from newsdrop.shared.settings import LogFormat, Settings
from newsdrop.shared.state import AlreadyRunningError, clear_state_url, up_lock, write_state_url
from newsdrop.supervised_child import Child
from newsdrop.terminal_display import TerminalDisplay, log_sink

SERVICES = ("ingest", "store")
POLL_SECONDS = 0.1
KILL_MARGIN_SECONDS = 5.0

log = get_logger(__name__)


class RedisKeeper:
    """Restarts the embedded server (same port, same AOF data) if it dies under us."""

    def __init__(self, server: EmbeddedRedis) -> None:
        self.server = server
        self.backoff = Backoff(base=0.5, cap=30.0)
        self.next_start = 0.0

    def check(self, now: float) -> None:
        process = self.server.process
        if process is not None and process.poll() is None:
            return
        if process is not None:
            log.error("redis_exited", code=process.returncode)
            self.server.process = None
            self.next_start = now + self.backoff.next()
        if now < self.next_start:
            return
        try:
            self.server.start()
        except NoRedisServerError as exc:
            log.error("redis_restart_failed", error=str(exc))
            self.server.process = None
            self.next_start = time.monotonic() + self.backoff.next()
        else:
            log.info("redis_restarted", port=self.server.port)
            self.backoff.reset()


class Supervisor:
    """Keeps the children (and the embedded server, if any) running until a stop signal."""

    def __init__(
        self,
        children: list[Child],
        env: dict[str, str],
        graceful: float,
        keeper: RedisKeeper | None = None,
        on_tick: Callable[[], None] | None = None,
    ) -> None:
        self.children = children
        self.env = env
        self.graceful = graceful
        self.keeper = keeper
        self.on_tick = on_tick  # called once per poll (the terminal display's refresh)
        self.stopping = False

    def request_stop(self, signum: int, frame: FrameType | None) -> None:
        if not self.stopping:
            log.info("stopping", signal=signal.Signals(signum).name)
        self.stopping = True

    def run(self) -> str | None:
        """Supervise until a stop signal or a child's configuration error (returned)."""
        while not self.stopping:
            now = time.monotonic()
            if self.keeper is not None:
                self.keeper.check(now)
            for child in self.children:
                if child.process is None and now >= child.next_start:
                    child.start(self.env)
                else:
                    child.check(now)
                if child.refusal is not None:
                    self.stop_children()
                    return (
                        f"{child.name} refused its configuration (not restarted): {child.refusal}"
                    )
            if self.on_tick is not None:
                self.on_tick()
            time.sleep(POLL_SECONDS)
        self.stop_children()
        return None

    def stop_children(self) -> None:
        for child in self.children:
            child.terminate()
        deadline = time.monotonic() + self.graceful + KILL_MARGIN_SECONDS
        for child in self.children:
            child.wait(deadline)


def child_argv(service: str, inbox: Path) -> list[str]:
    argv = [sys.executable, "-m", "newsdrop", service]
    return [*argv, "--inbox", str(inbox)] if service == "ingest" else argv


def banner(settings: Settings, inbox: Path, url: str, embedded: EmbeddedRedis | None) -> str:
    host = settings.http_host
    where = f"embedded, data in {embedded.data_dir}" if embedded else "from REDIS_URL"
    safe = redact_url(url)
    cli = sys.argv[0] if Path(sys.argv[0]).name == "newsdrop" else "newsdrop"
    streams = (
        f"redis-cli -u {safe} XREAD BLOCK 0 STREAMS {settings.keys.articles} 0"
        if settings.partitions == 1
        else f"{cli} streams   (one changelog stream per partition)"
    )
    return "\n".join(
        [
            "newsdrop is up.",
            f"  inbox:      {inbox}   (drop article files here)",
            f"  redis:      {safe}   ({where})",
            f"  subscribe:  {cli} tail --from-start     (or: {cli} get URL, {cli} stats)",
            f"              {streams}",
            "              docs/subscribing.md: redis-py and FastStream examples",
            f"  health:     http://{host}:{settings.ingest_port}/health/ready   (ingest)",
            f"              http://{host}:{settings.store_port}/health/ready   (store)",
            f"  metrics:    http://{host}:{settings.ingest_port}/metrics, "
            f"http://{host}:{settings.store_port}/metrics",
            "Ctrl-C stops everything.",
            "",
        ]
    )


def at_terminal(settings: Settings) -> bool:
    """Show the terminal display: stderr is a TTY and JSON lines were not asked for."""
    return sys.stderr.isatty() and settings.log_format is not LogFormat.JSON


def child_env(settings: Settings, url: str, inbox: Path, state_dir: Path) -> dict[str, str]:
    """The children's environment: ours, with the resolved Redis, folders and prefix."""
    env = dict(os.environ)
    env.update(
        {
            "REDIS_URL": url,
            "NEWSDROP_INBOX": str(inbox),
            "NEWSDROP_STATE_DIR": str(state_dir),
            "NEWSDROP_PREFIX": settings.prefix,
            "NEWSDROP_GRACEFUL_TIMEOUT": str(settings.graceful_timeout),
        }
    )
    env.pop("NEWSDROP_REDIS_URL", None)
    return env


def run_up(settings: Settings) -> int:
    """``run_pipeline`` holding the state folder's lock (a second `up` there: exit 2)."""
    state_dir = settings.state_dir.expanduser().resolve()
    try:
        with up_lock(state_dir):
            return run_pipeline(settings)
    except AlreadyRunningError as exc:
        sys.stderr.write(f"newsdrop up: {exc}\n")
        return CONFIG_ERROR


def run_pipeline(settings: Settings) -> int:
    """Run the pipeline until a stop signal; the exit status (2: a child refused its
    configuration, and its message was written to stderr).

    Raises ``NoRedisServerError`` (before anything started) when no Redis URL is set and no
    server binary is available for the embedded one.
    """
    inbox = settings.inbox.expanduser().resolve()
    inbox.mkdir(parents=True, exist_ok=True)
    state_dir = settings.state_dir.expanduser().resolve()
    with contextlib.ExitStack() as stack:
        display: TerminalDisplay | None = None
        if at_terminal(settings):
            logs = state_dir / "logs"
            logs.mkdir(parents=True, exist_ok=True)
            up_log = stack.enter_context((logs / "up.log").open("a", encoding="utf-8"))
            configure_logging("up", settings.log_level, LogFormat.JSON, stream=up_log)
            display = TerminalDisplay(
                settings.http_host, settings.ingest_port, settings.store_port, f"{logs}/"
            )
        else:
            configure_logging("up", settings.log_level, settings.log_format)
        return _run(settings, inbox, state_dir, display)


def _run(settings: Settings, inbox: Path, state_dir: Path, display: TerminalDisplay | None) -> int:
    embedded: EmbeddedRedis | None = None
    url = settings.redis_url_value()
    if url is None:
        embedded = EmbeddedRedis(state_dir / "redis", appendonly=True).start()
        url = embedded.url
        write_state_url(state_dir, url)
    log.info("redis", url=redact_url(url), embedded=embedded is not None)

    children = [Child(name, child_argv(name, inbox)) for name in SERVICES]
    if display is not None:
        for child in children:
            child.sink = log_sink(str(state_dir / "logs" / f"{child.name}.log"), display.echo)
    keeper = RedisKeeper(embedded) if embedded is not None else None
    env = child_env(settings, url, inbox, state_dir)
    tick = display.tick if display is not None else None
    supervisor = Supervisor(children, env, settings.graceful_timeout, keeper, tick)
    previous = {
        sig: signal.signal(sig, supervisor.request_stop)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    }
    try:
        sys.stdout.write(banner(settings, inbox, url, embedded))
        sys.stdout.flush()
        with display if display is not None else contextlib.nullcontext():
            refusal = supervisor.run()
    finally:
        supervisor.stop_children()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if embedded is not None:
            embedded.stop()
            clear_state_url(state_dir)
        log.info("stopped")
    if refusal is not None:
        sys.stderr.write(f"newsdrop up: {refusal}\n")
        return CONFIG_ERROR
    return 0
