"""Pure parsing: file bytes -> ``Parsed`` article or a typed ``Rejection``. No I/O."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

import orjson
import yaml
from pydantic import ValidationError

from newsdrop.shared.fast_yaml import fast_load
from newsdrop.shared.model import MAX_EXTRA_FIELDS, TIMESTAMP_FIELDS, Article
from newsdrop.shared.urls import CREDENTIALS, BadUrlError, article_id, has_userinfo
from newsdrop.shared.yaml_loader import load_yaml

DEFAULT_MAX_BYTES = 1024 * 1024
DEFAULT_VOLATILE_FIELDS = ("secured",)
BOM = b"\xef\xbb\xbf"
DELIMITER = "---"
MAX_TOP_LEVEL_KEYS = MAX_EXTRA_FIELDS + 50


class Reason(StrEnum):
    """Reason codes of the dead-letter stream (the design's failure model)."""

    NOT_UTF8 = "not_utf8"
    TOO_LARGE = "too_large"
    NO_FRONT_MATTER = "no_front_matter"
    YAML_ERROR = "yaml_error"
    VALIDATION_ERROR = "validation_error"
    BAD_URL = "bad_url"
    UNREADABLE = "unreadable"
    STORE_ERROR = "store_error"


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: Reason
    detail: str


def size_rejection(size: int, max_bytes: int) -> Rejection | None:
    """The size limit, decided from the size alone: ingest and ``newsdrop check`` apply it to
    ``stat()`` before reading a byte, and ``parse_article`` to the bytes it is given."""
    if size > max_bytes:
        return Rejection(Reason.TOO_LARGE, f"{size} bytes, limit is {max_bytes}")
    return None


@dataclass(frozen=True, slots=True)
class Parsed:
    """A valid article with its identity and content hash."""

    article: Article
    url: str
    id: str
    content_hash: str
    wire: dict[str, Any]

    @property
    def timestamp(self) -> datetime | None:
        return self.article.timestamp()


# A closing line: "---" or "..." and only whitespace after it (what str.rstrip() strips;
# re's \s is the same set), found from the "\n" before it (a literal prefix: fast search).
_CLOSING_LINE = re.compile(r"\n(?:---|\.\.\.)[^\S\n]*(?=\n|\Z)")


def split_front_matter(text: str) -> tuple[str, str] | None:
    """Return (front matter, body) or None when the text does not open with ``---``."""
    first_end = text.find("\n")
    if first_end < 0 or text[:first_end].rstrip() != DELIMITER:
        return None
    closing = _CLOSING_LINE.search(text, first_end)
    if closing is None:
        return None
    front = text[first_end + 1 : closing.start()] if closing.start() > first_end else ""
    return front, text[closing.end() + 1 :].lstrip("\n").rstrip()


def count_top_level_keys(front: str) -> int:
    """Cheap upper bound of top-level keys, checked before YAML so 100k keys cost no parse."""
    return sum(
        1 for line in front.split("\n") if line[:1] not in ("", " ", "\t", "#", "-") and ":" in line
    )


def content_hash(wire: dict[str, Any], volatile_fields: Iterable[str]) -> str:
    """sha256 of the canonical JSON (sorted keys) of the article minus volatile fields."""
    skip = set(volatile_fields)
    stable = {k: v for k, v in wire.items() if k not in skip}
    return hashlib.sha256(orjson.dumps(stable, option=orjson.OPT_SORT_KEYS)).hexdigest()


def credentials_at(value: Any, path: str = "") -> str | None:
    """The field path of the first string in ``value`` that is a URL with credentials."""
    if isinstance(value, str):
        return (path or "(article)") if has_userinfo(value) else None
    items = (
        value.items()
        if isinstance(value, dict)
        else enumerate(value)
        if isinstance(value, list)
        else ()
    )
    for key, item in items:
        found = credentials_at(item, f"{path}.{key}" if path else str(key))
        if found is not None:
            return found
    return None


def _yaml_detail(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    where = f"line {mark.line + 2}, column {mark.column + 1}: " if mark is not None else ""
    text = f"{context}; {problem}" if context else str(problem)
    return f"{where}{text}".strip()


def _validation_detail(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_url=False)[:5]:
        path = ".".join(str(p) for p in error["loc"]) or "(article)"
        parts.append(f"{path}: {error['msg']}")
    more = exc.error_count() - len(parts)
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")


@dataclass(frozen=True, slots=True)
class FutureLimit:
    """Article timestamps later than ``now + max_future_seconds`` are rejected (a typo such as
    year 2626 would otherwise win over every correction). Passed in: parsing stays pure."""

    now: datetime
    max_future_seconds: float  # NEWSDROP_MAX_FUTURE_SECONDS (its default: shared.settings)

    def latest(self) -> datetime:
        return self.now + timedelta(seconds=self.max_future_seconds)


def future_timestamp(article: Article, limit: FutureLimit) -> Rejection | None:
    """The rejection of the first timestamp field beyond ``limit``, or None."""
    latest = limit.latest()
    for name in TIMESTAMP_FIELDS:
        value: datetime | None = getattr(article, name)
        if value is not None and value > latest:
            alias = Article.model_fields[name].alias or name
            detail = (
                f"{alias}: {value.isoformat()} is more than {limit.max_future_seconds:g} s "
                f"ahead of now ({limit.now.isoformat(timespec='seconds')}; "
                "NEWSDROP_MAX_FUTURE_SECONDS)"
            )
            return Rejection(Reason.VALIDATION_ERROR, detail)
    return None


def parse_article(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    volatile_fields: Iterable[str] = DEFAULT_VOLATILE_FIELDS,
    future: FutureLimit | None = None,
) -> Parsed | Rejection:
    """Parse one article file's bytes. Never raises for bad input: returns a ``Rejection``.

    YAML goes through the fast path (``fast_yaml``) when it can prove PyYAML's result, else
    through PyYAML's C safe loader: the result is the same either way. With ``future``, a
    timestamp too far ahead is a ``validation_error`` (ingest and ``check`` pass it).
    """
    result = _parse(data, max_bytes=max_bytes, volatile_fields=volatile_fields, fast=True)
    if future is not None and isinstance(result, Parsed):
        return future_timestamp(result.article, future) or result
    return result


def parse_article_reference(
    data: bytes,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    volatile_fields: Iterable[str] = DEFAULT_VOLATILE_FIELDS,
) -> Parsed | Rejection:
    """``parse_article`` with PyYAML only: the reference the fast path is tested against."""
    return _parse(data, max_bytes=max_bytes, volatile_fields=volatile_fields, fast=False)


def _parse(
    data: bytes,
    *,
    max_bytes: int,
    volatile_fields: Iterable[str],
    fast: bool,
) -> Parsed | Rejection:
    if (too_large := size_rejection(len(data), max_bytes)) is not None:
        return too_large
    if data.startswith(BOM):
        data = data[len(BOM) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Rejection(Reason.NOT_UTF8, f"invalid UTF-8 at byte {exc.start}: {exc.reason}")
    text = text.replace("\r\n", "\n")
    split = split_front_matter(text)
    if split is None:
        return Rejection(
            Reason.NO_FRONT_MATTER, "file must start with a '---' line and close it with '---'"
        )
    front, body = split
    # (fewer lines than the limit: the count cannot exceed it)
    top_level = 0 if front.count("\n") < MAX_TOP_LEVEL_KEYS else count_top_level_keys(front)
    if top_level > MAX_TOP_LEVEL_KEYS:
        return Rejection(
            Reason.VALIDATION_ERROR,
            f"front matter has {top_level} top-level fields (at most {MAX_TOP_LEVEL_KEYS})",
        )
    raw: Any = fast_load(front) if fast else None
    if raw is None:
        try:
            raw = load_yaml(front)
        except yaml.YAMLError as exc:
            return Rejection(Reason.YAML_ERROR, _yaml_detail(exc))
        except RecursionError:
            return Rejection(Reason.YAML_ERROR, "YAML nests too deeply")
        except (ValueError, TypeError, OverflowError) as exc:
            # PyYAML's constructors raise these for e.g. 2019-02-30 or a +99:00 offset
            return Rejection(Reason.YAML_ERROR, f"invalid value: {exc}")
    if not isinstance(raw, dict):
        kind = "empty" if raw is None else type(raw).__name__
        return Rejection(Reason.VALIDATION_ERROR, f"front matter must be a mapping, got {kind}")
    raw["body"] = body  # the text after the closing line, whatever a `body:` field says
    try:
        article = Article.model_validate(raw)
    except ValidationError as exc:
        return Rejection(Reason.VALIDATION_ERROR, _validation_detail(exc))
    except RecursionError:
        return Rejection(Reason.VALIDATION_ERROR, "front matter nests too deeply")
    try:
        url = article.article_url()
    except BadUrlError as exc:
        return Rejection(Reason.BAD_URL, str(exc))
    wire = article.wire_dict()
    if "@" in front or "\\" in front:  # (no "@" in the text: no URL with credentials)
        where = credentials_at({k: v for k, v in wire.items() if k != "body"})
        if where is not None:
            return Rejection(Reason.BAD_URL, f"{where}: {CREDENTIALS}")
    return Parsed(
        article=article,
        url=url,
        id=article_id(url),
        content_hash=content_hash(wire, volatile_fields),
        wire=wire,
    )
