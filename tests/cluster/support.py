"""Helpers of the cluster tests: retry until a deadline, timing from a start."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


async def until_ok(attempt: Callable[[], Awaitable[T]], within: float = 15.0) -> tuple[T, float]:
    """Call ``attempt`` until it returns without raising (every 50 ms, as a service's backoff
    would); its result and the seconds it took. Raises the last error after ``within`` seconds."""
    began = time.monotonic()
    while True:
        try:
            return await attempt(), time.monotonic() - began
        except Exception:
            if time.monotonic() - began > within:
                raise
            await asyncio.sleep(0.05)
