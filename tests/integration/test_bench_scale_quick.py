"""The scale benchmark end to end on a small workload (real `newsdrop up`, its own private
Redis): the changelog verified article by article, every section measured; and the
verifier catches a changelog that is wrong."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import redis

from newsdrop.bench import generate, scale
from newsdrop.bench.scale_generate import ScaleExpected, article_number, write_scale
from newsdrop.shared.keys import Keys


@pytest.mark.slow
def test_scale_benchmark_verifies_every_article_and_measures(corpus: Path, tmp_path: Path) -> None:
    lines: list[str] = []
    config = scale.ScaleConfig(400, corpus, work_dir=tmp_path / "work", idle_seconds=1)
    result = scale.run_scale(config, echo=lines.append)
    work, fill = result["workload"], result["backfill"]
    assert work["files"] == work["articles"] + work["reversions"] + work["duplicates"]
    assert work["reversions"] > 0 and work["duplicates"] > 0
    assert fill["ok"] is True
    assert fill["changelog_entries"] == fill["articles_expected"] == work["articles"]
    assert fill["articles_missing"] == fill["repeated"] == fill["not_at_latest_version"] == 0
    assert fill["sampled_articles"] > 0
    assert result["restart"]["files_sent_again"] == 0
    assert result["restart"]["waited_for_redis_rewrite_seconds"] >= 0
    assert result["restart"]["files_unchanged"] == work["files"]
    assert result["rss"]["ingest"]["peak_tree_mb"] > 0
    assert result["redis"]["per_article_at_rest"]["changelog"] > 0
    assert fill["article_json_bytes_mean"] > 500  # (every entry's article JSON, measured)
    assert result["redis"]["article_json_bytes_mean"] == fill["article_json_bytes_mean"]
    assert any("changelog verified" in line for line in lines)


def test_the_verifier_finds_a_missing_a_repeated_and_an_old_version(
    corpus: Path, tmp_path: Path, keys: Keys, redis_url: str
) -> None:
    expected = write_scale(generate.load_templates(corpus), 60, tmp_path / "inbox", seed=5)
    client = redis.Redis.from_url(redis_url)  # (bytes, as the benchmark's own client)

    def add(k: int, micros: int) -> None:
        url = f"https://example.com/b{k:07d}/x"
        version = f"{micros:018d}.{0:020d}.h"
        client.xadd(
            keys.articles, {"id": f"{k:032x}", "url": url, "version": version, "content_hash": "h"}
        )

    try:
        _check(client, expected, keys, add)
    finally:
        client.close()


def _check(
    client: redis.Redis, expected: ScaleExpected, keys: Keys, add: Callable[[int, int], None]
) -> None:
    for k in range(expected.articles):
        add(k, expected.latest_micros[k])
    assert scale.verify(client, expected, keys)["ok"] is True

    client.delete(keys.articles)
    for k in range(1, expected.articles):  # article 0 missing
        add(k, expected.latest_micros[k] - (k == 2))  # article 2 at an older version
    add(3, expected.latest_micros[3])  # article 3 twice
    add(9, 0)  # (the count still matches: 0 missing, 3 twice)
    result = scale.verify(client, expected, keys)
    assert result["ok"] is False
    assert result["articles_missing"] == 1
    assert result["repeated"] == 2
    assert result["not_at_latest_version"] == 2
    assert article_number(b"https://example.com/b0000042/x") == 42
    assert article_number(b"https://example.com/other") is None
