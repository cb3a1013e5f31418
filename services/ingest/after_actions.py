"""After-actions: keep, move (into processed/ or failed/, never overwriting) or delete a file
once its outcome is committed."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from newsdrop.ingest.file_stat import FileStat
from newsdrop.ingest.outcomes import Published, Rejected
from newsdrop.shared.logging import get_logger
from newsdrop.shared.settings import AfterAction
from newsdrop.shared.start_checks import FAILED, PROCESSED

log = get_logger(__name__)

# What Redis is (the lead's shared.redis_topology will tell it): a failover can lose
# acknowledged writes on the last two unless the replicas acknowledged them (WAIT).
STANDALONE, CLUSTER, SENTINEL = "standalone", "cluster", "sentinel"
TOPOLOGIES = (STANDALONE, CLUSTER, SENTINEL)


def after_action_safe(on_success: AfterAction, wait_replicas: int, topology: str) -> bool:
    """May ``on_success`` run on ``topology``? ``move`` and ``delete`` take the file out of
    the inbox, so the rescan cannot re-send an entry a failover lost: on a cluster or
    Sentinel they need ``wait_replicas`` > 0. ``keep`` is always safe; so is one node (no
    failover: what it acknowledged is what it has, up to its own persistence)."""
    if topology not in TOPOLOGIES:
        raise ValueError(f"unknown Redis topology {topology!r}, expected one of {TOPOLOGIES}")
    if on_success is AfterAction.KEEP or topology == STANDALONE:
        return True
    return wait_replicas > 0


def unsafe_after_action_message(on_success: AfterAction, topology: str) -> str:
    return (
        f"NEWSDROP_ON_SUCCESS={on_success.value} on a Redis {topology} needs "
        "NEWSDROP_WAIT_REPLICAS of at least 1: a failover can lose a write its primary "
        "acknowledged, and a file already moved or deleted is then never sent again "
        "(or use NEWSDROP_ON_SUCCESS=keep)"
    )


def move_target(
    root: PurePosixPath, relative: PurePosixPath, exists: Callable[[PurePosixPath], bool]
) -> PurePosixPath:
    """Where to move ``relative`` under ``root`` without overwriting: ``a.md``, ``a.1.md``, ..."""
    target = root / relative
    counter = 1
    while exists(target):
        name = relative.name
        stem, dot, suffix = name.partition(".")
        numbered = f"{stem}.{counter}{dot}{suffix}" if dot else f"{name}.{counter}"
        target = root / relative.parent / numbered
        counter += 1
    return target


def apply(
    action: AfterAction,
    *,
    inbox: Path,
    move_root: Path,
    folder: str,
    relative: str,
    expected: FileStat,
) -> bool:
    """Apply ``action`` unless the file changed since it was read (then it is kept for the
    next round: moving or deleting it would lose a version nobody has seen). True when the
    file left the inbox."""
    if action is AfterAction.KEEP:
        return False
    source = inbox / relative
    try:
        current = FileStat.of(os.stat(source))
    except OSError:
        return False
    if (current.size, current.mtime_ns) != (expected.size, expected.mtime_ns):
        log.info("after_action_skipped", path=relative, reason="changed_since_read")
        return False
    try:
        if action is AfterAction.DELETE:
            os.unlink(source)
            log.debug("file_deleted", path=relative)
            return True
        root = PurePosixPath(move_root.as_posix()) / folder
        target = Path(move_target(root, PurePosixPath(relative), lambda p: os.path.lexists(p)))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(source, target)
        log.debug("file_moved", path=relative, to=str(target))
    except OSError as exc:
        log.warning("after_action_failed", path=relative, action=action.value, error=str(exc))
        return False
    return True


@dataclass(frozen=True, slots=True)
class AfterActionConfig:
    inbox: Path
    move_root: Path  # processed/ and failed/ go under it
    on_success: AfterAction
    on_failure: AfterAction


async def apply_to_batch(
    config: AfterActionConfig, published: list[Published], rejected: list[Rejected]
) -> list[str]:
    """The after-actions of one committed batch, in a thread (file moves block); returns the
    paths they took out of the inbox (so they never count as deletions)."""
    work: list[tuple[AfterAction, str, Published | Rejected]] = []
    if config.on_success is not AfterAction.KEEP:
        work += [(config.on_success, PROCESSED, item) for item in published]
    if config.on_failure is not AfterAction.KEEP:
        work += [(config.on_failure, FAILED, bad) for bad in rejected if bad.stat]
    if not work:
        return []

    def run() -> list[str]:
        removed: list[str] = []
        for action, folder, item in work:
            assert item.stat is not None
            if apply(
                action,
                inbox=config.inbox,
                move_root=config.move_root,
                folder=folder,
                relative=item.relative,
                expected=item.stat,
            ):
                removed.append(item.relative)
        return removed

    return await asyncio.to_thread(run)
