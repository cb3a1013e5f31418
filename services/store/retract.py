"""What `newsdrop retract` does: resolve the URLs, publish one retraction per live article
(``shared.retractions``) and wait until the store has applied each (its index records it)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from newsdrop.shared.keys import Keys
from newsdrop.shared.redis_topology import SyncClient, open_async_client
from newsdrop.shared.retractions import Retraction, publish_retractions
from newsdrop.shared.urls import BadUrlError, canonical_url
from newsdrop.store.queries import find_latest, indexed_state, resolve_article_id

POLL_SECONDS = 0.01


@dataclass(slots=True)
class RetractReport:
    """Per input line, what happened: by article URL (or the input, when it is no URL)."""

    retracted: list[str] = field(default_factory=list)  # applied by the store
    published: list[str] = field(default_factory=list)  # published, not waited for
    already: list[str] = field(default_factory=list)  # retracted before: nothing published
    unknown: list[str] = field(default_factory=list)  # no such article: nothing published
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (input, why)
    unconfirmed: list[str] = field(default_factory=list)  # published, not applied in time


def read_url_lines(text: str) -> list[str]:
    """URLs of a list: one per line; blank lines and ``#`` comments skipped."""
    lines = (line.strip() for line in text.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _targets(
    client: SyncClient, partitions: Sequence[Keys], inputs: Sequence[str], reason: str
) -> tuple[list[Retraction], RetractReport]:
    report = RetractReport()
    todo: dict[str, Retraction] = {}
    for text in inputs:
        try:
            article_id = resolve_article_id(text)
        except BadUrlError as exc:
            report.invalid.append((text, str(exc)))
            continue
        state = indexed_state(client, partitions, article_id)
        if state is None:
            report.unknown.append(text)
        elif state.retracted:
            report.already.append(text)
        elif article_id not in todo:
            live = find_latest(client, partitions, article_id)
            url = live.fields.get("url", "") if live else canonical_url(text.strip())
            todo[article_id] = Retraction(article_id, url, reason)
    return list(todo.values()), report


async def _publish(redis_url: str, partitions: Sequence[Keys], items: list[Retraction]) -> None:
    client = await open_async_client(redis_url)
    try:
        await publish_retractions(client, partitions, items)
    finally:
        await client.aclose()


def retract_urls(
    client: SyncClient,
    redis_url: str,
    partitions: Sequence[Keys],
    inputs: Sequence[str],
    *,
    reason: str = "",
    wait_seconds: float = 10.0,
) -> RetractReport:
    """Retract every live article of ``inputs`` (URLs in any form, or ids); then wait up to
    ``wait_seconds`` (0: not at all) for the store to have applied each."""
    items, report = _targets(client, partitions, inputs, reason)
    if items:
        asyncio.run(_publish(redis_url, partitions, items))
    if wait_seconds <= 0:
        report.published = [item.url for item in items]
        return report
    waiting = {item.article_id: item.url for item in items}
    deadline = time.monotonic() + wait_seconds
    while waiting:
        for article_id in list(waiting):
            state = indexed_state(client, partitions, article_id)
            if state is not None and state.retracted:
                report.retracted.append(waiting.pop(article_id))
        if not waiting or time.monotonic() >= deadline:
            break
        time.sleep(POLL_SECONDS)
    report.unconfirmed = list(waiting.values())
    return report
