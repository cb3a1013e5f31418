"""Redis commands as RESP bytes, by hiredis's C packer, packed where they are built (the
fields of the entries they carry are in ``shared.contract``)."""

from __future__ import annotations

import hiredis


def pack_command(*args: str | bytes | int) -> bytes:
    """One Redis command as RESP bytes, by hiredis's C packer."""
    packed: bytes = hiredis.pack_command(args)  # type: ignore[arg-type]  # (stub: 1-tuple)
    return packed


def xadd_command(stream: str, pairs: tuple[str | bytes, ...]) -> bytes:
    """``XADD <stream> * <pairs>`` as RESP bytes, ready to write on a connection.

    Packed where the entry is built (ingest's parser processes, in parallel) with hiredis's C
    packer: redis-py's asyncio client packs in pure Python (~15 µs per 10-field XADD).
    """
    return pack_command("XADD", stream, "*", *pairs)
