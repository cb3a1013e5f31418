"""CLI commands of the store service, registered on the `newsdrop` Typer app."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this service's commands to `app` (placeholder until the service lands)."""
