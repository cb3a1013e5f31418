"""Retry delays, written once: doubling from a base, capped; optionally jittered."""

from __future__ import annotations

import random


def backoff_seconds(attempt: int, *, base: float = 0.1, cap: float = 5.0) -> float:
    """Delay before retry ``attempt`` (1-based): doubling from ``base``, at most ``cap``."""
    if attempt <= 0:
        return 0.0
    return float(min(cap, base * (2 ** min(attempt - 1, 30))))


class Backoff:
    """Delays base, 2*base, 4*base ... capped, each with +-25% jitter; reset on success."""

    def __init__(self, base: float = 0.1, cap: float = 5.0) -> None:
        self.base = base
        self.cap = cap
        self.attempt = 0

    def next(self) -> float:
        self.attempt += 1
        jitter: float = random.uniform(0.75, 1.25)  # noqa: S311 - jitter, not crypto
        return backoff_seconds(self.attempt, base=self.base, cap=self.cap) * jitter

    def reset(self) -> None:
        self.attempt = 0
