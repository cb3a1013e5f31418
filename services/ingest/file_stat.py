"""What ingest remembers of a file's ``stat()``, and the cheap pickling of its small records.

Every record that crosses the parser-pool boundary (jobs, outcomes) derives from ``Compact``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


class Compact:
    """Pickles a slotted dataclass as (class, field values).

    Outcomes cross the parser-pool boundary by the thousand; the dataclass default
    (``__getstate__`` calling ``fields()`` per object) costs several µs per file.
    """

    __slots__ = ()

    def __reduce__(self) -> tuple[type, tuple[object, ...]]:
        names: tuple[str, ...] = self.__slots__
        return self.__class__, tuple(getattr(self, name) for name in names)


@dataclass(frozen=True, slots=True)
class FileStat(Compact):
    """The parts of ``stat()`` that decide whether a file changed."""

    size: int
    mtime_ns: int
    ctime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileStat:
        return cls(st.st_size, st.st_mtime_ns, st.st_ctime_ns)
