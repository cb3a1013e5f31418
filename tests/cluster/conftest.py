"""Timings the cluster tests measure (start, failover, client recovery), listed at the end
of the run so every `make test` shows them for the machine it ran on."""

from __future__ import annotations

from collections.abc import Callable

import pytest

Record = Callable[[str, float], None]
Note = Callable[[str], None]

_TIMINGS: dict[str, list[float]] = {}
_NOTES: list[str] = []


def _record(name: str, seconds: float) -> None:
    _TIMINGS.setdefault(name, []).append(seconds)
    print(f"{name}: {seconds:.2f} s")


@pytest.fixture
def timing() -> Record:
    """``timing(name, seconds)``: note a measurement for the end-of-run summary."""
    return _record


@pytest.fixture
def note() -> Note:
    """``note(text)``: an observation for the end-of-run summary."""
    return _NOTES.append


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _TIMINGS and not _NOTES:
        return
    terminalreporter.section("cluster timings (this machine)")
    for name, values in _TIMINGS.items():
        terminalreporter.write_line(f"{name}: {', '.join(f'{v:.2f}' for v in values)} s")
    for text in _NOTES:
        terminalreporter.write_line(text)
