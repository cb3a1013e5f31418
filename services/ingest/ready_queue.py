"""The ready queue: files complete and ready to be read, deduplicated by path, handed out in
batches (oldest first)."""

from __future__ import annotations

import asyncio

from newsdrop.ingest.file_stat import FileStat


class ReadyQueue:
    """Waiting paths (latest stat wins), paths in flight, and deleted paths to forget.

    A path in flight is not handed out again until released, so a file rewritten while its
    previous version is being published is read again afterwards, never twice at once.
    """

    def __init__(self) -> None:
        self._waiting: dict[str, FileStat] = {}
        self._inflight: set[str] = set()
        self._forget: set[str] = set()
        self._changed = asyncio.Event()

    def __len__(self) -> int:
        return len(self._waiting)

    @property
    def inflight(self) -> int:
        return len(self._inflight)

    def put(self, relative: str, stat: FileStat) -> None:
        self._waiting[relative] = stat
        self._changed.set()

    def forget(self, relative: str) -> None:
        self._waiting.pop(relative, None)
        self._forget.add(relative)
        self._changed.set()

    def busy(self, relative: str) -> bool:
        return relative in self._waiting or relative in self._inflight

    def idle(self) -> bool:
        return not self._waiting and not self._inflight and not self._forget

    async def take(
        self, limit: int, max_bytes: int | None = None
    ) -> tuple[list[tuple[str, FileStat]], list[str]]:
        """Wait for work; return up to ``limit`` files (marked in flight) whose sizes add up
        to at most ``max_bytes`` (always at least one file), and paths to forget."""
        budget = max_bytes if max_bytes is not None else -1
        while True:
            items: list[tuple[str, FileStat]] = []
            total = 0
            for relative, stat in self._waiting.items():
                if relative not in self._inflight:
                    total += stat.size
                    if items and 0 <= budget < total:
                        break
                    items.append((relative, stat))
                    if len(items) >= limit:
                        break
            forget = sorted(self._forget)
            if items or forget:
                for relative, _ in items:
                    del self._waiting[relative]
                    self._inflight.add(relative)
                self._forget.clear()
                return items, forget
            self._changed.clear()
            await self._changed.wait()

    def release(self, relatives: list[str]) -> None:
        self._inflight.difference_update(relatives)
        if self._waiting:
            self._changed.set()
