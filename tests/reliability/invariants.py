"""The one invariant checker of the reliability suite.

Every scenario ends here. The expected outcome is computed with the pure code (the shared
parser and version rule) from what the scenario dropped into the inbox; the actual outcome is
read from Redis. The promise being checked (design.md, failure model):

* the changelog holds exactly one entry per expected article id, carrying the content of the
  latest version by the design's rule (timestamp, max(mtime_ns, ctime_ns), content hash),
  and nothing else;
* the store's index (``latest``) points at those live changelog entries and agrees with them;
* the store's consumer group has read everything and has nothing pending;
* every rejected file is in the dead-letter stream with its reason, and nothing else is;
* no version was announced twice (the changelog's ``entries-added`` counter is bounded by the
  number of distinct (id, version) pairs dropped plus one tombstone per retracted article;
  ``procs.ChangelogRecorder`` sees each one);
* a retracted article (``Expected.retract``, after its last drop) appears exactly once, as a
  tombstone (``TOMBSTONE_FIELDS``, the retracted version: one of its dropped versions with
  the winning content), never live; the index records the retraction
  (``"<version> <tombstone id> retracted"``) and the live tombstones (``Keys.tombstones``)
  are exactly the retracted articles (retention is not exercised here). No tombstone for an
  article that was not retracted.

Partitions: the checker takes one ``Keys`` or the list of every partition's (``partition_keys``)
and checks the promise over all of them together: each article appears once across all the
partitions' changelogs, in its own partition (``partition_of_article``), at its latest version;
each partition's index, group and dead letters agree with that partition (a dead letter with
an article id sits in the article's partition, one without in its path's).

Version strings and copies: the design drops an incoming version whose content hash equals the
stored one ("duplicate"). When the same bytes were dropped twice (two paths, or a path rewritten
back), the stored version string may be that of the first copy to arrive, so the checker
accepts any dropped version string that carries the winning content. The content itself must
be the latest version's: that part is strict.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import redis

from newsdrop.shared.contract import CHANGELOG_FIELDS, FORCED_FIELD, TOMBSTONE_FIELDS
from newsdrop.shared.keys import STORE_GROUP, Keys
from newsdrop.shared.parse import (
    DEFAULT_MAX_BYTES,
    DEFAULT_VOLATILE_FIELDS,
    FutureLimit,
    Parsed,
    parse_article,
)
from newsdrop.shared.partitions import partition_of_article, partition_of_path
from newsdrop.shared.settings import Settings
from newsdrop.shared.version import version_string

# Keys the ingest adds to the article JSON on top of the file's own fields (wire.article_json).
ADDED_ARTICLE_KEYS = ("id", "url", "source", "ingestedAt")
REJECTED_FIELDS = ("path", "reason", "detail", "size", "sha256", "at", "path_b64")
ANY_REASON = "*"

Layout = Keys | Sequence[Keys]  # one partition's keys, or every partition's in order
# A single node's client, or a cluster's (every read names one key: any slot will do).
Client = redis.Redis | redis.RedisCluster
Live = dict[str, tuple[int, str, dict[str, str]]]  # article id -> (partition, entry id, fields)


@dataclass(frozen=True, slots=True)
class Drop:
    """One file version put into the inbox, as ingest will see it.

    ``required``: the version stayed on disk unchanged until the pipeline went quiet, so it must
    have been seen. ``required=False``: it was overwritten or deleted early and may or may not
    have been read (a late read is fine, a missing one too).
    """

    path: str
    data: bytes
    mtime_ns: int
    required: bool = True
    ctime_ns: int = 0  # known only where it can matter (it must not exceed mtime_ns otherwise)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True, slots=True)
class ExpectedVersion:
    id: str
    url: str
    version: str
    content_hash: str
    path: str
    sha256: str
    required: bool
    own_json: bytes  # the file's own fields, canonical JSON: what the changelog must carry


@dataclass(frozen=True, slots=True)
class ExpectedRejection:
    path: str
    reasons: frozenset[str]  # ANY_REASON in it: any reason is acceptable
    required: bool

    def accepts(self, reason: str) -> bool:
        return ANY_REASON in self.reasons or reason in self.reasons


@dataclass
class Expected:
    """The outcome the pure code predicts for a set of drops."""

    versions: dict[str, list[ExpectedVersion]] = field(default_factory=dict)
    rejections: list[ExpectedRejection] = field(default_factory=list)
    retracted: set[str] = field(default_factory=set)  # article ids retracted after their drops
    max_bytes: int = DEFAULT_MAX_BYTES
    volatile_fields: tuple[str, ...] = DEFAULT_VOLATILE_FIELDS
    max_future_seconds: float = Settings.model_fields["max_future_seconds"].default
    _parse_cache: dict[bytes, Parsed | tuple[str, str]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_drops(cls, drops: Iterable[Drop], **options: Any) -> Expected:
        expected = cls(**options)
        for drop in drops:
            expected.add(drop)
        return expected

    def _parse(self, data: bytes) -> Parsed | tuple[str, str]:
        key = hashlib.sha256(data).digest()
        cached = self._parse_cache.get(key)
        if cached is None:
            result = parse_article(
                data,
                max_bytes=self.max_bytes,
                volatile_fields=self.volatile_fields,
                future=FutureLimit(datetime.now(UTC), self.max_future_seconds),
            )
            cached = result if isinstance(result, Parsed) else (str(result.reason), result.detail)
            self._parse_cache[key] = cached
        return cached

    def add(self, drop: Drop) -> Parsed | tuple[str, str]:
        """Record one dropped version; returns what the parser makes of it."""
        result = self._parse(drop.data)
        if isinstance(result, Parsed):
            version = version_string(
                result.timestamp, drop.mtime_ns, result.content_hash, ctime_ns=drop.ctime_ns
            )
            self.versions.setdefault(result.id, []).append(
                ExpectedVersion(
                    id=result.id,
                    url=result.url,
                    version=version,
                    content_hash=result.content_hash,
                    path=drop.path,
                    sha256=drop.sha256,
                    required=drop.required,
                    own_json=own_json(result.wire),
                )
            )
        else:
            self.reject(drop.path, result[0], required=drop.required)
        return result

    def retract(self, article_id: str) -> None:
        """Expect ``article_id`` retracted: one tombstone, no live entry (after every drop)."""
        self.retracted.add(article_id)

    def reject(self, path: str, *reasons: str, required: bool = True) -> None:
        """Expect a dead letter for ``path`` (any of ``reasons``; none given = any reason)."""
        self.rejections.append(
            ExpectedRejection(path, frozenset(reasons or (ANY_REASON,)), required)
        )

    def allow_rejection(self, path: str, *reasons: str) -> None:
        """A dead letter for ``path`` may appear (e.g. ``unreadable`` for a vanished file)."""
        self.reject(path, *reasons, required=False)

    @property
    def distinct_versions(self) -> int:
        """Distinct (id, version) pairs: the most announcements the changelog may see."""
        return sum(len({v.version for v in vs}) for vs in self.versions.values())

    def winner(self, article_id: str) -> ExpectedVersion | None:
        """The latest required version of one article by the design's rule (None: no required)."""
        required = [v for v in self.versions.get(article_id, []) if v.required]
        return max(required, key=lambda v: v.version) if required else None

    def required_ids(self) -> set[str]:
        return {i for i, vs in self.versions.items() if any(v.required for v in vs)}


@dataclass
class Report:
    """What the checker found: ``problems`` empty means every invariant holds."""

    problems: list[str] = field(default_factory=list)
    figures: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, problem: str) -> None:
        self.problems.append(problem)

    def __str__(self) -> str:
        figures = ", ".join(f"{k}={v}" for k, v in sorted(self.figures.items()))
        if self.ok:
            return f"invariants hold ({figures})"
        shown = self.problems[:40]
        more = len(self.problems) - len(shown)
        lines = [f"{len(self.problems)} invariant violation(s) ({figures}):"]
        lines += [f"  - {p}" for p in shown]
        if more:
            lines.append(f"  ... and {more} more")
        return "\n".join(lines)


def own_json(document: Mapping[str, Any]) -> bytes:
    """Canonical JSON of an article's own fields (without what ingest adds on top)."""
    own = {k: v for k, v in document.items() if k not in ADDED_ARTICLE_KEYS}
    return orjson.dumps(own, option=orjson.OPT_SORT_KEYS)


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _fields(raw: Mapping[Any, Any]) -> dict[str, str]:
    return {_text(k): _text(v) for k, v in raw.items()}


def _short(value: str, width: int = 24) -> str:
    return value if len(value) <= width else value[:width] + "…"


def _stream_entries(client: Client, key: str) -> list[tuple[str, dict[str, str]]]:
    entries: list[tuple[str, dict[str, str]]] = []
    start = "-"
    while True:
        chunk = client.xrange(key, min=start, max="+", count=5000)
        if not chunk:
            return entries
        for entry_id, raw in chunk:
            entries.append((_text(entry_id), _fields(raw or {})))
        last = _text(chunk[-1][0])
        start = "(" + last
        if len(chunk) < 5000:
            return entries


def _stream_info(client: Client, key: str) -> dict[str, Any]:
    try:
        info = client.xinfo_stream(key)
    except redis.ResponseError:
        return {}
    return {_text(k): v for k, v in info.items()}


def _entry_id_tuple(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def partitions_of(keys: Layout) -> list[Keys]:
    return [keys] if isinstance(keys, Keys) else list(keys)


def home_partition(article_id: str, partitions: int) -> int | None:
    """The partition an article belongs in (None: not an article id)."""
    try:
        return partition_of_article(article_id, partitions)
    except ValueError:
        return None


def _where(partition: int, partitions: list[Keys]) -> str:
    """ " in partition p" with P > 1, else nothing (single-partition messages as before)."""
    return f" in partition {partition}" if len(partitions) > 1 else ""


def read_changelog(client: Client, keys: Keys) -> list[tuple[str, dict[str, str]]]:
    return _stream_entries(client, keys.articles)


def read_rejected(client: Client, keys: Keys) -> list[tuple[str, dict[str, str]]]:
    return _stream_entries(client, keys.rejected)


def check_changelog(
    client: Client, partitions: list[Keys], expected: Expected, report: Report
) -> Live:
    """Exactly one entry per expected id over all partitions, in the article's own partition,
    with the winning content; returns id -> (partition, entry id, fields)."""
    by_id: dict[str, list[tuple[int, str, dict[str, str]]]] = defaultdict(list)
    count = 0
    for partition, keys in enumerate(partitions):
        for entry_id, fields in read_changelog(client, keys):
            count += 1
            names = tuple(fields)
            allowed = _entry_fields(fields)
            if set(names) != set(allowed):
                report.add(
                    f"changelog entry {entry_id}{_where(partition, partitions)} has fields "
                    f"{sorted(names)}, expected exactly {list(allowed)}"
                )
            by_id[fields.get("id", "")].append((partition, entry_id, fields))
    report.figures["changelog_entries"] = count

    live: Live = {}
    for article_id, found in sorted(by_id.items()):
        if len(found) > 1:
            where = ", ".join(f"{e}{_where(p, partitions)}" for p, e, _ in found)
            report.add(
                f"article {article_id} appears {len(found)} times in the changelog "
                f"(entries {where}): the stream must be compacted"
            )
        home = home_partition(article_id, len(partitions))
        for partition, entry_id, _ in found:
            if home is not None and home != partition:
                report.add(
                    f"article {article_id} is in partition {partition}'s changelog (entry "
                    f"{entry_id}), but its partition is {home}"
                )
        at_home = [entry for entry in found if entry[0] == home]
        partition, entry_id, fields = (at_home or found)[-1]
        live[article_id] = (partition, entry_id, fields)
        versions = expected.versions.get(article_id)
        if not versions:
            report.add(
                f"unexpected article in changelog: id={article_id} url={fields.get('url')!r} "
                f"(entry {entry_id}); no dropped file has this id"
            )
            continue
        if article_id in expected.retracted or is_tombstone(fields):
            _check_tombstone(article_id, entry_id, fields, versions, expected, report)
            continue
        _check_entry(article_id, entry_id, fields, versions, expected, report)

    report.figures["tombstones"] = sum(1 for _, _, f in live.values() if is_tombstone(f))
    for article_id in sorted(expected.retracted - set(by_id)):
        report.add(f"retracted article {article_id} has no tombstone: the retraction was lost")
    for article_id in sorted(expected.required_ids() - set(by_id) - expected.retracted):
        winner = expected.winner(article_id)
        assert winner is not None
        report.add(
            f"missing article {article_id} url={winner.url!r}: expected version "
            f"{_short(winner.version, 60)} from {winner.path!r}, not in the changelog"
        )
    return live


def is_tombstone(fields: Mapping[str, str]) -> bool:
    return fields.get("deleted") == "1"


def _entry_fields(fields: Mapping[str, str]) -> tuple[str, ...]:
    """The exact fields an entry of its kind has: a tombstone, a forced or a plain article."""
    if is_tombstone(fields):
        return TOMBSTONE_FIELDS
    return (*CHANGELOG_FIELDS, FORCED_FIELD) if FORCED_FIELD in fields else CHANGELOG_FIELDS


def _check_tombstone(
    article_id: str,
    entry_id: str,
    fields: dict[str, str],
    versions: list[ExpectedVersion],
    expected: Expected,
    report: Report,
) -> None:
    """A retracted article's one entry: its tombstone, carrying a dropped version of the
    winning content (the version live when it was retracted)."""
    if article_id not in expected.retracted:
        report.add(f"article {article_id} has a tombstone (entry {entry_id}) but was not retracted")
        return
    if not is_tombstone(fields):
        report.add(
            f"retracted article {article_id} is live in the changelog (entry {entry_id}, "
            f"version {_short(fields.get('version', ''), 60)})"
        )
        return
    if fields.get("url") != versions[0].url:
        report.add(
            f"tombstone of {article_id}: url {fields.get('url')!r}, expected {versions[0].url!r}"
        )
    winner = expected.winner(article_id)
    version = fields.get("version", "")
    dropped = {v.version for v in versions}
    if version not in dropped or (winner and not version.endswith("." + winner.content_hash)):
        report.add(
            f"tombstone of {article_id}: version {_short(version, 60)!r} is not a dropped "
            f"version with the content that was live when it was retracted"
        )


def _check_entry(
    article_id: str,
    entry_id: str,
    fields: dict[str, str],
    versions: list[ExpectedVersion],
    expected: Expected,
    report: Report,
) -> None:
    url = versions[0].url
    if fields.get("url") != url:
        report.add(f"article {article_id}: url {fields.get('url')!r}, expected {url!r}")
    stored_version = fields.get("version", "")
    stored_hash = fields.get("content_hash", "")
    winner = expected.winner(article_id)
    # Acceptable winning contents: the latest required version's, or that of an optional
    # version later than it (an early-overwritten version the pipeline happened to read).
    winning = {
        v.content_hash
        for v in versions
        if v is winner or (not v.required and (winner is None or v.version > winner.version))
    }
    carriers = {v.version for v in versions if v.content_hash == stored_hash}
    if stored_hash not in winning:
        known = {v.content_hash: v for v in versions}
        what = (
            f"an older version ({_short(known[stored_hash].version, 60)} from "
            f"{known[stored_hash].path!r})"
            if stored_hash in known
            else "content no dropped file has"
        )
        best = winner or max(versions, key=lambda v: v.version)
        report.add(
            f"article {article_id}: changelog holds {what} with content_hash "
            f"{_short(stored_hash, 12)}; the latest version is "
            f"{_short(best.version, 60)} (content_hash {_short(best.content_hash, 12)}) "
            f"from {best.path!r}"
        )
    elif stored_version not in carriers:
        report.add(
            f"article {article_id}: version {stored_version!r} was never dropped with content "
            f"{_short(stored_hash, 12)} ({len(carriers)} dropped versions of it, e.g. "
            f"{sorted(carriers)[:3]})"
        )
    _check_article_json(article_id, fields, versions, expected, report)


def _check_article_json(
    article_id: str,
    fields: dict[str, str],
    versions: list[ExpectedVersion],
    expected: Expected,
    report: Report,
) -> None:
    try:
        document = orjson.loads(fields.get("article", ""))
    except orjson.JSONDecodeError as exc:
        report.add(f"article {article_id}: `article` field is not JSON ({exc})")
        return
    if not isinstance(document, dict):
        report.add(f"article {article_id}: `article` field is not a JSON object")
        return
    if document.get("id") != article_id or document.get("url") != fields.get("url"):
        report.add(
            f"article {article_id}: article JSON says id={document.get('id')!r} "
            f"url={document.get('url')!r}, entry says id={article_id!r} url={fields.get('url')!r}"
        )
    stored_hash = fields.get("content_hash", "")
    owns = {v.own_json for v in versions if v.content_hash == stored_hash}
    if owns and own_json(document) not in owns:
        report.add(
            f"article {article_id}: the article JSON is not the content of any dropped file "
            f"with content_hash {_short(stored_hash, 12)}"
        )
    source = document.get("source")
    sha = source.get("sha256") if isinstance(source, dict) else None
    version = fields.get("version")
    shas = {v.sha256 for v in versions if v.version == version}
    if shas and sha not in shas:
        report.add(
            f"article {article_id}: source.sha256 {sha!r} is not the file that carried version "
            f"{_short(version or '', 60)} ({sorted(shas)})"
        )


def check_index(client: Client, partitions: list[Keys], live: Live, report: Report) -> None:
    """Each partition's index (``latest``: id -> "<version> <entry_id>") agrees with the live
    changelog entries of that partition, and vice versa."""
    for partition, keys in enumerate(partitions):
        index = {_text(k): _text(v) for k, v in client.hgetall(keys.latest).items()}
        mine = {i: (e, f) for i, (p, e, f) in live.items() if p == partition}
        _check_partition_index(index, mine, _where(partition, partitions), report)


def _check_partition_index(
    index: dict[str, str], live: dict[str, tuple[str, dict[str, str]]], where: str, report: Report
) -> None:
    for article_id, value in index.items():
        version, space, entry_id = value.partition(" ")
        entry_id, _, mark = entry_id.partition(" ")
        entry = live.get(article_id)
        if entry is None:
            report.add(f"index{where} names article {article_id}, which is not in the changelog")
            continue
        if not space:
            report.add(f"index value of {article_id} is {value!r}, not '<version> <entry_id>'")
            continue
        live_id, fields = entry
        if entry_id != live_id:
            report.add(
                f"index of {article_id}: entry_id {entry_id!r} but the live changelog entry "
                f"is {live_id!r}"
            )
        if (mark == "retracted") is not is_tombstone(fields) or mark not in ("", "retracted"):
            report.add(f"index of {article_id} is {value!r} for the changelog entry {fields}")
            continue
        if mark:
            if version != fields.get("version"):
                report.add(f"index of {article_id}: {value!r} but the tombstone has {fields}")
            continue
        # The index keeps the greatest version seen; a later copy of the same content raises
        # it without a new announcement (Decision.REFRESH), so it may exceed the entry's.
        announced = fields.get("version") or ""
        if version < announced or not version.endswith("." + (fields.get("content_hash") or "")):
            report.add(
                f"index of {article_id}: version {_short(version, 60)!r} is not the changelog's "
                f"{_short(announced, 60)!r} or a later version of the same content"
            )
    for article_id in sorted(set(live) - set(index)):
        report.add(f"article {article_id} is in the changelog but not in the index{where}")


def check_consumer_group(
    client: Client, partitions: list[Keys], expected: Expected, report: Report
) -> None:
    """Each partition's store group has read the whole input and has nothing pending."""
    needed = {home_partition(i, len(partitions)) for i in expected.required_ids()}
    for name in ("ingested_added", "ingested_length", "pending"):
        report.figures[name] = 0
    for partition, keys in enumerate(partitions):
        _check_group(client, keys, partition in needed, _where(partition, partitions), report)


def _check_group(client: Client, keys: Keys, needed: bool, where: str, report: Report) -> None:
    info = _stream_info(client, keys.ingested)
    report.figures["ingested_added"] += int(info.get("entries-added", 0) or 0)
    report.figures["ingested_length"] += int(info.get("length", 0) or 0)
    if not info:
        if needed:
            report.add(f"input stream {keys.ingested} does not exist")
        return
    try:
        groups = {_text(g["name"]): g for g in client.xinfo_groups(keys.ingested)}
    except redis.ResponseError as exc:
        report.add(f"cannot read consumer groups of {keys.ingested}: {exc}")
        return
    group = groups.get(STORE_GROUP)
    if group is None:
        report.add(f"consumer group {STORE_GROUP!r} of {keys.ingested} does not exist")
        return
    pending = client.xpending(keys.ingested, STORE_GROUP)
    count = int(pending.get("pending", 0))
    report.figures["pending"] += count
    if count:
        consumers = {_text(c["name"]): int(c["pending"]) for c in pending.get("consumers", [])}
        report.add(
            f"{count} entries pending in group {STORE_GROUP!r} of {keys.ingested} "
            f"(ids {_text(pending.get('min'))}..{_text(pending.get('max'))}, by consumer "
            f"{consumers})"
        )
    last_generated = _text(info.get("last-generated-id") or "0-0")
    last_delivered = _text(group.get("last-delivered-id") or "0-0")
    if _entry_id_tuple(last_delivered) < _entry_id_tuple(last_generated):
        lag = group.get("lag")
        report.add(
            f"group {STORE_GROUP!r}{where} has not read the whole input: last delivered "
            f"{last_delivered}, last added {last_generated} (lag {lag})"
        )


def dead_letter_home(fields: dict[str, str], partitions: int) -> int | None:
    """The partition a dead letter belongs in: its article's if it names one, else its path's
    (None: a path that did not decode, whose bytes the checker does not have)."""
    if fields.get("id"):
        return home_partition(fields["id"], partitions)
    path = fields.get("path", "")
    return None if "\ufffd" in path else partition_of_path(path, partitions)


def read_all_rejected(
    client: Client, partitions: list[Keys], report: Report
) -> list[tuple[str, dict[str, str]]]:
    """Every partition's dead letters; reports those in another partition than their own."""
    entries = []
    for partition, keys in enumerate(partitions):
        for entry_id, fields in read_rejected(client, keys):
            home = dead_letter_home(fields, len(partitions))
            if len(partitions) > 1 and home is not None and home != partition:
                report.add(
                    f"dead letter {entry_id} (path={fields.get('path')!r}) is in partition "
                    f"{partition}, but its partition is {home}"
                )
            entries.append((entry_id, fields))
    return entries


def check_rejected(
    client: Client,
    partitions: list[Keys],
    expected: Expected,
    report: Report,
    *,
    allow_duplicate_rejections: bool,
) -> None:
    """Each expected rejection is there with its reason; nothing unexpected is."""
    entries = read_all_rejected(client, partitions, report)
    report.figures["rejected_entries"] = len(entries)
    by_path: dict[str, list[ExpectedRejection]] = defaultdict(list)
    for rejection in expected.rejections:
        by_path[rejection.path].append(rejection)
    found: Counter[tuple[str, str]] = Counter()
    for entry_id, fields in entries:
        missing = [name for name in REJECTED_FIELDS if name not in fields]
        if missing:
            report.add(f"rejected entry {entry_id} lacks fields {missing}: {fields}")
        path, reason = fields.get("path", ""), fields.get("reason", "")
        found[(path, reason)] += 1
        if not any(r.accepts(reason) for r in by_path.get(path, [])):
            wanted = sorted({x for r in by_path.get(path, []) for x in r.reasons})
            report.add(
                f"unexpected dead letter {entry_id}: path={path!r} reason={reason!r} "
                f"size={fields.get('size')!r} detail={_short(fields.get('detail', ''), 80)!r}"
                + (f" (expected reasons {wanted})" if wanted else " (no dead letter expected)")
            )
    for rejection in expected.rejections:
        if not rejection.required:
            continue
        if not any(
            count
            for (path, reason), count in found.items()
            if path == rejection.path and rejection.accepts(reason)
        ):
            got = sorted(reason for (path, reason) in found if path == rejection.path)
            report.add(
                f"missing dead letter: path={rejection.path!r} reason in "
                f"{sorted(rejection.reasons)}" + (f" (found reasons {got})" if got else "")
            )
    repeats = sum(count - 1 for count in found.values() if count > 1)
    report.figures["rejected_repeats"] = repeats
    if repeats and not allow_duplicate_rejections:
        twice = sorted(key for key, count in found.items() if count > 1)[:10]
        report.add(f"{repeats} repeated dead letters, e.g. {twice}")


def check_announcements(
    client: Client, partitions: list[Keys], expected: Expected, report: Report
) -> None:
    """No version was announced twice: XADDs to the changelogs <= distinct (id, version)."""
    added = sum(
        int(_stream_info(client, keys.articles).get("entries-added", 0) or 0) for keys in partitions
    )
    report.figures["announced"] = added
    bound = expected.distinct_versions + len(expected.retracted)
    if added > bound:
        report.add(
            f"the changelog saw {added} XADDs but only {bound} distinct (article, version) "
            f"pairs were dropped: something was announced twice"
        )


def check_tombstone_sets(
    client: Client, partitions: list[Keys], expected: Expected, report: Report
) -> None:
    """The live tombstones (each partition's ``tombstones``) are the retracted articles."""
    found: set[str] = set()
    for partition, keys in enumerate(partitions):
        for member in client.zrange(keys.tombstones, 0, -1):
            article_id = _text(member)
            found.add(article_id)
            home = home_partition(article_id, len(partitions))
            if home is not None and home != partition:
                report.add(f"live tombstone of {article_id} in partition {partition}, not {home}")
    if found != expected.retracted:
        missing = sorted(expected.retracted - found)[:5]
        extra = sorted(found - expected.retracted)[:5]
        report.add(
            f"{len(found)} live tombstones for {len(expected.retracted)} retracted articles: "
            f"missing {missing}, extra {extra}"
        )


def check(
    client: Client,
    keys: Layout,
    expected: Expected,
    *,
    allow_duplicate_rejections: bool = True,
) -> Report:
    """Run every invariant over one partition's keys or every partition's; never raises for a
    violation (see ``assert_invariants``)."""
    partitions = partitions_of(keys)
    report = Report()
    report.figures["expected_articles"] = len(expected.required_ids())
    report.figures["distinct_versions"] = expected.distinct_versions
    live = check_changelog(client, partitions, expected, report)
    check_index(client, partitions, live, report)
    check_consumer_group(client, partitions, expected, report)
    check_rejected(
        client, partitions, expected, report, allow_duplicate_rejections=allow_duplicate_rejections
    )
    check_announcements(client, partitions, expected, report)
    check_tombstone_sets(client, partitions, expected, report)
    report.figures["resends"] = max(
        0, report.figures.get("ingested_added", 0) - expected.distinct_versions
    )
    return report


def assert_invariants(client: Client, keys: Layout, expected: Expected, **options: Any) -> Report:
    report = check(client, keys, expected, **options)
    assert report.ok, str(report)
    return report


def wait_for_invariants(
    client: Client,
    keys: Layout,
    expected: Expected,
    *,
    timeout: float = 60.0,
    interval: float = 0.25,
    stable_for: float = 1.0,
    **options: Any,
) -> Report:
    """Poll until every invariant holds and keeps holding for ``stable_for`` seconds.

    The deadline is for the pipeline to go quiet; the stability window catches a late
    duplicate or a late overwrite arriving just after a first passing check.
    """
    deadline = time.monotonic() + timeout
    report = Report(problems=["not checked yet"])
    passed_at: float | None = None
    while True:
        try:
            report = check(client, keys, expected, **options)
        except redis.ConnectionError as exc:  # Redis being restarted by the scenario
            report = Report(problems=[f"Redis unreachable: {exc}"])
        now = time.monotonic()
        if report.ok:
            passed_at = passed_at if passed_at is not None else now
            if now - passed_at >= stable_for:
                return report
        else:
            passed_at = None
        if now > deadline:
            raise AssertionError(f"after {timeout:.0f}s: {report}")
        time.sleep(interval)
