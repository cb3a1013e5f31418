"""Run a service's ASGI app under uvicorn the same way for ingest and store."""

from __future__ import annotations

import asyncio
import logging
import math
import os
import signal
from types import FrameType
from typing import Any

from faststream.asgi import AsgiFastStream


def _ignore_signal(signum: int, frame: FrameType | None) -> None:
    """uvicorn re-raises the stop signal after its graceful shutdown: make that a no-op."""


def request_stop() -> None:
    """Ask the running server to stop gracefully, as a SIGTERM does (for a service that finds
    at start that it must not run: it stops cleanly, then reports why)."""
    os.kill(os.getpid(), signal.SIGTERM)


def serve(
    app: AsgiFastStream, *, host: str, port: int, log_level: str, graceful_timeout: float
) -> None:
    """Serve ``app`` until SIGTERM/SIGINT; a graceful stop returns normally (exit status 0)."""
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop_signal, _ignore_signal)
    level = logging.getLevelNamesMapping().get(log_level.upper(), logging.INFO)
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "log_config": None,
        "access_log": "false",
        "timeout_graceful_shutdown": math.ceil(graceful_timeout),
    }
    asyncio.run(app.run(log_level=level, run_extra_options=options))
