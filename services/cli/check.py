"""`newsdrop check`: validate article files without Redis (the parser's verdict per file)."""

from __future__ import annotations

import os
import stat as stat_module
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from newsdrop.shared.files import NameRules, walk_candidates
from newsdrop.shared.settings import Settings

if TYPE_CHECKING:
    from newsdrop.shared.parse import FutureLimit, Parsed

# (parse is imported by `check` itself: `newsdrop up` starts faster without YAML and URLs)
DEFAULT_MAX_BYTES: int = Settings.model_fields["max_file_bytes"].default
DEFAULT_MAX_FUTURE: float = Settings.model_fields["max_future_seconds"].default


# The same rules as ingest (ingest/jobs.py): opened without blocking (a FIFO would wait for
# a writer forever), regular files only (a symlink to /dev/zero is a character device), at
# most max_bytes + 1 bytes read (more means too_large).
OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)


class NotCheckedError(Exception):
    """The file cannot be checked: (reason, detail), as ingest would reject or skip it."""


def read_bounded(path: Path, max_bytes: int) -> bytes:
    """The file's bytes; raises ``NotCheckedError`` for non-regular or too-large files."""
    from newsdrop.shared.parse import size_rejection

    try:
        fd = os.open(path, OPEN_FLAGS)
    except OSError as exc:
        raise NotCheckedError("unreadable", exc.strerror or str(exc)) from exc
    try:
        st = os.fstat(fd)
        if not stat_module.S_ISREG(st.st_mode):
            raise NotCheckedError("unreadable", "not a regular file")
        too_large = size_rejection(st.st_size, max_bytes)  # from stat, before a byte is read
        if too_large is not None:
            raise NotCheckedError(too_large.reason, too_large.detail)
        chunks: list[bytes] = []
        total = 0
        while total <= max_bytes and (chunk := os.read(fd, max_bytes + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise NotCheckedError("unreadable", exc.strerror or str(exc)) from exc
    finally:
        os.close(fd)
    if total > max_bytes:
        raise NotCheckedError("too_large", f"at least {total} bytes, limit is {max_bytes}")
    return b"".join(chunks)


def _expand(paths: list[Path], include: str) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(walk_candidates(path, NameRules(include)))  # (default exclude)
        elif path.exists():
            files.append(path)
        else:
            typer.echo(f"newsdrop check: no such file or folder: {path}", err=True)
            raise typer.Exit(2)
    return files


def verdict(
    path: Path, max_file_bytes: int, future: FutureLimit | None = None
) -> Parsed | tuple[str, str]:
    """Ingest's rules: regular files only, the size limit from ``stat`` before a byte is read,
    then at most ``max_file_bytes + 1`` bytes read and parsed."""
    from newsdrop.shared.parse import Parsed, parse_article

    try:
        data = read_bounded(path, max_file_bytes)
    except NotCheckedError as exc:
        return exc.args[0], exc.args[1]
    parsed = parse_article(data, max_bytes=max_file_bytes, future=future)
    return parsed if isinstance(parsed, Parsed) else (parsed.reason, parsed.detail)


def check(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (recursive).")],
    json_lines: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    max_file_bytes: Annotated[
        int, typer.Option(help="Reject files larger than this (too_large).")
    ] = DEFAULT_MAX_BYTES,
    include: Annotated[str, typer.Option(help="Glob of file names to check in folders.")] = "*",
    max_future_seconds: Annotated[
        float,
        typer.Option(min=0, help="Reject article timestamps this far ahead of now (seconds)."),
    ] = DEFAULT_MAX_FUTURE,
) -> None:
    """Validate article files without Redis. Exit 0: all OK, 1: some rejected, 2: usage."""
    from datetime import UTC, datetime

    from newsdrop.shared.parse import FutureLimit, Parsed

    future = FutureLimit(datetime.now(UTC), max_future_seconds)

    rejected = 0
    for path in _expand(paths, include):
        result = verdict(path, max_file_bytes, future)
        if isinstance(result, Parsed):
            record = {
                "path": str(path),
                "ok": True,
                "id": result.id,
                "url": result.url,
                "reason": None,
                "detail": None,
            }
            line = f"OK {result.id} {result.url}"
        else:
            rejected += 1
            reason, detail = result
            record = {
                "path": str(path),
                "ok": False,
                "id": None,
                "url": None,
                "reason": str(reason),
                "detail": detail,
            }
            line = f"REJECT {reason} {path}: {detail}"
        sys.stdout.write(orjson.dumps(record).decode() + "\n" if json_lines else line + "\n")
    raise typer.Exit(1 if rejected else 0)
