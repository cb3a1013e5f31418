"""The Article model: the front-matter format as found in the real feed.

camelCase on the wire (aliases), snake_case in Python; unknown fields are kept.
Only the article's own URLs are validated as URLs; every other URL (images, provider logos,
related items) is kept exactly as given, because the real feed has relative and odd ones.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)
from pydantic.alias_generators import to_camel

from newsdrop.shared.urls import BadUrlError, canonical_url

JS_SAFE_INT = 2**53
MAX_EXTRA_FIELDS = 200
MAX_EXTRA_DEPTH = 32
MAX_EXTRA_NODES = 20_000


def _to_utc(value: Any) -> Any:
    """Naive timestamps are taken as UTC; aware ones are converted to UTC."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=UTC)
    return value


UtcDatetime = Annotated[datetime, BeforeValidator(_to_utc), AfterValidator(_to_utc)]
SafeInt = Annotated[int, Field(ge=-JS_SAFE_INT, le=JS_SAFE_INT)]


def _check_number(value: Any) -> Any:
    """Plain ints within ±2**53 (safe in every JSON reader) or finite floats; nothing else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a number")
    if isinstance(value, int) and abs(value) > JS_SAFE_INT:
        raise ValueError(f"integer out of range (±2**53): {value}")
    if isinstance(value, float) and (value != value or abs(value) == float("inf")):
        raise ValueError("must be a finite number")
    return value


Number = Annotated[int | float, BeforeValidator(_check_number)]


class ExtraValueError(ValueError):
    """An unknown field holds something that cannot travel as JSON."""


def to_json_value(value: Any, depth: int = 0, budget: list[int] | None = None) -> Any:
    """Turn a YAML-loaded value of an unknown field into plain JSON data, with bounds."""
    budget = budget if budget is not None else [MAX_EXTRA_NODES]
    budget[0] -= 1
    if budget[0] < 0:
        raise ExtraValueError(f"unknown fields hold more than {MAX_EXTRA_NODES} values")
    if depth > MAX_EXTRA_DEPTH:
        raise ExtraValueError(f"unknown fields nest deeper than {MAX_EXTRA_DEPTH} levels")
    if value is None or isinstance(value, str | bool):
        return value
    if isinstance(value, int):
        if abs(value) > JS_SAFE_INT:
            raise ExtraValueError(f"integer {value} is out of range")
        return value
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ExtraValueError("NaN and infinity are not allowed")
        return value
    if isinstance(value, datetime | date):
        utc = _to_utc(value)
        return utc.isoformat().replace("+00:00", "Z")
    if isinstance(value, list | tuple):
        return [to_json_value(v, depth + 1, budget) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(str(to_json_value(v, depth + 1, budget)) for v in value)
    if isinstance(value, dict):
        return {str(k): to_json_value(v, depth + 1, budget) for k, v in value.items()}
    raise ExtraValueError(f"values of type {type(value).__name__} are not supported")


_KNOWN_KEYS: dict[type[BaseModel], frozenset[str]] = {}


class FeedModel(BaseModel):
    """Base for every part of the format: camelCase aliases, unknown fields kept."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        str_strip_whitespace=False,
        ser_json_timedelta="iso8601",
    )

    @model_validator(mode="before")
    @classmethod
    def _plain_extras(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        known = _KNOWN_KEYS.get(cls)
        if known is None:  # once per class: model_fields is slow to reach (~1 µs a call)
            fields = cls.model_fields
            known = frozenset({f.alias or name for name, f in fields.items()} | set(fields))
            _KNOWN_KEYS[cls] = known
        extras = [k for k in data if k not in known]
        if len(extras) > MAX_EXTRA_FIELDS:
            raise ValueError(f"{len(extras)} unknown fields (at most {MAX_EXTRA_FIELDS})")
        if not extras:
            return data
        budget = [MAX_EXTRA_NODES]
        try:
            return {
                str(k): (v if k in known else to_json_value(v, 0, budget)) for k, v in data.items()
            }
        except ExtraValueError as exc:
            raise ValueError(str(exc)) from exc


class Image(FeedModel):
    url: str
    width: SafeInt | None = None
    height: SafeInt | None = None
    is_cached: bool | None = None
    title: str | None = None


class Provider(FeedModel):
    name: str | None = None
    domain: str | None = None
    images: list[Image] | None = None


class Related(FeedModel):
    title: str | None = None
    excerpt: str | None = None
    published_date_time: UtcDatetime | None = None
    web_url: str | None = None
    amp_web_url: str | None = None
    cdn_amp_web_url: str | None = None
    type: str | None = None
    provider: Provider | None = None
    quality: Number | None = None
    images: list[Image] | None = None


TIMESTAMP_FIELDS = ("published_date_time", "updated_date_time", "modified_date_time")


class Article(FeedModel):
    """One news article: the front matter plus the body text after the closing ``---``."""

    category: str | None = None
    title: Annotated[str, Field(min_length=1)]
    excerpt: str | None = None
    published_date_time: UtcDatetime | None = None
    updated_date_time: UtcDatetime | None = None
    modified_date_time: UtcDatetime | None = None
    original_url: str | None = None
    web_url: str | None = None
    amp_web_url: str | None = None
    cdn_amp_web_url: str | None = None
    type: str | None = None
    quality: Number | None = None
    heat: Number | None = None
    published: bool | None = None
    provider: Provider | None = None
    topics: list[str] | None = None
    images: list[Image] | None = None
    related: list[Related] | None = None
    secured: str | None = None
    body: str = ""

    @model_validator(mode="after")
    def _has_article_url(self) -> Article:
        if not self.title.strip():
            raise ValueError("title is empty")
        if self.original_url is None and self.web_url is None:
            raise ValueError("needs originalUrl or webUrl")
        return self

    def article_url(self) -> str:
        """The canonical URL identifying this article: ``originalUrl`` if valid, else ``webUrl``.

        Raises ``BadUrlError`` when neither is an absolute http(s) URL.
        """
        errors: list[str] = []
        for name, value in (("originalUrl", self.original_url), ("webUrl", self.web_url)):
            if value is None:
                continue
            try:
                return canonical_url(value)
            except BadUrlError as exc:
                errors.append(f"{name}: {exc}")
        raise BadUrlError("; ".join(errors))

    def timestamp(self) -> datetime | None:
        """The newest of the article's own publish/update times."""
        stamps = [getattr(self, name) for name in TIMESTAMP_FIELDS]
        present = [s for s in stamps if s is not None]
        return max(present) if present else None

    def wire_dict(self) -> dict[str, Any]:
        """JSON-ready dict with camelCase keys, as in the files (no nulls for absent fields)."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)
