"""The one error the benchmark raises on purpose (the CLI turns it into exit 1)."""

from __future__ import annotations


class BenchError(RuntimeError):
    """The pipeline did not produce the expected changelog (or did not start)."""
