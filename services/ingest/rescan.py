"""The safety net: walk the inbox again and offer what is neither settling nor queued."""

from __future__ import annotations

import asyncio
from pathlib import Path

from newsdrop.ingest.ready_queue import ReadyQueue
from newsdrop.ingest.scan import Refuse, scan
from newsdrop.ingest.settler import Settler
from newsdrop.shared.files import NameRules
from newsdrop.shared.logging import get_logger

log = get_logger(__name__)


class Rescanner:
    def __init__(
        self, inbox: Path, names: NameRules, settler: Settler, ready: ReadyQueue, refuse: Refuse
    ) -> None:
        self.inbox = inbox
        self.names = names
        self.settler = settler
        self.ready = ready
        self.refuse = refuse

    async def rescan(self, why: str) -> None:
        """One walk (in a thread); files already on their way are left alone."""
        found = await asyncio.to_thread(scan, self.inbox, self.names, self.refuse)
        offered = 0
        for item in found:
            if not (self.ready.busy(item.relative) or self.settler.holds(item.relative)):
                self.settler.offer(item.relative, item.stat)
                offered += 1
        log.debug("rescan_done", why=why, files=len(found), offered=offered)

    async def every(self, interval: float, after: asyncio.Event) -> None:
        """Rescan every ``interval`` seconds once ``after`` is set (the backfill is done)."""
        await after.wait()
        while True:
            await asyncio.sleep(interval)
            await self.rescan("periodic rescan")
