"""Settings checked against this machine before anything starts: folders and ports.

``Settings`` checks each value alone; these check what only the machine can tell (is the
inbox a folder, is the port free) and how settings relate (is the move folder inside the
inbox). Each problem is one line naming its setting; the commands print them and exit 2
(``CONFIG_ERROR``), which `newsdrop up` never restarts. `up` runs every check of both
services before it starts its server, so a bad setting never gets as far as its banner.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from newsdrop.shared.settings import AfterAction, Settings, env_var

# Where `move` puts files under the move folder (ingest/after_actions.py uses the same names).
PROCESSED = "processed"
FAILED = "failed"


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def folder_problem(setting: str, path: Path, *, writable: bool) -> str | None:
    """Why ``path`` cannot serve as the folder of ``setting`` (created if missing), or None."""
    shown = f"{path} ({env_var(setting)}, --{setting.replace('_', '-')})"
    if path.exists():
        if not path.is_dir():
            return f"{shown} is a file, not a folder"
        mode = os.R_OK | os.X_OK | (os.W_OK if writable else 0)
        if not os.access(path, mode):
            need = "readable and writable" if writable else "readable"
            return f"{shown} is not {need} by this user"
        return None
    parent = _nearest_existing(path.parent)
    if not parent.is_dir():
        return f"{shown} cannot be created: {parent} is a file, not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"{shown} cannot be created: {parent} is not writable by this user"
    return None


def _inside(path: Path, folder: Path) -> tuple[str, ...] | None:
    """The parts of ``path`` below ``folder`` (() when equal), None when outside it."""
    try:
        return path.relative_to(folder).parts
    except ValueError:
        return None


def move_problems(settings: Settings) -> list[str]:
    """The move folder (only when an after-action moves): a folder, and not one ingest
    watches (files moved there would be ingested again, and again)."""
    used = [
        name
        for name, action in ((PROCESSED, settings.on_success), (FAILED, settings.on_failure))
        if action is AfterAction.MOVE
    ]
    if not used:
        return []
    inbox = settings.inbox.expanduser().resolve()
    root = settings.effective_move_dir.expanduser().resolve()
    variable = "NEWSDROP_MOVE_DIR"
    for name in used:
        below = _inside(root / name, inbox)
        if below is not None and not any(part.startswith(".") for part in below):
            return [
                f"{variable}={settings.effective_move_dir}: files moved to {root / name} would "
                f"be in the watched inbox {inbox} and ingested again; use a folder outside the "
                "inbox or a hidden one (a name starting with '.', like the default "
                "<inbox>/.newsdrop)"
            ]
    problem = folder_problem("move_dir", root, writable=True)
    return [problem] if problem else []


def port_problem(variable: str, host: str, port: int) -> str | None:
    """Why the HTTP server cannot listen on ``host:port`` (checked by binding), or None."""
    try:  # (port 0, any free port, binds too: the host is checked all the same)
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return f"NEWSDROP_HTTP_HOST={host}: not an address of this machine ({exc.strerror})"
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            probe.bind(address)
        except OSError as exc:
            return (
                f"{variable}={port}: cannot listen on {host}:{port} ({exc.strerror}); "
                f"set {variable} (or --port) to a free port"
            )
    return None


def ingest_problems(settings: Settings) -> list[str]:
    """What keeps ``newsdrop ingest`` from starting on this machine (one line each)."""
    keep = AfterAction.KEEP
    moves = settings.on_success is not keep or settings.on_failure is not keep
    problems = [
        folder_problem("inbox", settings.inbox.expanduser().absolute(), writable=moves),
        *move_problems(settings),
        port_problem("NEWSDROP_INGEST_PORT", settings.http_host, settings.ingest_port),
    ]
    return [problem for problem in problems if problem]


def store_problems(settings: Settings) -> list[str]:
    """What keeps ``newsdrop store`` from starting on this machine (one line each)."""
    problem = port_problem("NEWSDROP_STORE_PORT", settings.http_host, settings.store_port)
    return [problem] if problem else []


def up_problems(settings: Settings, *, embedded: bool) -> list[str]:
    """Both services' problems, and `up`'s own: its state folder (for an embedded server)
    and two services on one port."""
    problems = ingest_problems(settings) + store_problems(settings)
    if settings.ingest_port == settings.store_port != 0:
        problems.append(
            f"NEWSDROP_INGEST_PORT and NEWSDROP_STORE_PORT are both {settings.store_port}: "
            "the two services need two ports"
        )
    if embedded:
        state = folder_problem(
            "state_dir", settings.state_dir.expanduser().absolute(), writable=True
        )
        problems += [state] if state else []
    return problems
