"""`newsdrop tail`, `get` and `stats` against a real Redis."""

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
from tests.integration.store_support import (
    drain,
    entry_fields,
    file_fields,
    indexed,
    settings_for,
)

INFOQ = "2019-12-24-google-cloud-team-releases-automl-natural-language.md"
INFOQ_URL = "https://www.infoq.com/news/2019/12/google-cloud-automl/"


@pytest.fixture
def loaded(corpus: Path, redis_url: str, redis_client: redis.Redis, keys: Keys) -> list[Path]:
    files = [corpus / "news" / INFOQ, *sorted((corpus / "news").glob("2021-03-0*.md"))[:4]]
    for file in files:
        redis_client.xadd(keys.ingested, file_fields(file, mtime_ns=1))
    redis_client.xadd(keys.ingested, file_fields(files[1], mtime_ns=1))  # a duplicate
    drain(settings_for(keys, redis_url))
    return files


def run(redis_url: str, keys: Keys, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(
        app, [*args, "--redis-url", redis_url, "--prefix", keys.prefix], catch_exceptions=False
    )
    return result.exit_code, result.stdout, result.stderr


def test_get_by_any_url_form_or_id(loaded: list[Path], redis_url: str, keys: Keys) -> None:
    forms = [
        INFOQ_URL,
        "HTTPS://WWW.INFOQ.COM/news/2019/12/google-cloud-automl/?utm_source=rss#x",
        "https://www.infoq.com:443/news/2019/12/google-cloud-automl/",
    ]
    outputs = [run(redis_url, keys, "get", form) for form in forms]
    assert all(code == 0 for code, _, _ in outputs)
    document = orjson.loads(outputs[0][1])
    assert {out for _, out, _ in outputs} == {outputs[0][1]}
    assert document["url"] == INFOQ_URL
    assert document["article"]["title"] == "Google Cloud Team Releases AutoML Natural Language"
    assert document["article"]["id"] == document["id"]
    code, by_id, _ = run(redis_url, keys, "get", document["id"])
    assert (code, by_id) == (0, outputs[0][1])


def test_get_unknown_and_invalid(loaded: list[Path], redis_url: str, keys: Keys) -> None:
    code, out, err = run(redis_url, keys, "get", "https://example.com/not-here")
    assert (code, out) == (1, "")
    assert "no article" in err
    code, _, err = run(redis_url, keys, "get", "not a url")
    assert code == 2
    assert "not an article id or URL" in err


def test_stats(loaded: list[Path], redis_url: str, keys: Keys) -> None:
    code, out, _ = run(redis_url, keys, "stats", "--json")
    assert code == 0
    counts = orjson.loads(out)
    assert counts | {"ingested_length": 0} == {
        "articles": 5,
        "retracted": 0,
        "tombstones": 0,
        "changelog_length": 5,
        "applied": 5,
        "duplicates": 1,
        "stale": 0,
        "store_dead_letters": 0,
        "rejected": 0,
        "ingested_length": 0,
        "pending": 0,
        "lag": 0,
    }
    code, text, _ = run(redis_url, keys, "stats")
    assert code == 0
    assert "articles            5" in text
    assert "duplicates          1" in text
    assert "retracted           0" in text


def test_tail_from_start_then_live(
    loaded: list[Path], redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    code, out, _ = run(redis_url, keys, "tail", "--from-start", "--json", "--limit", "5")
    assert code == 0
    lines = [orjson.loads(line) for line in out.splitlines()]
    assert [line["entry_id"] for line in lines] == [
        e for e, _ in redis_client.xrange(keys.articles)
    ]
    assert all(line["article"]["url"] == line["url"] for line in lines)
    code, out, _ = run(redis_url, keys, "tail", "--from-start", "--limit", "1")
    first = lines[0]
    assert out == f"{first['article']['title']}  {first['url']}  {first['version']}\n"

    newer = loaded[2].read_text().replace("\ncategory: news\n", "\ncategory: news\nrev: 1\n")

    def change_later() -> None:
        time.sleep(0.5)
        redis_client.xadd(keys.ingested, entry_fields(newer.encode(), loaded[2].name, 5))
        drain(settings_for(keys, redis_url))

    changer = threading.Thread(target=change_later)
    changer.start()
    code, out, _ = run(redis_url, keys, "tail", "--json", "--limit", "1")  # the next change
    changer.join()
    assert code == 0
    # (the thread's store logs land in the same captured stdout: keep the JSON line)
    [change] = [orjson.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert change["id"] == lines[2]["id"]
    assert (change["version"], change["entry_id"]) == indexed(redis_client, keys, change["id"])
    assert change["entry_id"] > lines[-1]["entry_id"]
    assert "rev" in change["article"]


def test_tools_without_redis_say_how_to_get_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("NEWSDROP_STATE_DIR", str(tmp_path))
    result = CliRunner().invoke(app, ["stats"])
    assert result.exit_code == 2
    assert "set REDIS_URL" in result.stderr


def test_tail_prints_a_tombstone_distinctly_and_json_as_is(
    loaded: list[Path], redis_url: str, redis_client: redis.Redis, keys: Keys
) -> None:
    code, out, err = run(redis_url, keys, "retract", INFOQ_URL, "--wait", "0", "--reason", "dup")
    assert (code, out) == (0, f"published retraction of {INFOQ_URL}\n"), err
    drain(settings_for(keys, redis_url))
    code, out, _ = run(redis_url, keys, "tail", "--from-start", "--limit", "5")
    assert code == 0
    lines = out.splitlines()
    assert lines[-1].startswith(f"RETRACTED  {INFOQ_URL}  ") and lines[-1].endswith("  (dup)")
    assert sum(INFOQ_URL in line for line in lines) == 1
    code, out, _ = run(redis_url, keys, "tail", "--from-start", "--json", "--limit", "5")
    last = orjson.loads(out.splitlines()[-1])
    [(entry_id, fields)] = [e for e in redis_client.xrange(keys.articles) if "deleted" in e[1]]
    assert last == {"entry_id": entry_id, **fields}
    assert set(fields) == {"id", "url", "version", "deleted", "reason"}
    code, out, _ = run(redis_url, keys, "stats", "--json")
    counts = orjson.loads(out)
    assert (counts["articles"], counts["retracted"], counts["tombstones"]) == (4, 1, 1)


def test_retract_from_a_file_and_stdin(
    loaded: list[Path], redis_url: str, redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    urls = [str(f["url"]) for f in (file_fields(p) for p in loaded[1:3])]
    listing = tmp_path / "urls.txt"
    listing.write_text(f"# taken down\n{urls[0]}\n\nnot a url\n")
    args = ["retract", "--from-file", str(listing), "--wait", "0", "--redis-url", redis_url]
    result = CliRunner().invoke(app, [*args, "--prefix", keys.prefix], catch_exceptions=False)
    assert result.exit_code == 2 and "not a url" in result.stderr  # the good one still goes
    assert result.stdout == f"published retraction of {urls[0]}\n"
    args = ["retract", "--from-file", "-", "--wait", "0", "--redis-url", redis_url]
    result = CliRunner().invoke(
        app, [*args, "--prefix", keys.prefix], input=f"{urls[1]}\n", catch_exceptions=False
    )
    assert (result.exit_code, result.stdout) == (0, f"published retraction of {urls[1]}\n")
    drain(settings_for(keys, redis_url))
    assert redis_client.zcard(keys.tombstones) == 2
