"""Exponential back-off with jitter for retrying Redis."""

from __future__ import annotations

import random


class Backoff:
    """Delays base, 2*base, 4*base ... capped, each with +-25% jitter; reset on success."""

    def __init__(self, base: float = 0.1, cap: float = 5.0) -> None:
        self.base = base
        self.cap = cap
        self.attempt = 0

    def next(self) -> float:
        delay = min(self.cap, self.base * 2.0**self.attempt)
        self.attempt += 1
        jitter: float = random.uniform(0.75, 1.25)  # noqa: S311 - jitter, not crypto
        return delay * jitter

    def reset(self) -> None:
        self.attempt = 0
