"""`newsdrop bench` (registered on the `newsdrop` Typer app)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the bench command to `app` (placeholder until the benchmark lands)."""
