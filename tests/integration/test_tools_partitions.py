"""`newsdrop tail`, `get`, `stats` and `streams` with NEWSDROP_PARTITIONS=4 on one Redis."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import orjson
import pytest
import redis
from typer.testing import CliRunner

from newsdrop.cli import app
from newsdrop.shared.keys import Keys
from newsdrop.shared.partitions import partition_of_article
from newsdrop.store import changes
from tests.integration.store_support import (
    add_routed,
    drain_partitions,
    entry_fields,
    file_fields,
    indexed,
    partitions_of,
    settings_for,
)

P = 4


def run(redis_url: str, keys: Keys, *args: str, partitions: int = P) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app,
        [*args, "--redis-url", redis_url, "--prefix", keys.prefix, "--partitions", str(partitions)],
        catch_exceptions=False,
    )
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def parts(redis_url: str, keys: Keys) -> list[Keys]:
    return partitions_of(settings_for(keys, redis_url, partitions=P))


@pytest.fixture
def loaded(
    corpus: Path, redis_url: str, redis_client: redis.Redis, keys: Keys, parts: list[Keys]
) -> list[Path]:
    """40 news files, routed to their partitions and stored; P recorded as the store does."""
    files = sorted((corpus / "news").glob("*.md"))[:40]
    redis_client.set(keys.meta, str(P))
    add_routed(redis_client, parts, [file_fields(file, mtime_ns=1) for file in files])
    drain_partitions(settings_for(keys, redis_url, partitions=P))
    return files


def current(client: redis.Redis, parts: list[Keys]) -> dict[str, str]:
    """article id -> entry_id of every live changelog entry, over all partitions (entry ids
    alone may repeat: each partition's stream numbers its own)."""
    return {f["id"]: e for keys in parts for e, f in client.xrange(keys.articles)}


def json_lines(out: str) -> list[dict[str, object]]:
    return [orjson.loads(line) for line in out.splitlines() if line.startswith("{")]


@pytest.mark.parametrize("page", [changes.PAGE, 3])
def test_tail_from_start_lists_every_current_article_once(
    page: int,
    loaded: list[Path],
    redis_url: str,
    redis_client: redis.Redis,
    keys: Keys,
    parts: list[Keys],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(changes, "PAGE", page)  # 3: every partition takes several pages
    live = current(redis_client, parts)
    assert all(redis_client.xlen(k.articles) > page for k in parts) or page == changes.PAGE
    code, out, _ = run(redis_url, keys, "tail", "--from-start", "--json", "--limit", str(len(live)))
    assert code == 0
    lines = json_lines(out)
    assert {str(line["id"]): line["entry_id"] for line in lines} == live
    assert len(lines) == len(live)  # each once
    order = [changes.entry_order(str(line["entry_id"])) for line in lines]
    assert order == sorted(order)  # the partitions merged by entry id
    for line in lines:
        keys_p = parts[partition_of_article(str(line["id"]), P)]
        assert indexed(redis_client, keys_p, str(line["id"])) == (
            line["version"],
            line["entry_id"],
        )
    code, out, _ = run(redis_url, keys, "tail", "--from-start", "--json", "--limit", "3")
    assert (code, [line["entry_id"] for line in json_lines(out)]) == (
        0,
        [line["entry_id"] for line in lines[:3]],
    )


def test_tail_receives_live_changes_from_every_partition(
    loaded: list[Path], redis_url: str, redis_client: redis.Redis, keys: Keys, parts: list[Keys]
) -> None:
    by_partition: dict[int, Path] = {}
    for file in loaded:
        article_id = str(file_fields(file)["id"])
        by_partition.setdefault(partition_of_article(article_id, P), file)
    assert sorted(by_partition) == list(range(P))

    def change_later() -> None:
        time.sleep(1.0)  # tail has its cursors by then
        newer = [
            entry_fields(
                file.read_text()
                .replace("\ncategory: news\n", "\ncategory: news\nrev: 1\n")
                .encode(),
                file.name,
                5,
            )
            for file in by_partition.values()
        ]
        add_routed(redis_client, parts, newer)
        drain_partitions(settings_for(keys, redis_url, partitions=P))

    changer = threading.Thread(target=change_later)
    changer.start()
    code, out, _ = run(redis_url, keys, "tail", "--json", "--limit", str(P))
    changer.join()
    assert code == 0
    lines = json_lines(out)
    assert sorted(partition_of_article(str(line["id"]), P) for line in lines) == list(range(P))
    for line in lines:
        keys_p = parts[partition_of_article(str(line["id"]), P)]
        assert (line["version"], line["entry_id"]) == indexed(redis_client, keys_p, str(line["id"]))
        assert "rev" in line["article"]  # type: ignore[operator]


def test_get_finds_an_article_in_partition_3(
    loaded: list[Path], redis_url: str, redis_client: redis.Redis, keys: Keys, parts: list[Keys]
) -> None:
    entry_id, fields = redis_client.xrange(parts[3].articles)[0]
    code, out, _ = run(redis_url, keys, "get", fields["url"])
    assert code == 0
    document = orjson.loads(out)
    assert (document["entry_id"], document["id"], document["version"]) == (
        entry_id,
        fields["id"],
        fields["version"],
    )
    code, by_id, _ = run(redis_url, keys, "get", fields["id"])
    assert (code, by_id) == (0, out)
    code, _, err = run(redis_url, keys, "get", "https://example.com/not-here")
    assert code == 1 and "no article" in err


def test_stats_sums_the_partitions(
    loaded: list[Path], redis_url: str, redis_client: redis.Redis, keys: Keys, parts: list[Keys]
) -> None:
    code, out, _ = run(redis_url, keys, "stats", "--json")
    assert code == 0
    counts = orjson.loads(out)
    each = counts.pop("partitions")
    assert [p["partition"] for p in each] == list(range(P))
    assert [(p["stream"], p["input"]) for p in each] == [(k.articles, k.ingested) for k in parts]
    for name, total in counts.items():
        assert total == sum(p[name] for p in each), name
    assert counts["articles"] == counts["changelog_length"] == len(loaded)
    assert counts["applied"] == len(loaded) and counts["pending"] == counts["lag"] == 0
    assert [p["articles"] for p in each] == [redis_client.xlen(k.articles) for k in parts]
    code, text, _ = run(redis_url, keys, "stats")
    assert code == 0
    assert f"articles            {len(loaded)}" in text
    assert "partitions          4" in text


def test_streams_lists_each_partitions_changelog(
    redis_url: str, keys: Keys, parts: list[Keys]
) -> None:
    code, out, _ = run(redis_url, keys, "streams")
    assert (code, out.splitlines()) == (0, [k.articles for k in parts])
    code, out, _ = run(redis_url, keys, "streams", partitions=1)
    assert (code, out) == (0, f"{keys.articles}\n")


@pytest.mark.parametrize("command", [["tail", "--from-start"], ["get", "a" * 32], ["stats"]])
def test_tools_refuse_another_partition_count(
    command: list[str], redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    redis_client.set(keys.meta, str(P))
    code, out, err = run(redis_url, keys, *command, partitions=2)
    assert (code, out) == (2, "")
    assert err.splitlines() == [
        f"newsdrop {command[0]}: NEWSDROP_PARTITIONS=2 but this Redis holds data for {P} "
        f"partition(s) (key {keys.meta}); start with NEWSDROP_PARTITIONS={P}, or use a new "
        "NEWSDROP_PREFIX and drop the files again (there is no in-place repartition)"
    ]
    assert redis_client.get(keys.meta) == str(P)


def test_tools_take_single_node_data_without_a_record_as_one_partition(
    redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    redis_client.xadd(keys.articles, {"id": "x"})  # written before P was recorded
    code, _, err = run(redis_url, keys, "stats", partitions=P)
    assert code == 2 and "holds data for 1 partition(s)" in err
    assert redis_client.get(keys.meta) is None  # the tools never record
    assert run(redis_url, keys, "stats", partitions=1)[0] == 0


def test_tools_read_the_recorded_partition_count_when_none_is_given(
    loaded: list[Path], redis_url: str, keys: Keys, parts: list[Keys]
) -> None:
    """No --partitions and no NEWSDROP_PARTITIONS: the tools take P from the record, so
    `newsdrop tail --redis-url URL --from-start` works on a cluster as written."""
    base = ["--redis-url", redis_url, "--prefix", keys.prefix]
    result = CliRunner().invoke(app, ["stats", "--json", *base], catch_exceptions=False)
    assert result.exit_code == 0
    counts = orjson.loads(result.stdout)
    assert counts["articles"] == len(loaded)
    assert len(counts["partitions"]) == P
    result = CliRunner().invoke(app, ["streams", *base], catch_exceptions=False)
    assert result.stdout.splitlines() == [k.articles for k in parts]
