"""After-actions: keep, move (into processed/ or failed/, never overwriting) or delete a file."""

from __future__ import annotations

import os
import shutil
from pathlib import Path, PurePosixPath

from newsdrop.ingest.decisions import FileStat, move_target
from newsdrop.shared.logging import get_logger
from newsdrop.shared.settings import AfterAction

log = get_logger(__name__)

PROCESSED = "processed"
FAILED = "failed"


def apply(
    action: AfterAction,
    *,
    inbox: Path,
    move_root: Path,
    folder: str,
    relative: str,
    expected: FileStat,
) -> None:
    """Apply ``action`` unless the file changed since it was read (then it is kept for the
    next round: moving or deleting it would lose a version nobody has seen)."""
    if action is AfterAction.KEEP:
        return
    source = inbox / relative
    try:
        current = FileStat.of(os.stat(source))
    except OSError:
        return
    if (current.size, current.mtime_ns) != (expected.size, expected.mtime_ns):
        log.info("file changed since it was read; after-action skipped", path=relative)
        return
    try:
        if action is AfterAction.DELETE:
            os.unlink(source)
            log.debug("deleted", path=relative)
            return
        root = PurePosixPath(move_root.as_posix()) / folder
        target = Path(move_target(root, PurePosixPath(relative), lambda p: os.path.lexists(p)))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(source, target)
        log.debug("moved", path=relative, to=str(target))
    except OSError as exc:
        log.warning("after-action failed", path=relative, action=action.value, error=str(exc))
