"""Which inbox paths provide each article (NEWSDROP_ON_DELETE=retract only): id -> path(s).

Kept in memory, filled from the ledger look-ups (so a restart knows every file's article
without reading it) and from what is published. Membership may be stale (a path rewritten
with another URL, or rejected since): the deletion handler checks each candidate against the
ledger before using it, so entries are only ever added here or removed on deletion.
Cost: one dict slot, the id and the path string per file (~200 B; ~200 MB per million
files), and nothing when ON_DELETE is ``ignore`` (no index is built).
"""

from __future__ import annotations


class Providers:
    def __init__(self) -> None:
        self._paths: dict[str, str | set[str]] = {}  # one path, or a set when several

    def __len__(self) -> int:
        return len(self._paths)

    def add(self, article_id: str, path: str) -> None:
        held = self._paths.get(article_id)
        if held is None:
            self._paths[article_id] = path
        elif isinstance(held, str):
            if held != path:
                self._paths[article_id] = {held, path}
        else:
            held.add(path)

    def remove(self, article_id: str, path: str) -> None:
        held = self._paths.get(article_id)
        if held == path:
            del self._paths[article_id]
        elif isinstance(held, set):
            held.discard(path)
            if len(held) == 1:
                self._paths[article_id] = next(iter(held))

    def others(self, article_id: str, path: str) -> list[str]:
        """Every other path recorded for the article, sorted."""
        held = self._paths.get(article_id)
        if held is None:
            return []
        paths = {held} if isinstance(held, str) else held
        return sorted(p for p in paths if p != path)
