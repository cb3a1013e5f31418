"""What reading one file can come to: published, rejected, touched, unsettled or skipped.

Made in the parser processes (``jobs.process``), sorted into a ``publisher.Batch`` by the
batch flow, written by the publisher and counted by ``accounting``.
"""

from __future__ import annotations

from dataclasses import dataclass

from newsdrop.ingest.file_stat import Compact, FileStat
from newsdrop.shared.parse import Reason


@dataclass(frozen=True, slots=True)
class Published(Compact):
    relative: str
    stat: FileStat
    sha256: str
    id: str
    entry: bytes  # the packed ``XADD <ingested> * <fields>`` command (shared.wire)
    parse_seconds: float


@dataclass(frozen=True, slots=True)
class Rejected(Compact):
    relative: str
    stat: FileStat | None  # None: the file vanished, nothing to remember in the ledger
    sha256: str
    reason: Reason
    detail: str
    parse_seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class Touched(Compact):
    """Same bytes as last sent (mtime moved): nothing to publish, the ledger is refreshed."""

    relative: str
    stat: FileStat
    sha256: str
    id: str = ""  # the article the ledger says these bytes provide


@dataclass(frozen=True, slots=True)
class Unsettled(Compact):
    """The file changed while it was read: back to settling."""

    relative: str


@dataclass(frozen=True, slots=True)
class Skipped(Compact):
    """Not a regular file (FIFO, socket, device, directory): ignored."""

    relative: str
    detail: str


FileOutcome = Published | Rejected | Touched | Unsettled | Skipped
