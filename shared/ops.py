"""Ops HTTP endpoints shared by both services: liveness, readiness, Prometheus metrics.

Served in-process by FastStream's ASGI app (``AsgiFastStream(..., asgi_routes=...)``) under
uvicorn. Responses never carry article data or settings values. Each scrape of ``/metrics``
runs the readiness checks too, so Prometheus sees what ``/health/ready`` would answer
(``newsdrop_ready``, ``newsdrop_ready_check{check}``) without probing it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import orjson
from faststream.asgi import AsgiResponse, get
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

ReadinessCheck = Callable[[], Awaitable[bool]]

# Each readiness check gets this long (then fails): probes answer well within the 1 s default
# probe timeout of Kubernetes even when Redis hangs (SIGSTOP, a partition), the same bound for
# both services. Liveness never touches Redis.
READY_CHECK_TIMEOUT = 0.25


def _json(body: Mapping[str, Any], status: int) -> AsgiResponse:
    return AsgiResponse(
        orjson.dumps(body), status_code=status, headers={"content-type": "application/json"}
    )


class NotReady(Exception):  # noqa: N818 - a verdict, not a failure of the check
    """Raised by a readiness check to fail with a reason code (the body's ``reasons``)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def _run_check(check: ReadinessCheck) -> tuple[bool, str | None]:
    """(passed, reason): a check passes by returning true; any error fails it."""
    try:
        return bool(await asyncio.wait_for(check(), timeout=READY_CHECK_TIMEOUT)), None
    except NotReady as exc:
        return False, exc.reason
    except Exception:
        return False, None


async def _verdict(checks: Mapping[str, ReadinessCheck]) -> tuple[dict[str, bool], dict[str, str]]:
    """Every check run at once: (passed by check, reason by failing check that knows one)."""
    names = list(checks)
    results = await asyncio.gather(*(_run_check(checks[name]) for name in names))
    outcome = {name: passed for name, (passed, _) in zip(names, results, strict=True)}
    reasons = {name: why for name, (_, why) in zip(names, results, strict=True) if why}
    return outcome, reasons


def readiness_gauges(registry: CollectorRegistry, checks: Iterable[str]) -> tuple[Gauge, Gauge]:
    """``newsdrop_ready`` (1: /health/ready answers 200) and ``newsdrop_ready_check{check}``."""
    ready = Gauge(
        "newsdrop_ready",
        "1 when every readiness check passes (/health/ready is 200).",
        registry=registry,
    )
    check = Gauge(
        "newsdrop_ready_check",
        "1 when this readiness check passes (redis, watcher, backfill; consumer).",
        ["check"],
        registry=registry,
    )
    for name in checks:
        check.labels(check=name)
    return ready, check


def ops_routes(
    service: str,
    checks: Mapping[str, ReadinessCheck],
    registry: CollectorRegistry,
) -> list[tuple[str, Any]]:
    """The three ops routes for ``AsgiFastStream(asgi_routes=...)``; adds the readiness gauges
    to ``registry``."""
    ready_gauge, check_gauge = readiness_gauges(registry, checks)

    @get(include_in_schema=False)
    async def live(scope: Any) -> AsgiResponse:
        return _json({"status": "alive", "service": service}, 200)

    @get(include_in_schema=False)
    async def ready(scope: Any) -> AsgiResponse:
        outcome, reasons = await _verdict(checks)
        ok = all(outcome.values())
        body: dict[str, Any] = {
            "status": "ready" if ok else "not_ready",
            "service": service,
            "checks": outcome,
            "failing": [name for name, passed in outcome.items() if not passed],
        }
        if reasons:
            body["reasons"] = reasons
        return _json(body, 200 if ok else 503)

    @get(include_in_schema=False)
    async def metrics(scope: Any) -> AsgiResponse:
        outcome, _ = await _verdict(checks)
        for name, passed in outcome.items():
            check_gauge.labels(check=name).set(int(passed))
        ready_gauge.set(int(all(outcome.values())))
        return AsgiResponse(
            generate_latest(registry),
            status_code=200,
            headers={"content-type": CONTENT_TYPE_LATEST},
        )

    return [("/health/live", live), ("/health/ready", ready), ("/metrics", metrics)]
