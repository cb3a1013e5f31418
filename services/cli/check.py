"""`newsdrop check`: validate article files without Redis (the parser's verdict per file)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

from newsdrop.shared.files import walk_candidates
from newsdrop.shared.settings import Settings

if TYPE_CHECKING:
    from newsdrop.shared.parse import Parsed

# (parse is imported by `check` itself: `newsdrop up` starts faster without YAML and URLs)
DEFAULT_MAX_BYTES: int = Settings.model_fields["max_file_bytes"].default


def _expand(paths: list[Path], include: str) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(walk_candidates(path, include))
        elif path.exists():
            files.append(path)
        else:
            typer.echo(f"newsdrop check: no such file or folder: {path}", err=True)
            raise typer.Exit(2)
    return files


def verdict(path: Path, max_file_bytes: int) -> Parsed | tuple[str, str]:
    """Ingest's rule: the size limit from ``stat`` before a byte is read (``size_rejection``),
    then at most ``max_file_bytes + 1`` bytes read and parsed."""
    from newsdrop.shared.parse import Parsed, parse_article, size_rejection

    try:
        with path.open("rb") as handle:
            too_large = size_rejection(os.fstat(handle.fileno()).st_size, max_file_bytes)
            if too_large is not None:
                return too_large.reason, too_large.detail
            data = handle.read(max_file_bytes + 1)
    except OSError as exc:
        return "unreadable", exc.strerror or str(exc)
    parsed = parse_article(data, max_bytes=max_file_bytes)
    return parsed if isinstance(parsed, Parsed) else (parsed.reason, parsed.detail)


def check(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (recursive).")],
    json_lines: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    max_file_bytes: Annotated[
        int, typer.Option(help="Reject files larger than this (too_large).")
    ] = DEFAULT_MAX_BYTES,
    include: Annotated[str, typer.Option(help="Glob of file names to check in folders.")] = "*",
) -> None:
    """Validate article files without Redis. Exit 0: all OK, 1: some rejected, 2: usage."""
    from newsdrop.shared.parse import Parsed

    rejected = 0
    for path in _expand(paths, include):
        result = verdict(path, max_file_bytes)
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
