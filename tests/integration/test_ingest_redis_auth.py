"""Redis refuses ingest's password: a permanent error, told apart from an outage.

Ingest logs ``redis_auth_failed`` once (never ``redis_unavailable``), readiness fails with
the reason ``redis_auth``, it keeps retrying slowly, and once the password is right the file
waiting meanwhile is published. No password appears in any log line.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis
from structlog.testing import capture_logs

from newsdrop.ingest.app import build_app
from newsdrop.shared.keys import Keys
from newsdrop.shared.ops import NotReady
from newsdrop.shared.redis_server import EmbeddedRedis
from newsdrop.store.app import build as build_store

from .ingest_support import corpus_files, ingest_settings, rename_in, run, running, until
from .store_support import settings_for

RIGHT = f"right-{uuid.uuid4().hex}"
WRONG = f"wrong-{uuid.uuid4().hex}"


@pytest.fixture
def secured(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    with EmbeddedRedis(tmp_path / "redis", appendonly=False, password=RIGHT) as server:
        yield server


def test_wrong_password_is_an_auth_failure_not_an_outage(
    tmp_path: Path, corpus: Path, keys: Keys, secured: EmbeddedRedis
) -> None:
    inbox = tmp_path / "inbox"
    wrong_url = secured.url.replace(RIGHT, WRONG)
    settings = ingest_settings(inbox, wrong_url, keys, settle_seconds=0.1)
    admin = redis.Redis.from_url(secured.url, decode_responses=True)
    data = corpus_files(corpus)[0].read_bytes()

    async def scenario() -> None:
        async with running(settings) as service:
            await until(lambda: service.link.auth_failed, "the refused password (idle inbox)")
            rename_in(tmp_path / "out", inbox, "waiting.md", data)
            await until(lambda: service.ready.inflight == 1, "the file waiting for Redis")
            with pytest.raises(NotReady) as refused:
                await service.redis_ok()
            assert refused.value.reason == "redis_auth"
            admin.config_set("requirepass", WRONG)  # the operator makes ingest's password right
            await until(lambda: service.link.up, "the link to recover", limit=20)
            await until(lambda: admin.xlen(keys.ingested) == 1, "the waiting file")
            assert await service.redis_ok()
            assert (service.link.auth_failures, service.link.outages) == (1, 0)
            registry = service.metrics.registry
            assert (registry.get_sample_value("newsdrop_redis_auth_errors_total") or 0) >= 1
            assert registry.get_sample_value("newsdrop_redis_connection_errors_total") == 0

    with capture_logs() as logs:
        run(scenario())
    admin.close()
    [failed] = [entry for entry in logs if entry["event"] == "redis_auth_failed"]
    assert failed["log_level"] == "error"
    assert failed["error"].startswith("AuthenticationError")
    assert not [entry for entry in logs if entry["event"] == "redis_unavailable"]
    [back] = [entry for entry in logs if entry["event"] == "redis_recovered"]
    assert back["failed_attempts"] >= 1
    assert [entry["path"] for entry in logs if entry["event"] == "file_published"] == ["waiting.md"]
    for entry in logs:
        assert RIGHT not in repr(entry) and WRONG not in repr(entry), entry


def test_readiness_names_the_reason_in_both_services(
    tmp_path: Path, keys: Keys, secured: EmbeddedRedis
) -> None:
    """Ingest and the store: 503 with the reason ``redis_auth`` (the store's said only
    ``redis: false`` and logged ``redis_unavailable``), answered within the check bound."""
    wrong_url = secured.url.replace(RIGHT, WRONG)
    app = build_app(ingest_settings(tmp_path / "inbox", wrong_url, keys))
    service = app.context.get("ingest_service")
    store_app, runtime = build_store(settings_for(keys, wrong_url))

    async def ask(target: object) -> httpx.Response:
        transport = httpx.ASGITransport(app=target)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            return await client.get("/health/ready")

    async def scrape(target: object) -> str:
        transport = httpx.ASGITransport(app=target)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
            return (await client.get("/metrics")).text

    async def scenario() -> tuple[list[httpx.Response], str]:
        await service.start()
        await runtime.start()
        try:
            await until(lambda: service.link.auth_failed, "ingest's refused password")
            await until(lambda: runtime.auth_failed, "the store's refused password")
            return [await ask(app), await ask(store_app)], await scrape(app)
        finally:
            await runtime.stop()
            await service.stop()

    with capture_logs() as logs:
        responses, metrics = asyncio.run(scenario())
    # a scrape runs the same checks: Prometheus sees the failing one
    assert "newsdrop_ready 0.0" in metrics
    assert 'newsdrop_ready_check{check="redis"} 0.0' in metrics
    for response in responses:
        assert response.status_code == 503
        body = response.json()
        assert body["checks"]["redis"] is False
        assert body["reasons"] == {"redis": "redis_auth"}
        assert RIGHT not in response.text and WRONG not in response.text
    store_failures = [entry for entry in logs if entry["event"] == "redis_auth_failed"]
    assert store_failures and all(entry["log_level"] == "error" for entry in store_failures)
    assert not [entry for entry in logs if entry["event"] == "redis_unavailable"]
    for entry in logs:
        assert RIGHT not in repr(entry) and WRONG not in repr(entry), entry


@pytest.mark.parametrize("password", [WRONG, None], ids=["wrong", "missing"])
@pytest.mark.parametrize(
    "command", [["tail", "--limit", "1"], ["get", "https://example.com/a"], ["stats"], ["streams"]]
)
def test_tools_say_the_credentials_were_refused_in_one_line(
    secured: EmbeddedRedis, command: list[str], password: str | None
) -> None:
    """Before: "cannot reach Redis" (wrong) or "HELLO must be called..." (missing)."""
    url = secured.url.replace(f":{RIGHT}@", f":{password}@" if password else "@")
    result = subprocess.run(
        [sys.executable, "-m", "newsdrop", *command, "--redis-url", url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"newsdrop {command[0]}: Redis at ")
    assert line.endswith("refused the credentials (wrong or missing password in REDIS_URL)")
    assert RIGHT not in result.stderr + result.stdout and WRONG not in result.stderr
