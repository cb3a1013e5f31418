"""The start-up backfill: how far along it is (a pure rule, table-tested)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Progress:
    done: int
    total: int
    rate: float  # files per second
    eta_seconds: float | None


def progress(done: int, total: int, elapsed: float) -> Progress:
    rate = done / elapsed if elapsed > 0 else 0.0
    remaining = max(total - done, 0)
    eta = remaining / rate if rate > 0 else None
    return Progress(done, total, round(rate, 1), None if eta is None else round(eta, 1))
