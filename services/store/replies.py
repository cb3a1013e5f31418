"""Decoding Redis replies: stream entries, values as text, a lost consumer group."""

from __future__ import annotations

from typing import Any

RawFields = dict[bytes, bytes]
RawEntry = tuple[bytes, RawFields | None]


def stream_entries(response: Any) -> list[RawEntry]:
    """The entries of a one-stream XREADGROUP reply (RESP2 list or RESP3 map)."""
    if not response:
        return []
    if isinstance(response, dict):
        return list(next(iter(response.values()))[0])
    return list(response[0][1])


def text(value: object) -> str:
    """A reply value (bytes or not) as text."""
    return value.decode() if isinstance(value, bytes) else str(value)


def field_text(fields: RawFields, name: str, default: str = "") -> str:
    value = fields.get(name.encode())
    return default if value is None else value.decode(errors="replace")


def is_nogroup(exc: BaseException) -> bool:
    """Whether an error says the consumer group (or its stream) is gone."""
    text = str(exc)
    return "NOGROUP" in text or "no longer exists" in text
